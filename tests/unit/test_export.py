"""Exported actors (TorchScript) compute exactly what the module's actor computes."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch
from ray.rllib.core.columns import Columns

from policies.common.export import ExportedActor
from policies.mappo.module import ActorCriticModule


def module(action_space, mask=True):
    spaces = {
        "obs": gym.spaces.Box(-1, 1, (6,), np.float32),
        "state": gym.spaces.Box(-1, 1, (9,), np.float32),
    }
    if mask:
        spaces["action_mask"] = gym.spaces.Box(0, 1, (4,), np.int8)
    torch.manual_seed(0)
    return ActorCriticModule(
        observation_space=gym.spaces.Dict(spaces),
        action_space=action_space,
        model_config={"fcnet_hiddens": [8], "critic_input": "state"},
    )


def test_scripted_discrete_actor_matches_module_with_masks():
    m = module(gym.spaces.Discrete(4))
    obs = torch.randn(5, 6)
    mask = torch.tensor([[1, 0, 1, 1]] * 5, dtype=torch.int8)
    batch = {Columns.OBS: {"obs": obs, "state": torch.randn(5, 9), "action_mask": mask}}
    expected = m.forward_inference(batch)[Columns.ACTION_DIST_INPUTS]
    scripted = torch.jit.script(ExportedActor(m.pi, True))
    assert torch.equal(scripted(obs, mask), expected)
    assert (scripted(obs, mask).argmax(-1) != 1).all()


def test_scripted_continuous_actor_returns_the_mean():
    m = module(gym.spaces.Box(-1, 1, (3,), np.float32), mask=False)
    obs = torch.randn(2, 6)
    batch = {Columns.OBS: {"obs": obs, "state": torch.randn(2, 9)}}
    mean = m.forward_inference(batch)[Columns.ACTION_DIST_INPUTS][:, :3]
    scripted = torch.jit.script(ExportedActor(m.pi, False))
    assert torch.equal(scripted(obs, torch.ones(2, 3)), mean)
