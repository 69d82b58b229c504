"""``marl train SPEC --seeds 0,1,2``: one run per seed, in parallel Ray tasks, grouped.

Every seed's spec (the spec with ``seed`` set) is validated and planned before Ray starts.
Each seed then runs as one Ray task in a placement group of what its algorithm asks for (the
driver bundle plus the env runners' and learners' bundles, as Tune reserves them), so seeds
run side by side only as far as the cluster's resources allow; the rest wait their turn.
The runs share one group folder, which ``marl plot`` and ``marl report`` read as one spec
over several seeds::

    runs/<name>_seeds_<time>_<id>/
      <name>_seed0/   a whole run directory (spec.yaml, progress.csv, checkpoints, train.log)
      <name>_seed1/
      seeds.json      every seed's summary

A seed's progress lines go to its ``train.log``. A stop signal to ``marl train`` interrupts
every running seed the way Ctrl-C stops one run (a final checkpoint, the summary); seeds not
started yet are not run; the exit code is 128 + the signal's number.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rl_apps import rundir
from rl_apps.build import plan
from rl_apps.errors import SpecError
from rl_apps.runtime import fit_resources, ray_runtime
from rl_apps.signals import stop_signals_interrupt
from rl_apps.spec import load_spec
from rl_apps.spec.limits import SEED

Echo = Callable[[str], None]
SEEDS_FILE = "seeds.json"
#: How long the seeds cancelled by a stop signal may take, together, to save their checkpoints
#: and stop (each one's own stop is bounded by ``rl_apps.stopping``); then the rest are killed.
CANCELLED_SEED_TIMEOUT_S = 120.0


def parse_seeds(text: str) -> list[int]:
    """``"0,1,2"`` -> ``[0, 1, 2]``; SpecError (exit 2) naming what is wrong."""
    seeds = []
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit():
            raise SpecError("--seeds", [("--seeds", f"{part!r} is not a seed (give e.g. 0,1,2)")])
        seed = int(part)
        if not SEED.holds(seed):
            raise SpecError("--seeds", [("--seeds", f"{seed} is outside {SEED.text()}")])
        seeds.append(seed)
    if len(set(seeds)) != len(seeds):
        raise SpecError("--seeds", [("--seeds", "a seed is given twice")])
    return seeds


def concurrent_seeds(per_seed: dict[str, float], available: dict[str, float], seeds: int) -> int:
    """How many seeds fit side by side: the scarcest resource decides (at least one)."""
    fits = [
        math.floor(available.get(name, 0.0) / amount)
        for name, amount in per_seed.items()
        if amount > 0
    ]
    return max(1, min([seeds, *fits]))


def _run_seed(spec_data: dict[str, Any], source: str, run_dir: str) -> dict[str, Any]:
    """The Ray task of one seed: the whole ``marl train`` run, its lines in train.log."""
    from rl_apps.spec import validate_spec
    from rl_apps.train import run_experiment

    spec = validate_spec(spec_data, source)
    planned = plan(spec)
    with (Path(run_dir) / "train.log").open("a") as log:

        def echo(line: str) -> None:
            log.write(line + "\n")
            log.flush()

        return run_experiment(planned.config, spec, planned.agents, Path(run_dir), None, echo)


def _launch(ray: Any, task: Any, planned: Any, run_dir: Path) -> tuple[Any, Any]:
    """Starts one seed in its own placement group; returns (result ref, placement group)."""
    from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    factory = planned.config.algo_class.default_resource_request(planned.config)
    group = factory.to_placement_group()
    empty = factory.head_bundle_is_empty  # the driver bundle asks for nothing
    head = {} if empty else factory.bundles[0]
    strategy = PlacementGroupSchedulingStrategy(
        placement_group=group,
        placement_group_bundle_index=-1 if empty else 0,
        placement_group_capture_child_tasks=True,  # the env runners join the group
    )
    ref = task.options(
        num_cpus=head.get("CPU", 0), num_gpus=head.get("GPU", 0), scheduling_strategy=strategy
    ).remote(planned.spec.to_dict(), planned.spec.source, str(run_dir))
    return ref, group


def _group_dir(opts: Any, name: str, plans: list[Any]) -> dict[int, Path]:
    group = rundir.new_run_dir(opts.runs_dir, f"{name}_seeds")
    dirs = {}
    for planned in plans:
        run_dir = group / f"{name}_seed{planned.spec.seed}"
        run_dir.mkdir()
        rundir.write_metadata(run_dir, planned.spec.to_dict(), planned.config.to_dict())
        dirs[planned.spec.seed] = run_dir
    return dirs


def train_seeds(opts: Any, seeds: list[int]) -> dict[str, Any]:
    """Runs the spec once per seed (``opts``: TrainOptions without ``resume``)."""
    import ray

    plans = [plan(load_spec(opts.spec_path, [*opts.overrides, f"seed={s}"])) for s in seeds]
    name = plans[0].spec.name
    with ray_runtime(opts.address) as resources:
        for planned in plans:
            fit_resources(planned.config, planned.spec, resources, opts.echo)
        factory = plans[0].config.algo_class.default_resource_request(plans[0].config)
        per_seed = factory.required_resources
        width = concurrent_seeds(per_seed, resources, len(seeds))
        dirs = _group_dir(opts, name, plans)
        group = next(iter(dirs.values())).parent
        opts.echo(
            f"seed group: {group} ({len(seeds)} seeds, {width} at a time; each reserves "
            f"{per_seed}; a seed's lines go to its train.log)"
        )
        task = ray.remote(max_retries=0)(_run_seed)
        summaries, received = _run_all(ray, task, plans, dirs, width, opts.echo)
    report = {"group_dir": str(group), "seeds": summaries}
    if received:
        report["signal"] = received[0]
    (group / SEEDS_FILE).write_text(json.dumps(report, indent=1, default=str))
    _print_report(report, opts.echo)
    return report


def _run_all(ray: Any, task: Any, plans: list, dirs: dict, width: int, echo: Echo) -> tuple:
    """Keeps ``width`` seeds running until all finish or a stop signal arrives."""
    waiting, running, summaries = list(plans), {}, {}
    with stop_signals_interrupt() as received:
        try:
            while waiting or running:
                while waiting and len(running) < width and not received:
                    planned = waiting.pop(0)
                    ref, group = _launch(ray, task, planned, dirs[planned.spec.seed])
                    running[ref] = (planned.spec.seed, group)
                    echo(f"  seed {planned.spec.seed}: started in {dirs[planned.spec.seed]}")
                done, _ = ray.wait(list(running), num_returns=1)
                seed, group = running.pop(done[0])
                summaries[seed] = _collect(ray, done[0], seed, dirs[seed], echo)
                ray.util.remove_placement_group(group)
        except KeyboardInterrupt:
            echo(
                f"stopping: {received[0] if received else 'interrupted'}; each running seed "
                "saves a checkpoint"
            )
            for ref in running:
                ray.cancel(ref)  # a KeyboardInterrupt in the task: its final checkpoint
            deadline = time.monotonic() + CANCELLED_SEED_TIMEOUT_S  # one bound for all seeds
            for ref, (seed, _) in running.items():
                left = max(0.0, deadline - time.monotonic())
                summaries[seed] = _collect(ray, ref, seed, dirs[seed], echo, timeout_s=left)
            for planned in waiting:
                summaries[planned.spec.seed] = {"not_started": True}
    return summaries, received


def _collect(
    ray: Any, ref: Any, seed: int, run_dir: Path, echo: Echo, timeout_s: float | None = None
) -> dict[str, Any]:
    """The seed's summary.json (also after a cancelled task saved it), or its error.

    With ``timeout_s``, a task that has not ended by then is killed (``force``) and reported
    as failed unless it wrote its summary: every stop path ends within a bounded time.
    """
    error = None
    try:
        ray.get(ref, timeout=timeout_s)
    except ray.exceptions.GetTimeoutError:
        ray.cancel(ref, force=True)
        error = "did not stop in time after the stop signal; its worker was killed"
    except Exception as err:  # noqa: BLE001 - one failed seed must not lose the others
        text = str(err).strip()
        error = text.splitlines()[-1] if text else type(err).__name__
    path = run_dir / "summary.json"
    if not path.is_file():
        echo(f"  seed {seed}: failed ({error}; see {run_dir / 'train.log'})")
        return {"error": error, "run_dir": str(run_dir)}
    summary = json.loads(path.read_text())
    final = summary.get("final_team_return")
    shown = "n/a" if final is None else f"{final:.3f}"
    echo(f"  seed {seed}: {summary['stopped_because']}, final team return {shown}")
    return summary


def _print_report(report: dict[str, Any], echo: Echo) -> None:
    seeds = report["seeds"]
    failed = [s for s, v in seeds.items() if "error" in v]
    waiting = [s for s, v in seeds.items() if v.get("not_started")]
    stopped = [v["run_dir"] for v in seeds.values() if v.get("stopped_because") == "interrupted"]
    group = report["group_dir"]
    echo("")
    ok = len(seeds) - len(failed) - len(waiting)
    echo(f"Seeds finished: {ok} ok, {len(failed)} failed, {len(waiting)} not started")
    echo(f"  group folder  : {group}")
    echo(f"  compare with  : marl report {group}   and   marl plot {group} --out curves.png")
    for run_dir in stopped:
        echo(f"  resume with   : marl train --resume {run_dir}")
