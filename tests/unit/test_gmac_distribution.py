"""GMAC's mixtures: closed-form energy distance against Monte Carlo, SR(lambda) targets."""

from __future__ import annotations

import math

import pytest
import torch

from policies.common.gae import gae
from policies.gmac.distribution import (
    Mixture,
    cross_expected_distance,
    energy_distance,
    expected_abs_normal,
    mixture_from_head,
    mixture_mean,
    mixture_stats,
    sr_lambda_targets,
)

F64 = torch.float64


def random_mixture(gen: torch.Generator, shape: tuple[int, ...], offset: float = 0.0) -> Mixture:
    weights = torch.softmax(torch.randn(*shape, generator=gen, dtype=F64), dim=-1)
    means = offset + 2.0 * torch.randn(*shape, generator=gen, dtype=F64)
    stds = 0.2 + torch.rand(*shape, generator=gen, dtype=F64)
    return Mixture(weights, means, stds)


def sample(m: Mixture, n: int, gen: torch.Generator) -> torch.Tensor:
    k = torch.multinomial(m.weights, n, replacement=True, generator=gen)  # [n]
    return m.means[k] + m.stds[k] * torch.randn(n, generator=gen, dtype=F64)


def point(mean: float, std: float, dtype: torch.dtype = F64) -> Mixture:
    return Mixture(*(torch.tensor([x], dtype=dtype) for x in (1.0, mean, std)))


# --- expected |N(mean, std^2)| -------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_expected_abs_normal_is_abs_mean_at_zero_std(dtype):
    mean = torch.tensor([-2.0, -1e-9, 0.0, 0.5, 3.0], dtype=dtype)
    out = expected_abs_normal(mean, torch.zeros_like(mean))
    torch.testing.assert_close(out, mean.abs(), rtol=0, atol=0)


@pytest.mark.parametrize(("mean", "std"), [(0.0, 1.0), (0.7, 0.5), (-1.5, 2.0), (4.0, 0.3)])
def test_expected_abs_normal_matches_monte_carlo(mean, std):
    gen = torch.Generator().manual_seed(0)
    x = mean + std * torch.randn(100_000, generator=gen, dtype=F64)
    mc = x.abs().mean().item()
    closed = expected_abs_normal(torch.tensor(mean, dtype=F64), torch.tensor(std, dtype=F64))
    assert closed.item() == pytest.approx(mc, rel=1e-2)


# --- energy distance -------------------------------------------------------------------


@pytest.mark.parametrize(("k_pred", "k_target", "seed"), [(3, 2, 0), (1, 4, 1), (5, 5, 2)])
def test_energy_distance_matches_monte_carlo(k_pred, k_target, seed):
    gen = torch.Generator().manual_seed(seed)
    pred = random_mixture(gen, (k_pred,))
    target = random_mixture(gen, (k_target,), offset=8.0)  # shifted: ED >> MC noise (~0.2%)
    n = 100_000
    x, x2, y, y2 = (sample(m, n, gen) for m in (pred, pred, target, target))
    mc = 2 * (x - y).abs().mean() - (x - x2).abs().mean() - (y - y2).abs().mean()
    closed = energy_distance(pred, target)
    assert mc.item() > 1.0
    assert closed.item() == pytest.approx(mc.item(), rel=1e-2)


def test_energy_distance_zero_for_identical_positive_and_symmetric():
    gen = torch.Generator().manual_seed(3)
    a, b = random_mixture(gen, (6, 3)), random_mixture(gen, (6, 4))
    same = energy_distance(a, a)
    assert same.shape == (6,)
    torch.testing.assert_close(same, torch.zeros(6, dtype=F64), rtol=0, atol=1e-10)
    assert (energy_distance(a, b) > 1e-3).all()
    torch.testing.assert_close(energy_distance(a, b), energy_distance(b, a), rtol=0, atol=1e-12)


