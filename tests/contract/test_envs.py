"""Every registered env passes PettingZoo's API test and RLlib's checker through our adapter."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.spaces import flatdim as gym_flatdim
from pettingzoo.test import parallel_api_test
from ray.rllib.utils.pre_checks.env import check_multiagent_environments

from env_wrappers import ENVS, EnvError, make_env, make_rllib_env, make_team_env
from env_wrappers.keys import MASK_KEY, OBS_KEY, STATE_KEY

NAMES = sorted(ENVS)


@pytest.mark.parametrize("name", NAMES)
def test_pettingzoo_parallel_api(name):
    parallel_api_test(make_env(name), num_cycles=50)


@pytest.mark.parametrize("name", NAMES)
def test_rllib_multiagent_checker(name):
    check_multiagent_environments(make_rllib_env(name))


@pytest.mark.parametrize("name", NAMES)
def test_rllib_checker_on_team_view(name):
    env = make_team_env(name)
    check_multiagent_environments(env)
    members = [m for team in env.teams.values() for m in team]
    assert sorted(members) == sorted(env.env.possible_agents)


@pytest.mark.parametrize("name", NAMES)
def test_parallel_env_has_state(name):
    env = make_env(name)
    env.reset(seed=0)
    assert np.asarray(env.state()).size == gym_flatdim(env.state_space)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("global_state", ["auto", "concat"])
def test_state_and_mask_shapes(name, global_state):
    env = make_rllib_env(name, global_state=global_state)
    obs, _ = env.reset(seed=3)
    for agent, item in obs.items():
        space = env.observation_spaces[agent]
        assert space.contains(item), f"{agent}: observation outside its space"
        assert item[STATE_KEY].shape == space[STATE_KEY].shape
        if MASK_KEY in space.spaces:
            assert item[MASK_KEY].dtype == np.int8
            assert item[MASK_KEY].shape == (env.action_spaces[agent].n,)
    states = [item[STATE_KEY] for item in obs.values()]
    assert all(np.array_equal(states[0], s) for s in states)


@pytest.mark.parametrize("name", NAMES)
def test_seeded_resets_repeat(name):
    first, _ = make_rllib_env(name).reset(seed=42)
    second, _ = make_rllib_env(name).reset(seed=42)
    for agent in first:
        assert np.array_equal(first[agent][OBS_KEY], second[agent][OBS_KEY])


@pytest.mark.parametrize("name", NAMES)
def test_episode_ends_for_rllib(name):
    env = make_rllib_env(name)
    env.reset(seed=0)
    for _ in range(10_000):
        actions = {a: env.action_spaces[a].sample() for a in env.agents}
        _, _, terms, truncs, _ = env.step(actions)
        if terms["__all__"] or truncs["__all__"]:
            break
    assert terms["__all__"] or truncs["__all__"]
    assert not env.alive_agents
    assert set(env.agents) == set(terms) - {"__all__"}  # the last step's agents, for RLlib


def test_concat_state_is_all_observations():
    env = make_rllib_env("simple_spread", global_state="concat")
    obs, _ = env.reset(seed=0)
    expected = np.concatenate([obs[a][OBS_KEY] for a in env.possible_agents])
    assert np.allclose(obs["agent_0"][STATE_KEY], expected)


def test_unknown_env_and_option_are_clear_errors():
    with pytest.raises(EnvError, match="valid envs: .*simple_spread"):
        make_env("simple_sprea")
    with pytest.raises(EnvError, match="did you mean 'max_cycles'"):
        make_env("simple_spread", max_cycle=3)
