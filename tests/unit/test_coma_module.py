"""COMAModule: shapes, decentralized actors, a critic that exists only for training."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from ray.rllib.core.columns import Columns

from policies.coma.module import Q_VALUES, COMAModule

N, A, OBS, STATE = 3, 4, 5, 7


def module(inference_only: bool = False, shared: bool = True) -> COMAModule:
    spaces = gym.spaces.Dict(
        {
            "obs": gym.spaces.Box(-1, 1, (N, OBS), np.float32),
            "state": gym.spaces.Box(-1, 1, (STATE,), np.float32),
            "action_mask": gym.spaces.Box(0, 1, (N, A), np.int8),
        }
    )
    torch.manual_seed(0)
    return COMAModule(
        observation_space=spaces,
        action_space=gym.spaces.MultiDiscrete([A] * N),
        inference_only=inference_only,
        model_config={"fcnet_hiddens": [8], "critic_hiddens": [8], "shared_actor": shared},
    )


def batch(rows: int = 6) -> dict:
    mask = torch.ones(rows, N, A, dtype=torch.int8)
    mask[:, 0, 2] = 0
    obs = {"obs": torch.randn(rows, N, OBS), "state": torch.randn(rows, STATE), "action_mask": mask}
    return {Columns.OBS: obs, Columns.ACTIONS: torch.randint(0, 2, (rows, N))}


@pytest.mark.parametrize("shared", [True, False])
def test_shapes_and_masked_logits(shared):
    m, b = module(shared=shared), batch()
    out = m.forward_train(b)
    assert out[Columns.ACTION_DIST_INPUTS].shape == (6, N * A)
    assert out[Q_VALUES].shape == (6, N, A)
    logits = out[Columns.ACTION_DIST_INPUTS].reshape(6, N, A)
    assert (logits[:, 0, 2] < -1e30).all()  # masked for member 0
    actions = m.get_exploration_action_dist_cls().from_logits(logits.reshape(6, -1)).sample()
    assert actions.shape == (6, N) and (actions[:, 0] != 2).all()


def test_actors_never_read_the_state():
    m, b = module(), batch()
    before = m.forward_inference(b)[Columns.ACTION_DIST_INPUTS]
    b[Columns.OBS]["state"] = torch.randn(6, STATE) * 100
    torch.testing.assert_close(m.forward_inference(b)[Columns.ACTION_DIST_INPUTS], before)


def test_critic_is_training_only_and_has_a_target_copy():
    acting = module(inference_only=True)
    assert not hasattr(acting, "critic") and not any("critic" in k for k in acting.state_dict())
    m, b = module(), batch()
    ((main, target),) = m.get_target_network_pairs()
    assert main is m.critic and target is not main
    torch.testing.assert_close(m.forward_target(b)[Q_VALUES], m.forward_train(b)[Q_VALUES])


def test_q_of_member_does_not_depend_on_its_own_action():
    m, b = module(), batch()
    q = m.q_values(b[Columns.OBS], b[Columns.ACTIONS])
    changed = b[Columns.ACTIONS].clone()
    changed[:, 1] = (changed[:, 1] + 1) % A
    q2 = m.q_values(b[Columns.OBS], changed)
    torch.testing.assert_close(q[:, 1], q2[:, 1])  # member 1's own block is zeroed
    assert not torch.allclose(q[:, 0], q2[:, 0])  # the others see member 1's action
