"""Envs marked ``fresh_observations`` never change observation arrays they returned.

Lean sampling turns off the vector env's deep copy of every step's observations for these
envs (``env_wrappers.registry.returns_fresh_observations``), so the episodes hold the env's
own arrays: a later step that wrote into one of them would rewrite the episode's past.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import tree

from env_wrappers import ENVS, make_rllib_env, make_team_env

FRESH = sorted(name for name, entry in ENVS.items() if entry.fresh_observations)


def _random_actions(env, rng: np.random.Generator) -> dict:
    actions = {}
    for agent in env.agents:
        space = env.action_spaces[agent]
        space.seed(int(rng.integers(2**31)))
        actions[agent] = space.sample()
    return actions


def _returned_arrays_stay_unchanged(env, steps: int = 60) -> None:
    rng = np.random.default_rng(0)
    obs, _ = env.reset(seed=1)
    kept = [(obs, copy.deepcopy(obs))]
    for _ in range(steps):
        obs, _, terms, truncs, _ = env.step(_random_actions(env, rng))
        kept.append((obs, copy.deepcopy(obs)))
        if terms["__all__"] or truncs["__all__"]:
            obs, _ = env.reset()
            kept.append((obs, copy.deepcopy(obs)))
    for returned, snapshot in kept:
        tree.map_structure(np.testing.assert_array_equal, returned, snapshot)


def test_the_benchmark_envs_are_marked_fresh():
    assert {"simple_spread", "lbf"} <= set(FRESH)


@pytest.mark.parametrize("name", FRESH)
def test_per_agent_view_returns_fresh_observations(name):
    _returned_arrays_stay_unchanged(make_rllib_env(name))


@pytest.mark.parametrize("name", FRESH)
def test_team_view_returns_fresh_observations(name):
    _returned_arrays_stay_unchanged(make_team_env(name))
