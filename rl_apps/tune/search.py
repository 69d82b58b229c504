"""``marl tune``: a Ray Tune search over a spec's ``tune.search_space`` (see rl_apps.tune.spec).

Each trial is a whole ``marl train`` run: the trial's values are applied to the spec at their
dotted paths, the result is validated like any spec, and the trial trains with the same loop,
run directory (``<search>/trials/<trial>/``: spec, progress.csv, checkpoints with SHA-256
manifests, learning curve, train.log) and wandb logging as ``marl train``, reporting every
iteration's progress row to Tune. So ``marl eval`` works on any trial's checkpoint, and
ASHA/PBT decide on the same numbers the user reads in progress.csv.

A trial's resources are what its algorithm config asks for (RLlib's
``default_resource_request``), taken from the trial's spec and its ``resources`` section.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rl_apps import checkpoints as ckpt
from rl_apps import rundir
from rl_apps.build import plan
from rl_apps.errors import SpecError
from rl_apps.runtime import current_resources, fit_resources, ray_runtime
from rl_apps.signals import stop_signals_to_tune
from rl_apps.spec import load_spec, read_yaml, validate_spec
from rl_apps.tune.report import report_search
from rl_apps.tune.spec import (
    TuneSpec,
    apply_values,
    edge_assignments,
    trial_index,
    trial_seed,
)


@dataclass
class TuneOptions:
    """What ``marl tune`` was asked to do."""

    spec_path: Path | None = None
    overrides: list[str] = field(default_factory=list)
    address: str | None = None
    runs_dir: Path = rundir.DEFAULT_RUNS_DIR
    resume: Path | None = None
    echo: Callable[[str], None] = print


def preflight(raw: dict[str, Any], source: str, tune: TuneSpec) -> None:
    """Validates the spec at every edge value of the search space; one SpecError for all."""
    problems: list[tuple[str, str]] = []
    for label, values in edge_assignments(tune):
        try:
            validate_spec(apply_values(raw, values), source)
        except SpecError as err:
            problems += [(label, f"{path}: {msg}" if path else msg) for path, msg in err.problems]
        except ValueError as err:
            problems.append((label, str(err)))
    if problems:
        raise SpecError(source, problems)


def trial_spec(base: dict[str, Any], values: dict[str, Any], index: int, source: str) -> Any:
    """The validated spec of one trial: base + sampled values (+ its seed unless searched)."""
    raw = apply_values(base, values)
    if "seed" not in values:
        raw["seed"] = trial_seed(int(base.get("seed", 0)), index)
    raw.pop("tune", None)
    return validate_spec(raw, source)


def param_space(tune: TuneSpec) -> dict[str, Any]:
    """The Tune search space, keyed by the dotted spec paths."""
    from ray import tune as ray_tune

    makers = {
        "grid": ray_tune.grid_search,
        "choice": ray_tune.choice,
        "uniform": lambda bounds: ray_tune.uniform(*bounds),
        "loguniform": lambda bounds: ray_tune.loguniform(*bounds),
        "randint": lambda bounds: ray_tune.randint(*bounds),
    }
    return {path: makers[dim.kind](dim.args) for path, dim in tune.search_space.items()}


def _finite_metrics(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (float("nan") if v is None else v) for k, v in row.items()}


def trial_run_dir(search_dir: Path, trial_name: str, tune_trial_dir: str) -> Path:
    """``<search>/trials/<trial>`` when the search directory is on this node's file system.

    Otherwise (a worker node without shared storage) Tune's trial directory, which Tune
    syncs to the search's storage path.
    """
    if search_dir.is_dir():
        return search_dir / "trials" / trial_name
    return Path(tune_trial_dir) / trial_name


def run_trial(config: dict[str, Any], base: dict[str, Any], source: str, search_dir: str) -> None:
    """The Tune function trainable: one ``marl train`` run reporting each iteration."""
    import ray
    from ray import tune as ray_tune

    from rl_apps.train import run_experiment

    context = ray_tune.get_context()
    name = context.get_trial_name()
    index = trial_index(Path(context.get_trial_dir()).name, name)
    spec = trial_spec(base, config, index, f"{source} [{name}]")
    planned = plan(spec)
    algo_config = planned.config
    fit_resources(algo_config, spec, dict(ray.cluster_resources()))
    run_dir = trial_run_dir(Path(search_dir), name, context.get_trial_dir())
    run_dir.mkdir(parents=True, exist_ok=True)
    rundir.write_metadata(run_dir, spec.to_dict(), algo_config.to_dict())
    log = (run_dir / "train.log").open("a")

    def echo(line: str) -> None:
        log.write(line + "\n")
        log.flush()

    def report(row: dict[str, Any], saved: Path | None) -> None:
        checkpoint = ray_tune.Checkpoint.from_directory(str(saved)) if saved else None
        ray_tune.report(_finite_metrics(row), checkpoint=checkpoint)

    resume_from = None
    given = ray_tune.get_checkpoint()
    if given is not None:  # PBT exploit or a restarted trial
        resume_from = Path(given.to_directory())
        ckpt.verify_checkpoint(resume_from)
    try:
        run_experiment(algo_config, spec, planned.agents, run_dir, resume_from, echo, report)
    finally:
        log.close()


def trial_resources(base: dict[str, Any], source: str) -> Callable[[dict[str, Any]], Any]:
    """Per-trial resource request: the placement group the trial's algorithm asks for."""

    def request(config: dict[str, Any]) -> Any:
        import ray

        spec = trial_spec(base, config, 0, source)
        algo_config = plan(spec).config
        fit_resources(algo_config, spec, dict(ray.cluster_resources()))
        return algo_config.algo_class.default_resource_request(algo_config)

    return request


