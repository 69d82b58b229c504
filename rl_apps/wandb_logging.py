"""Weights & Biases logging for ``marl train``, only for specs with a ``wandb:`` section.

wandb is imported only when a run really logs to it (not for ``mode: disabled``, nor without
the section). The mode is the spec's ``mode``, else ``$WANDB_MODE``, else ``online`` when
``WANDB_API_KEY`` is set and ``offline`` when not; ``online`` without a key falls back to
``offline`` with a warning, so training never waits on the network without a key. Runs are
written into the run directory (``RUN_DIR/wandb/offline-run-*``), for ``wandb sync`` later.

Logged: every iteration's progress.csv row plus the flattened scalars of result.jsonl (step =
training iteration), the resolved spec as the config, the summary.json numbers as the run
summary and the learning curve as an image. A wandb failure never stops training: it is
reported once in the progress output and wandb is off for the rest of the run. No credential
reaches wandb through us: the spec loader rejects secret-looking keys and values.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from rl_apps.spec import ExperimentSpec

API_KEY_ENV = "WANDB_API_KEY"
MODES = ("online", "offline", "disabled")
#: wandb.Settings (checked against wandb 0.31): no system-metrics sampler (a 2-core machine
#: trains here), no stdout capture (our progress lines stay ours), no wandb banner lines.
SETTINGS: dict[str, Any] = {
    "x_disable_stats": True,
    "console": "off",
    "silent": True,
    "init_timeout": 30.0,
}
Echo = Callable[[str], None]


def resolve_mode(requested: str | None, environ: Mapping[str, str]) -> tuple[str, str | None]:
    """Chooses the wandb mode; returns ``(mode, warning or None)``.

    Args:
        requested: The spec's ``wandb.mode`` (None: not given).
        environ: The environment (``WANDB_API_KEY``, ``WANDB_MODE``).

    """
    has_key = bool(environ.get(API_KEY_ENV, "").strip())
    env_mode = environ.get("WANDB_MODE", "").strip().lower()
    mode = requested or (env_mode if env_mode in MODES else None)
    mode = mode or ("online" if has_key else "offline")
    if mode == "online" and not has_key:
        warning = f"mode online needs {API_KEY_ENV} in the environment: logging offline instead"
        return "offline", warning
    return mode, None


class WandbRun:
    """The wandb run of one training session, or none: every call is then a no-op."""

    def __init__(self, run: Any = None, echo: Echo = print) -> None:
        self._run = run
        self._echo = echo
        self._exit_code = 1  # reported to wandb unless the run reaches log_final

    @property
    def active(self) -> bool:
        """Whether anything is still logged to wandb."""
        return self._run is not None

    def log(self, row: dict[str, Any], scalars: dict[str, float]) -> None:
        """Logs one iteration: the progress.csv ``row`` (None values left out) and ``scalars``."""
        if self._run is None:
            return
        data = {**scalars, **{k: v for k, v in row.items() if v is not None}}
        self._guard("logging", lambda run: run.log(data, step=int(row["iteration"])))

    def log_final(self, summary: dict[str, Any], curve: Path) -> None:
        """Adds the summary.json numbers to the run summary and logs the learning curve."""
        self._exit_code = 130 if summary.get("stopped_because") == "interrupted" else 0
        if self._run is None:
            return
        values = {k: v for k, v in summary.items() if v is not None and k != "run_dir"}
        self._guard("the summary", lambda run: run.summary.update(values))
        if curve.is_file():
            self._guard("the learning curve", lambda run: _log_image(run, curve, summary))

    def finish(self) -> None:
        """Flushes and closes the run (call in a ``finally``); never raises."""
        run, self._run = self._run, None
        if run is None:
            return
        try:
            run.finish(exit_code=self._exit_code)
        except Exception as err:  # wandb must never fail a training run
            self._echo(f"wandb: warning: closing the run failed ({type(err).__name__}: {err})")

    def _guard(self, what: str, call: Callable[[Any], Any]) -> None:
        try:
            call(self._run)
        except Exception as err:  # wandb must never fail a training run
            self._echo(
                f"wandb: warning: {what} failed ({type(err).__name__}: {err}); "
                "training continues without wandb"
            )
            self.finish()


def _log_image(run: Any, curve: Path, summary: dict[str, Any]) -> None:
    import wandb

    step = summary.get("iterations")
    run.log({"learning_curve": wandb.Image(str(curve))}, step=step)


def start(spec: ExperimentSpec, run_dir: Path, echo: Echo = print) -> WandbRun:
    """Starts the wandb run of ``spec`` in ``run_dir`` (a no-op WandbRun without one)."""
    section = spec.wandb
    if section is None:
        return WandbRun()
    mode, warning = resolve_mode(section.mode, os.environ)
    if warning:
        echo(f"wandb: warning: {warning}")
    if mode == "disabled":
        echo("wandb: disabled (mode: disabled)")
        return WandbRun()
    try:
        run = _init(spec, run_dir, mode)
    except Exception as err:  # wandb must never fail a training run
        echo(
            f"wandb: warning: could not start a run ({type(err).__name__}: {err}); "
            "training continues without wandb"
        )
        return WandbRun()
    echo(_describe(run, mode))
    return WandbRun(run, echo)


def _init(spec: ExperimentSpec, run_dir: Path, mode: str) -> Any:
    import wandb

    section = spec.wandb
    assert section is not None
    return wandb.init(
        project=section.project,
        entity=section.entity,
        group=section.group,
        tags=section.tags or None,
        notes=section.notes,
        name=run_dir.name,
        job_type="train",
        mode=mode,
        dir=str(run_dir),
        config=spec.to_dict(),
        settings=wandb.Settings(**SETTINGS),
    )


def _describe(run: Any, mode: str) -> str:
    run_files = Path(run.dir).parent  # run.dir is <run files>/files
    if mode == "offline":
        return f"wandb: offline run {run_files} (upload later: wandb sync {run_files})"
    return f"wandb: {run.url} (local copy {run_files})"
