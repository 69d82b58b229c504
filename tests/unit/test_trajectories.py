"""Per-agent trajectories without Ray: GAE split at the bootstrap rows, the recurrent
modules' chunked layout (pad and unpad)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from policies.common.gae import gae
from policies.common.trajectories import Trajectories, trajectory_gae

SEQ_LEN = 4
LENGTHS = [7, 3, 4]  # trajectory rows, as RLlib's connector sees them


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


def test_pad_and_unpad_round_trip():
    layout = Trajectories(lengths=LENGTHS, terminated=[False] * 3, seq_len=SEQ_LEN)
    rows = np.arange(sum(LENGTHS) * 2, dtype=np.float32).reshape(-1, 2)  # [N, 2]
    padded = layout.pad(rows)
    assert padded.shape == (4, SEQ_LEN, 2) and padded[1, 3].tolist() == [0.0, 0.0]
    np.testing.assert_array_equal(layout.unpad(padded), rows)


def test_chunks_by_hand_and_torch_unpad():
    # Rows 0..6 | 7..9 | 10..13 in chunks of 4: [0 1 2 3] [4 5 6 -] [7 8 9 -] [10 11 12 13].
    layout = Trajectories(lengths=LENGTHS, terminated=[False, True, False], seq_len=SEQ_LEN)
    padded = layout.pad(np.arange(1, 15, dtype=np.float32))  # [4, SEQ_LEN], 0 marks padding
    expected = [[1, 2, 3, 4], [5, 6, 7, 0], [8, 9, 10, 0], [11, 12, 13, 14]]
    np.testing.assert_array_equal(padded, expected)
    unpadded = layout.unpad(torch.as_tensor(padded))
    assert isinstance(unpadded, torch.Tensor)
    np.testing.assert_array_equal(unpadded.numpy(), np.arange(1, 15))


def test_without_seq_len_pad_and_unpad_are_the_identity():
    layout = Trajectories(lengths=LENGTHS, terminated=[False] * 3)
    rows = np.arange(sum(LENGTHS), dtype=np.float32)
    assert layout.pad(rows) is rows and layout.unpad(rows) is rows