def test_cross_expected_distance_broadcasts_leading_dims():
    gen = torch.Generator().manual_seed(4)
    a, b = random_mixture(gen, (2, 5, 3)), random_mixture(gen, (5, 7))
    out = cross_expected_distance(a, b)
    assert out.shape == (2, 5)
    one = cross_expected_distance(Mixture(*(x[1, 2] for x in a)), Mixture(*(x[2] for x in b)))
    torch.testing.assert_close(out[1, 2], one)


@pytest.mark.parametrize("pred_std", [1e-8, 0.0])
def test_gradients_finite_at_tiny_and_zero_stds(pred_std):
    means = torch.tensor([0.0, 1.0, 2.0], dtype=F64, requires_grad=True)
    stds = torch.full((3,), pred_std, dtype=F64, requires_grad=True)
    pred = Mixture(torch.tensor([0.2, 0.3, 0.5], dtype=F64), means, stds)
    target = Mixture(*(torch.tensor(x, dtype=F64) for x in ([0.5, 0.5], [0.0, 1.5], [0.0, 0.0])))
    energy_distance(pred, target).backward()
    assert torch.isfinite(means.grad).all() and torch.isfinite(stds.grad).all()
    assert means.grad.abs().sum() > 0


def test_without_target_term_shifts_value_and_keeps_gradient():
    gen = torch.Generator().manual_seed(5)
    pred, target = random_mixture(gen, (4, 3)), random_mixture(gen, (4, 6))
    grads = []
    for include in (True, False):
        means = pred.means.clone().requires_grad_(True)
        stds = pred.stds.clone().requires_grad_(True)
        value = energy_distance(Mixture(pred.weights, means, stds), target, include)
        value.sum().backward()
        grads.append((value.detach(), means.grad, stds.grad))
    (with_t, gm1, gs1), (without, gm2, gs2) = grads
    target_term = cross_expected_distance(target, target)
    torch.testing.assert_close(without, with_t + target_term, rtol=0, atol=1e-12)
    torch.testing.assert_close(gm1, gm2, rtol=0, atol=0)
    torch.testing.assert_close(gs1, gs2, rtol=0, atol=0)


def test_point_masses_limit_is_twice_the_distance():
    for std in (1e-3, 1e-5, 1e-7):
        ed = energy_distance(point(1.25, std), point(-0.5, 0.5 * std)).item()
        assert ed == pytest.approx(2 * 1.75, abs=10 * std)


def test_mixture_from_head_shapes_weights_and_floor():
    gen = torch.Generator().manual_seed(6)
    raw = 5.0 * torch.randn(4, 2, 12, generator=gen)
    raw[..., 4:8] = -30.0  # softplus underflows towards 0: the floor remains
    m = mixture_from_head(raw, min_std=0.05)
    assert all(x.shape == (4, 2, 4) for x in m)
    torch.testing.assert_close(m.weights.sum(-1), torch.ones(4, 2))
    assert (m.stds >= 0.05).all() and (m.weights >= 0).all()
    torch.testing.assert_close(m.means, raw[..., :4])
    torch.testing.assert_close(mixture_mean(m), (m.weights * raw[..., :4]).sum(-1))
    with pytest.raises(ValueError):
        mixture_from_head(torch.zeros(3, 7), 0.05)


def test_mixture_stats_on_a_hand_built_mixture():
    m = Mixture(
        torch.tensor([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]]),
        torch.zeros(2, 3),
        torch.tensor([[1.0, 3.0, 7.0], [2.0, 5.0, 5.0]]),
    )
    stats = mixture_stats(m)
    assert stats["weight_entropy"].item() == pytest.approx(math.log(2) / 2)  # (ln 2 + 0) / 2
    assert stats["mean_std"].item() == pytest.approx(2.0)  # (0.5 + 1.5, 2) -> 2
    assert stats["max_weight"].item() == pytest.approx(0.75)  # (0.5 + 1) / 2


# --- SR(lambda) targets ----------------------------------------------------------------


def random_trajectory(seed: int, steps: int = 7, k: int = 3) -> tuple[torch.Tensor, Mixture]:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(steps, generator=gen, dtype=F64), random_mixture(gen, (steps + 1, k))


