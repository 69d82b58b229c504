"""Running reward standardization against numpy's mean and variance."""

from __future__ import annotations

import numpy as np
import torch

from policies.common.reward_norm import RewardStandardizer


def test_batches_give_the_running_mean_and_variance_of_all_rewards():
    rng = np.random.default_rng(0)
    batches = [rng.normal(2.0, 3.0, size) for size in (5, 17, 40)]
    norm = RewardStandardizer(epsilon=1e-8)
    for b in batches:
        norm.update(torch.as_tensor(b))
    everything = np.concatenate(batches)
    assert abs(float(norm.mean) - everything.mean()) < 1e-6
    assert abs(float(norm.var) - everything.var()) < 1e-5
    out = norm.standardize(torch.as_tensor(everything, dtype=torch.float32))
    assert abs(float(out.mean())) < 1e-4 and abs(float(out.std(unbiased=False)) - 1) < 1e-4


def test_before_any_update_it_is_the_identity_and_the_state_is_in_the_state_dict():
    norm = RewardStandardizer()
    r = torch.tensor([0.0, 1.0, -2.0])
    torch.testing.assert_close(norm.standardize(r), r)
    assert set(norm.state_dict()) == {"count", "mean", "var"}


def test_sparse_small_rewards_become_large():
    norm = RewardStandardizer()
    rewards = torch.zeros(1000)
    rewards[::100] = 0.25  # LBF-like: rare, small
    norm.update(rewards)
    assert float(norm.standardize(torch.tensor(0.25))) > 9.0
