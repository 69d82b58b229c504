"""rMAPPO's recurrent module in plain torch: the chunked, zero-padded training layout gives
the same actor outputs and values as stepping through the episode one step at a time."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch
from ray.rllib.core.columns import Columns

from policies.common.trajectories import Trajectories
from policies.mappo.module import ActorCriticModule

SEQ_LEN = 4
LENGTHS = [7, 3, 4]  # trajectory rows, as RLlib's connector sees them


def make_module(critic_input="state"):
    torch.manual_seed(0)
    space = gym.spaces.Dict(
        {
            "obs": gym.spaces.Box(-1, 1, (6,), np.float32),
            "state": gym.spaces.Box(-1, 1, (10,), np.float32),
            "action_mask": gym.spaces.Box(0, 1, (4,), np.int8),
        }
    )
    return ActorCriticModule(
        observation_space=space,
        action_space=gym.spaces.Discrete(4),
        inference_only=True,  # as on env runners: recurrent modules still build the critic
        model_config={
            "fcnet_hiddens": [16],
            "use_gru": True,
            "gru_cell_size": 8,
            "max_seq_len": SEQ_LEN,
            "critic_input": critic_input,
        },
    )


def trajectory(length, seed):
    g = torch.Generator().manual_seed(seed)
    mask = (torch.rand(length, 4, generator=g) > 0.3).to(torch.int8)
    mask[:, 0] = 1
    return {
        "obs": torch.randn(length, 6, generator=g),
        "state": torch.randn(length, 10, generator=g),
        "action_mask": mask,
    }


def step_by_step(module, traj):
    """Env-runner style: one step at a time ([1, 1, ...]), carrying the state."""
    state = {k: torch.as_tensor(v)[None] for k, v in module.get_initial_state().items()}
    logits, values = [], []
    for t in range(len(traj["obs"])):
        obs = {k: v[t][None, None] for k, v in traj.items()}
        batch = {Columns.OBS: obs, Columns.STATE_IN: state}
        values.append(module.compute_values(batch)[0, 0])
        out = module.forward_exploration(batch)
        logits.append(out[Columns.ACTION_DIST_INPUTS][0, 0])
        state = out[Columns.STATE_OUT]
    return torch.stack(logits), torch.stack(values)


def chunked_batch(module, trajs):
    """Learner style: chunks of SEQ_LEN rows, zero-padded, state in at each chunk start."""
    obs, states = {k: [] for k in trajs[0]}, {"actor": [], "critic": []}
    for traj in trajs:
        state = {k: torch.as_tensor(v)[None] for k, v in module.get_initial_state().items()}
        length = len(traj["obs"])
        for start in range(0, length, SEQ_LEN):
            for key in states:
                states[key].append(state[key][0])
            for key, value in traj.items():
                chunk = value[start : start + SEQ_LEN]
                pad = torch.zeros(SEQ_LEN - len(chunk), *chunk.shape[1:], dtype=chunk.dtype)
                obs[key].append(torch.cat([chunk, pad]))
            window = {k: v[start : start + SEQ_LEN][None] for k, v in traj.items()}
            state = module.forward_exploration({Columns.OBS: window, Columns.STATE_IN: state})[
                Columns.STATE_OUT
            ]
    return {
        Columns.OBS: {k: torch.stack(v) for k, v in obs.items()},  # [B, SEQ_LEN, ...]
        Columns.STATE_IN: {k: torch.stack(v) for k, v in states.items()},  # [B, cell]
    }


@torch.no_grad()
def test_padded_training_layout_matches_stepwise_rollout():
    module = make_module()
    trajs = [trajectory(n, seed) for seed, n in enumerate(LENGTHS)]
    expected = [step_by_step(module, t) for t in trajs]
    batch = chunked_batch(module, trajs)
    layout = Trajectories(lengths=LENGTHS, terminated=[False] * 3, seq_len=SEQ_LEN)
    logits = layout.unpad(module.forward_train(batch)[Columns.ACTION_DIST_INPUTS])
    values = layout.unpad(module.compute_values(batch))
    assert batch[Columns.OBS]["obs"].shape[:2] == (2 + 1 + 1, SEQ_LEN)
    torch.testing.assert_close(logits, torch.cat([e[0] for e in expected]))
    torch.testing.assert_close(values, torch.cat([e[1] for e in expected]))


@torch.no_grad()
def test_inference_runs_the_actor_alone_and_keeps_the_critic_state():
    module = make_module()
    traj = trajectory(1, 9)
    critic_state = torch.full((1, 8), 0.5)
    state = {"actor": torch.zeros(1, 8), "critic": critic_state}
    noisy = dict(traj, state=torch.randn(1, 10) * 100)
    outputs = []
    for obs in (traj, noisy):
        out = module.forward_inference(
            {Columns.OBS: {k: v[None] for k, v in obs.items()}, Columns.STATE_IN: state}
        )
        assert torch.equal(out[Columns.STATE_OUT]["critic"], critic_state)
        outputs.append(out[Columns.ACTION_DIST_INPUTS])
    assert torch.equal(outputs[0], outputs[1])  # the actor never reads the global state