def reference_targets(rewards, rows, terminated, gamma, lambda_, horizon=None):
    """The definition, one (t, n) pair at a time."""
    steps, k = rewards.shape[0], rows.means.shape[1]
    h = min(steps, horizon or steps)
    out = [torch.zeros(steps, h * k, dtype=F64), torch.zeros(steps, h * k, dtype=F64)]
    out.append(torch.ones(steps, h * k, dtype=F64))
    for t in range(steps):
        last = min(steps - t, h)
        for n in range(1, last + 1):
            c = lambda_ ** (n - 1) * (1 - lambda_ if n < last else 1.0)
            ret = sum(gamma**i * rewards[t + i].item() for i in range(n))
            sl = slice((n - 1) * k, n * k)
            if terminated and t + n == steps:  # point mass at 0 on the first component
                out[0][t, sl] = torch.tensor([c] + [0.0] * (k - 1), dtype=F64)
                out[1][t, sl], out[2][t, sl] = ret, 0.0
            else:
                out[0][t, sl] = c * rows.weights[t + n]
                out[1][t, sl] = ret + gamma**n * rows.means[t + n]
                out[2][t, sl] = gamma**n * rows.stds[t + n]
    return Mixture(*out)


def assert_mixtures_close(a: Mixture, b: Mixture) -> None:
    for x, y in zip(a, b):
        torch.testing.assert_close(x, y, rtol=0, atol=1e-12)


@pytest.mark.parametrize("terminated", [False, True])
@pytest.mark.parametrize(("lambda_", "horizon"), [(0.0, None), (0.95, None), (0.7, 3), (1.0, 2)])
def test_sr_lambda_matches_the_definition(terminated, lambda_, horizon):
    rewards, rows = random_trajectory(7)
    out = sr_lambda_targets(rewards, rows, terminated, 0.9, lambda_, horizon)
    assert_mixtures_close(out, reference_targets(rewards, rows, terminated, 0.9, lambda_, horizon))
    torch.testing.assert_close(out.weights.sum(-1), torch.ones(7, dtype=F64), rtol=0, atol=1e-12)


def test_sr_lambda_hand_computed():
    rewards = torch.tensor([1.0, 2.0], dtype=F64)
    rows = ([[1.0]] * 3, [[10.0], [20.0], [30.0]], [[1.0], [2.0], [3.0]])  # w, mu, sigma of x_0..2
    rows = Mixture(*(torch.tensor(x, dtype=F64) for x in rows))
    out = sr_lambda_targets(rewards, rows, terminated=False, gamma=0.9, lambda_=0.5)
    # step 0: n=1 weight 1 - 0.5 = 0.5, mean 1 + 0.9 * 20 = 19, std 0.9 * 2 = 1.8
    #         n=2 weight 0.5, mean 1 + 0.9 * 2 + 0.81 * 30 = 27.1, std 0.81 * 3 = 2.43
    # step 1: n=1 weight 1, mean 2 + 0.9 * 30 = 29, std 0.9 * 3 = 2.7; n=2 is padding (0, 0, 1)
    expected = ([[0.5, 0.5], [1.0, 0.0]], [[19.0, 27.1], [29.0, 0.0]], [[1.8, 2.43], [2.7, 1.0]])
    assert_mixtures_close(out, Mixture(*(torch.tensor(x, dtype=F64) for x in expected)))
    out = sr_lambda_targets(rewards, rows, terminated=True, gamma=0.9, lambda_=0.5)
    # terminated: Z(x_2) = 0, so step 0's n=2 term is 1 + 0.9 * 2 = 2.8 and step 1's is 2, std 0
    expected = ([[0.5, 0.5], [1.0, 0.0]], [[19.0, 2.8], [2.0, 0.0]], [[1.8, 0.0], [0.0, 1.0]])
    assert_mixtures_close(out, Mixture(*(torch.tensor(x, dtype=F64) for x in expected)))


