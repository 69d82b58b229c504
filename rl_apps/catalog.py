"""Tables for ``marl envs`` and ``marl algos``."""

from __future__ import annotations

from collections.abc import Iterable

import gymnasium as gym

from env_wrappers.keys import OBS_KEY
from env_wrappers.make import make_rllib_env
from env_wrappers.pettingzoo import STATE_SOURCES
from env_wrappers.ranges import CHECKS
from env_wrappers.registry import ENVS, TEAM_KWARGS, WRAPPER_KWARGS, get_entry
from policies.registry import ALGORITHMS
from rl_apps.spec.env_options import range_text


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


#: Valid values of marl's own options (``env_wrappers.make``).
OUR_RANGES: dict[str, str] = {
    "global_state": "one of " + ", ".join(STATE_SOURCES),
    "agent_id": "true or false",
    "pad": "true, false or auto",
    "wrappers": "list of supersuit wrappers",
    "step_error_rate": "number in [0, 1)",
    "teams": "{team: [agents]}, all, or null (name prefixes)",
    "team_reward": "one of auto, sum, mean",
    "sub_policies": "integer >= 1 (policy ensembles: the algorithm sets it)",
    "sub_policy": "null (drawn per episode) or an index below sub_policies",
}


def env_options_table(name: str) -> str:
    """``marl envs NAME``: the env's facts, its options with defaults and ranges, then ours."""
    entry = get_entry(name)  # an unknown name: EnvError listing the valid ones
    row = env_row(name)
    lines = [
        f"{name}: {entry.description}",
        f"  agents {row[1]}, observations {row[2]}, actions {row[3]} ({row[5]}), "
        f"state {row[4]}, rewards {row[6]}",
        "",
    ]
    own = [
        [key, repr(value), range_text(name, key), "the env's"]
        for key, value in entry.options().items()
        if key != "render_mode"
    ]
    ours = [[k, repr(v), OUR_RANGES[k], "every env (marl)"] for k, v in WRAPPER_KWARGS.items()]
    team = [[k, repr(v), OUR_RANGES[k], "team-view algorithms"] for k, v in TEAM_KWARGS.items()]
    header = ["option", "default", "valid values", "for"]
    text = "\n".join(lines) + "\n" + _table(header, own + ours + team)
    return text + _combinations_note(name)


def _combinations_note(name: str) -> str:
    check = CHECKS.get(name)
    if check is None or not check.__doc__:
        return ""
    return f"\n\nAlso refused: {check.__doc__.strip().rstrip('.').lower()}."
