"""GAE against hand-computed numbers, its recursive definition and its lambda limits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from policies.common.gae import gae

GAMMA, LAMBDA = 0.9, 0.8  # gamma * lambda = 0.72
REWARDS = np.array([1.0, 0.0, 2.0])
VALUES = np.array([0.5, 1.0, 1.5, 2.0])  # V_0, V_1, V_2 and the bootstrap value V_3


def test_truncated_or_cut_bootstraps_from_last_value():
    # delta_2 = 2 + 0.9 * 2.0 - 1.5 = 2.3
    # delta_1 = 0 + 0.9 * 1.5 - 1.0 = 0.35
    # delta_0 = 1 + 0.9 * 1.0 - 0.5 = 1.4
    # A_2 = 2.3;  A_1 = 0.35 + 0.72 * 2.3 = 2.006;  A_0 = 1.4 + 0.72 * 2.006 = 2.84432
    adv, targets = gae(REWARDS, VALUES, terminated=False, gamma=GAMMA, lambda_=LAMBDA)
    np.testing.assert_allclose(adv, [2.84432, 2.006, 2.3], rtol=0, atol=1e-12)
    np.testing.assert_allclose(targets, [3.34432, 3.006, 3.8], rtol=0, atol=1e-12)


def test_terminated_does_not_bootstrap():
    # delta_2 = 2 + 0 - 1.5 = 0.5 (V_3 ignored); delta_1 = 0.35; delta_0 = 1.4
    # A_2 = 0.5;  A_1 = 0.35 + 0.72 * 0.5 = 0.71;  A_0 = 1.4 + 0.72 * 0.71 = 1.9112
    adv, targets = gae(REWARDS, VALUES, terminated=True, gamma=GAMMA, lambda_=LAMBDA)
    np.testing.assert_allclose(adv, [1.9112, 0.71, 0.5], rtol=0, atol=1e-12)
    np.testing.assert_allclose(targets, [2.4112, 1.71, 2.0], rtol=0, atol=1e-12)


def test_terminated_ignores_even_a_nan_bootstrap_value():
    values = VALUES.copy()
    values[-1] = np.nan
    adv, _ = gae(REWARDS, values, terminated=True, gamma=GAMMA, lambda_=LAMBDA)
    np.testing.assert_allclose(adv, [1.9112, 0.71, 0.5], rtol=0, atol=1e-12)


def _random_trajectory(seed: int, length: int = 17) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=length), rng.normal(size=length + 1)


@pytest.mark.parametrize("terminated", [True, False])
def test_matches_recursive_definition(terminated):
    rewards, values = _random_trajectory(0)
    adv, targets = gae(rewards, values, terminated, GAMMA, LAMBDA)
    next_values = np.append(values[1:-1], 0.0 if terminated else values[-1])
    deltas = rewards + GAMMA * next_values - values[:-1]
    assert adv[-1] == pytest.approx(deltas[-1], abs=1e-12)
    np.testing.assert_allclose(adv[:-1], deltas[:-1] + GAMMA * LAMBDA * adv[1:], atol=1e-12)
    np.testing.assert_allclose(targets, adv + values[:-1], atol=1e-12)


@pytest.mark.parametrize("terminated", [True, False])
def test_lambda_one_is_monte_carlo_return_minus_value(terminated):
    rewards, values = _random_trajectory(1)
    ret = 0.0 if terminated else values[-1]
    returns = np.zeros_like(rewards)
    for t in reversed(range(len(rewards))):
        ret = rewards[t] + GAMMA * ret
        returns[t] = ret
    adv, targets = gae(rewards, values, terminated, GAMMA, lambda_=1.0)
    np.testing.assert_allclose(adv, returns - values[:-1], atol=1e-12)
    np.testing.assert_allclose(targets, returns, atol=1e-12)


def test_lambda_one_by_hand():
    # G_2 = 2 + 0.9 * 2.0 = 3.8;  G_1 = 0 + 0.9 * 3.8 = 3.42;  G_0 = 1 + 0.9 * 3.42 = 4.078
    adv, _ = gae(REWARDS, VALUES, terminated=False, gamma=GAMMA, lambda_=1.0)
    np.testing.assert_allclose(adv, [3.578, 2.42, 2.3], rtol=0, atol=1e-12)


@pytest.mark.parametrize("terminated", [True, False])
def test_lambda_zero_is_one_step_td_error(terminated):
    rewards, values = _random_trajectory(2)
    next_values = np.append(values[1:-1], 0.0 if terminated else values[-1])
    adv, _ = gae(rewards, values, terminated, GAMMA, lambda_=0.0)
    np.testing.assert_allclose(adv, rewards + GAMMA * next_values - values[:-1], atol=1e-12)


def test_torch_in_torch_out_same_dtype_no_grad():
    rewards = torch.tensor(REWARDS, dtype=torch.float32)
    values = torch.tensor(VALUES, dtype=torch.float32, requires_grad=True)
    adv, targets = gae(rewards, values, terminated=False, gamma=GAMMA, lambda_=LAMBDA)
    assert isinstance(adv, torch.Tensor) and adv.dtype == torch.float32
    assert not adv.requires_grad and targets.shape == (3,)
    torch.testing.assert_close(adv, torch.tensor([2.84432, 2.006, 2.3]))


def test_single_step_and_empty_trajectories():
    adv, targets = gae(np.array([1.0]), np.array([0.5, 2.0]), False, GAMMA, LAMBDA)
    np.testing.assert_allclose(adv, [1.0 + 0.9 * 2.0 - 0.5])
    np.testing.assert_allclose(targets, [2.8])
    adv, targets = gae(np.zeros(0), np.array([3.0]), True, GAMMA, LAMBDA)
    assert adv.shape == (0,) and targets.shape == (0,)


def test_values_must_have_one_more_entry_than_rewards():
    with pytest.raises(ValueError, match=r"values \[T \+ 1\]"):
        gae(REWARDS, VALUES[:-1], terminated=True, gamma=GAMMA, lambda_=LAMBDA)
