"""``marl bench scaling``: sampling env steps/s with 1, 2 and 4 env runners.

The runners sit on a local multi-node Ray cluster, one node (its own raylet) per runner.

Only sampling is timed: every env runner samples ``steps_per_runner`` env steps (in calls of
``CHUNK`` steps) with the (untrained) policy of the spec's algorithm, all in parallel, after one
warm-up sample. The
table shows how throughput grows with env runners on this machine; on a 2-core machine it
stops growing at 2 runners, which is the point of measuring it (plan one CPU per env runner).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from rl_apps.build import plan
from rl_apps.rundir import git_commit
from rl_apps.spec import load_spec
from rl_apps.stopping import stop_algorithm

#: The spec measured by default: IPPO on MPE simple_spread, 8 envs per runner.
DEFAULT_SPEC = Path(__file__).resolve().parents[2] / "experiments" / "ippo_simple_spread.yaml"


#: Env steps per ``sample`` call, as in training (one call of 20k steps ran at 40% of the
#: speed: RLlib's per-call episode bookkeeping grows with the call's size).
CHUNK = 2000


def _sample_steps(runner: Any, steps: int) -> int:
    done = 0
    while done < steps:
        episodes = runner.sample(num_timesteps=min(CHUNK, steps - done), explore=True)
        done += int(sum(len(episode) for episode in episodes))
    return done


def measure(spec_path: Path, runners: int, steps_per_runner: int) -> dict[str, Any]:
    """Sampling throughput of ``runners`` remote env runners (Ray must be connected)."""
    spec = load_spec(spec_path, [f"env_runners.num_env_runners={runners}"])
    config = plan(spec).config
    algo = config.build_algo()
    try:
        group = algo.env_runner_group
        group.foreach_env_runner(lambda r: _sample_steps(r, 200), local_env_runner=False)
        start = time.perf_counter()
        counts = group.foreach_env_runner(
            lambda r: _sample_steps(r, steps_per_runner), local_env_runner=False
        )
        seconds = time.perf_counter() - start
        nodes = group.foreach_env_runner(
            lambda _r: __import__("ray").get_runtime_context().get_node_id(),
            local_env_runner=False,
        )
    finally:
        stop_algorithm(algo)
    total = sum(counts)
    return {
        "env_runners": runners,
        "nodes_used": len(set(nodes)),
        "envs_per_runner": config.num_envs_per_env_runner,
        "env_steps": total,
        "seconds": round(seconds, 2),
        "env_steps_per_s": round(total / seconds, 1),
    }


def bench_scaling(
    out: Path,
    counts: tuple[int, ...] = (1, 2, 4),
    steps_per_runner: int = 20_000,
    spec_path: Path = DEFAULT_SPEC,
) -> list[dict[str, Any]]:
    """Starts a ``max(counts)``-node cluster, measures each count, writes scaling.{json,md}."""
    import ray
    from ray.cluster_utils import Cluster

    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "include_dashboard": False},
        shutdown_at_exit=True,
    )
    try:
        for _ in range(max(counts) - 1):
            cluster.add_node(num_cpus=1)
        ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False)
        rows = []
        print("| env runners | nodes used | env steps/s | per runner | speedup |", flush=True)
        for count in counts:
            rows.append(measure(spec_path, count, steps_per_runner))
            print(_row_text(rows[-1], rows[0]), flush=True)
    finally:
        ray.shutdown()
        cluster.shutdown()
    _write(out, rows, spec_path, steps_per_runner)
    return rows


def _row_text(row: dict[str, Any], first: dict[str, Any]) -> str:
    speedup = row["env_steps_per_s"] / first["env_steps_per_s"]
    return (
        f"| {row['env_runners']} | {row['nodes_used']} | {row['env_steps_per_s']:,.0f} | "
        f"{row['env_steps_per_s'] / row['env_runners']:,.0f} | {speedup:.2f}x |"
    )


def _write(out: Path, rows: list[dict[str, Any]], spec_path: Path, steps: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    meta = {
        "spec": str(spec_path.name),
        "steps_per_runner": steps,
        "cpu_count": os.cpu_count(),
        **git_commit(),
    }
    (out / "scaling.json").write_text(json.dumps({**meta, "rows": rows}, indent=1))
    lines = [
        f"Sampling throughput, {spec_path.name}, one node (raylet) per env runner, "
        f"{os.cpu_count()} cores, commit {meta.get('commit', '?')[:7]}",
        "",
        "| env runners | nodes used | env steps/s | per runner | speedup |",
        "|---|---|---|---|---|",
        *(_row_text(row, rows[0]) for row in rows),
    ]
    (out / "scaling.md").write_text("\n".join(lines) + "\n")
