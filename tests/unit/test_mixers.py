"""QMIX's mixer input: the state scaled by its bounds keeps the untrained mixer small."""

from __future__ import annotations

import numpy as np
import torch

from env_wrappers.make import make_env
from policies.qmix.mixers import QMixer, bounds_scaler


def test_bounds_scaler_maps_finite_bounds_to_minus_one_one_and_leaves_the_rest():
    low = np.array([-1.0, 0.0, -np.inf, 3.0], np.float32)
    high = np.array([7.0, 4.0, np.inf, 3.0], np.float32)
    scale, shift = bounds_scaler(low, high)
    x = torch.tensor([[-1.0, 0.0, 5.0, 3.0], [7.0, 4.0, -2.0, 3.0], [3.0, 2.0, 0.0, 3.0]])
    y = x * scale + shift
    assert torch.allclose(y[:, :2], torch.tensor([[-1.0, -1.0], [1.0, 1.0], [0.0, 0.0]]))
    assert torch.equal(y[:, 2:], x[:, 2:])  # infinite or empty ranges: unchanged


def test_scaled_lbf_state_keeps_the_untrained_mixer_near_the_return_scale():
    env = make_env("lbf", size=8, players=2, food=2, coop=True)
    states = []
    for seed in range(20):
        env.reset(seed=seed)
        states.append(env.state())
    raw = torch.as_tensor(np.array(states))
    scale, shift = bounds_scaler(env.state_space.low, env.state_space.high)
    zero_qs = torch.zeros(len(states), 2)
    for seed in range(3):
        torch.manual_seed(seed)
        mixer = QMixer(2, raw.shape[1])
        q_raw = mixer(zero_qs, raw).abs().mean()
        q_scaled = mixer(zero_qs, raw * scale + shift).abs().mean()
        assert q_scaled < 3.0 < q_raw, (q_raw, q_scaled)  # measured: 20-60 raw, about 1 scaled
