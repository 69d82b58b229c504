"""The team view and the adapter's per-agent options on real envs (no Ray started)."""

from __future__ import annotations

import numpy as np
import pytest

from env_wrappers import make_rllib_env
from env_wrappers.keys import ALIVE_KEY, OBS_KEY, STATE_KEY
from env_wrappers.team import TeamEnv, teams_by_prefix


def test_teams_by_prefix():
    agents = ["adversary_0", "adversary_1", "agent_0", "agent_1"]
    assert teams_by_prefix(agents) == {
        "adversary": ["adversary_0", "adversary_1"],
        "agent": ["agent_0", "agent_1"],
    }


def test_team_obs_stacks_members_in_possible_agents_order():
    base = make_rllib_env("simple_spread")
    team = TeamEnv(make_rllib_env("simple_spread"))
    per_agent, _ = base.reset(seed=5)
    grouped, _ = team.reset(seed=5)
    stacked = grouped["agent"][OBS_KEY]
    for index, agent in enumerate(base.possible_agents):
        assert np.array_equal(stacked[index], per_agent[agent][OBS_KEY])
    assert np.array_equal(grouped["agent"][STATE_KEY], per_agent["agent_0"][STATE_KEY])
    assert grouped["agent"][ALIVE_KEY].tolist() == [1, 1, 1]


@pytest.mark.parametrize("team_reward", ["sum", "mean"])
def test_team_reward_and_member_actions(team_reward):
    base = make_rllib_env("simple_spread")
    team = TeamEnv(make_rllib_env("simple_spread"), team_reward=team_reward)
    base.reset(seed=1)
    team.reset(seed=1)
    joint = np.array([1, 2, 3])
    _, rewards, _, _, _ = base.step({a: int(x) for a, x in zip(base.possible_agents, joint)})
    _, team_rewards, _, _, infos = team.step({"agent": joint})
    expected = sum(rewards.values()) / (3 if team_reward == "mean" else 1)
    assert team_rewards["agent"] == pytest.approx(expected)
    assert infos["agent"]["member_rewards"] == pytest.approx(list(rewards.values()))


def test_agent_id_is_appended_as_one_hot():
    env = make_rllib_env("simple_spread", agent_id=True)
    obs, _ = env.reset(seed=0)
    plain, _ = make_rllib_env("simple_spread").reset(seed=0)
    for index, agent in enumerate(env.possible_agents):
        local = obs[agent][OBS_KEY]
        assert local.shape == (18 + 3,)
        assert np.array_equal(local[:18], plain[agent][OBS_KEY])
        assert local[18:].tolist() == [1.0 if i == index else 0.0 for i in range(3)]
        assert env.observation_spaces[agent][OBS_KEY].contains(local)


def test_competitive_envs_become_several_teams():
    from env_wrappers import make_team_env

    tag = make_team_env("simple_tag")
    assert tag.teams == {
        "adversary": ["adversary_0", "adversary_1", "adversary_2"],
        "agent": ["agent_0"],
    }
    assert tag.action_spaces["adversary"].nvec.tolist() == [5, 5, 5]
    assert make_team_env("simple_adversary").possible_agents == ["adversary", "agent"]


@pytest.mark.parametrize("name", ["simple_spread", "simple_adversary", "simple_tag"])
def test_mpe_continuous_actions(name):
    from ray.rllib.utils.pre_checks.env import check_multiagent_environments

    env = make_rllib_env(name, continuous_actions=True)
    check_multiagent_environments(env)
    assert all(s.shape == (5,) for s in env.action_spaces.values())


def test_rllib_entry_point_for_the_team_view():
    from ray.rllib.utils.pre_checks.env import check_multiagent_environments

    from env_wrappers.make import CatalogTeamEnv

    env = CatalogTeamEnv({"name": "linear_game"})
    check_multiagent_environments(env)
    assert env.possible_agents == ["agent"] and env.team_reward == "mean"  # shared reward
