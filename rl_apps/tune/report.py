"""The end of ``marl tune``: a table of every trial, the best one, and ``best.json``.

The best trial is the one whose last reported ``tune.metric`` is best (``tune.mode``);
its checkpoint is the newest complete one in its marl run directory, ready for
``marl eval``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rl_apps import checkpoints as ckpt
from rl_apps import rundir
from rl_apps.errors import RunError
from rl_apps.tune.spec import TuneSpec

BEST_FILE = "best.json"


def _error_line(error: Any) -> str | None:
    """The exception line of a trial's error, without Ray's colour codes and traceback."""
    if error is None:
        return None
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line).strip() for line in str(error).splitlines()]
    return next((line for line in reversed(lines) if line), type(error).__name__)


def _find_run_dir(search_dir: Path, result: Any) -> Path | None:
    name = f"run_trial_{(result.metrics or {}).get('trial_id')}"
    for candidate in (search_dir / "trials" / name, Path(result.path or "/nonexistent") / name):
        if (candidate / rundir.META_FILE).is_file():
            return candidate
    return None


def _trial_row(result: Any, t: TuneSpec, search_dir: Path) -> dict[str, Any]:
    metrics = result.metrics or {}
    run_dir = _find_run_dir(search_dir, result)
    latest = ckpt.latest_checkpoint(run_dir) if run_dir else None
    return {
        "trial": metrics.get("trial_id"),
        "config": {k: v for k, v in (result.config or {}).items()},
        t.metric: metrics.get(t.metric),
        "iterations": metrics.get("iteration"),
        "env_steps": metrics.get("env_steps"),
        "error": _error_line(result.error),
        "run_dir": str(run_dir) if run_dir else None,
        "checkpoint": str(latest) if latest else None,
    }


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def report_search(results: Any, t: TuneSpec, search_dir: Path, echo: Callable) -> dict[str, Any]:
    """Prints every trial and the best one, writes ``best.json``; returns its content.

    Raises:
        RunError: When every trial finished and none reported the metric.

    """
    statuses = {trial.trial_id: trial.status for trial in results._experiment_analysis.trials}
    rows = [_trial_row(result, t, search_dir) for result in results]
    for row in rows:
        row["status"] = statuses.get(row["trial"], "PENDING")
    finished = [r for r in rows if _is_number(r[t.metric])]
    done = sum(1 for r in rows if r["status"] in ("TERMINATED", "ERROR"))
    unfinished = max(t.trial_count(), len(rows)) - done
    if not finished and not unfinished:
        errors = "; ".join(f"{r['trial']}: {r['error']}" for r in rows if r["error"])
        raise RunError(f"no trial reported {t.metric} ({errors or 'no results'}); see {search_dir}")
    pick = max if t.mode == "max" else min
    best = pick(finished, key=lambda r: r[t.metric]) if finished else None
    report = {"search_dir": str(search_dir), "metric": t.metric, "mode": t.mode, "best": best}
    report.update(unfinished_trials=unfinished, trials=rows)
    (search_dir / BEST_FILE).write_text(json.dumps(report, indent=1, default=str))
    _print_trials(rows, t, echo)
    if best is not None:
        echo(f"best trial    : {best['trial']} ({t.metric} {best[t.metric]:.3f})")
        echo(f"  config      : {best['config']}")
        echo(f"  checkpoint  : {best['checkpoint']}")
        echo(f"  evaluate    : marl eval {best['checkpoint']} --episodes 20")
    echo(f"  report      : {search_dir / BEST_FILE}")
    if unfinished:
        echo(f"interrupted: {unfinished} trial(s) unfinished; continue with:")
        echo(f"  marl tune --resume {search_dir}")
    return report


def _print_trials(rows: list[dict[str, Any]], t: TuneSpec, echo: Callable) -> None:
    failed = sum(1 for r in rows if r["error"])
    missing = sum(1 for r in rows if not _is_number(r[t.metric]))
    echo("")
    echo(f"Trials: {len(rows)}, {failed} failed, {missing} without {t.metric}")
    for row in rows:
        value = row[t.metric]
        shown = f"{value:.3f}" if _is_number(value) else "n/a"
        status = row["status"].lower()
        error = row["error"] or ""
        echo(f"  {row['trial']} ({status}): {t.metric} {shown}  {row['config']}  {error}")
