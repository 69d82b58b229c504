"""``marl bench run [NAME...]``: the benchmark suite in ``experiments/benchmarks/``.

Each benchmark is an experiment spec with a ``benchmark:`` section (seeds, the REFERENCE.md
target, the random policy's return). For every seed the spec is trained like ``marl train``
(run directories under ``benchmarks/runs/``, not committed), its final checkpoint is
evaluated, and ``benchmarks/results/<name>.json`` and ``<name>.png`` record per seed and
across seeds: final training return, evaluation return, env steps, wall time, env steps/s of
sampling and of whole iterations, and the commit that produced them. The metrics named by
``benchmark.curves`` are recorded per seed (``metric_curves``) and drawn in
``<name>.<metric>.png`` (``rl_apps.bench.metric_curves``). Each finished seed is also
recorded on its own (``<out>/seeds/<name>.seed<k>.json``, with the exact spec it ran), so
``--reuse`` collects seeds finished in earlier sessions or on other machines after their run
directories are gone.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from env_wrappers.task_metrics import mean_task
from rl_apps import rundir
from rl_apps.bench.metric_curves import curve_file_stem, metric_curve, read_results
from rl_apps.errors import SpecError
from rl_apps.evaluate import EvalOptions, evaluate
from rl_apps.plots import plot_seed_curves
from rl_apps.spec import ExperimentSpec, load_spec
from rl_apps.train import TrainOptions, train

#: Per-seed records under the results directory: a seed finished in one session or on one
#: machine is collected by ``--reuse`` in another, after its run directory is gone.
SEEDS_DIR = "seeds"

BENCH_DIR = Path("experiments/benchmarks")
#: Iterations averaged for the "final" training return (RLlib's mean is already per batch).
FINAL_WINDOW = 5


def find_benchmarks(names: list[str], bench_dir: Path = BENCH_DIR) -> list[Path]:
    """Spec files of the named benchmarks (all when ``names`` is empty).

    Raises:
        SpecError: Outside the repository (no ``experiments/benchmarks`` here), or for an
            unknown name (the valid ones listed).

    """
    if not bench_dir.is_dir():
        here = f"no {bench_dir} folder in {Path.cwd()}"
        raise SpecError("marl bench", [("", f"{here}; run marl bench from the repository root")])
    available = {p.stem: p for p in sorted(bench_dir.glob("*.yaml"))}
    if not names:
        return list(available.values())
    unknown = [n for n in names if n not in available]
    if unknown:
        valid = ", ".join(available) or "none"
        raise SpecError("marl bench", [("", f"unknown benchmark(s) {unknown}; valid: {valid}")])
    return [available[n] for n in names]


def _rates(run_dir: Path) -> tuple[float, float]:
    """(sampling env steps/s, whole-iteration env steps/s) over the run."""
    steps = sample_time = iter_time = 0.0
    for line in (run_dir / rundir.RESULT_JSONL).read_text().splitlines():
        row = json.loads(line)
        steps += row.get("env_runners/num_env_steps_sampled", 0.0)
        sample_time += row.get("timers/env_runner_sampling_timer", 0.0)
        iter_time += row.get("time_this_iter_s", 0.0)
    return (
        round(steps / sample_time, 1) if sample_time else 0.0,
        round(steps / iter_time, 1) if iter_time else 0.0,
    )


class BenchmarkInterrupted(Exception):
    """A seed's training was stopped by a signal: the benchmark writes nothing and stops."""

    def __init__(self, name: str, seed: int, signal_name: str | None, run_dir: str) -> None:
        self.signal_name = signal_name
        super().__init__(
            f"{name}: seed {seed} was interrupted ({signal_name or 'interrupted'}); no results "
            f"written, the remaining seeds not run (its run: {run_dir})"
        )


def run_seed(
    spec_path: Path, spec: ExperimentSpec, seed: int, runs_dir: Path, echo: Callable[[str], None]
) -> dict[str, Any]:
    """Trains and evaluates one seed; returns its numbers and learning curve."""
    summary = train(
        TrainOptions(
            spec_path=spec_path,
            overrides=[f"seed={seed}"],
            runs_dir=runs_dir,
            echo=lambda line: echo(f"[seed {seed}] {line}"),
        )
    )
    if summary["stopped_because"] == "interrupted":
        raise BenchmarkInterrupted(spec.name, seed, summary.get("signal"), summary["run_dir"])
    return seed_result(spec, seed, Path(summary["run_dir"]), summary)


