"""Competitive and mixed games report each side's return, not the sum of opponents (no Ray)."""

from __future__ import annotations

from rl_apps.metrics import format_progress, headline, progress_columns, sides


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
    assert sides(agents) == {"adversary": ["adversary_0", "adversary_1"], "agent": ["agent_0"]}
    columns = progress_columns(agents)
    assert "team_return_adversary" in columns and "team_return_agent" in columns
    row = headline(_result({"adversary_0": 3.0, "adversary_1": 2.0, "agent_0": -9.0}), 5, agents)
    assert row["team_return_adversary"] == 5.0 and row["team_return_agent"] == -9.0
    assert "returns adversary 5.00 agent -9.00" in format_progress(row)


def test_a_cooperative_game_keeps_one_team_return():
    agents = ["agent_0", "agent_1"]
    assert sides(agents) == {}
    row = headline(_result({"agent_0": 1.0, "agent_1": 2.0}), 5, agents)
    assert not any(k.startswith("team_return_") and k != "team_return_mean" for k in row)
    assert "team return      3.00" in format_progress(row)