def _scheduler(tune: TuneSpec) -> Any:
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler, PopulationBasedTraining

    s = tune.scheduler
    if s.type == "asha":
        return ASHAScheduler(
            time_attr="training_iteration",
            max_t=s.max_t or 10**9,
            grace_period=s.grace_period,
            reduction_factor=s.reduction_factor,
        )
    if s.type == "pbt":
        mutable = {p: v for p, v in param_space(tune).items() if not isinstance(v, dict)}
        return PopulationBasedTraining(
            time_attr="training_iteration",
            perturbation_interval=s.perturbation_interval,
            quantile_fraction=s.quantile_fraction,
            hyperparam_mutations=mutable,
            synch=s.synch,
        )
    return FIFOScheduler()


def _search_alg(tune: TuneSpec, seed: int) -> Any:
    if tune.search_alg == "optuna":
        from optuna.samplers import TPESampler
        from ray.tune.search.optuna import OptunaSearch

        return OptunaSearch(sampler=TPESampler(seed=seed))
    return None  # Tune's random/grid variant generator


def _load(opts: TuneOptions) -> tuple[dict[str, Any], str, Path | None]:
    """(the resolved base spec with its tune section, its source, the search dir to resume)."""
    if opts.resume is not None:
        search_dir = opts.resume.resolve()
        if not (search_dir / rundir.SPEC_FILE).is_file() or not (search_dir / "tuner.pkl").exists():
            raise SpecError(str(search_dir), [("", "not a marl tune search directory")])
        return read_yaml(search_dir / rundir.SPEC_FILE), str(search_dir), search_dir
    spec = load_spec(opts.spec_path, opts.overrides)
    if spec.tune is None:
        raise SpecError(spec.source, [("tune", "marl tune needs a tune section (see README)")])
    return spec.to_dict(), spec.source, None


#: Seconds a stopped trial's actor gets to clean up (its algorithm's own stop) before Tune
#: kills it; Tune's default is 600. ``TUNE_FORCE_TRIAL_CLEANUP_S`` in the environment wins.
TRIAL_CLEANUP_S = 30


