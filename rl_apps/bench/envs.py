"""``marl bench envs``: raw env steps/s against steps/s through our RLlib adapter.

Both loops step the same env with the same pre-sampled joint actions (sampling is not timed),
resetting when the episode ends, on one core. The overhead is ``1 - wrapped / raw``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from env_wrappers.make import make_env, make_rllib_env
from env_wrappers.registry import ENVS

#: Envs whose steps are too slow (physics, images) for a default run.
SLOW_ENVS = {"multiwalker", "pistonball"}


def _actions(env: Any, count: int, seed: int) -> list[dict[str, Any]]:
    spaces = {a: env.action_space(a) for a in env.possible_agents}
    for offset, space in enumerate(spaces.values()):
        space.seed(seed + offset)
    return [{a: s.sample() for a, s in spaces.items()} for _ in range(count)]


def _time_steps(
    reset: Callable[[int], Any], step: Callable[[dict], bool], actions: list[dict], steps: int
) -> float:
    """Env steps per second of ``step`` (True when the episode is over)."""
    episode = 0
    reset(episode)
    start = time.perf_counter()
    for index in range(steps):
        if step(actions[index % len(actions)]):
            episode += 1
            reset(episode)
    return steps / (time.perf_counter() - start)


def measure_env(name: str, steps: int = 20_000, seed: int = 0) -> dict[str, Any]:
    """Raw and wrapped steps/s of one env with its default options."""
    raw = make_env(name)
    actions = _actions(raw, 1000, seed)

    def raw_step(joint: dict) -> bool:
        raw.step({a: joint[a] for a in raw.agents})
        return not raw.agents

    raw_rate = _time_steps(lambda e: raw.reset(seed=seed + e), raw_step, actions, steps)
    wrapped = make_rllib_env(name)

    def wrapped_step(joint: dict) -> bool:
        _, _, terms, truncs, _ = wrapped.step({a: joint[a] for a in wrapped.agents})
        return terms["__all__"] or truncs["__all__"]

    wrapped_rate = _time_steps(lambda e: wrapped.reset(seed=seed + e), wrapped_step, actions, steps)
    return {
        "env": name,
        "raw_steps_per_s": round(raw_rate, 1),
        "wrapped_steps_per_s": round(wrapped_rate, 1),
        "overhead": round(1.0 - wrapped_rate / raw_rate, 4),
    }


def markdown_table(rows: Iterable[dict[str, Any]]) -> str:
    """The results as a Markdown table."""
    lines = [
        "| env | raw env steps/s | through adapter | overhead | added µs/step |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        added = 1e6 / r["wrapped_steps_per_s"] - 1e6 / r["raw_steps_per_s"]
        lines.append(
            f"| {r['env']} | {r['raw_steps_per_s']:,.0f} | {r['wrapped_steps_per_s']:,.0f} | "
            f"{100 * r['overhead']:.1f}% | {added:.1f} |"
        )
    return "\n".join(lines)


def bench_envs(
    out_dir: Path, names: list[str] | None = None, steps: int = 20_000, echo: Callable = print
) -> list[dict[str, Any]]:
    """Measures every (or each named) env and writes env_overhead.json and .md."""
    from rl_apps.rundir import git_commit

    selected = names or [n for n in ENVS if n not in SLOW_ENVS]
    rows = []
    for name in selected:
        echo(f"measuring {name} ({steps:,} steps, twice) ...")
        rows.append(measure_env(name, steps))
        echo(markdown_table(rows[-1:]).splitlines()[-1])
    out_dir.mkdir(parents=True, exist_ok=True)
    report = {**git_commit(), "steps": steps, "results": rows}
    (out_dir / "env_overhead.json").write_text(json.dumps(report, indent=1))
    (out_dir / "env_overhead.md").write_text(markdown_table(rows) + "\n")
    return rows
