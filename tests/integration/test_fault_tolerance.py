"""Fault tolerance with marl's defaults: a flaky env, a killed env runner, a killed driver."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time

import pytest
import ray

from rl_apps.build import build_algo_config
from rl_apps.spec import validate_spec
from rl_apps.weights import runner_weight_mismatches

from ..conftest import QUICKSTART, ROOT, TINY
from .helpers import expect, run_marl

pytestmark = pytest.mark.usefixtures("ray_session")


def tiny_algo(runners: int, **env_options):
    raw = {
        "name": "ft",
        "algo": "ippo",
        "env": {"name": "simple_spread", "N": 2, "max_cycles": 10, **env_options},
        "stop": {"training_iteration": 1},
        "env_runners": {"num_env_runners": runners, "num_envs_per_env_runner": 1},
        "training": {"train_batch_size_per_learner": 200, "minibatch_size": 100, "num_epochs": 1},
    }
    return build_algo_config(validate_spec(raw, "<ft>")).build_algo()


def test_env_failing_on_1_percent_of_steps_keeps_full_batches():
    algo = tiny_algo(1, step_error_rate=0.01)
    try:
        failures = 0
        for _ in range(4):
            runners = algo.train()["env_runners"]
            assert runners["num_env_steps_sampled"] >= 200  # a full batch every iteration
            failures = runners.get("num_env_step_failures", 0)
        assert failures > 0  # the env did fail, and the runner rebuilt it
        assert algo.env_runner_group.num_healthy_remote_workers() == 1
    finally:
        algo.stop()


def _runner_pids(algo) -> list[int]:
    return algo.env_runner_group.foreach_env_runner(
        lambda _runner: os.getpid(), local_env_runner=False
    )


def test_killed_env_runner_is_replaced_and_acts_with_current_weights():
    algo = tiny_algo(2)
    try:
        algo.train()
        before = _runner_pids(algo)
        victim = algo.env_runner_group._worker_manager.actors()[1]
        ray.kill(victim, no_restart=False)  # a crash: Ray may restart the actor
        for _ in range(60):  # marl's restart delay is 5 s
            result = algo.train()
            if algo.env_runner_group.num_healthy_remote_workers() == 2:
                break
        assert algo.env_runner_group.num_healthy_remote_workers() == 2
        after = _runner_pids(algo)
        assert after[0] != before[0] and after[1] == before[1]  # runner 1 is a new process
        result = algo.train()
        assert result["env_runners"]["num_env_steps_sampled"] >= 200
        assert runner_weight_mismatches(algo) == []  # the new runner has the learner's weights
    finally:
        algo.stop()


def test_killed_driver_resumes_from_its_last_checkpoint(tmp_path):
    sets = [arg for item in TINY for arg in ("--set", item)]
    sets += ["--set", "stop.training_iteration=30"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "rl_apps.cli", "train", str(QUICKSTART), *sets]
    driver = subprocess.Popen(
        [*command, "--runs-dir", "runs"],
        cwd=tmp_path,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and len(_rows(tmp_path)) < 3:
            time.sleep(0.5)
        assert len(_rows(tmp_path)) >= 3, "the run did not get going"
    finally:
        os.killpg(driver.pid, signal.SIGKILL)  # the driver and the Ray it started
        driver.wait()
    (run_dir,) = (tmp_path / "runs").iterdir()
    done = len(_rows(tmp_path))
    resumed = run_marl(
        "train",
        "--resume",
        str(run_dir),
        "--set",
        f"stop.training_iteration={done + 2}",
        cwd=tmp_path,
    )
    expect(resumed, 0)
    iterations = [int(row["iteration"]) for row in _rows(tmp_path)]
    assert iterations == list(range(1, done + 3))  # continued where the checkpoint was


def _rows(tmp_path) -> list[dict[str, str]]:
    found = list((tmp_path / "runs").glob("*/progress.csv"))
    if not found:
        return []
    with found[0].open() as f:
        return list(csv.DictReader(f))
