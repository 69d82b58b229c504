"""The QMIX team module in plain torch: decentralized greedy actions (the IGM property),
masks respected when acting and exploring, the actor path never reads the global state."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from ray.rllib.core.columns import Columns

from policies.qmix.module import TeamQModule
from policies.qmix.q_table import joint_table

N, A, OBS, STATE = 3, 4, 5, 7


def make_module(mixer="qmix", shared=True, epsilon=0.0):
    torch.manual_seed(0)
    space = gym.spaces.Dict(
        {
            "obs": gym.spaces.Box(-1, 1, (N, OBS), np.float32),
            "state": gym.spaces.Box(-1, 1, (STATE,), np.float32),
            "action_mask": gym.spaces.Box(0, 1, (N, A), np.int8),
            "alive": gym.spaces.Box(0, 1, (N,), np.int8),
        }
    )
    options = (
        {"embed_dim": 8, "hypernet_layers": 2, "hypernet_embed": 16} if mixer == "qmix" else {}
    )
    return TeamQModule(
        observation_space=space,
        action_space=gym.spaces.MultiDiscrete([A] * N),
        model_config={
            "fcnet_hiddens": [16],
            "shared_agent_network": shared,
            "mixer": mixer,
            "mixer_options": options,
            "epsilon": epsilon,
        },
    )


def team_obs(seed, mask=None):
    rng = np.random.default_rng(seed)
    return {
        "obs": rng.uniform(-1, 1, (N, OBS)).astype(np.float32),
        "state": rng.uniform(-1, 1, (STATE,)).astype(np.float32),
        "action_mask": np.ones((N, A), np.int8) if mask is None else mask,
        "alive": np.ones(N, np.int8),
    }


def batch_of(*observations):
    return {k: torch.as_tensor(np.stack([o[k] for o in observations])) for k in observations[0]}


@pytest.mark.parametrize("mixer", ["qmix", "vdn"])
@pytest.mark.parametrize("shared", [True, False])
def test_greedy_member_actions_maximise_q_tot(mixer, shared):
    """IGM: each member's own argmax is the argmax of Q_tot over all joint actions."""
    module = make_module(mixer, shared)
    for seed in range(20):
        obs = team_obs(seed)
        table = joint_table(module, obs)
        best = table["joint_actions"][int(np.argmax(table["q_tot"]))]
        greedy = module.forward_inference({Columns.OBS: batch_of(obs)})[Columns.ACTIONS]
        assert greedy[0].tolist() == best


def test_masked_actions_are_never_taken_even_when_exploring():
    module = make_module(epsilon=1.0)
    mask = np.zeros((N, A), np.int8)
    mask[:, 2] = 1
    mask[0, 3] = 1
    obs = batch_of(*[team_obs(s, mask) for s in range(64)])
    for forward in (module.forward_inference, module.forward_exploration):
        actions = forward(
            {Columns.OBS: obs}, **({"t": 0} if forward is module.forward_exploration else {})
        )[Columns.ACTIONS]
        allowed = torch.as_tensor(mask).bool()[torch.arange(N), actions]  # [64, N]
        assert allowed.all()


def test_acting_ignores_the_global_state():
    module = make_module()
    obs = team_obs(1)
    noisy = dict(obs, state=np.random.default_rng(5).normal(0, 100, STATE).astype(np.float32))
    outs = [module.forward_inference({Columns.OBS: batch_of(o)})["q_values"] for o in (obs, noisy)]
    assert torch.equal(outs[0], outs[1])


def test_shapes_and_individual_networks():
    module = make_module(shared=False)
    assert len(module.agent_nets) == N
    q = module.agent_q(batch_of(team_obs(0), team_obs(1)))
    assert q.shape == (2, N, A)


@pytest.mark.parametrize("shared", [True, False])
def test_exported_member_actors_give_the_modules_utilities_and_actions(shared, tmp_path):
    from policies.qmix.export import export_team

    module = make_module(shared=shared)
    members = [f"m{i}" for i in range(N)]
    paths = export_team(module, "team", members, tmp_path)
    assert [p.name for p in paths] == (
        ["team.pt"] if shared else [f"team.m{i}.pt" for i in range(N)]
    )
    mask = np.ones((N, A), np.int8)
    mask[0, 1:] = 0
    obs = team_obs(3, mask)
    batch = batch_of(obs)
    q = module.agent_q(batch)[0].detach()  # [N, A]
    greedy = module.forward_inference({Columns.OBS: batch})[Columns.ACTIONS][0]
    for i in range(N):
        actor = torch.jit.load(str(paths[0 if shared else i]))
        local = torch.as_tensor(obs["obs"][i])[None]
        inputs = torch.cat([local, torch.eye(N)[i][None]], -1) if shared else local
        out = actor(inputs, torch.as_tensor(mask[i])[None].float())[0]
        valid = torch.as_tensor(mask[i]).bool()
        torch.testing.assert_close(out[valid], q[i][valid])
        assert int(out.argmax()) == int(greedy[i])  # masked actions are never chosen
