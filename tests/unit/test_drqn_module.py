"""The QMIX team module with GRU agents (DRQN) in plain torch: stepping with the carried
state equals unrolling the sequence, each member's utilities depend on its own history only,
and the first step equals the stateless ``agent_q``."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from ray.rllib.core.columns import Columns

from policies.qmix.module import HIDDEN, Q_VALUES, TeamQModule

N, A, OBS, STATE, T, B = 3, 4, 5, 7, 6, 2


def make_module(shared: bool) -> TeamQModule:
    torch.manual_seed(0)
    space = gym.spaces.Dict(
        {
            "obs": gym.spaces.Box(-1, 1, (N, OBS), np.float32),
            "state": gym.spaces.Box(-1, 1, (STATE,), np.float32),
            "action_mask": gym.spaces.Box(0, 1, (N, A), np.int8),
        }
    )
    return TeamQModule(
        observation_space=space,
        action_space=gym.spaces.MultiDiscrete([A] * N),
        model_config={
            "fcnet_hiddens": [16],
            "use_gru": True,
            "gru_cell_size": 8,
            "shared_agent_network": shared,
            "mixer": "vdn",
        },
    )


def sequences(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "obs": torch.rand(B, T, N, OBS, generator=g) * 2 - 1,
        "state": torch.rand(B, T, STATE, generator=g),
        "action_mask": torch.ones(B, T, N, A, dtype=torch.int8),
    }


@pytest.mark.parametrize("shared", [True, False])
def test_stepping_with_the_carried_state_equals_unrolling(shared):
    module = make_module(shared)
    obs = sequences()
    unrolled, last = module.sequence_q(obs)  # [B, T, N, A]
    state = {HIDDEN: torch.as_tensor(np.stack([module.get_initial_state()[HIDDEN]] * B))}
    with torch.no_grad():
        for t in range(T):
            step = {k: v[:, t : t + 1] for k, v in obs.items()}  # [B, 1, ...]
            out = module.forward_inference({Columns.OBS: step, Columns.STATE_IN: state})
            torch.testing.assert_close(out[Q_VALUES][:, 0], unrolled[:, t])
            state = out[Columns.STATE_OUT]
    torch.testing.assert_close(state[HIDDEN], last)


@pytest.mark.parametrize("shared", [True, False])
def test_a_members_utilities_depend_only_on_its_own_history(shared):
    module = make_module(shared)
    obs = sequences()
    changed = {k: v.clone() for k, v in obs.items()}
    changed["obs"][:, :, 1] = torch.randn(B, T, OBS)  # member 1's history
    changed["state"] = torch.randn(B, T, STATE)  # and the global state
    before, after = module.sequence_q(obs)[0], module.sequence_q(changed)[0]
    torch.testing.assert_close(before[:, :, [0, 2]], after[:, :, [0, 2]])
    assert not torch.allclose(before[:, :, 1], after[:, :, 1])


def test_first_step_equals_the_stateless_utilities():
    module = make_module(shared=True)
    obs = sequences()
    first = {k: v[:, 0] for k, v in obs.items()}
    torch.testing.assert_close(module.agent_q(first), module.sequence_q(obs)[0][:, 0])
