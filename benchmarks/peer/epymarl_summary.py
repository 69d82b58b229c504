"""Summarizes EPyMARL console logs into a JSON peer measurement (next to `marl bench` results).

EPyMARL (github.com/uoe-agents/epymarl) prints a "Recent Stats | t_env: N" block every
``log_interval`` env steps; this reads ``return_mean`` (training episodes) and
``test_return_mean`` (greedy test episodes) from each block. ``t_env`` counts joint env steps
summed over the parallel envs, as marl does. Usage, after running EPyMARL with its console
output in ``LOGS/log_ALGO.txt`` and wall times as lines "ALGO rc=0 wall_s=SECONDS" in
``LOGS/walltimes.txt``:

    python benchmarks/peer/epymarl_summary.py LOGS --epymarl EPYMARL_CLONE --out FILE.json
"""

from __future__ import annotations

import argparse
import json
import math
import re
import subprocess
from pathlib import Path
from typing import Any

#: Below this final test return a run never left the random policy (about 0.005-0.015 on LBF).
LEARNED_AT_LEAST = 0.05


def stat(body: str, key: str) -> float:
    """The value after ``key:`` in one stats block (NaN when absent)."""
    match = re.search(r"(?<![a-z_])" + key + r":\s+(-?[0-9.]+)", body)
    return float(match[1]) if match else math.nan


def curve(log_text: str) -> list[dict[str, float]]:
    """One row per stats block: env steps, training return, test return."""
    rows = []
    for block in log_text.split("Recent Stats | t_env:")[1:]:
        body = block.split("[INFO")[0]
        rows.append(
            {
                "env_steps": int(block.split("|")[0]),
                "train_return": stat(body, "return_mean"),
                "test_return": stat(body, "test_return_mean"),
            }
        )
    return rows


def steps_to_90pct_of_rise(rows: list[dict[str, float]], min_rise: float) -> int | None:
    """Env steps where the test return first covered 90% of its rise from the first test.

    The rise is from the first test return to the last; negative returns (MPE's) work too.
    None when the test return rose less than ``min_rise``.
    """
    first, final = rows[0]["test_return"], rows[-1]["test_return"]
    if not final - first >= min_rise:
        return None
    bar = first + 0.9 * (final - first)
    return next(r["env_steps"] for r in rows if r["test_return"] >= bar)


def summarize(
    rows: list[dict[str, float]],
    wall_time_s: int,
    budget: int,
    min_rise: float = LEARNED_AT_LEAST,
) -> dict[str, Any]:
    """Final test return and the env steps where the test return first reached 90% of it.

    Both of the final value (positive returns, as LBF's) and of the rise from the first test
    (returns of any sign).
    """
    final = rows[-1]["test_return"]
    reach = None
    if final >= LEARNED_AT_LEAST:
        reach = next(r["env_steps"] for r in rows if r["test_return"] >= 0.9 * final)
    return {
        "final_test_return": final,
        "final_test_at_env_steps": rows[-1]["env_steps"],
        "steps_to_90pct_of_final_test": reach,
        "steps_to_90pct_of_rise": steps_to_90pct_of_rise(rows, min_rise),
        "wall_time_s": wall_time_s,
        "whole_run_env_steps_per_s": round(budget / wall_time_s, 1),
        "curve": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("logs", type=Path)
    parser.add_argument("--epymarl", type=Path, required=True, help="the EPyMARL clone run")
    parser.add_argument("--budget", type=int, default=1_000_000, help="t_max of the runs")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--describe", default="", help="what was run (kept in the JSON)")
    parser.add_argument(
        "--min-rise",
        type=float,
        default=LEARNED_AT_LEAST,
        help="a test return that rose less than this from the first test never learned",
    )
    args = parser.parse_args()
    walls = dict(re.findall(r"(\w+) rc=0 wall_s=(\d+)", (args.logs / "walltimes.txt").read_text()))
    commit = subprocess.check_output(["git", "-C", str(args.epymarl), "rev-parse", "HEAD"])
    runs = {
        algo: summarize(
            curve((args.logs / f"log_{algo}.txt").read_text()), int(s), args.budget, args.min_rise
        )
        for algo, s in walls.items()
    }
    out = {"what": args.describe, "epymarl_commit": commit.decode().strip(), "runs": runs}
    args.out.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