def bound_trial_cleanup(environ: dict[str, str] | None = None) -> None:
    """Tune kills a stopped trial's actor after ``TRIAL_CLEANUP_S`` unless told otherwise."""
    environ = os.environ if environ is None else environ
    environ.setdefault("TUNE_FORCE_TRIAL_CLEANUP_S", str(TRIAL_CLEANUP_S))


def _check_request(planned: Any, available: dict[str, float]) -> None:
    """The first trial's resource request fits ``available`` (its config is a copy)."""
    fit_resources(planned.config.copy(copy_frozen=False), planned.spec, available)


def tune(opts: TuneOptions) -> dict[str, Any]:
    """Runs (or resumes) the search; returns and writes ``best.json``."""
    base, source, search_dir = _load(opts)
    tune_spec = TuneSpec.model_validate(base["tune"])
    preflight(base, source, tune_spec)
    first_trial = plan(trial_spec(base, {}, 0, source))  # the env builds, RLlib's checks
    known = current_resources(opts.address)
    if known is not None:
        _check_request(first_trial, known)
    with ray_runtime(opts.address) as resources:
        _check_request(first_trial, resources)
        if search_dir is None:
            search_dir = rundir.new_run_dir(opts.runs_dir, base["name"])
            if base.get("wandb") is not None and not base["wandb"].get("group"):
                base["wandb"]["group"] = search_dir.name  # one wandb group per search
            (search_dir / rundir.SPEC_FILE).write_text(yaml.safe_dump(base, sort_keys=False))
        opts.echo(f"search directory: {search_dir}")
        bound_trial_cleanup()  # read when Tune's controller is made, in this process
        tuner = _tuner(base, source, tune_spec, search_dir, resume=opts.resume is not None)
        with stop_signals_to_tune() as received:
            try:
                results = tuner.fit()
            except KeyboardInterrupt:
                opts.echo(f"interrupted; continue with: marl tune --resume {search_dir}")
                raise
        if received:
            opts.echo(f"stopping: {received[0]}; Tune saved the search state")
    report = report_search(results, tune_spec, search_dir, opts.echo)
    if received:
        report["signal"] = received[0]
    return report


def _tuner(base: dict[str, Any], source: str, t: TuneSpec, search_dir: Path, resume: bool) -> Any:
    from ray import tune as ray_tune

    trainable = ray_tune.with_resources(
        ray_tune.with_parameters(run_trial, base=base, source=source, search_dir=str(search_dir)),
        trial_resources(base, source),
    )
    if resume:
        return ray_tune.Tuner.restore(
            str(search_dir), trainable=trainable, resume_unfinished=True, resume_errored=True
        )
    return ray_tune.Tuner(
        trainable,
        param_space=param_space(t),
        tune_config=ray_tune.TuneConfig(
            metric=t.metric,
            mode=t.mode,
            num_samples=t.num_samples,
            max_concurrent_trials=t.max_concurrent_trials,
            scheduler=_scheduler(t),
            search_alg=_search_alg(t, int(base.get("seed", 0))),
        ),
        run_config=ray_tune.RunConfig(
            name=search_dir.name,
            storage_path=str(search_dir.parent),
            failure_config=ray_tune.FailureConfig(max_failures=t.max_failures),
            checkpoint_config=ray_tune.CheckpointConfig(num_to_keep=_tune_keep(base, t)),
            verbose=1,
        ),
    )


def _tune_keep(base: dict[str, Any], t: TuneSpec) -> int | None:
    """Checkpoints Tune keeps per trial: ``checkpoint.keep``, or all of them under PBT.

    PBT restores a trial from another trial's checkpoint while that trial keeps training and
    checkpointing; with a bound, Tune deleted the checkpoint being cloned (a test saw
    FileNotFoundError with 4 kept), so PBT keeps every one. Use ``checkpoint.frequency`` to
    bound the disk use.
    """
    keep = int(base.get("checkpoint", {}).get("keep", 3))
    return None if t.scheduler.type == "pbt" else keep