@pytest.mark.parametrize("terminated", [False, True])
def test_sr_lambda_zero_is_the_one_step_target(terminated):
    rewards, rows = random_trajectory(8, steps=5, k=2)
    out = sr_lambda_targets(rewards, rows, terminated, 0.9, 0.0)
    assert (out.weights[:, 2:] == 0).all()  # only the n=1 slots carry weight
    next_means, next_stds = rows.means[1:].clone(), rows.stds[1:].clone()
    next_w = rows.weights[1:].clone()
    if terminated:
        next_w[-1], next_means[-1], next_stds[-1] = torch.tensor([1.0, 0.0]), 0.0, 0.0
    torch.testing.assert_close(out.weights[:, :2], next_w, rtol=0, atol=0)
    torch.testing.assert_close(out.means[:, :2], rewards[:, None] + 0.9 * next_means)
    torch.testing.assert_close(out.stds[:, :2], 0.9 * next_stds)
    one_step = sr_lambda_targets(rewards, rows, terminated, 0.9, 0.6, horizon=1)  # [T, K]
    assert_mixtures_close(one_step, Mixture(*(x[:, :2] for x in out)))


def test_sr_lambda_one_is_the_full_return():
    rewards, rows = random_trajectory(9, steps=4, k=2)
    out = sr_lambda_targets(rewards, rows, terminated=False, gamma=0.8, lambda_=1.0)
    for t in range(4):
        n = 4 - t
        sl = slice((n - 1) * 2, n * 2)
        torch.testing.assert_close(out.weights[t].sum(), out.weights[t, sl].sum())
        ret = sum(0.8**i * rewards[t + i] for i in range(n))
        torch.testing.assert_close(out.means[t, sl], ret + 0.8**n * rows.means[4])
        torch.testing.assert_close(out.stds[t, sl], 0.8**n * rows.stds[4])


def test_sr_lambda_terminated_last_step_is_a_point_mass():
    rewards, rows = random_trajectory(10, steps=6)
    out = sr_lambda_targets(rewards, rows, terminated=True, gamma=0.99, lambda_=0.9, horizon=4)
    live = out.weights[-1] > 0
    assert (out.means[-1][live] == rewards[-1]).all() and (out.stds[-1][live] == 0).all()


@pytest.mark.parametrize("terminated", [False, True])
@pytest.mark.parametrize("lambda_", [0.0, 0.5, 0.95, 1.0])
def test_sr_lambda_mean_is_the_gae_value_target(terminated, lambda_):
    rewards, rows = random_trajectory(11, steps=9)
    rows_mean = mixture_mean(rows)  # [T + 1]
    if terminated:
        rows_mean[-1] = float("nan")  # ignored by both
    rows = rows._replace(means=rows.means.masked_fill(rows_mean.isnan()[:, None], float("nan")))
    out = sr_lambda_targets(rewards, rows, terminated, 0.97, lambda_)
    _, targets = gae(rewards, rows_mean, terminated, 0.97, lambda_)
    torch.testing.assert_close(mixture_mean(out), targets, rtol=0, atol=1e-10)


@pytest.mark.parametrize("horizon", [1, 3, 100])
def test_sr_lambda_shapes_dtype_and_no_grad(horizon):
    rewards, rows = random_trajectory(12, steps=5, k=2)
    rows = Mixture(*(x.float().requires_grad_(True) for x in rows))
    out = sr_lambda_targets(rewards.float(), rows, False, 0.9, 0.8, horizon)
    h = min(5, horizon)
    assert all(x.shape == (5, h * 2) and x.dtype == torch.float32 for x in out)
    assert not any(x.requires_grad for x in out)
    torch.testing.assert_close(out.weights.sum(-1), torch.ones(5))


def test_sr_lambda_rejects_bad_inputs():
    rewards, rows = random_trajectory(13, steps=3)
    with pytest.raises(ValueError):
        sr_lambda_targets(rewards, Mixture(*(x[:3] for x in rows)), False, 0.9, 0.5)
    with pytest.raises(ValueError):
        sr_lambda_targets(rewards, rows, False, 0.9, 0.5, horizon=0)
    empty = sr_lambda_targets(rewards[:0], Mixture(*(x[:1] for x in rows)), True, 0.9, 0.5)
    assert empty.weights.shape == (0, 0)
