"""The EPyMARL log reader behind benchmarks/results/epymarl_*.json (pure Python)."""

from __future__ import annotations

import importlib.util
import math

from ..conftest import ROOT

_SPEC = importlib.util.spec_from_file_location(
    "epymarl_summary", ROOT / "benchmarks" / "peer" / "epymarl_summary.py"
)
summary = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(summary)

LOG = """[INFO 20:46:10] my_main Recent Stats | t_env:      50000 | Episode:     1000
advantage_mean:  -0.0111	ep_length_mean:  50.0000	return_mean:  0.0100	return_std:  0.0
test_ep_length_mean:  50.0000	test_return_mean:  0.2000	test_return_std:  0.0
[INFO 20:46:10] my_main t_env: 50500 / 100000
[INFO 20:47:10] my_main Recent Stats | t_env:     100400 | Episode:     2000
return_mean:  0.5000	test_return_mean:  0.9000
[INFO 20:47:11] my_main Finished Training
"""


def test_each_stats_block_gives_env_steps_and_both_returns():
    rows = summary.curve(LOG)
    assert rows == [
        {"env_steps": 50000, "train_return": 0.01, "test_return": 0.2},
        {"env_steps": 100400, "train_return": 0.5, "test_return": 0.9},
    ]


def test_a_missing_stat_is_nan_not_a_neighbours_value():
    assert math.isnan(summary.stat("return_std: 0.1", "return_mean"))
    assert summary.stat("test_return_mean: 0.3\treturn_mean: 0.1", "return_mean") == 0.1


def test_steps_to_90_percent_of_the_final_test_return():
    rows = [{"env_steps": s, "test_return": r} for s, r in [(1, 0.1), (2, 0.85), (3, 0.9)]]
    result = summary.summarize(rows, wall_time_s=100, budget=1000)
    assert result["steps_to_90pct_of_final_test"] == 2
    assert result["whole_run_env_steps_per_s"] == 10.0
    flat = [{"env_steps": 1, "test_return": 0.01}]
    assert summary.summarize(flat, 1, 1)["steps_to_90pct_of_final_test"] is None


def test_steps_to_90_percent_of_the_rise_for_negative_returns():
    curve = [(50, -80.0), (100, -60.0), (150, -53.0), (200, -50.0)]
    rows = [{"env_steps": s, "test_return": r} for s, r in curve]
    result = summary.summarize(rows, wall_time_s=10, budget=200, min_rise=5.0)
    assert result["steps_to_90pct_of_rise"] == 150  # -53 >= -80 + 0.9 * 30 = -53
    assert result["steps_to_90pct_of_final_test"] is None  # 90% of a negative final: no sense
    assert summary.steps_to_90pct_of_rise(rows[:1], 5.0) is None  # no rise at all
