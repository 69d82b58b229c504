"""Helpers for integration tests: run `marl` in a subprocess and show its output on failure."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ..conftest import ROOT


def run_marl(*args: str, cwd: Path, timeout: float = 420) -> subprocess.CompletedProcess:
    """Runs ``python -m rl_apps.cli ARGS`` (the `marl` script's entry point)."""
    env = {**os.environ, "WANDB_MODE": "offline", "RAY_USAGE_STATS_ENABLED": "0"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "rl_apps.cli", *args],
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
