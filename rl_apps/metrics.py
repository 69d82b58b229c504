"""Reading RLlib's nested result dicts: the headline numbers and a flat scalar view."""

from __future__ import annotations

import math
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


def sides(agents: list[str]) -> dict[str, list[str]]:
    """The sides of a competitive or mixed game; empty when every agent is on one side.

    Agents are grouped by name prefix (``adversary_0`` -> ``adversary``).

    On the team view the agents are the teams themselves (one side each).
    """
    groups: dict[str, list[str]] = {}
    for agent in agents:
        groups.setdefault(agent.rsplit("_", 1)[0], []).append(agent)
    return groups if len(groups) > 1 else {}


def progress_columns(agents: list[str]) -> list[str]:
    """progress.csv columns: the headline numbers, each side's return, each agent's return.

    Sides only in competitive and mixed games, where the summed team return adds opponents
    together.
    """
    side_columns = [f"team_return_{side}" for side in sides(agents)]
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


def headline(result: dict[str, Any], elapsed_s: float, agents: list[str]) -> dict[str, Any]:
    """The per-iteration row of progress.csv from an RLlib result dict."""
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
    for side, members in sides(agents).items():
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


def format_progress(row: dict[str, Any]) -> str:
    """One human-readable progress line (each side's return in competitive games)."""
    rate = row["steps_per_s"] or 0.0
    minutes, seconds = divmod(int(row["elapsed_s"]), 60)
    side_keys = [k for k in row if k.startswith("team_return_") and k != "team_return_mean"]
    if side_keys:
        returns = " ".join(f"{k[len('team_return_') :]} {_text(row[k]).strip()}" for k in side_keys)
        returns = f"returns {returns}"
    else:
        returns = f"team return {_text(row['team_return_mean'])}"
    return (
        f"iter {row['iteration']:4d} | env steps {row['env_steps']:>10,} | "
        f"{returns} | {rate:7,.0f} steps/s | elapsed {minutes:3d}m{seconds:02d}s"
    )


def _text(value: float | None) -> str:
    return f"{value:9.2f}" if value is not None else "      n/a"
