"""A mixed game with multi_agent.groups: each group's return in progress.csv, the console
line, the summary and the curve, in a real run (session Ray)."""

from __future__ import annotations

import csv

import pytest
import yaml

from rl_apps.train import TrainOptions, train

pytestmark = pytest.mark.usefixtures("ray_session")

SPEC = {
    "algo": "mappo",
    "env": {"name": "simple_tag", "max_cycles": 10},
    "stop": {"training_iteration": 2},
    "env_runners": {"num_env_runners": 0, "num_envs_per_env_runner": 2},
    "training": {"train_batch_size_per_learner": 200, "minibatch_size": 100, "num_epochs": 1},
    "multi_agent": {
        "sharing": "groups",
        "groups": {"predator": ["adversary_0", "adversary_1", "adversary_2"], "prey": ["agent_0"]},
    },
}


def test_groups_are_the_sides_of_progress_and_summary(tmp_path):
    path = tmp_path / "tag.yaml"
    path.write_text(yaml.safe_dump(SPEC))
    lines: list[str] = []
    summary = train(TrainOptions(spec_path=path, runs_dir=tmp_path / "runs", echo=lines.append))
    with (tmp_path / "runs").joinpath(summary["run_dir"], "progress.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {"team_return_predator", "team_return_prey"} <= set(rows[0])
    assert not any(k in rows[0] for k in ("team_return_adversary", "team_return_agent"))
    progress = [line for line in lines if line.startswith("iter ")]
    assert " returns predator " in progress[-1] and " prey " in progress[-1]
    assert " 100% of 2 iterations" in progress[-1]
    assert set(summary["final_side_returns"]) == {"predator", "prey"}
    assert any(line.startswith("  side returns  : predator ") for line in lines)
