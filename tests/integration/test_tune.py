"""`marl tune`: ASHA + Optuna search, PBT exploits through checkpoints, interrupt and resume.

Each trial is a whole marl run (run directory, checkpoints with manifests, wandb offline),
on the session's 2-CPU Ray instance, with no remote env runners.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from rl_apps import checkpoints as ckpt
from rl_apps.tune import TuneOptions, tune

pytestmark = pytest.mark.usefixtures("ray_session")

SPEC = """
name: tune_test
algo: ippo
env: {{name: simple_spread, N: 2, max_cycles: 10}}
stop: {{training_iteration: {iterations}}}
checkpoint: {{frequency: 1, keep: 1}}
env_runners: {{num_env_runners: 0, num_envs_per_env_runner: 2}}
training: {{train_batch_size_per_learner: 200, minibatch_size: 100, num_epochs: 1}}
wandb: {{project: tune-test, mode: offline}}
tune:
  metric: {metric}
  num_samples: 2
  max_concurrent_trials: {concurrent}
  search_space:
    training.lr: {{loguniform: [1.0e-4, 1.0e-2]}}
  scheduler: {scheduler}
  search_alg: {search_alg}
"""


def run_search(write_spec, tmp_path, lines, **fields):
    defaults = {"iterations": 2, "concurrent": 2, "search_alg": "random"}
    text = SPEC.format(**{**defaults, "metric": "team_return_mean", **fields})
    opts = TuneOptions(spec_path=write_spec(text), runs_dir=tmp_path / "runs", echo=lines.append)
    return tune(opts)


def test_asha_optuna_search_runs_marl_trials_and_reports_the_best(write_spec, tmp_path):
    lines: list[str] = []
    report = run_search(
        write_spec,
        tmp_path,
        lines,
        scheduler="{type: asha, grace_period: 2, max_t: 2}",
        search_alg="optuna",
    )
    trials = report["trials"]
    assert len(trials) == 2 and not any(t["error"] for t in trials)
    assert report["best"]["team_return_mean"] == max(t["team_return_mean"] for t in trials)
    seeds = set()
    for trial in trials:
        run_dir = Path(trial["run_dir"])
        assert len((run_dir / "progress.csv").read_text().splitlines()) == 1 + 2
        ckpt.verify_checkpoint(Path(trial["checkpoint"]))
        assert list((run_dir / "wandb").glob("offline-run-*"))
        seeds.add(ckpt.read_manifest(Path(trial["checkpoint"])) and _seed(run_dir))
    assert len(seeds) == 2  # num_samples repeats run with different seeds
    assert json.loads((Path(report["search_dir"]) / "best.json").read_text())["best"]
    assert any(line.startswith("best trial") for line in lines)


def _seed(run_dir: Path) -> int:
    import yaml

    return yaml.safe_load((run_dir / "spec.yaml").read_text())["seed"]


def test_pbt_exploits_restore_other_trials_checkpoints(write_spec, tmp_path):
    # Asynchronous PBT exploits only when the reporting trial is in the lower quantile and
    # the upper one saved while it was upper: timing decides, and CI runs failed on it.
    # Synchronous PBT pauses both trials at iteration 2 and ranks them together; the
    # episode length is constant (10 steps), so the tie keeps the trials' order and the
    # first trial is restored from the second one's checkpoint.
    report = run_search(
        write_spec,
        tmp_path,
        [],
        iterations=4,
        metric="episode_len_mean",
        scheduler="{type: pbt, perturbation_interval: 2, synch: true}",
    )
    assert not any(t["error"] for t in report["trials"])
    logs = [Path(t["run_dir"], "train.log").read_text() for t in report["trials"]]
    assert any("resumed from" in log for log in logs)


def test_an_interrupted_search_resumes(write_spec, tmp_path):
    lines: list[str] = []
    runs = tmp_path / "runs"

    def interrupt_after_first_iterations():
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            done = [p for p in runs.glob("*/trials/*/progress.csv") if p.stat().st_size]
            if done and len(done[0].read_text().splitlines()) >= 3:
                os.kill(os.getpid(), signal.SIGINT)
                return
            time.sleep(0.5)

    threading.Thread(target=interrupt_after_first_iterations, daemon=True).start()
    first = run_search(
        write_spec, tmp_path, lines, iterations=6, concurrent=1, scheduler="{type: fifo}"
    )
    assert first["unfinished_trials"] >= 1
    assert any("marl tune --resume" in line for line in lines)
    search_dir = Path(first["search_dir"])
    second = tune(TuneOptions(resume=search_dir, echo=lines.append))
    assert second["unfinished_trials"] == 0
    for trial in second["trials"]:
        rows = Path(trial["run_dir"], "progress.csv").read_text().splitlines()[1:]
        assert [int(r.split(",")[0]) for r in rows] == list(range(1, 7))  # no gap, no repeat
