"""Progress rows from RLlib result dicts, including iterations where every env runner failed."""

from __future__ import annotations

import math

from rl_apps.metrics import headline


def result(**runners):
    return {"training_iteration": 3, "time_this_iter_s": 2.0, "env_runners": runners}


def test_headline_reads_counts_and_rates():
    row = headline(
        result(
            num_env_steps_sampled=400,
            num_env_steps_sampled_lifetime=1200,
            num_episodes_lifetime=48,
            episode_return_mean=-60.5,
        ),
        elapsed_s=9.0,
        agents=[],
    )
    assert (row["env_steps_iter"], row["env_steps"], row["episodes"]) == (400, 1200, 48)
    assert row["steps_per_s"] == 200.0 and row["team_return_mean"] == -60.5


def test_failed_runners_report_nan_and_the_row_counts_zero_steps():
    """RLlib reports NaN counts when no env runner returned: the stall watchdog needs 0."""
    row = headline(result(num_env_steps_sampled=math.nan, num_episodes_lifetime=math.nan), 1.0, [])
    assert row["env_steps_iter"] == 0 and row["episodes"] == 0 and row["env_steps"] == 0
