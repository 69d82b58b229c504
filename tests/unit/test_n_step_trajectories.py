"""N-step returns over the learner's trajectory layout (T + 1 rows each), by hand."""

from __future__ import annotations

import numpy as np
import pytest

from policies.common.trajectories import trajectory_n_step

GAMMA = 0.5


def test_truncated_trajectory_bootstraps_from_its_last_row():
    # one trajectory: rewards 1, 2, 3; values of the 4 rows 10, 20, 30, 40 (40: bootstrap)
    values = np.array([10.0, 20.0, 30.0, 40.0])
    rewards = np.array([1.0, 2.0, 3.0, 0.0])
    out = trajectory_n_step(values, rewards, [4], [False], GAMMA, n=2)
    assert out[0] == pytest.approx(1 + 0.5 * 2 + 0.25 * 30)  # two rewards, V(s_2)
    assert out[1] == pytest.approx(2 + 0.5 * 3 + 0.25 * 40)  # V(s_3): the bootstrap row
    assert out[2] == pytest.approx(3 + 0.5 * 40)  # one step left
    assert out[3] == 40.0  # the bootstrap row keeps its value


def test_terminated_trajectory_does_not_bootstrap():
    values = np.array([10.0, 20.0, 30.0, 40.0])
    rewards = np.array([1.0, 2.0, 3.0, 0.0])
    out = trajectory_n_step(values, rewards, [4], [True], GAMMA, n=2)
    assert out[1] == pytest.approx(2 + 0.5 * 3)
    assert out[2] == pytest.approx(3.0)
    assert out[0] == pytest.approx(1 + 0.5 * 2 + 0.25 * 30)  # inside: still bootstraps


def test_two_trajectories_do_not_leak_into_each_other():
    values = np.array([1.0, 2.0, 100.0, 5.0, 6.0])
    rewards = np.array([1.0, 1.0, 0.0, 7.0, 0.0])
    out = trajectory_n_step(values, rewards, [3, 2], [True, False], GAMMA, n=5)
    assert out[0] == pytest.approx(1 + 0.5 * 1)  # terminated: no 100, nothing of row 3
    assert out[3] == pytest.approx(7 + 0.5 * 6.0)


def test_one_step_is_td0_and_bad_inputs_raise():
    values = np.array([3.0, 4.0, 9.0])
    rewards = np.array([1.0, 2.0, 0.0])
    out = trajectory_n_step(values, rewards, [3], [False], GAMMA, n=1)
    np.testing.assert_allclose(out[:2], [1 + 0.5 * 4, 2 + 0.5 * 9])
    with pytest.raises(ValueError, match="at least 1"):
        trajectory_n_step(values, rewards, [3], [False], GAMMA, n=0)
    with pytest.raises(ValueError, match="sum to 2"):
        trajectory_n_step(values, rewards, [2], [False], GAMMA, n=1)
