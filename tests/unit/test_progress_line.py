"""The console line: stop budget share and ETA, main losses, epsilon; plain vs in place (no Ray)."""

from __future__ import annotations

import io

import pytest

from rl_apps.progress import (
    Budget,
    ProgressConsole,
    binding,
    budgets,
    format_duration,
    format_progress,
    learner_summary,
)

ROW = {
    "iteration": 10,
    "env_steps": 40_000,
    "team_return_mean": -30.25,
    "steps_per_s": 1000.0,
    "elapsed_s": 100.0,
}


def test_env_step_budget_gives_share_and_eta_at_this_sessions_rate():
    # resumed at 20,000 steps after 50 s: 20,000 steps in 50 s -> 60,000 left take 150 s
    start = {"iteration": 5, "env_steps": 20_000, "elapsed_s": 50.0}
    found = budgets({"num_env_steps_sampled_lifetime": 100_000}, ROW, start)
    assert found == [Budget("env steps", 40_000, 100_000, pytest.approx(150.0))]
    assert found[0].fraction == pytest.approx(0.4)
    assert found[0].text() == " 40% of 100,000 env steps, ETA 2m30s"


def test_the_budget_reached_first_binds():
    stop = {
        "training_iteration": 20,
        "num_env_steps_sampled_lifetime": 100_000,
        "time_total_s": 120,
    }
    found = budgets(stop, ROW, {})
    etas = {b.name: b.eta_s for b in found}
    assert etas == {"iterations": 100.0, "env steps": 150.0, "s": 20.0}
    chosen = binding(found)
    assert chosen is not None and chosen.name == "s"
    assert chosen.text() == " 83% of 2m00s, ETA 20s"


def test_a_target_return_is_no_budget_and_no_rate_gives_no_eta():
    assert budgets({"team_return": 5.0}, ROW, {}) == []
    assert binding([]) is None
    start = {"iteration": 10, "env_steps": 40_000, "elapsed_s": 100.0}  # nothing done yet
    (budget,) = budgets({"training_iteration": 20}, ROW, start)
    assert budget.eta_s is None and "ETA n/a" in budget.text()


def test_durations():
    assert [format_duration(s) for s in (0, 42, 185, 7620, 273600)] == [
        "0s",
        "42s",
        "3m05s",
        "2h07m",
        "3d04h",
    ]


def test_losses_and_epsilon_are_found_by_name_and_averaged_over_modules():
    result = {
        "learners": {
            "__all_modules__": {"policy_loss": 99.0},
            "red": {"policy_loss": -0.5, "vf_loss": 2.0, "entropy": 1.2},
            "blue": {"actor_loss": 0.5, "critic_loss": 4.0},
        }
    }
    assert learner_summary(result) == {"policy loss": 0.0, "critic loss": 3.0}
    team_q = {"learners": {"team": {"qf_loss": 0.25, "epsilon": 0.4, "q_tot_mean": 3.0}}}
    assert learner_summary(team_q) == {"critic loss": 0.25, "epsilon": 0.4}
    assert learner_summary({"learners": {"m": {"total_loss": float("nan")}}}) == {}


def test_the_line_has_budget_returns_losses_and_rate():
    budget = Budget("env steps", 40_000, 100_000, 150.0)
    line = format_progress(ROW, budget, {"policy loss": -0.0123, "critic loss": 3.41})
    assert " 40% of 100,000 env steps, ETA 2m30s" in line
    assert "team return    -30.25" in line
    assert "policy loss -0.0123  critic loss 3.41" in line
    assert "[" not in line  # no bar in plain lines
    assert "[########............]" in format_progress(ROW, budget, bar=True)


def test_plain_lines_when_not_a_terminal():
    lines: list[str] = []
    console = ProgressConsole(lines.append, stream=io.StringIO())
    assert not console.interactive  # a StringIO is no terminal
    console.progress("iter 1")
    console.echo("checkpoint")
    console.progress("iter 2")
    assert lines == ["iter 1", "checkpoint", "iter 2"]


def test_one_line_updated_in_place_in_a_terminal():
    screen, lines = io.StringIO(), []
    console = ProgressConsole(lines.append, stream=screen, interactive=True)
    console.progress("iter 1")
    console.progress("iter 2")
    console.echo("checkpoint")
    console.close()
    assert screen.getvalue() == "\r\x1b[2Kiter 1\r\x1b[2Kiter 2\n"
    assert lines == ["checkpoint"]
