"""`marl train SPEC --seeds`: parallel seeds in one group folder that plot/report read as one
spec, and a SIGTERM that makes every running seed save (real signal to a subprocess)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from rl_apps.compare import load_curves

from ..conftest import ROOT
from .helpers import expect, marl_in_process, run_marl

SPEC = {
    "algo": "ippo",
    "env": {"name": "linear_game"},
    "stop": {"training_iteration": 3},
    "checkpoint": {"frequency": 0, "keep": 2, "every_s": 2.0},
    "env_runners": {"num_env_runners": 0},
    "training": {"train_batch_size_per_learner": 64, "minibatch_size": 64, "num_epochs": 1},
}


def _spec(tmp_path: Path, **stop: int) -> Path:
    path = tmp_path / "seeded.yaml"  # no name: the runs are named after the file
    path.write_text(yaml.safe_dump({**SPEC, "stop": stop or SPEC["stop"]}))
    return path


def test_seeds_run_in_their_own_run_dirs_grouped_for_report(tmp_path, capsys):
    proc = run_marl(
        "train", str(_spec(tmp_path)), "--seeds", "0,1", "--runs-dir", "runs", cwd=tmp_path
    )
    expect(proc, 0)
    (group,) = (tmp_path / "runs").iterdir()
    runs = sorted(p.name for p in group.iterdir() if p.is_dir())
    assert runs == ["seeded_seed0", "seeded_seed1"]
    for seed in (0, 1):
        run_dir = group / f"seeded_seed{seed}"
        assert yaml.safe_load((run_dir / "spec.yaml").read_text())["seed"] == seed
        assert json.loads((run_dir / "summary.json").read_text())["iterations"] == 3
        assert "iter    3 |" in (run_dir / "train.log").read_text()
    curves = load_curves([group])
    assert {c.group for c in curves} == {("seeded", "ippo", "linear_game")}
    assert sorted(c.seed for c in curves) == [0, 1]
    assert f"marl report {group}" in proc.stdout
    assert (
        "| seeded | ippo | linear_game | 2 |" in marl_in_process(["report", str(group)], capsys).out
    )


def test_a_stop_signal_makes_every_running_seed_save(tmp_path):
    env = {**os.environ, "WANDB_MODE": "offline", "RAY_USAGE_STATS_ENABLED": "0"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    spec = _spec(tmp_path, training_iteration=100_000)
    command = [sys.executable, "-m", "rl_apps.cli", "train", str(spec), "--seeds", "0,1,2"]
    proc = subprocess.Popen(
        [*command, "--runs-dir", "runs"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 300
    while True:
        rows = [len(p.read_text().splitlines()) for p in tmp_path.glob("runs/*/*/progress.csv")]
        if len(rows) == 2 and min(rows) > 3:  # two seeds at a time on 2 CPUs
            break
        assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read()[-3000:]
        time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert proc.returncode == 143, out[-3000:]
    (group,) = (tmp_path / "runs").iterdir()
    report = json.loads((group / "seeds.json").read_text())
    stopped = [s for s in report["seeds"].values() if s.get("stopped_because") == "interrupted"]
    assert len(stopped) == 2 and list(report["seeds"].values()).count({"not_started": True}) == 1
    for summary in stopped:
        assert summary["checkpoint"] and Path(summary["checkpoint"]).is_dir()
        assert f"marl train --resume {summary['run_dir']}" in out
