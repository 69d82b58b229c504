"""PPO's clipped policy loss and MAPPO's clipped value loss against hand-computed numbers."""

from __future__ import annotations

import math

import pytest
import torch

from policies.common.ppo_losses import (
    MAPPO_HUBER_DELTA,
    clipped_policy_loss,
    clipped_value_loss,
    masked_mean,
)

CLIP = 0.2
#   ratio  adv   r*A    clamp(r)*A   min    |r-1|>0.2  clipped term wins (no gradient)
#   1.1     1    1.1    1.1          1.1    no         no
#   1.5     2    3.0    2.4          2.4    yes        yes
#   0.5     1    0.5    0.8          0.5    yes        no
#   1.5    -1   -1.5   -1.2         -1.5    yes        no
#   0.5    -2   -1.0   -1.6         -1.6    yes        yes
RATIOS = [1.1, 1.5, 0.5, 1.5, 0.5]
ADVANTAGES = torch.tensor([1.0, 2.0, 1.0, -1.0, -2.0], dtype=torch.float64)


def _logps(ratios=RATIOS):
    logp_old = torch.tensor([-1.0, -0.3, -2.0, -0.7, -1.2], dtype=torch.float64)
    logp_new = (logp_old + torch.log(torch.tensor(ratios, dtype=torch.float64))).requires_grad_()
    return logp_new, logp_old


def test_policy_loss_inside_and_outside_the_clip_range():
    logp_new, logp_old = _logps()
    loss, stats = clipped_policy_loss(logp_new, logp_old, ADVANTAGES, CLIP)
    assert loss.item() == pytest.approx(-(1.1 + 2.4 + 0.5 - 1.5 - 1.6) / 5)  # -0.18
    assert stats["clip_fraction"].item() == pytest.approx(4 / 5)
    kl = sum((r - 1) - math.log(r) for r in RATIOS) / 5  # 0.1160108...
    assert stats["approx_kl"].item() == pytest.approx(kl)
    assert stats["approx_kl"].item() == pytest.approx(0.1160108, abs=1e-7)
    loss.backward()
    # d(-r A / 5)/d logp_new = -r A / 5 where the unclipped term wins, 0 where the clip wins
    expected = torch.tensor([-1.1, 0.0, -0.5, 1.5, 0.0], dtype=torch.float64) / 5
    torch.testing.assert_close(logp_new.grad, expected)


def test_policy_loss_at_ratio_one_is_minus_mean_advantage_and_no_kl():
    logp_new, logp_old = _logps([1.0] * 5)
    loss, stats = clipped_policy_loss(logp_new, logp_old, ADVANTAGES, CLIP)
    assert loss.item() == pytest.approx(-ADVANTAGES.mean().item())
    assert stats["clip_fraction"].item() == 0.0
    assert stats["approx_kl"].item() == pytest.approx(0.0, abs=1e-12)


def test_policy_loss_mask_excludes_entries_and_their_gradients():
    logp_new, logp_old = _logps()
    with torch.no_grad():
        logp_new[1] = 30.0  # padding garbage: ratio e^30.3 must not leak in
    mask = torch.tensor([True, False, True, True, False])
    loss, stats = clipped_policy_loss(logp_new, logp_old, ADVANTAGES, CLIP, mask)
    assert loss.item() == pytest.approx(-(1.1 + 0.5 - 1.5) / 3)
    assert stats["clip_fraction"].item() == pytest.approx(2 / 3)
    loss.backward()
    assert logp_new.grad[1].item() == 0.0 and logp_new.grad[4].item() == 0.0
    assert logp_new.grad[0].item() == pytest.approx(-1.1 / 3)


def test_stats_are_detached():
    logp_new, logp_old = _logps()
    _, stats = clipped_policy_loss(logp_new, logp_old, ADVANTAGES, CLIP)
    assert not any(v.requires_grad for v in stats.values())


# old = 1.0, clip = 0.2, f(e) = e^2 / 2
#   v     t     f(v - t)        clipped v   f(clipped - t)   max     gradient wrt v (/4)
#   1.1   2.0   0.81/2 = 0.405  1.1         0.405            0.405   (1.1 - 2.0) = -0.9
#   1.5   2.0   0.25/2 = 0.125  1.2         0.64/2 = 0.32    0.32    0 (clip wins)
#   1.5   1.0   0.125           1.2         0.04/2 = 0.02    0.125   (1.5 - 1.0) = 0.5
#   0.5   0.0   0.125           0.8         0.32             0.32    0 (clip wins)
V_NEW = [1.1, 1.5, 1.5, 0.5]
V_OLD = torch.ones(4, dtype=torch.float64)
TARGETS = torch.tensor([2.0, 2.0, 1.0, 0.0], dtype=torch.float64)


def _values():
    return torch.tensor(V_NEW, dtype=torch.float64, requires_grad=True)


def test_value_loss_clipping_active_and_inactive():
    values = _values()
    loss = clipped_value_loss(values, V_OLD, TARGETS, CLIP)
    assert loss.item() == pytest.approx((0.405 + 0.32 + 0.125 + 0.32) / 4)  # 0.2925
    loss.backward()
    expected = torch.tensor([-0.9, 0.0, 0.5, 0.0], dtype=torch.float64) / 4
    torch.testing.assert_close(values.grad, expected)


def test_value_loss_without_clipping():
    values = _values()
    loss = clipped_value_loss(values, V_OLD, TARGETS, clip=None)
    assert loss.item() == pytest.approx((0.405 + 0.125 + 0.125 + 0.125) / 4)  # 0.195


def test_value_loss_mask():
    mask = torch.tensor([[True, False, True, False]])  # broadcasts over [1, 4]
    loss = clipped_value_loss(_values()[None], V_OLD[None], TARGETS[None], CLIP, mask)
    assert loss.item() == pytest.approx((0.405 + 0.125) / 2)


def test_huber_value_loss():
    # |e| = 30 > delta 10: 10 * (30 - 5) = 250 (squared: 450); small errors are unchanged
    values = torch.tensor([31.0, 1.1], dtype=torch.float64)
    old, targets = torch.tensor([31.0, 1.0]), torch.tensor([1.0, 2.0])
    huber = clipped_value_loss(values, old, targets, CLIP, huber_delta=MAPPO_HUBER_DELTA)
    assert huber.item() == pytest.approx((250.0 + 0.405) / 2)
    squared = clipped_value_loss(values, old, targets, CLIP)
    assert squared.item() == pytest.approx((450.0 + 0.405) / 2)
    reference = torch.nn.functional.huber_loss(values, targets.double(), delta=10.0)
    assert huber.item() == pytest.approx(reference.item())  # no clip active here


def test_masked_mean():
    x = torch.tensor([[1.0, 2.0], [3.0, float("inf")]])
    mask = torch.tensor([[True, True], [True, False]])
    assert masked_mean(x, mask).item() == pytest.approx(2.0)
    assert masked_mean(x[:, :1], None).item() == pytest.approx(2.0)
    assert masked_mean(x, torch.zeros_like(mask)).item() == 0.0
    assert masked_mean(x, torch.tensor([[1, 1], [1, 0]])).item() == pytest.approx(2.0)
