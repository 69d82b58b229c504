"""MAPPO's connector math without Ray: trajectories split at their bootstrap rows."""

from __future__ import annotations

import numpy as np
import pytest

from policies.common.gae import gae
from policies.mappo.connectors import trajectory_gae


def test_each_trajectory_gets_its_own_gae_and_bootstrap_rows_are_inert():
    # Two trajectories: 3 steps truncated (+1 bootstrap row), 2 steps terminated (+1 row).
    values = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 99.0])
    rewards = np.array([1.0, 0.0, 2.0, 0.0, 1.0, 1.0, 0.0])
    adv, ret = trajectory_gae(values, rewards, [4, 3], [False, True], gamma=0.9, lambda_=0.8)
    first = gae(rewards[:3], values[:4], False, 0.9, 0.8)
    second = gae(rewards[4:6], values[4:7], True, 0.9, 0.8)
    assert np.allclose(adv[:3], first[0]) and np.allclose(ret[:3], first[1])
    assert np.allclose(adv[4:6], second[0]) and np.allclose(ret[4:6], second[1])
    assert adv[3] == 0 and adv[6] == 0 and ret[3] == values[3] and ret[6] == values[6]
    # The terminated trajectory ignores its bootstrap value (99): one-step check.
    assert ret[5] == pytest.approx(1.0)


def test_lengths_must_cover_the_batch():
    with pytest.raises(ValueError, match="sum to 3"):
        trajectory_gae(np.zeros(4), np.zeros(4), [3], [False], 0.9, 0.9)
