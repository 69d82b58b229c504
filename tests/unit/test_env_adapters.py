"""Our LBF, RWARE and SISL factories match the packages' own envs and fix their episode ends."""

from __future__ import annotations

import inspect

import gymnasium as gym
import numpy as np
import pytest
from lbforaging.foraging.environment import Action

from env_wrappers import make_env
from env_wrappers.envs import sisl


def random_actions(env, seed=0):
    rng = np.random.default_rng(seed)
    return {a: rng.integers(env.action_space(a).n) for a in env.agents}


@pytest.mark.parametrize(
    ("gym_id", "options"),
    [
        ("Foraging-8x8-2p-2f-coop-v3", {"coop": True}),
        ("Foraging-8x8-2p-3f-v3", {"food": 3}),
        ("Foraging-2s-10x10-3p-3f-v3", {"size": 10, "players": 3, "food": 3, "sight": 2}),
    ],
)
def test_lbf_matches_registered_id(gym_id, options):
    ours = make_env("lbf", **options)
    theirs = gym.make(gym_id).unwrapped
    obs, _ = ours.reset(seed=7)
    expected, _ = theirs.reset(seed=7)
    for index, agent in enumerate(ours.possible_agents):
        assert np.array_equal(obs[agent]["observation"], expected[index])
    assert np.array_equal(ours.env.field, theirs.field)


def test_lbf_mask_and_state():
    env = make_env("lbf")
    obs, _ = env.reset(seed=3)
    for index, agent in enumerate(env.possible_agents):
        valid = env.env._valid_actions[env.env.players[index]]
        assert obs[agent]["action_mask"].tolist() == [
            int(Action(a) in valid) for a in range(env.action_space(agent).n)
        ]
    # fully observable: agent_0 sees itself first, as the state lists players in agent order
    assert np.array_equal(env.state(), obs["agent_0"]["observation"])
    assert env.state_space.contains(env.state())


def test_lbf_time_limit_is_truncation_and_eaten_field_is_termination():
    env = make_env("lbf", max_episode_steps=1)
    env.reset(seed=0)
    _, _, terms, truncs, _ = env.step(dict.fromkeys(env.agents, 0))
    assert all(truncs.values()) and not any(terms.values()) and env.agents == []
    env.reset(seed=0)
    env.env.field[:] = 0  # as if the last food was just loaded
    _, _, terms, truncs, _ = env.step(dict.fromkeys(env.agents, 0))
    assert all(terms.values()) and not any(truncs.values())


@pytest.mark.parametrize(
    ("gym_id", "options"),
    [
        ("rware-tiny-2ag-v2", {}),
        ("rware-tiny-4ag-hard-v2", {"agents": 4, "difficulty": "hard"}),
        ("rware-small-2ag-easy-v2", {"size": "small", "difficulty": "easy"}),
    ],
)
def test_rware_matches_registered_id(gym_id, options):
    ours = make_env("rware", **options)
    theirs = gym.make(gym_id).unwrapped
    assert ours.env.request_queue_size == theirs.request_queue_size
    assert ours.env.grid_size == theirs.grid_size
    obs, _ = ours.reset(seed=5)
    expected, _ = theirs.reset(seed=5)
    for index, agent in enumerate(ours.possible_agents):
        assert np.array_equal(obs[agent], expected[index])


def test_rware_state_and_truncation():
    env = make_env("rware", max_steps=3)
    env.reset(seed=1)
    state = env.state()
    assert env.state_space.contains(state)
    rows, cols = env.env.grid_size
    assert state[rows * cols : 2 * rows * cols].sum() == env.env.request_queue_size
    for _ in range(3):
        _, _, terms, truncs, _ = env.step(random_actions(env))
    assert all(truncs.values()) and not any(terms.values()) and env.agents == []


def test_rware_bad_options():
    with pytest.raises(ValueError, match="difficulty"):
        make_env("rware", difficulty="brutal")
    with pytest.raises(ValueError, match="requests no shelf"):
        make_env("rware", agents=1, difficulty="hard")


@pytest.mark.parametrize(
    ("factory", "target"),
    [
        (sisl.multiwalker, "pettingzoo.sisl.multiwalker.multiwalker_base.MultiWalkerEnv"),
        (sisl.pursuit, "pettingzoo.sisl.pursuit.pursuit_base.Pursuit"),
    ],
)
def test_sisl_factories_mirror_base_defaults(factory, target):
    module, name = target.rsplit(".", 1)
    base = getattr(__import__(module, fromlist=[name]), name)
    theirs = {k: p.default for k, p in inspect.signature(base.__init__).parameters.items()}
    ours = {k: p.default for k, p in inspect.signature(factory).parameters.items()}
    assert all(theirs[k] == v for k, v in ours.items())
    assert set(theirs) - set(ours) <= {"self", "evader_controller", "pursuer_controller"}


def test_multiwalker_state_survives_falls_and_time_limit_is_truncation():
    env = make_env("multiwalker", terminate_on_fall=False, max_cycles=400)
    env.reset(seed=0)
    finished = {}
    while env.agents:
        state = env.state()  # must not fail once a fallen walker's body is removed
        assert state.shape == env.state_space.shape
        actions = {a: np.ones(4, np.float32) for a in env.agents}
        _, _, terms, truncs, _ = env.step(actions)
        finished.update({a: (terms[a], truncs[a]) for a in terms if terms[a] or truncs[a]})
    assert env.state().shape == env.state_space.shape
    assert set(finished) == set(env.possible_agents)
    short = make_env("multiwalker", max_cycles=3)
    short.reset(seed=0)
    for _ in range(3):
        _, _, terms, truncs, _ = short.step({a: np.zeros(4, np.float32) for a in short.agents})
    assert all(truncs.values()) and not any(terms.values())
