"""``marl bench learner-cost NAME...``: learner update time of benchmark specs.

Each spec is built in one process with no remote env runners; one train batch is sampled
once and the learner's update on it is timed (``learner_seconds``). Comparing specs that
differ in one setting (MAPPO against GMAC) shows what that setting costs, independent of
sampling. Writes ``learner_cost.json`` and ``learner_cost.md``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from rl_apps.build import plan
from rl_apps.rundir import git_commit
from rl_apps.spec import load_spec
from rl_apps.stopping import stop_algorithm

BENCH_DIR = Path(__file__).resolve().parents[2] / "experiments" / "benchmarks"


def update_seconds(algo: Any, config: Any, episodes: list, repeats: int) -> list[float]:
    """Sorted seconds of ``repeats`` learner updates on ``episodes`` after a warm-up update.

    Called as the algorithm's training step calls them (``num_epochs``, ``minibatch_size``).
    """
    from ray.rllib.utils.metrics import NUM_ENV_STEPS_SAMPLED_LIFETIME

    seconds = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        algo.learner_group.update(
            episodes=episodes,
            timesteps={NUM_ENV_STEPS_SAMPLED_LIFETIME: 0},
            num_epochs=config.num_epochs,
            minibatch_size=config.minibatch_size,
        )
        seconds.append(time.perf_counter() - start)
    return sorted(seconds[1:])


def learner_seconds(name: str, overrides: list[str], repeats: int = 5) -> dict[str, Any]:
    """Seconds of one learner update (all epochs) of benchmark ``name`` on a fixed batch.

    One train batch is sampled once; after a warm-up update, ``repeats`` updates on that same
    batch are timed (the median is reported), called as the algorithm's training step calls
    them (``num_epochs``, ``minibatch_size``), so sampling never enters the number. (RLlib's own
    ``learner_update_timer`` is a slow moving average dominated by the first, warm-up update.)
    """
    spec = load_spec(BENCH_DIR / f"{name}.yaml", ["env_runners.num_env_runners=0", *overrides])
    config = plan(spec).config
    algo = config.build_algo()
    try:
        episodes = algo.env_runner.sample(
            num_timesteps=config.train_batch_size_per_learner, explore=True
        )
        measured = update_seconds(algo, config, episodes, repeats)
    finally:
        stop_algorithm(algo)
    return {
        "benchmark": name,
        "overrides": overrides,
        "batch_env_steps": int(sum(len(e) for e in episodes)),
        "learner_update_s": round(measured[len(measured) // 2], 3),  # the median
        "min_s": round(min(measured), 3),
    }


def bench_learner_cost(out: Path, names: list[str], overrides: list[str]) -> list[dict[str, Any]]:
    """Measures every named benchmark on a local 2-CPU Ray instance; writes the table."""
    from rl_apps.runtime import ray_runtime

    rows = []
    with ray_runtime(None):
        for name in names:
            rows.append(learner_seconds(name, overrides))
            row = rows[-1]
            print(
                f"{name} {' '.join(overrides)}: {row['learner_update_s']} s per update of "
                f"{row['batch_env_steps']} env steps (fastest {row['min_s']} s)",
                flush=True,
            )
    out.mkdir(parents=True, exist_ok=True)
    (out / "learner_cost.json").write_text(json.dumps({**git_commit(), "rows": rows}, indent=1))
    lines = ["| benchmark | overrides | learner update (median) | fastest |", "|---|---|---|---|"]
    lines += [
        f"| {r['benchmark']} | {' '.join(r['overrides']) or '-'} | {r['learner_update_s']} s | "
        f"{r['min_s']} s |"
        for r in rows
    ]
    (out / "learner_cost.md").write_text("\n".join(lines) + "\n")
    return rows
