"""``marl train``: one training run (new or resumed) with progress lines and a run directory.

Order of work, so that a bad input costs nothing: validate the spec, build the
AlgorithmConfig, check the resource request against the cluster, and only then create the
run directory and start RLlib.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rl_apps import actor_weights, determinism, placement, rundir, wandb_logging
from rl_apps import checkpoints as ckpt
from rl_apps.build import plan
from rl_apps.checkpoint_trust import private_copy
from rl_apps.env_runner import EnvFailureCount
from rl_apps.errors import RunError, SpecError
from rl_apps.metrics import flatten_scalars, headline, progress_columns, spec_sides
from rl_apps.plots import plot_learning_curve
from rl_apps.progress import ProgressConsole, binding, budgets, format_progress, learner_summary
from rl_apps.quiet import filtered_stderr
from rl_apps.runtime import current_resources, fit_resources, ray_runtime
from rl_apps.signals import stop_signals_interrupt
from rl_apps.spec import ExperimentSpec, load_spec
from rl_apps.stopping import STOP_TIMEOUT_S, stop_algorithm
from rl_apps.tensorboard import TensorBoardWriter
from rl_apps.weights import sync_runner_weights

#: Consecutive iterations without a sampled env step before the run is stopped.
STALL_LIMIT = 3
#: How long a stalled run's ``algo.stop()`` may take before its actors are killed: its env
#: runners have not answered for STALL_LIMIT iterations, so a graceful stop only waits.
STALLED_STOP_TIMEOUT_S = 2.0


@dataclass
class TrainOptions:
    """What ``marl train`` was asked to do."""

    spec_path: Path | None = None
    overrides: list[str] = field(default_factory=list)
    address: str | None = None
    runs_dir: Path = rundir.DEFAULT_RUNS_DIR
    resume: Path | None = None
    trust_checkpoint: bool = False
    echo: Callable[[str], None] = print
    #: The CLI: may restart its process (``debugging.deterministic`` fixes PYTHONHASHSEED).
    restart_process: bool = False


@dataclass
class RunState:
    """The live state of a run between iterations."""

    run_dir: Path
    spec: ExperimentSpec
    agents: list[str]
    start_counters: ckpt.Counters
    last_row: dict[str, Any] | None = None
    first_return: float | None = None  # of the whole run, read from progress.csv
    stalled: int = 0
    last_checkpoint: Path | None = None
    saved_iteration: int | None = None
    wandb: wandb_logging.WandbRun = field(default_factory=wandb_logging.WandbRun)
    #: Called after every iteration with the row and the checkpoint saved in it (Tune trials).
    report: Callable[[dict[str, Any], Path | None], None] | None = None
    tensorboard: TensorBoardWriter = field(
        default_factory=lambda: TensorBoardWriter(Path(), enabled=False)
    )
    #: ``side -> agents`` of a competitive or mixed game (``metrics.sides``); empty otherwise.
    sides: dict[str, list[str]] = field(default_factory=dict)
    console: ProgressConsole = field(default_factory=lambda: ProgressConsole(interactive=False))


def _load(opts: TrainOptions) -> tuple[ExperimentSpec, Path | None]:
    if opts.resume is None:
        return load_spec(opts.spec_path, opts.overrides), None
    run_dir = opts.resume.resolve()
    spec_file = run_dir / rundir.SPEC_FILE
    if not spec_file.is_file():
        raise SpecError(str(run_dir), [("", f"not a run directory (no {rundir.SPEC_FILE})")])
    for leftover in ckpt.remove_leftovers(run_dir):  # e.g. a kill during pruning
        opts.echo(f"removed an incomplete checkpoint directory: {leftover.name}")
    latest = ckpt.latest_checkpoint(run_dir)
    if latest is None:
        raise SpecError(str(run_dir), [("", "has no complete checkpoint to resume from")])
    ckpt.verify_checkpoint(latest, opts.trust_checkpoint)
    return load_spec(spec_file, opts.overrides), latest


def _stop_reached(spec: ExperimentSpec, row: dict[str, Any]) -> str | None:
    stop = spec.stop
    checks = [
        (stop.training_iteration, row["iteration"], "training_iteration"),
        (stop.num_env_steps_sampled_lifetime, row["env_steps"], "num_env_steps_sampled_lifetime"),
        (stop.time_total_s, row["elapsed_s"], "time_total_s"),
        (stop.team_return, row["team_return_mean"], "team_return"),
    ]
    for limit, value, name in checks:
        if limit is not None and value is not None and value >= limit:
            return f"{name} reached {value:g} (limit {limit:g})"
    return None


def _save(algo: Any, state: RunState) -> Path:
    row = state.last_row
    assert row is not None
    counters = ckpt.Counters(row["iteration"], row["env_steps"], row["elapsed_s"])
    path = ckpt.save_checkpoint(
        state.run_dir,
        counters,
        write=actor_weights.algorithm_writer(algo),
        spec_text=(state.run_dir / rundir.SPEC_FILE).read_text(),
        keep=state.spec.checkpoint.keep,
    )
    state.last_checkpoint = path
    state.saved_iteration = row["iteration"]
    return path


def _iterate(algo: Any, state: RunState, writer: rundir.MetricsWriter, echo: Callable) -> str:
    session_start = last_save = time.monotonic()
    frequency, every_s = state.spec.checkpoint.frequency, state.spec.checkpoint.every_s
    failures = EnvFailureCount.of(algo)  # after a restore: from the restored count
    while True:
        if determinism.is_deterministic(state.spec):
            _seed_next_iteration(algo, state)
        result = algo.train()
        elapsed = state.start_counters.elapsed_s + time.monotonic() - session_start
        row = headline(result, elapsed, state.agents, state.sides)
        scalars = {"elapsed_s": elapsed, **flatten_scalars(result)}
        writer.append(row, scalars)
        state.tensorboard.write(row, scalars)
        state.wandb.log(row, scalars)
        state.last_row = row
        state.console.progress(_progress_line(state, row, result))
        if note := failures.note(result):
            echo(note)
        state.stalled = state.stalled + 1 if row["env_steps_iter"] == 0 else 0
        if state.stalled >= STALL_LIMIT:
            raise RunError(
                f"no env steps were sampled in {STALL_LIMIT} consecutive iterations: the env "
                "runners are failing (rerun with --set env_runners.num_env_runners=0 to see "
                "the env's exception)"
            )
        reason = _stop_reached(state.spec, row)
        saved = None
        by_time = every_s is not None and time.monotonic() - last_save >= every_s
        if (
            (frequency and row["iteration"] % frequency == 0)
            or by_time
            or (reason and state.report)
        ):
            saved, last_save = _save(algo, state), time.monotonic()
            echo(f"  checkpoint: {saved}")
        if state.report is not None:
            state.report(row, saved)
        if reason:
            return reason


def _seed_next_iteration(algo: Any, state: RunState) -> None:
    done = state.last_row["iteration"] if state.last_row else state.start_counters.iteration
    determinism.seed_iteration(algo, state.spec.seed, done + 1)


def _progress_line(state: RunState, row: dict[str, Any], result: dict[str, Any]) -> str:
    """The console line: the stop budget's share and ETA, returns, the main losses."""
    start = {
        "iteration": state.start_counters.iteration,
        "env_steps": state.start_counters.env_steps,
        "elapsed_s": state.start_counters.elapsed_s,
    }
    budget = binding(budgets(state.spec.stop.model_dump(exclude_none=True), row, start))
    learner = learner_summary(result)
    return format_progress(row, budget, learner, bar=state.console.interactive)