def seed_result(
    spec: ExperimentSpec, seed: int, run_dir: Path, summary: dict[str, Any]
) -> dict[str, Any]:
    """One seed's numbers from its finished run directory (its final checkpoint evaluated)."""
    rows = rundir.read_progress(run_dir)
    returns = [float(r["team_return_mean"]) for r in rows if r["team_return_mean"]]
    episodes = spec.benchmark.eval_episodes if spec.benchmark else 100
    report = evaluate(
        EvalOptions(
            checkpoint=Path(summary["checkpoint"]),
            episodes=episodes,
            seed=10_000 * (seed + 1),
            actions=spec.benchmark.eval_actions if spec.benchmark else None,
        )
    )
    sampling, whole = _rates(run_dir)
    return {
        "seed": seed,
        "run_dir": _relative(run_dir),
        "commit": _run_commit(run_dir),
        "final_train_return": float(np.mean(returns[-FINAL_WINDOW:])) if returns else None,
        "eval_return": report["team_return"],
        "eval_actions": report["actions"],
        "eval_first_actions": report["first_actions"],
        "random_policy_return": report.get("random_policy"),
        "eval_task": report.get("task", {}),
        "random_policy_task": report.get("random_policy_task", {}),
        "env_steps": summary["env_steps"],
        "wall_time_s": summary["wall_time_s"],
        "sampling_env_steps_per_s": sampling,
        "iteration_env_steps_per_s": whole,
        "curve": [
            (int(r["env_steps"]), float(r["team_return_mean"]))
            for r in rows
            if r["team_return_mean"]
        ],
        "metric_curves": _metric_curves(spec, run_dir),
    }


