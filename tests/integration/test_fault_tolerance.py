"""Fault tolerance with marl's defaults: a flaky env, a killed env runner, a killed driver."""

from __future__ import annotations

import csv
import json
import os
import re
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


def tiny_algo(
    runners: int, envs: int = 1, batch: int = 200, timeout_s: float = 60.0, **env_options
):
    raw = {
        "name": "ft",
        "algo": "ippo",
        "env": {"name": "simple_spread", "N": 2, "max_cycles": 10, **env_options},
        "stop": {"training_iteration": 1},
        "env_runners": {
            "num_env_runners": runners,
            "num_envs_per_env_runner": envs,
            "sample_timeout_s": timeout_s,
        },
        "training": {
            "train_batch_size_per_learner": batch,
            "minibatch_size": batch // 2,
            "num_epochs": 1,
        },
    }
    return build_algo_config(validate_spec(raw, "<ft>")).build_algo()


def test_env_failing_on_1_percent_of_steps_keeps_full_batches():
    algo = tiny_algo(1, step_error_rate=0.01)
    try:
        counts = []
        for _ in range(4):
            runners = algo.train()["env_runners"]
            assert runners["num_env_steps_sampled"] >= 200  # a full batch every iteration
            counts.append(runners.get("num_env_step_failures", 0))
        assert counts[-1] > 0, counts  # the env did fail, and the runner rebuilt it
        assert algo.env_runner_group.num_healthy_remote_workers() == 1
    finally:
        algo.stop()


def test_5_percent_failing_steps_over_8_sub_envs_keep_full_batches():
    # RLlib alone restarts the whole sample on every failure: 100 failure-free steps in a
    # row across 8 sub-envs almost never happen at 5%, and iterations sampled 0 steps.
    algo = tiny_algo(1, 8, 800, max_cycles=25, step_error_rate=0.05)  # RLlib's 60 s timeout
    try:
        for _ in range(2):
            runners = algo.train()["env_runners"]
            assert runners["num_env_steps_sampled"] >= 800
            assert runners["episode_len_mean"] > 5  # episodes keep their steps before a failure
        assert runners["num_env_step_failures"] > 20  # about 80 expected
    finally:
        algo.stop()


def _first_observations(runner) -> list[tuple[float, ...]]:
    episodes = runner.sample(num_timesteps=runner.num_envs, random_actions=True)
    return [tuple(e.get_observations(0)["agent_0"]["obs"].round(6)) for e in episodes]


def test_every_sub_env_of_every_runner_starts_differently():
    algo = tiny_algo(2, envs=3)
    try:
        starts = algo.env_runner_group.foreach_env_runner(
            _first_observations, local_env_runner=False
        )
        flat = [start for runner in starts for start in runner]
        assert len(flat) == 6 and len(set(flat)) == 6  # RLlib: seed + runner + sub-env index
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


def test_stalled_sampling_exits_1_with_the_watchdog_message_and_a_summary(tmp_path):
    # Every sampling env runner crashes (its env fails without in-place rebuilds) and is
    # restarted only after 60 s: the watchdog stops the run after 3 empty iterations.
    sets = [arg for item in TINY for arg in ("--set", item)]
    for item in (
        "stop.training_iteration=50",
        "env.step_error_rate=0.5",
        "fault_tolerance.restart_failed_sub_environments=false",
        "fault_tolerance.delay_between_env_runner_restarts_s=60",
        "env_runners.sample_timeout_s=2",
        "fault_tolerance.env_runner_health_probe_timeout_s=2",
    ):
        sets += ["--set", item]
    # About 40 s on an idle machine: each iteration waits sample_timeout_s for samples and
    # no longer for the runner's connector state, and a stalled run kills its actors after
    # 2 s of stop(); a hang would never end: run_marl's timeout catches it.
    proc = run_marl("train", str(QUICKSTART), *sets, "--runs-dir", "runs", cwd=tmp_path)
    expect(proc, 1)
    assert "no env steps were sampled in 3 consecutive iterations" in proc.stderr + proc.stdout
    (summary,) = (tmp_path / "runs").glob("*/summary.json")
    assert json.loads(summary.read_text())["stopped_because"].startswith("stalled: no env steps")


def test_marl_train_prints_each_iterations_env_failures(tmp_path, capsys):
    from .helpers import marl_in_process

    failing = [
        *TINY,
        "env_runners.num_env_runners=0",  # the driver samples: no actor to start
        "env_runners.num_envs_per_env_runner=8",
        "env.step_error_rate=0.05",
        "stop.training_iteration=1",
    ]
    args = [a for o in failing for a in ("--set", o)]
    runs = str(tmp_path / "runs")
    out = marl_in_process(["train", str(QUICKSTART), *args, "--runs-dir", runs], capsys).out
    lines = [line for line in out.splitlines() if "env step failures" in line]
    assert len(lines) == 1, out  # one line for the one iteration, counting its failures
    new, total = map(
        int, re.findall(r"failures: (\d+) \(sub-envs rebuilt; (\d+) so far\)", lines[0])[0]
    )
    assert new == total > 0, lines
