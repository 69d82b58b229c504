"""LBF resolves simultaneous loads in the players' order, the same in every env and process.

lbforaging pops loading players from a ``set``; with its players hashed by memory address,
which of two loaders goes first (and so whether a shared food is loaded) changed between env
instances with the same seed. The scene below is one where that order decides the outcome.
"""

from __future__ import annotations

import numpy as np
from lbforaging.foraging.environment import Action

from env_wrappers.envs.lbf import lbf


def _rewards_when_both_load() -> tuple[float, float]:
    """Player 0 stands between two foods, player 1 next to the southern one; both load.

    Going first, player 0 tries the northern food alone and fails, then player 1 fails alone;
    going first, player 1 loads the southern food together with player 0.
    """
    env = lbf(size=8, players=2, food=2).env
    env.reset(seed=0)
    env.field = np.zeros(env.field_size, np.int32)
    env.field[2, 3] = 2
    env.field[4, 3] = 2
    for player, position in zip(env.players, [(3, 3), (5, 3)]):
        player.position = position
        player.level = 1
    env._gen_valid_moves()
    _, rewards, *_ = env.step([Action.LOAD.value, Action.LOAD.value])
    return float(rewards[0]), float(rewards[1])


def test_simultaneous_loads_resolve_in_the_players_order_in_every_env() -> None:
    outcomes = {_rewards_when_both_load() for _ in range(40)}
    assert outcomes == {(0.0, 0.0)}


def test_players_keep_their_index_order_across_resets() -> None:
    env = lbf(size=8, players=3, food=2).env
    for seed in range(3):
        env.reset(seed=seed)
        assert [hash(p) for p in env.players] == [0, 1, 2]


def test_a_seeded_reset_depends_on_the_seed_alone_not_on_the_episode_before() -> None:
    env = lbf(size=5, players=2, food=1)
    first, _ = env.reset(seed=3)
    rng = np.random.default_rng(0)
    for steps in range(30):
        env.reset(seed=int(rng.integers(1000)))
        for _ in range(steps % 9):
            if not env.agents:
                break
            env.step({agent: int(rng.integers(6)) for agent in env.agents})
        again, _ = env.reset(seed=3)
        for agent in first:
            np.testing.assert_array_equal(again[agent]["observation"], first[agent]["observation"])