def _record_placement(algo: Any, run_dir: Path, echo: Callable) -> None:
    where = placement.placement(algo)
    (run_dir / "placement.json").write_text(json.dumps(where, indent=1))
    echo(placement.describe(where))


def restore_checkpoint(
    algo: Any, checkpoint: Path, echo: Callable, trust: bool = False
) -> ckpt.Counters:
    """Restores a built algorithm from a marl checkpoint; returns the run's counters.

    RLlib reads the checkpoint (pickles included) from a private copy whose files, manifest
    and signature were verified after copying (``checkpoint_trust.private_copy``), so what
    was checked is what is loaded; the counters come from the copy's manifest. Env runners
    get the learner's weights explicitly (see DESIGN.md, RLlib facts); a replay-based run
    records that its replay buffer starts empty.
    """
    with private_copy(checkpoint, trust) as (copy, manifest):
        counters = ckpt.counters_of(manifest, checkpoint)
        algo.restore_from_path(str(copy))
    sync_runner_weights(algo)
    echo(
        f"resumed from {checkpoint} (iteration {counters.iteration}, "
        f"{counters.env_steps:,} env steps)"
    )
    if getattr(algo, "local_replay_buffer", None) is not None:
        _record_empty_buffer(checkpoint, counters, echo)
    return counters


