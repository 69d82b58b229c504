"""The README's benchmark table, generated from ``benchmarks/results/*.json``.

``marl bench table`` rewrites the part of README.md between the two markers below.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rl_apps.errors import SpecError

START = "<!-- bench-table:start -->"
END = "<!-- bench-table:end -->"


def _row(report: dict[str, Any]) -> str:
    s = report["summary"]
    seeds = report["seeds"]
    mean = lambda key: sum(x[key] for x in seeds) / len(seeds)  # noqa: E731
    target = s["target_team_return"]
    met = "n/a" if s["target_met"] is None else ("yes" if s["target_met"] else "no")
    return (
        f"| {report['name']} | {report['algo']} | {len(seeds)} | "
        f"{s['eval_return_mean']:.3f} ± {s['eval_return_std']:.3f} | "
        f"{s['final_train_return_mean']:.3f} | {target} | {met} | {mean('env_steps'):,.0f} | "
        f"{s['wall_time_s_mean']:.0f} s | {mean('sampling_env_steps_per_s'):,.0f} | "
        f"{mean('iteration_env_steps_per_s'):,.0f} | {report['commit'][:7]} |"
    )


def results_table(results_dir: Path) -> str:
    """A Markdown table of every benchmark result in ``results_dir``."""
    reports = [json.loads(p.read_text()) for p in sorted(results_dir.glob("*.json"))]
    reports = [r for r in reports if "summary" in r and "seeds" in r]
    header = [
        "| benchmark | algo | seeds | eval return (mean ± std over seeds) | final train return "
        "| target | met | env steps | wall time / seed | sampling env steps/s "
        "| iteration env steps/s | commit |",
        "|---|---|---:|---|---:|---:|---|---:|---:|---:|---:|---|",
    ]
    return "\n".join(header + [_row(r) for r in reports])


def update_readme(readme: Path, table: str) -> None:
    """Replaces the table between the markers of README.md.

    Raises:
        SpecError: When ``readme`` is missing or lacks the markers (not this project's).

    """
    if not readme.is_file():
        raise SpecError("marl bench table", [("", f"no {readme} in {Path.cwd()}")])
    text = readme.read_text()
    if START not in text or END not in text:
        problem = f"{readme.resolve()} has no {START} ... {END} markers (not marl's README?)"
        raise SpecError("marl bench table", [("", problem)])
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n{table}\n{END}{tail}")
