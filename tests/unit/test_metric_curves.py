"""benchmark.curves: a logged metric's curve from result.jsonl rows (pure, no Ray)."""

from __future__ import annotations

import json

from rl_apps.bench.metric_curves import curve_file_stem, metric_curve, read_results

KEY = "learners/all/policy_inference_kl"


def test_curve_keeps_finite_numbers_at_their_env_steps():
    rows = [
        {"num_env_steps_sampled_lifetime": 100},  # not logged yet (learning starts later)
        {"num_env_steps_sampled_lifetime": 200, KEY: 0.9},
        {"num_env_steps_sampled_lifetime": 300, KEY: float("nan")},
        {"num_env_steps_sampled_lifetime": 400, KEY: "0.5"},  # not a number
        {"num_env_steps_sampled_lifetime": 500, KEY: True},  # a flag, not a value
        {KEY: 0.4},  # no env step count
        {"num_env_steps_sampled_lifetime": 600, KEY: 0.3},
    ]
    assert metric_curve(rows, KEY) == [(200, 0.9), (600, 0.3)]
    assert metric_curve(rows, "learners/all/other") == []


def test_torn_last_line_of_a_killed_run_is_skipped(tmp_path):
    path = tmp_path / "result.jsonl"
    path.write_text(json.dumps({"a": 1}) + "\n" + json.dumps({"a": 2}) + "\n" + '{"a": 3, "b')
    assert read_results(path) == [{"a": 1}, {"a": 2}]


def test_file_stem_is_flat():
    assert curve_file_stem("bench", KEY) == "bench.learners_all_policy_inference_kl"
