"""Tables for ``marl envs`` and ``marl algos``."""

from __future__ import annotations

import gymnasium as gym

from env_wrappers.keys import OBS_KEY, STATE_KEY
from env_wrappers.registry import ENVS, make_rllib_env
from policies.registry import ALGORITHMS


def _space(space: gym.Space) -> str:
    if isinstance(space, gym.spaces.Discrete):
        return f"Discrete({space.n})"
    if isinstance(space, gym.spaces.Box):
        return f"Box{tuple(space.shape)}"
    return type(space).__name__


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(line, widths)) for line in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def env_row(name: str) -> list[str]:
    """One row of the env table, read from a real instance of the env."""
    env = make_rllib_env(name)
    try:
        agent = env.possible_agents[0]
        obs_space, act_space = env.observation_spaces[agent], env.action_spaces[agent]
        kind = "discrete" if isinstance(act_space, gym.spaces.Discrete) else "continuous"
        return [
            name,
            str(len(env.possible_agents)),
            _space(obs_space[OBS_KEY]),
            _space(act_space),
            str(tuple(obs_space[STATE_KEY].shape)),
            kind,
            ENVS[name].reward,
            ENVS[name].description,
        ]
    finally:
        env.close()


def env_table() -> str:
    """The environment catalog with default options."""
    header = ["name", "agents", "obs", "action", "state", "actions", "reward", "description"]
    return _table(header, [env_row(name) for name in ENVS])


def algo_table() -> str:
    """The registered algorithms and what they support."""
    header = ["name", "actions", "sharing", "uses state", "description"]
    rows = [
        [
            e.name,
            "/".join(e.action_spaces),
            "/".join(e.sharing_modes),
            "yes" if e.uses_state else "no",
            e.description,
        ]
        for e in ALGORITHMS.values()
    ]
    return _table(header, rows)