def _metric_curves(spec: ExperimentSpec, run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """The curves of the spec's ``benchmark.curves`` metrics from the run's result.jsonl."""
    keys = spec.benchmark.curves if spec.benchmark else []
    if not keys:
        return {}
    results = read_results(run_dir / rundir.RESULT_JSONL)
    return {key: metric_curve(results, key) for key in keys}


def _run_commit(run_dir: Path) -> str | None:
    try:
        return json.loads((run_dir / "meta.json").read_text()).get("commit")
    except (OSError, ValueError):
        return None


def finished_run(
    spec_path: Path, spec: ExperimentSpec, seed: int, runs_dir: Path
) -> tuple[Path, dict[str, Any]] | None:
    """(run directory, summary) of this seed's newest finished run in ``runs_dir``, or None.

    Finished: the same spec (with this seed) and the stop criterion reached (not
    interrupted, not stalled), with a final checkpoint.
    """
    wanted = load_spec(spec_path, [f"seed={seed}"]).to_dict()
    for run_dir in sorted(runs_dir.glob(f"{spec.name}_*"), reverse=True):
        try:
            summary = json.loads((run_dir / "summary.json").read_text())
            same = load_spec(run_dir / rundir.SPEC_FILE).to_dict() == wanted
        except (OSError, ValueError, SpecError):
            continue
        reached = " reached " in str(summary.get("stopped_because", ""))
        if same and reached and summary.get("checkpoint"):
            return run_dir, summary
    return None


def _reused(
    spec_path: Path,
    spec: ExperimentSpec,
    seed: int,
    runs_dir: Path,
    out_dir: Path,
    echo: Callable[[str], None],
) -> dict[str, Any] | None:
    """A seed's result from its finished run in ``runs_dir``, else from its record, or None."""
    found = finished_run(spec_path, spec, seed, runs_dir)
    if found is not None:
        echo(f"[seed {seed}] reusing the finished run {found[0]}")
        return seed_result(spec, seed, *found)
    recorded = recorded_seed(out_dir, spec_path, seed)
    if recorded is not None:
        record = seed_record_path(out_dir, spec.name, seed)
        echo(f"[seed {seed}] reusing the recorded result {record}")
    return recorded


def seed_record_path(out_dir: Path, name: str, seed: int) -> Path:
    """Where one seed's result is recorded: ``<out>/seeds/<name>.seed<k>.json``."""
    return out_dir / SEEDS_DIR / f"{name}.seed{seed}.json"


def write_seed_record(out_dir: Path, spec_path: Path, seed: int, result: dict[str, Any]) -> None:
    """Records one finished seed with the exact spec it ran (written whole, then renamed)."""
    spec = load_spec(spec_path, [f"seed={seed}"])
    path = seed_record_path(out_dir, spec.name, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps({"spec": spec.to_dict(), "result": result}, indent=1))
    partial.replace(path)


def recorded_seed(out_dir: Path, spec_path: Path, seed: int) -> dict[str, Any] | None:
    """A seed's recorded result, if its record ran exactly this spec (with this seed)."""
    wanted = load_spec(spec_path, [f"seed={seed}"])
    try:
        record = json.loads(seed_record_path(out_dir, wanted.name, seed).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("spec") != wanted.to_dict():
        return None
    result = record.get("result")
    return result if isinstance(result, dict) and result.get("seed") == seed else None


def _relative(path: Path) -> str:
    """``path`` relative to the working directory when it lies below it, else its name.

    Committed results carry no absolute path of the machine that made them.
    """
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return path.name


def _aggregate(spec: ExperimentSpec, seeds: list[dict[str, Any]]) -> dict[str, Any]:
    evals = [s["eval_return"]["mean"] for s in seeds]
    trains = [s["final_train_return"] for s in seeds if s["final_train_return"] is not None]
    target = spec.benchmark.target_team_return if spec.benchmark else None
    return {
        "eval_return_mean": float(np.mean(evals)),
        "eval_return_std": float(np.std(evals)),
        "final_train_return_mean": float(np.mean(trains)) if trains else None,
        "final_train_return_std": float(np.std(trains)) if trains else None,
        "wall_time_s_mean": float(np.mean([s["wall_time_s"] for s in seeds])),
        "target_team_return": target,
        "target_met": None if target is None else bool(np.mean(evals) >= target),
        **_task_summary(seeds),
    }


def _task_summary(seeds: list[dict[str, Any]]) -> dict[str, Any]:
    """Each task metric's mean and std over the seeds, and the random policy's mean."""
    trained = [s.get("eval_task", {}) for s in seeds]
    found: dict[str, Any] = {}
    for key, mean in mean_task(trained).items():
        found[f"eval_task_{key}_mean"] = mean
        found[f"eval_task_{key}_std"] = float(np.std([t[key] for t in trained if key in t]))
    for key, mean in mean_task([s.get("random_policy_task", {}) for s in seeds]).items():
        found[f"random_task_{key}_mean"] = mean
    return found


def bench_spec(
    spec_path: Path,
    out_dir: Path,
    runs_dir: Path,
    echo: Callable[[str], None] = print,
    seeds: list[int] | None = None,
    reuse: bool = False,
) -> dict[str, Any] | None:
    """Runs the seeds of one benchmark and writes its JSON and PNG once every seed has a result.

    ``seeds``: only these of the spec's seeds are trained (None: all). ``reuse``: a seed whose
    finished run (same spec, stop criterion reached) is in ``runs_dir`` is evaluated from it
    instead of trained again, so an interrupted suite, or seeds trained in parallel
    processes, can be collected. Returns None (nothing written) while seeds are missing.
    """
    spec = load_spec(spec_path)
    all_seeds = spec.benchmark.seeds if spec.benchmark else [0, 1, 2]
    unknown = sorted(set(seeds or []) - set(all_seeds))
    if unknown:
        raise SpecError(
            str(spec_path), [("benchmark.seeds", f"no seed(s) {unknown}; valid: {all_seeds}")]
        )
    results, missing = [], []
    for seed in all_seeds:
        result = _reused(spec_path, spec, seed, runs_dir, out_dir, echo) if reuse else None
        if result is None and (seeds is None or seed in seeds):
            result = run_seed(spec_path, spec, seed, runs_dir, echo)
        if result is None:
            missing.append(seed)
            continue
        results.append(result)
        write_seed_record(out_dir, spec_path, seed, result)
    if missing:
        echo(
            f"{spec.name}: seed(s) {missing} not run yet; only the finished seeds' records "
            f"are written, under {out_dir / SEEDS_DIR} (train the others with --seeds, then "
            f"collect every seed with --reuse)"
        )
        return None
    report = {
        "name": spec.name,
        "algo": spec.algo,
        "env": spec.env.model_dump(),
        **rundir.git_commit(),
        "spec": spec.to_dict(),
        "summary": _aggregate(spec, results),
        "seeds": results,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{spec.name}.json").write_text(json.dumps(report, indent=1))
    bench = spec.benchmark
    plot_seed_curves(
        {r["seed"]: r["curve"] for r in results},
        out_dir / f"{spec.name}.png",
        spec.name,
        target=bench.target_team_return if bench else None,
        random=bench.random_team_return if bench else None,
    )
    for key in bench.curves if bench else []:
        curves = {r["seed"]: r.get("metric_curves", {}).get(key, []) for r in results}
        if not any(curves.values()):
            echo(f"{spec.name}: benchmark.curves: no iteration logged {key!r}; not drawn")
            continue
        out = out_dir / f"{curve_file_stem(spec.name, key)}.png"
        plot_seed_curves(curves, out, spec.name, ylabel=key)
    return report
