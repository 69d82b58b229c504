"""Reading RLlib's nested result dicts: the headline numbers, each side's return, a flat view.

The console line made from them is ``rl_apps.progress``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from numbers import Number
from typing import Any

BASE_COLUMNS = [
    "iteration",
    "env_steps",
    "env_steps_iter",
    "episodes",
    "team_return_mean",
    "episode_len_mean",
    "steps_per_s",
    "iter_time_s",
    "elapsed_s",
]


def sides(
    agents: list[str],
    *,
    reward: str = "individual",
    groups: Mapping[str, list[str]] | None = None,
    team_view: bool = False,
) -> dict[str, list[str]]:
    """The sides of a competitive or mixed game; empty when every agent is on one side.

    Without groups and outside the team view, the env's own teams: agents grouped by name
    prefix (``adversary_0`` -> ``adversary``), as the team view groups them.

    Args:
        agents: The RLlib agents (on the team view: the teams).
        reward: The env's reward structure (``ENVS[name].reward``); ``shared`` is fully
            cooperative: one side, whatever the groups.
        groups: ``multi_agent.groups`` when given (``sharing: groups``): the sides.
        team_view: Whether the agents are teams (each team is a side).

    """
    if reward == "shared":
        return {}
    if groups:
        found = {g: [a for a in members if a in agents] for g, members in groups.items()}
        found = {g: members for g, members in found.items() if members}
    elif team_view:
        found = {agent: [agent] for agent in agents}
    else:  # as env_wrappers.team.teams_by_prefix, which imports RLlib
        found = {}
        for agent in agents:
            found.setdefault(agent.rsplit("_", 1)[0], []).append(agent)
    return found if len(found) > 1 else {}


def spec_sides(spec: Any, agents: list[str]) -> dict[str, list[str]]:
    """``sides`` of a validated ExperimentSpec: its env's rewards, groups and view."""
    from env_wrappers.registry import ENVS
    from policies.registry import ALGORITHMS

    multi_agent = spec.multi_agent
    groups = multi_agent.get("groups") if multi_agent.get("sharing") == "groups" else None
    return sides(
        agents,
        reward=ENVS[spec.env.name].reward,
        groups=groups,
        team_view=ALGORITHMS[spec.algo].view == "teams",
    )


def progress_columns(agents: list[str], sides: Mapping[str, list[str]]) -> list[str]:
    """progress.csv columns: the headline numbers, each side's return, each agent's return.

    Sides (``sides``) only in competitive and mixed games, where the summed team return adds
    opponents together.
    """
    side_columns = [f"team_return_{side}" for side in sides]
    return BASE_COLUMNS + side_columns + [f"return_{agent}" for agent in agents]


def _get(result: dict[str, Any], *path: str, default: Any = None) -> Any:
    node: Any = result
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return default
        node = node[key]
    return node


def _count(value: Any) -> int:
    """A step or episode count; missing or NaN (every env runner failed) counts as 0."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0
    return int(number) if math.isfinite(number) else 0


def headline(
    result: dict[str, Any],
    elapsed_s: float,
    agents: list[str],
    sides: Mapping[str, list[str]] | None = None,
) -> dict[str, Any]:
    """The per-iteration row of progress.csv from an RLlib result dict (``sides``: see above)."""
    runners = result.get("env_runners", {})
    steps_iter = _count(runners.get("num_env_steps_sampled"))  # NaN when no runner reported
    iter_time = float(result.get("time_this_iter_s") or 0.0)
    row: dict[str, Any] = {
        "iteration": int(result["training_iteration"]),
        "env_steps": _count(_get(result, "env_runners", "num_env_steps_sampled_lifetime")),
        "env_steps_iter": steps_iter,
        "episodes": _count(runners.get("num_episodes_lifetime")),
        "team_return_mean": _finite(runners.get("episode_return_mean")),
        "episode_len_mean": _finite(runners.get("episode_len_mean")),
        "steps_per_s": round(steps_iter / iter_time, 1) if iter_time > 0 else None,
        "iter_time_s": round(iter_time, 3),
        "elapsed_s": round(elapsed_s, 2),
    }
    agent_returns = runners.get("agent_episode_returns_mean", {}) or {}
    for agent in agents:
        row[f"return_{agent}"] = _finite(agent_returns.get(agent))
    for side, members in (sides or {}).items():
        values = [row[f"return_{m}"] for m in members]
        row[f"team_return_{side}"] = None if None in values else sum(values)
    return row


def _finite(value: Any) -> float | None:
    if isinstance(value, Number) and math.isfinite(float(value)):
        return float(value)
    return None


def flatten_scalars(result: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """Every finite numeric leaf of a nested result, keyed by ``a/b/c`` (config excluded)."""
    flat: dict[str, float] = {}
    for key, value in result.items():
        name = f"{prefix}{key}"
        if key == "config":
            continue
        if isinstance(value, dict):
            flat.update(flatten_scalars(value, name + "/"))
        elif isinstance(value, Number) and not isinstance(value, bool):
            if math.isfinite(float(value)):
                flat[name] = float(value)
    return flat
