"""Competitive and mixed games report each side's return, not the sum of opponents (no Ray).

Sides are ``multi_agent.groups`` when given, the teams on the team view, else the agents'
name prefixes; an env with one shared reward is fully cooperative and has one side.
"""

from __future__ import annotations

import csv

from rl_apps.metrics import headline, progress_columns, sides, spec_sides
from rl_apps.progress import format_progress
from rl_apps.rundir import MetricsWriter
from rl_apps.spec import validate_spec


def _result(returns: dict[str, float]) -> dict:
    runners = {
        "num_env_steps_sampled": 100,
        "num_env_steps_sampled_lifetime": 300,
        "episode_return_mean": sum(returns.values()),
        "agent_episode_returns_mean": returns,
    }
    return {"training_iteration": 3, "time_this_iter_s": 1.0, "env_runners": runners}


def test_predators_and_prey_get_their_own_columns_and_progress():
    agents = ["adversary_0", "adversary_1", "agent_0"]
    found = sides(agents)
    assert found == {"adversary": ["adversary_0", "adversary_1"], "agent": ["agent_0"]}
    columns = progress_columns(agents, found)
    assert "team_return_adversary" in columns and "team_return_agent" in columns
    result = _result({"adversary_0": 3.0, "adversary_1": 2.0, "agent_0": -9.0})
    row = headline(result, 5, agents, found)
    assert row["team_return_adversary"] == 5.0 and row["team_return_agent"] == -9.0
    assert "returns adversary 5.00 agent -9.00" in format_progress(row)


def test_a_cooperative_game_keeps_one_team_return():
    agents = ["agent_0", "agent_1"]
    assert sides(agents) == {}
    row = headline(_result({"agent_0": 1.0, "agent_1": 2.0}), 5, agents, sides(agents))
    assert not any(k.startswith("team_return_") and k != "team_return_mean" for k in row)
    assert "team return      3.00" in format_progress(row)


def test_groups_are_the_sides_when_given():
    agents = ["a_0", "a_1", "a_2", "a_3"]  # one name prefix: no sides by prefix
    groups = {"red": ["a_0", "a_1"], "blue": ["a_2", "a_3"]}
    found = sides(agents, groups=groups)
    assert found == groups
    row = headline(_result({"a_0": 1.0, "a_1": 2.0, "a_2": -4.0, "a_3": 0.5}), 5, agents, found)
    assert row["team_return_red"] == 3.0 and row["team_return_blue"] == -3.5


def test_a_shared_reward_env_has_one_side_whatever_the_names():
    assert sides(["speaker_0", "listener_0"], reward="shared") == {}
    groups = {"speaker": ["speaker_0"], "listener": ["listener_0"]}
    assert sides(["speaker_0", "listener_0"], reward="shared", groups=groups) == {}


def test_on_the_team_view_each_team_is_a_side():
    assert sides(["red_team", "blue_team"], team_view=True) == {
        "red_team": ["red_team"],
        "blue_team": ["blue_team"],
    }
    assert sides(["all"], team_view=True) == {}


def test_spec_sides_reads_groups_env_rewards_and_the_view():
    spec = validate_spec(
        {
            "name": "t",
            "algo": "mappo",
            "env": {"name": "simple_tag"},
            "stop": {"training_iteration": 1},
            "multi_agent": {
                "sharing": "groups",
                "groups": {"predator": ["adversary_0", "adversary_1", "adversary_2"]}
                | {"prey": ["agent_0"]},
            },
        },
        "<test>",
    )
    agents = ["adversary_0", "adversary_1", "adversary_2", "agent_0"]
    assert list(spec_sides(spec, agents)) == ["predator", "prey"]
    qmix = validate_spec(
        {
            "name": "t",
            "algo": "qmix",
            "env": {"name": "simple_tag"},
            "stop": {"training_iteration": 1},
        },
        "<test>",
    )
    assert list(spec_sides(qmix, ["adversary", "agent"])) == ["adversary", "agent"]


def test_a_resumed_run_keeps_the_columns_of_its_progress_csv(tmp_path):
    MetricsWriter(tmp_path, ["iteration", "env_steps"])
    writer = MetricsWriter(tmp_path, ["iteration", "env_steps", "team_return_red"])
    writer.append({"iteration": 1, "env_steps": 10, "team_return_red": 3.0}, {})
    with (tmp_path / "progress.csv").open() as handle:
        assert list(csv.reader(handle)) == [["iteration", "env_steps"], ["1", "10"]]
