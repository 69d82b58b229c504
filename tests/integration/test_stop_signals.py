"""SIGTERM, and SIGINT in a background job that ignores it, stop `marl train` like Ctrl-C:
a final checkpoint, the summary, the --resume command, exit code 128 + the signal's number."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from ..conftest import ROOT

SPEC = {
    "name": "sig",
    "algo": "ippo",
    "env": {"name": "linear_game"},
    "stop": {"training_iteration": 100_000},
    "checkpoint": {"frequency": 0, "keep": 10, "every_s": 1.0},  # by wall time only
    "env_runners": {"num_env_runners": 0},
    "training": {"train_batch_size_per_learner": 64, "minibatch_size": 64, "num_epochs": 1},
}


def _start(tmp_path: Path, ignore_sigint: bool) -> subprocess.Popen:
    spec = tmp_path / "sig.yaml"
    spec.write_text(yaml.safe_dump(SPEC))
    env = {**os.environ, "WANDB_MODE": "offline", "RAY_USAGE_STATS_ENABLED": "0"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])

    def ignore() -> None:  # what a non-interactive shell does to a job started with `&`
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    return subprocess.Popen(
        [sys.executable, "-m", "rl_apps.cli", "train", str(spec), "--runs-dir", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=ignore if ignore_sigint else None,
    )


def _wait_for_iterations(tmp_path: Path, proc: subprocess.Popen, rows: int) -> Path:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read()
        for progress in tmp_path.glob("sig_*/progress.csv"):
            if len(progress.read_text().splitlines()) > rows:
                return progress.parent
        time.sleep(0.5)
    proc.kill()
    raise AssertionError("the run never got going")


@pytest.mark.parametrize(
    ("sig", "ignore_sigint", "code"),
    [(signal.SIGTERM, False, 143), (signal.SIGINT, True, 130)],
    ids=["sigterm", "sigint-in-background-job"],
)
def test_a_stop_signal_saves_a_checkpoint_and_prints_the_resume_command(
    tmp_path, sig, ignore_sigint, code
):
    proc = _start(tmp_path, ignore_sigint)
    run_dir = _wait_for_iterations(tmp_path, proc, rows=3)
    time.sleep(2.5)  # at least one checkpoint by wall time before the signal
    proc.send_signal(sig)
    try:
        out, _ = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert proc.returncode == code, out[-3000:]
    assert f"marl train --resume {run_dir}" in out
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["stopped_because"] == "interrupted"
    checkpoints = [
        p for p in (run_dir / "checkpoints").iterdir() if p.name.startswith("checkpoint_")
    ]
    assert len(checkpoints) >= 2, out[-3000:]  # by wall time, then the final one
    assert any((run_dir / "tensorboard").iterdir())  # event files, on by default


TUNE_SPEC = {
    **SPEC,
    "name": "sigtune",
    "checkpoint": {"frequency": 1, "keep": 2},
    "tune": {
        "num_samples": 2,
        "max_concurrent_trials": 1,
        "search_space": {"training.lr": {"choice": [0.001, 0.0005]}},
        "scheduler": {"type": "fifo"},
    },
}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["sigterm", "sighup"])
def test_a_stop_signal_ends_a_tune_search_with_its_state_saved(tmp_path, sig):
    spec = tmp_path / "sigtune.yaml"
    spec.write_text(yaml.safe_dump(TUNE_SPEC))
    env = {**os.environ, "WANDB_MODE": "offline", "RAY_USAGE_STATS_ENABLED": "0"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    command = [sys.executable, "-m", "rl_apps.cli", "tune", str(spec), "--runs-dir", str(tmp_path)]
    proc = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    deadline = time.monotonic() + 300
    while not any(
        len(p.read_text().splitlines()) > 2
        for p in tmp_path.glob("sigtune_*/trials/*/progress.csv")
    ):
        assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read()[-3000:]
        time.sleep(0.5)
    proc.send_signal(sig)
    try:
        out, _ = proc.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert proc.returncode == 128 + sig, out[-3000:]
    (search_dir,) = tmp_path.glob("sigtune_*")
    assert f"stopping: {signal.Signals(sig).name}; Tune saved the search state" in out
    assert f"marl tune --resume {search_dir}" in out  # the search summary's resume command
    report = json.loads((search_dir / "best.json").read_text())
    assert report["unfinished_trials"] >= 1
    assert (search_dir / "tuner.pkl").exists()  # what --resume reads


def test_a_stop_signal_while_the_actors_start_exits_cleanly(tmp_path):
    proc = _start(tmp_path, ignore_sigint=False)
    for line in proc.stdout:  # the algorithm (its env runner actors) is built right after
        if line.startswith("run directory:"):
            break
    proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert proc.returncode == 143, out[-3000:]
    assert "SIGTERM received at time" not in out  # Ray's handler (a core dump message) not run
