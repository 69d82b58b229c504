"""Policy ensembles: the team env's seeded per-episode draw, and that a sub-policy learns only
from the steps it acted in (``policies.common.ensemble``; no Ray runtime)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from env_wrappers.keys import SUB_POLICY_KEY
from env_wrappers.make import make_team_env
from policies.common.ensemble import select_sub_policy
from policies.common.members import MemberNetworks

K = 3


def draws(seed: int, episodes: int, **options) -> np.ndarray:
    env = make_team_env("simple_spread", N=2, max_cycles=2, teams="all", sub_policies=K, **options)
    picks = []
    for index in range(episodes):
        obs, _ = env.reset(seed=seed if index == 0 else None)
        first = obs["all"][SUB_POLICY_KEY].copy()
        for _ in range(2):  # the index holds for the whole episode
            obs, *_ = env.step({"all": env.action_spaces["all"].sample()})
            if "all" in obs:
                assert np.array_equal(obs["all"][SUB_POLICY_KEY], first)
        picks.append(first)
    env.close()
    assert env.observation_spaces["all"][SUB_POLICY_KEY].contains(picks[0])
    return np.stack(picks)  # [episodes, n]


def test_the_draw_is_uniform_over_episodes_per_agent_and_seeded():
    picks = draws(seed=7, episodes=1500)
    for member in range(picks.shape[1]):
        counts = np.bincount(picks[:, member], minlength=K)
        expected = len(picks) / K
        chi2 = ((counts - expected) ** 2 / expected).sum()
        assert chi2 < 13.8, counts  # chi-square with 2 dof, p = 0.001
    joint = np.bincount(picks[:, 0] * K + picks[:, 1], minlength=K * K)
    assert joint.min() > 0  # members draw independently: every pairing occurs
    assert np.array_equal(picks[:50], draws(seed=7, episodes=50))  # same seed, same draws
    assert not np.array_equal(picks[:50], draws(seed=8, episodes=50))


def test_a_fixed_sub_policy_replaces_the_draw():
    assert (draws(seed=1, episodes=5, sub_policy=2) == 2).all()
    with pytest.raises(ValueError, match="sub_policy must be in 0..2"):
        make_team_env("simple_spread", N=2, teams="all", sub_policies=K, sub_policy=3)


def test_without_an_ensemble_there_is_no_sub_policy_key():
    env = make_team_env("simple_spread", N=2, max_cycles=2, teams="all")
    assert SUB_POLICY_KEY not in env.reset(seed=0)[0]["all"]


def test_select_takes_each_members_drawn_sub_policy():
    outputs = torch.arange(2 * 2 * K * 3, dtype=torch.float32).reshape(2, 2, K, 3)  # [B, n, K, A]
    pick = torch.tensor([[0, 2], [1, 1]])
    chosen = select_sub_policy(outputs, pick)
    for b in range(2):
        for i in range(2):
            torch.testing.assert_close(chosen[b, i], outputs[b, i, pick[b, i]])


def test_replay_partitions_never_mix():
    """A sub-policy's gradient comes only from the rows in which it acted."""
    torch.manual_seed(0)
    n, batch = 2, 64
    nets = torch.nn.ModuleList(MemberNetworks(n, 4, [8], 3, shared=False) for _ in range(K))
    obs = torch.randn(batch, n, 4)
    pick = torch.randint(0, K - 1, (batch, n))  # sub-policy K - 1 never acted
    pick[:, 1] = 0  # member 1 only ever acted with sub-policy 0
    every = torch.stack([net(obs)[0] for net in nets], dim=-2)  # [B, n, K, A]
    select_sub_policy(every, pick).pow(2).sum().backward()
    for k, net in enumerate(nets):
        for member, member_net in enumerate(net):
            acted = bool((pick[:, member] == k).any())
            grads = [p.grad for p in member_net.parameters()]
            moved = any(g is not None and g.abs().sum() > 0 for g in grads)
            assert moved == acted, (k, member)
    # and the gradient of one row reaches only its own sub-policies
    for net in nets:
        net.zero_grad()
    row = 5
    every = torch.stack([net(obs[row : row + 1])[0] for net in nets], dim=-2)
    select_sub_policy(every, pick[row : row + 1]).sum().backward()
    for k, net in enumerate(nets):
        for member, member_net in enumerate(net):
            grads = [p.grad for p in member_net.parameters() if p.grad is not None]
            moved = any(g.abs().sum() > 0 for g in grads)
            assert moved == (int(pick[row, member]) == k)


def test_eval_asks_for_sub_policies_the_checkpoint_has():
    from rl_apps.errors import SpecError
    from rl_apps.evaluate import sub_policy_picks

    assert sub_policy_picks(None, 1) == [{}]
    assert sub_policy_picks(None, 3) == [{}]  # drawn as in training
    assert sub_policy_picks(2, 3) == [{"sub_policy": 2}]
    assert sub_policy_picks("all", 2) == [{"sub_policy": 0}, {"sub_policy": 1}]
    for bad, count in ((0, 1), (3, 3), (-1, 3), ("x", 3)):
        with pytest.raises(SpecError):
            sub_policy_picks(bad, count)
