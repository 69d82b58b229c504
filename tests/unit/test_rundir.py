"""Run directories are always new; resumed metrics drop (and keep) the repeated rows."""

from __future__ import annotations

from rl_apps import rundir


def test_new_run_dir_never_reuses(tmp_path):
    made = {rundir.new_run_dir(tmp_path, "exp") for _ in range(20)}
    assert len(made) == 20
    assert all(p.is_dir() and p.name.startswith("exp_") for p in made)


def test_metrics_writer_and_truncate(tmp_path):
    writer = rundir.MetricsWriter(tmp_path, ["iteration", "env_steps"])
    for i in range(1, 6):
        writer.append({"iteration": i, "env_steps": i * 10}, {"training_iteration": i})
    dropped = rundir.truncate_metrics(tmp_path, 3)
    assert dropped == 2
    rows = rundir.read_progress(tmp_path)
    assert [r["iteration"] for r in rows] == ["1", "2", "3"]
    assert len((tmp_path / "result.jsonl").read_text().splitlines()) == 3
    assert len((tmp_path / "result.jsonl.discarded").read_text().splitlines()) == 2
    rundir.MetricsWriter(tmp_path, ["iteration", "env_steps"])  # reopening keeps the header once
    assert (tmp_path / "progress.csv").read_text().count("iteration") == 1


def test_git_commit_reports_something():
    info = rundir.git_commit()
    assert set(info) == {"commit", "dirty"} and info["commit"]
