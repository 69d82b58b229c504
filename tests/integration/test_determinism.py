"""``debugging.deterministic``: same seed, same progress rows; a resumed run repeats them."""

from __future__ import annotations

import csv
from pathlib import Path

from ..conftest import QUICKSTART
from .helpers import expect, run_marl

#: progress.csv columns that measure wall time, which no seed fixes.
WALL_TIME = {"steps_per_s", "iter_time_s", "elapsed_s"}
SETS = [
    "debugging.deterministic=true",
    "env_runners.num_envs_per_env_runner=2",
    "training.train_batch_size_per_learner=300",  # 150 steps per sub-env: episodes get cut
    "training.minibatch_size=100",
    "training.num_epochs=2",
    "checkpoint.frequency=1",
]


def _train(cwd: Path, name: str, iterations: int) -> Path:
    sets = [arg for item in SETS for arg in ("--set", item)]
    sets += ["--set", f"stop.training_iteration={iterations}"]
    expect(run_marl("train", str(QUICKSTART), *sets, "--runs-dir", name, cwd=cwd), 0)
    (run_dir,) = (cwd / name).iterdir()
    return run_dir


def _learning_rows(run_dir: Path) -> list[dict[str, str]]:
    with (run_dir / "progress.csv").open() as f:
        return [{k: v for k, v in row.items() if k not in WALL_TIME} for row in csv.DictReader(f)]


def test_same_seed_same_rows_and_a_resume_repeats_the_original(tmp_path):
    original = _learning_rows(_train(tmp_path, "a", 3))
    second = _train(tmp_path, "b", 2)
    resumed = run_marl(
        "train", "--resume", str(second), "--set", "stop.training_iteration=3", cwd=tmp_path
    )
    expect(resumed, 0)
    rows = _learning_rows(second)
    assert [row["iteration"] for row in rows] == ["1", "2", "3"]
    assert rows[:2] == original[:2]  # a fresh run with the same seed
    assert rows[2] == original[2]  # iteration 3 after resuming from checkpoint 2
    assert original[0]["team_return_mean"] != original[2]["team_return_mean"]  # it learns