#: Written to the run directory whenever a replay-based run resumes.
RESUME_NOTES = "resume_notes.txt"


def _record_empty_buffer(checkpoint: Path, counters: ckpt.Counters, echo: Callable) -> None:
    """RLlib's new-stack checkpoints hold no replay buffer: say so, in the run directory too."""
    note = (
        f"iteration {counters.iteration}: resumed with an EMPTY replay buffer (RLlib 2.60's "
        "new-stack checkpoints do not store it); updates use only experience sampled after "
        "the resume"
    )
    echo(f"  note: {note}")
    with (checkpoint.parent.parent / RESUME_NOTES).open("a") as notes:
        notes.write(note + "\n")


def _finish(state: RunState, reason: str, echo: Callable) -> dict[str, Any]:
    rows = rundir.read_progress(state.run_dir)
    if rows and rows[0]["team_return_mean"]:
        state.first_return = float(rows[0]["team_return_mean"])
    curve = state.run_dir / "learning_curve.png"
    plot_learning_curve(rows, curve, state.spec.name)
    row = state.last_row or {}
    summary = {
        "name": state.spec.name,
        "run_dir": str(state.run_dir),
        "stopped_because": reason,
        "iterations": row.get("iteration"),
        "env_steps": row.get("env_steps"),
        "wall_time_s": row.get("elapsed_s"),
        "env_steps_per_s": _rate(row),
        "first_team_return": state.first_return,
        "final_team_return": row.get("team_return_mean"),
        "checkpoint": str(state.last_checkpoint) if state.last_checkpoint else None,
    }
    if state.sides:  # the summed team return adds opponents together
        summary["final_side_returns"] = {s: row.get(f"team_return_{s}") for s in state.sides}
    (state.run_dir / "summary.json").write_text(json.dumps(summary, indent=1))
    state.wandb.log_final(summary, curve)
    _print_summary(summary, echo)
    return summary


def _rate(row: dict[str, Any]) -> float | None:
    if not row.get("elapsed_s"):
        return None
    return round(row["env_steps"] / row["elapsed_s"], 1)


def _print_summary(summary: dict[str, Any], echo: Callable) -> None:
    def fmt(value: Any) -> str:
        return "n/a" if value is None else f"{value:.2f}"

    echo("")
    echo(f"Run finished ({summary['stopped_because']}): {summary['name']}")
    echo(f"  run directory : {summary['run_dir']}")
    echo(
        f"  iterations    : {summary['iterations']}, env steps {summary['env_steps']:,}, "
        f"wall time {summary['wall_time_s']:.0f}s, {summary['env_steps_per_s']} env steps/s"
    )
    first, final = summary["first_team_return"], summary["final_team_return"]
    echo(f"  team return   : {fmt(first)} (first iteration) -> {fmt(final)} (last)")
    if summary.get("final_side_returns"):
        sides = ", ".join(f"{s} {fmt(v)}" for s, v in summary["final_side_returns"].items())
        echo(f"  side returns  : {sides} (last; the team return adds opponents together)")
    if summary["checkpoint"]:
        echo(f"  checkpoint    : {summary['checkpoint']}")
        echo(f"  evaluate with : marl eval {summary['checkpoint']} --episodes 20")
        if summary["stopped_because"] == "interrupted":
            echo(f"  resume with   : marl train --resume {summary['run_dir']}")


