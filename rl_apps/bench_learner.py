"""``marl bench --learner-cost NAME...``: learner update time per iteration of benchmark specs.

Each spec runs ``iterations`` training iterations in one process with no remote env runners;
the result is the mean of RLlib's ``learner_update_timer`` over the iterations after the first
two (warm-up). Comparing specs that differ in one setting (MAPPO against GMAC) shows what that
setting costs, independent of sampling. Writes ``learner_cost.json`` and ``learner_cost.md``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rl_apps.build import build_algo_config, probe_env
from rl_apps.rundir import git_commit
from rl_apps.spec import load_spec

BENCH_DIR = Path(__file__).resolve().parents[1] / "experiments" / "benchmarks"


def learner_seconds(name: str, overrides: list[str], iterations: int = 6) -> dict[str, Any]:
    """Mean learner update seconds per iteration of benchmark ``name`` (Ray must be up)."""
    spec = load_spec(BENCH_DIR / f"{name}.yaml", ["env_runners.num_env_runners=0", *overrides])
    algo = build_algo_config(spec, probe_env(spec)).build_algo()
    try:
        timers = [algo.train()["timers"]["learner_update_timer"] for _ in range(iterations)]
    finally:
        algo.stop()
    measured = timers[2:] or timers
    return {
        "benchmark": name,
        "overrides": overrides,
        "learner_update_s": round(sum(measured) / len(measured), 3),
    }


def bench_learner_cost(out: Path, names: list[str], overrides: list[str]) -> list[dict[str, Any]]:
    """Measures every named benchmark on a local 2-CPU Ray instance; writes the table."""
    from rl_apps.runtime import ray_runtime

    rows = []
    with ray_runtime(None):
        for name in names:
            rows.append(learner_seconds(name, overrides))
            print(f"{name} {' '.join(overrides)}: {rows[-1]['learner_update_s']} s", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    (out / "learner_cost.json").write_text(json.dumps({**git_commit(), "rows": rows}, indent=1))
    lines = ["| benchmark | overrides | learner update per iteration |", "|---|---|---|"]
    lines += [
        f"| {r['benchmark']} | {' '.join(r['overrides']) or '-'} | {r['learner_update_s']} s |"
        for r in rows
    ]
    (out / "learner_cost.md").write_text("\n".join(lines) + "\n")
    return rows
