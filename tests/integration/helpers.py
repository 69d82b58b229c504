"""Helpers for integration tests: run `marl` in a subprocess or through ``cli.main`` in this
process, and show its output on failure."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from rl_apps import cli

from ..conftest import ROOT


def run_marl(
    *args: str,
    cwd: Path,
    timeout: float = 420,
    script: Path | None = None,
    script_args: list[str] | None = None,
) -> subprocess.CompletedProcess:
    """Runs ``python -m rl_apps.cli ARGS`` (the `marl` script's entry point).

    With ``script``, runs ``python SCRIPT SCRIPT_ARGS ARGS`` instead (a wrapper around the CLI).
    """
    env = {**os.environ, "WANDB_MODE": "offline", "RAY_USAGE_STATS_ENABLED": "0"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    command = [str(script), *(script_args or [])] if script else ["-m", "rl_apps.cli"]
    return subprocess.run(
        [sys.executable, *command, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def expect(proc: subprocess.CompletedProcess, code: int) -> subprocess.CompletedProcess:
    """Asserts the exit code; the assertion message carries the command's whole output."""
    assert proc.returncode == code, (
        f"exit code {proc.returncode}, expected {code}\n"
        f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr[-6000:]}"
    )
    return proc


def marl_in_process(args: list[str], capsys: Any, code: int = 0) -> Any:
    """``marl ARGS`` through ``cli.main`` in this process, without a new interpreter (the
    console entry point's exit codes are checked in test_cli.py's subprocess tests): asserts
    the exit code (argparse's usage errors included) and returns only this command's output
    (pytest's ``CaptureResult``: ``.out``, ``.err``)."""
    capsys.readouterr()
    try:
        returned = cli.main(args)
    except SystemExit as exit_info:
        returned = exit_info.code
    assert returned == code, capsys.readouterr()
    return capsys.readouterr()


#: Multiwalker with fallen walkers removed instead of ending the episode: agents leave mid-episode
#: (with random actions the first walker falls after about 65-75 steps).
MULTIWALKER_LEAVING = {
    "name": "multiwalker",
    "max_cycles": 100,
    "terminate_on_fall": False,
    "remove_on_fall": True,
}


def some_agent_left_early(algo: Any, episodes: int = 3) -> bool:
    """Whether, in ``episodes`` episodes of the local env runner, agents' lengths differ."""
    sampled = algo.env_runner.sample(num_episodes=episodes, explore=True)
    return any(len({len(a) for a in e.agent_episodes.values()}) > 1 for e in sampled)


def learner_modules(algo: Any) -> Any:
    """The local learner's MultiRLModule (with the learner-only critics and mixers).

    RLlib 2.60 has no public accessor for it (``Algorithm.get_module`` returns the env
    runner's inference-only copy); this is the one place tests reach into the learner group.
    """
    return algo.learner_group._learner.module
