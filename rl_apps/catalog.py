"""Tables for ``marl envs`` and ``marl algos``."""

from __future__ import annotations

from collections.abc import Iterable

import gymnasium as gym

from env_wrappers.keys import OBS_KEY
from env_wrappers.make import make_rllib_env
from env_wrappers.registry import ENVS, TEAM_KWARGS, WRAPPER_KWARGS, get_entry
from policies.registry import ALGORITHMS


def _space(space: gym.Space) -> str:
    if isinstance(space, gym.spaces.Discrete):
        return f"Discrete({space.n})"
    if isinstance(space, gym.spaces.Box):
        return f"Box{tuple(space.shape)}"
    return type(space).__name__


def _distinct(spaces: Iterable[gym.Space]) -> str:
    """The agents' spaces, each distinct one once (``a / b`` for heterogeneous agents)."""
    return " / ".join(dict.fromkeys(_space(s) for s in spaces))


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(line, widths)) for line in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def env_row(name: str) -> list[str]:
    """One row of the env table, read from a real instance of the env."""
    env = make_rllib_env(name)
    try:
        agents = env.possible_agents
        act_space = env.action_spaces[agents[0]]
        kind = "discrete" if isinstance(act_space, gym.spaces.Discrete) else "continuous"
        return [
            name,
            str(len(agents)),
            _distinct(env.observation_spaces[a][OBS_KEY] for a in agents),
            _distinct(env.action_spaces[a] for a in agents),
            str(tuple(env.state_space.shape)),
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
    header = ["name", "actions", "sharing", "view", "uses state", "inspect", "description"]
    rows = [
        [
            e.name,
            "/".join(e.action_spaces),
            "/".join(e.sharing_modes),
            e.view,
            "yes" if e.uses_state else "no",
            "/".join(e.inspectors) or "-",
            e.description,
        ]
        for e in ALGORITHMS.values()
    ]
    return _table(header, rows)


def env_options_table(name: str) -> str:
    """``marl envs NAME``: the env's facts, its own options with defaults, then ours."""
    entry = get_entry(name)  # an unknown name: EnvError listing the valid ones
    row = env_row(name)
    lines = [
        f"{name}: {entry.description}",
        f"  agents {row[1]}, observations {row[2]}, actions {row[3]} ({row[5]}), "
        f"state {row[4]}, rewards {row[6]}",
        "",
    ]
    own = [[key, repr(value), "the env's"] for key, value in entry.options().items()]
    ours = [[key, repr(value), "every env (marl)"] for key, value in WRAPPER_KWARGS.items()]
    team = [[key, repr(value), "team-view algorithms"] for key, value in TEAM_KWARGS.items()]
    own = [r for r in own if r[0] != "render_mode"]
    return "\n".join(lines) + "\n" + _table(["option", "default", "for"], own + ours + team)
