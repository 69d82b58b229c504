"""Curves of any logged metric over a run, for ``benchmark.curves`` (pure, no Ray).

A benchmark spec may name metrics of ``result.jsonl`` (flattened with ``/``, for example
``learners/all/policy_inference_kl``) whose curves ``marl bench run`` records per seed next to
the return curve and draws in ``<name>.<metric>.png``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

#: The x axis of every curve: joint env steps sampled so far (RLlib's lifetime count).
ENV_STEPS_KEY = "num_env_steps_sampled_lifetime"


def metric_curve(results: list[dict[str, Any]], key: str) -> list[tuple[int, float]]:
    """``(env steps, value)`` of every iteration that logged ``key`` as a finite number."""
    curve = []
    for row in results:
        value, steps = row.get(key), row.get(ENV_STEPS_KEY)
        if isinstance(value, bool) or not isinstance(value, int | float) or steps is None:
            continue
        if math.isfinite(value):
            curve.append((int(steps), float(value)))
    return curve


def read_results(path: Path) -> list[dict[str, Any]]:
    """The rows of a run's ``result.jsonl``; a torn last line (a killed run) is skipped."""
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue
    return rows


def curve_file_stem(name: str, key: str) -> str:
    """``<benchmark>.<metric>`` with the metric's ``/`` as ``_``: a flat, portable file name."""
    return f"{name}.{key.replace('/', '_')}"