def train(opts: TrainOptions) -> dict[str, Any]:
    """Runs (or resumes) one experiment; returns the summary written to summary.json."""
    spec, resume_from = _load(opts)
    determinism.prepare_process(spec, opts.restart_process, opts.echo)
    planned = plan(spec)
    config = planned.config
    known = current_resources(opts.address)
    if known is not None:
        fit_resources(config, spec, known, opts.echo)  # before a local Ray instance starts
    with ray_runtime(opts.address) as resources:
        fit_resources(config, spec, resources, opts.echo if known is None else None)
        run_dir = opts.resume.resolve() if opts.resume else None
        run_dir = run_dir or rundir.new_run_dir(opts.runs_dir, spec.name)
        if resume_from is None:
            rundir.write_metadata(run_dir, spec.to_dict(), config.to_dict())
        else:
            (run_dir / rundir.SPEC_FILE).write_text(yaml.safe_dump(spec.to_dict(), sort_keys=False))
        return run_experiment(
            config,
            spec,
            planned.agents,
            run_dir,
            resume_from,
            opts.echo,
            trust_checkpoint=opts.trust_checkpoint,
        )


def run_experiment(
    config: Any,
    spec: ExperimentSpec,
    agents: list[str],
    run_dir: Path,
    resume_from: Path | None,
    echo: Callable,
    report: Callable[[dict[str, Any], Path | None], None] | None = None,
    trust_checkpoint: bool = False,
) -> dict[str, Any]:
    """Builds the algorithm, restores ``resume_from``, iterates to a stop, saves, summarizes."""
    console = ProgressConsole(echo)
    echo = console.echo
    # A stop signal while the actors start: a clean exit 128 + signal (nothing to save yet);
    # Ray's harmless core-worker line per env runner is dropped (rl_apps.quiet). The run
    # directory is printed once the handlers are in place: from that line on (what scripts
    # wait for) a signal never reaches Ray's own handler, which exits 15 with a core dump.
    with stop_signals_interrupt(), filtered_stderr():
        echo(f"run directory: {run_dir}")
        algo = config.build_algo()
    _record_placement(algo, run_dir, echo)
    tracker, state, stalled = wandb_logging.WandbRun(), None, None
    try:
        tracker = wandb_logging.start(spec, run_dir, echo)
        counters = ckpt.Counters(0, 0, 0.0)
        if resume_from is not None:
            counters = restore_checkpoint(algo, resume_from, echo, trust_checkpoint)
            rundir.truncate_metrics(run_dir, counters.iteration)
        state = RunState(run_dir, spec, agents, counters, wandb=tracker, report=report)
        state.console, state.sides = console, spec_sides(spec, agents)
        state.tensorboard = TensorBoardWriter(run_dir, spec.reporting.get("tensorboard", True))
        writer = rundir.MetricsWriter(run_dir, progress_columns(agents, state.sides))
        with stop_signals_interrupt() as received:
            try:
                reason = _iterate(algo, state, writer, echo)
            except KeyboardInterrupt:
                reason = "interrupted"
                echo(f"stopping: {received[0] if received else 'interrupted'}; saving a checkpoint")
            except RunError as err:  # the watchdog: summarize, then exit 1 with its message
                stalled, reason = err, f"stalled: {err}"
        if state.last_row is not None and state.saved_iteration != state.last_row["iteration"]:
            echo(f"  checkpoint: {_save(algo, state)}")
        summary = _finish(state, reason, echo)
        if stalled is not None:
            raise stalled
        if received:
            summary["signal"] = received[0]
        return summary
    finally:
        console.close()
        tracker.finish()  # flushes an interrupted or failed run too
        if state is not None:
            state.tensorboard.close()
        timeout_s = STALLED_STOP_TIMEOUT_S if stalled is not None else STOP_TIMEOUT_S
        stop_algorithm(algo, timeout_s, echo=echo)  # bounded: kills the actors when it hangs
