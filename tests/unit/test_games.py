"""The matrix games and the two-step game pay what their tables say (pure Python, no Ray)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from env_wrappers import make_env
from env_wrappers.envs.matrix import MatrixGame
from env_wrappers.envs.two_step import OPTIMAL_RETURN

TABLES = {
    "linear_game": [[1, 5], [5, 9]],
    "monotonic_game": [[0, 0], [0, 10]],
    "climbing_game": [[11, -30, 0], [-30, 7, 0], [0, 6, 5]],
    "penalty_game": [[-100, 0, 10], [0, 2, 0], [10, 0, -100]],
}


def play(env, *joint_actions):
    """Plays the joint actions from a reset; returns the shared rewards and the last flags."""
    env.reset(seed=0)
    rewards = []
    for joint in joint_actions:
        _, reward, terms, truncs, _ = env.step(dict(zip(env.possible_agents, joint)))
        assert reward["agent_0"] == reward["agent_1"]
        rewards.append(reward["agent_0"])
    return rewards, terms, truncs


@pytest.mark.parametrize("name", sorted(TABLES))
def test_matrix_game_pays_its_table_for_every_joint_action(name):
    table = TABLES[name]
    env = make_env(name)
    assert [env.action_space(a).n for a in env.possible_agents] == [len(table), len(table[0])]
    for a0, a1 in itertools.product(range(len(table)), range(len(table[0]))):
        rewards, terms, truncs = play(env, (a0, a1))
        assert rewards == [table[a0][a1]]
        assert all(terms.values()) and not any(truncs.values())
        assert env.agents == []


def test_matrix_game_observation_and_state():
    env = make_env("linear_game")
    obs, _ = env.reset()
    assert all(np.array_equal(o, [1.0]) for o in obs.values())
    assert np.array_equal(env.state(), [1.0])
    obs, *_ = env.step({"agent_0": 1, "agent_1": 1})
    assert all(np.array_equal(o, [0.0]) for o in obs.values())
    assert env.state_space.contains(env.state())


@pytest.mark.parametrize("k", [-100.0, -10.0, 0.0])
def test_penalty_game_k(k):
    env = make_env("penalty_game", k=k)
    assert play(env, (0, 0))[0] == [k]
    assert play(env, (2, 2))[0] == [k]
    assert play(env, (0, 2))[0] == [10.0]
    assert play(env, (1, 1))[0] == [2.0]


def test_payoff_option_and_malformed_tables():
    env = make_env("linear_game", payoff=[[0, 1, 2], [3, 4, 5]])
    assert env.action_space("agent_1").n == 3
    assert play(env, (1, 2))[0] == [5.0]
    with pytest.raises(ValueError, match="rectangular"):
        MatrixGame([[1, 2], [3]])
    with pytest.raises(ValueError, match="outside"):
        play(make_env("linear_game"), (2, 0))


def test_stag_hunt_pays_each_agent_its_own_reward():
    env = make_env("stag_hunt")
    expected = {(0, 0): (4.0, 4.0), (0, 1): (0.0, 3.0), (1, 0): (3.0, 0.0), (1, 1): (2.0, 2.0)}
    for joint, (r0, r1) in expected.items():
        env.reset(seed=0)
        _, rewards, terms, _, _ = env.step(dict(zip(env.possible_agents, joint)))
        assert (rewards["agent_0"], rewards["agent_1"]) == (r0, r1)
        assert all(terms.values())


def test_climbing_game_3p_table():
    env = make_env("climbing_game_3p")
    assert len(env.possible_agents) == 3
    paid = {}
    for joint in itertools.product(range(3), repeat=3):
        env.reset(seed=0)
        _, rewards, *_ = env.step(dict(zip(env.possible_agents, joint)))
        assert len(set(rewards.values())) == 1
        paid[joint] = rewards["agent_0"]
    assert max(paid, key=paid.get) == (0, 0, 0) and paid[(0, 0, 0)] == 11.0
    assert paid[(1, 1, 1)] == 7.0 and paid[(2, 2, 1)] == 6.0 and paid[(2, 2, 2)] == 5.0
    assert sorted(j for j, r in paid.items() if r == -30.0) == [(0, 0, 1), (0, 1, 0), (1, 0, 0)]


def test_individual_payoff_needs_one_reward_per_agent():
    with pytest.raises(ValueError, match="one reward per agent"):
        MatrixGame([[[1, 2, 3], [0, 0, 0]], [[0, 0, 0], [1, 1, 1]]], individual=True)


def test_two_step_optimal_return_is_8():
    env = make_env("two_step_game")
    obs, _ = env.reset()
    assert np.array_equal(obs["agent_0"], [1, 0, 0])
    for second_agent_first_action in (0, 1):
        rewards, terms, _ = play(env, (1, second_agent_first_action), (1, 1))
        assert rewards == [0.0, 8.0]
        assert sum(rewards) == OPTIMAL_RETURN
        assert all(terms.values()) and env.agents == []


def test_two_step_state_2a_pays_7_for_all_actions():
    env = make_env("two_step_game")
    for first, a0, a1 in itertools.product((0, 1), (0, 1), (0, 1)):
        rewards, _, _ = play(env, (0, first), (a0, a1))
        assert rewards == [0.0, 7.0]


def test_two_step_state_2b_table_and_observations():
    env = make_env("two_step_game")
    for a0, a1 in itertools.product((0, 1), (0, 1)):
        assert play(env, (1, 0), (a0, a1))[0] == [0.0, [[0, 1], [1, 8]][a0][a1]]
    env.reset()
    obs, *_ = env.step({"agent_0": 0, "agent_1": 1})
    assert np.array_equal(obs["agent_1"], [0, 1, 0])  # 2A
    assert np.array_equal(env.state(), [0, 1, 0])
    env.reset()
    obs, reward, terms, _, _ = env.step({"agent_0": 1, "agent_1": 0})
    assert np.array_equal(obs["agent_0"], [0, 0, 1])  # 2B
    assert reward["agent_0"] == 0.0 and not any(terms.values())
