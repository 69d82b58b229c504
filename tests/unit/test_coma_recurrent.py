"""COMA's GRU actors in plain torch: the zero-padded training chunks (from the stored state)
give the logits of stepping through each trajectory one step at a time, the history changes
acting, and the learner's terms flatten the time axis."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from ray.rllib.core.columns import Columns

from policies.coma.connectors import flat_rows, row_logits
from policies.coma.learner import as_rows, policy_terms
from policies.coma.module import HIDDEN, Q_VALUES, COMAModule
from policies.common.trajectories import Trajectories

N, A, OBS, STATE, CELL, SEQ_LEN = 2, 3, 4, 5, 6, 3
LENGTHS = [7, 4]  # trajectory rows (T + 1 each), as RLlib's learner connector sees them


def make_module(shared: bool = True, use_gru: bool = True) -> COMAModule:
    spaces = gym.spaces.Dict(
        {
            "obs": gym.spaces.Box(-1, 1, (N, OBS), np.float32),
            "state": gym.spaces.Box(-1, 1, (STATE,), np.float32),
            "action_mask": gym.spaces.Box(0, 1, (N, A), np.int8),
        }
    )
    torch.manual_seed(0)
    config = {"fcnet_hiddens": [8], "critic_hiddens": [8], "shared_actor": shared}
    if use_gru:
        config.update(use_gru=True, gru_cell_size=CELL, max_seq_len=SEQ_LEN)
    return COMAModule(
        observation_space=spaces,
        action_space=gym.spaces.MultiDiscrete([A] * N),
        model_config=config,
    )


def trajectory(length: int, seed: int) -> dict:
    g = torch.Generator().manual_seed(seed)
    mask = (torch.rand(length, N, A, generator=g) > 0.3).to(torch.int8)
    mask[..., 0] = 1
    return {
        "obs": torch.randn(length, N, OBS, generator=g),
        "state": torch.randn(length, STATE, generator=g),
        "action_mask": mask,
    }


def step_by_step(module: COMAModule, traj: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """Env-runner style ``[1, 1, ...]`` steps carrying the state: (logits, states before)."""
    h = torch.as_tensor(module.get_initial_state()[HIDDEN])[None]  # [1, n, cell]
    logits, before = [], []
    for t in range(len(traj["obs"])):
        obs = {key: x[t][None, None] for key, x in traj.items()}
        before.append(h[0])
        out = module.forward_exploration({Columns.OBS: obs, Columns.STATE_IN: {HIDDEN: h}})
        logits.append(out[Columns.ACTION_DIST_INPUTS][0, 0].reshape(N, A))
        h = out[Columns.STATE_OUT][HIDDEN]
    return torch.stack(logits), torch.stack(before)


def padded_batch(module: COMAModule, trajs: list[dict]) -> tuple[dict, Trajectories, torch.Tensor]:
    """RLlib's learner layout: chunks of ``SEQ_LEN`` rows, each from its stored state."""
    layout = Trajectories(LENGTHS, [False] * len(LENGTHS), SEQ_LEN)
    stepped = [step_by_step(module, traj) for traj in trajs]

    def pad(key: str) -> torch.Tensor:
        return torch.as_tensor(layout.pad(torch.cat([t[key] for t in trajs]).numpy()))

    starts = torch.cat([before[::SEQ_LEN] for _, before in stepped])  # [B, n, cell]
    actions = torch.randint(0, A, (sum(LENGTHS), N), generator=torch.Generator().manual_seed(3))
    batch = {
        Columns.OBS: {key: pad(key) for key in trajs[0]},
        Columns.STATE_IN: {HIDDEN: starts},
        Columns.ACTIONS: torch.as_tensor(layout.pad(actions.numpy())),
        Columns.REWARDS: torch.as_tensor(layout.pad(np.ones(sum(LENGTHS), np.float32))),
    }
    return batch, layout, torch.cat([logits for logits, _ in stepped])


@pytest.mark.parametrize("shared", [True, False])
def test_stateful_with_one_hidden_state_per_member(shared):
    module = make_module(shared)
    assert module.is_stateful() and module.get_initial_state()[HIDDEN].shape == (N, CELL)
    assert not make_module(shared, use_gru=False).is_stateful()


@pytest.mark.parametrize("shared", [True, False])
def test_training_chunks_give_the_logits_of_acting_step_by_step(shared):
    module = make_module(shared)
    trajs = [trajectory(length, seed) for seed, length in enumerate(LENGTHS)]
    batch, layout, stepped = padded_batch(module, trajs)  # stepped: [N, n, A]
    with torch.no_grad():
        torch.testing.assert_close(row_logits(module, batch, layout), stepped)
        out = module.forward_train(batch)
    rows, steps = len(batch[Columns.ACTIONS]), SEQ_LEN
    assert out[Columns.ACTION_DIST_INPUTS].shape == (rows, steps, N * A)
    assert out[Q_VALUES].shape == (rows, steps, N, A)
    train_logits = layout.unpad(out[Columns.ACTION_DIST_INPUTS]).reshape(-1, N, A)
    torch.testing.assert_close(train_logits, stepped)
    flat = flat_rows(batch, layout)
    with torch.no_grad():
        q_rows = module.q_values(flat[Columns.OBS], flat[Columns.ACTIONS])  # [N, n, A]
    torch.testing.assert_close(layout.unpad(out[Q_VALUES]), q_rows)


def test_the_history_changes_acting():
    module = make_module()
    traj = trajectory(4, seed=1)
    other = {key: x.clone() for key, x in traj.items()}
    other["obs"][:3] = -traj["obs"][:3]  # another history, the same last observation
    with torch.no_grad():
        last, last_other = step_by_step(module, traj)[0][-1], step_by_step(module, other)[0][-1]
    assert not torch.allclose(last, last_other)


def test_learner_terms_flatten_the_time_axis():
    module = make_module()
    trajs = [trajectory(length, seed) for seed, length in enumerate(LENGTHS)]
    batch, layout, _ = padded_batch(module, trajs)
    batch[Columns.LOSS_MASK] = torch.as_tensor(layout.pad(np.ones(sum(LENGTHS), bool)))
    with torch.no_grad():
        fwd_out = module.forward_train(batch)
    mask, log_probs, probs, actions = policy_terms(module, batch, fwd_out)
    rows = batch[Columns.ACTIONS].shape[0] * SEQ_LEN
    assert mask.shape == (rows,) and int(mask.sum()) == sum(LENGTHS)  # padding is False
    assert log_probs.shape == probs.shape == (rows, N, A) and actions.shape == (rows, N)
    assert as_rows(module, fwd_out[Q_VALUES]).shape == (rows, N, A)
    assert as_rows(module, None) is None


def test_mlp_actors_keep_the_flat_batch():
    module = make_module(use_gru=False)
    layout = Trajectories(LENGTHS, [False, False])
    batch = {Columns.OBS: trajectory(sum(LENGTHS), 0), Columns.ACTIONS: torch.zeros(11, N)}
    assert flat_rows(batch, layout) is batch
    with torch.no_grad():
        torch.testing.assert_close(
            row_logits(module, batch, layout), module.logits(batch[Columns.OBS])
        )
