"""The README benchmark table is generated from result files, between its markers."""

from __future__ import annotations

import json

import pytest

from rl_apps.bench.table import END, START, results_table, update_readme
from rl_apps.errors import SpecError


def report(name, eval_mean, met):
    seed = {
        "env_steps": 400_000,
        "sampling_env_steps_per_s": 3000.0,
        "iteration_env_steps_per_s": 1500.0,
    }
    return {
        "name": name,
        "algo": "mappo",
        "commit": "abcdef123456",
        "seeds": [seed, seed],
        "summary": {
            "eval_return_mean": eval_mean,
            "eval_return_std": 0.01,
            "final_train_return_mean": eval_mean,
            "target_team_return": 0.9,
            "target_met": met,
            "wall_time_s_mean": 200.0,
        },
    }


def test_table_rows_and_readme_update(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(report("a", 0.95, True)))
    (tmp_path / "b.json").write_text(json.dumps(report("b", 0.5, False)))
    (tmp_path / "env_overhead.json").write_text(json.dumps({"results": []}))  # not a benchmark
    table = results_table(tmp_path)
    lines = table.splitlines()
    assert len(lines) == 4
    assert "| a | mappo | 2 | 0.950 ± 0.010 |" in lines[2] and "| yes |" in lines[2]
    assert "| no |" in lines[3] and "abcdef1" in lines[3] and "400,000" in lines[3]
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{START}\nold\n{END}\noutro\n")
    update_readme(readme, table)
    text = readme.read_text()
    assert "old" not in text and table in text and text.startswith("intro") and "outro" in text
    readme.write_text("no markers")
    with pytest.raises(SpecError, match="markers"):
        update_readme(readme, table)
