"""``marl plot`` / ``marl report``: IQM, bootstrap intervals, grouping of seeds (no Ray)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from rl_apps import cli
from rl_apps.compare import bootstrap_ci, iqm, load_curves, mean_curve, report


def test_iqm_is_the_mean_of_the_middle_half():
    assert iqm(np.array([0.0, 1.0, 2.0, 100.0])) == pytest.approx(1.5)  # drops 0 and 100
    assert iqm(np.array([1.0, 2.0, 9.0])) == pytest.approx(4.0)  # 3 seeds: nothing trimmed
    assert iqm(np.arange(8.0)) == pytest.approx(3.5)  # drops 0, 1 and 6, 7


def test_bootstrap_interval_contains_the_statistic_and_collapses_for_one_seed():
    low, high = bootstrap_ci(np.array([0.1, 0.5, 0.9, 0.4, 0.6]))
    assert 0.1 <= low <= iqm(np.array([0.1, 0.5, 0.9, 0.4, 0.6])) <= high <= 0.9
    assert bootstrap_ci(np.array([0.7])) == (0.7, 0.7)


def _run(root, name, seed, returns):
    run = root / f"{name}_{seed}"
    run.mkdir()
    spec = {"name": name, "algo": "ippo", "env": {"name": "linear_game"}, "seed": seed}
    (run / "spec.yaml").write_text(yaml.safe_dump(spec))
    rows = ["iteration,env_steps,team_return_mean"]
    rows += [f"{i},{100 * (i + 1)},{r}" for i, r in enumerate(returns)]
    (run / "progress.csv").write_text("\n".join(rows) + "\n")
    return run


def test_runs_of_one_spec_form_one_group_and_bench_json_another(tmp_path):
    _run(tmp_path, "a", 0, [0.0, 1.0, 2.0])
    _run(tmp_path, "a", 1, [0.0, 3.0, 4.0])
    bench = {
        "name": "b",
        "algo": "qmix",
        "env": {"name": "lbf"},
        "seeds": [{"seed": 0, "curve": [[100, 1.0], [300, 5.0]]}],
    }
    (tmp_path / "b.json").write_text(json.dumps(bench))
    curves = load_curves([tmp_path, tmp_path / "b.json"])
    assert sorted({c.group for c in curves}) == [("a", "ippo", "linear_game"), ("b", "qmix", "lbf")]
    grid, mean, low, high = mean_curve([c for c in curves if c.group[0] == "a"], points=3)
    assert grid.tolist() == [100, 200, 300] and mean.tolist() == [0.0, 2.0, 3.0]
    assert (low <= mean).all() and (mean <= high).all()
    table = report([tmp_path, tmp_path / "b.json"])
    assert "| a | ippo | linear_game | 2 | 3.000 [2.000, 4.000] | 3.000 [2.000, 4.000] |" in table
    assert "| b | qmix | lbf | 1 | 5.000 [5.000, 5.000] |" in table


def test_plot_writes_a_figure_and_bad_inputs_exit_2(tmp_path, capsys):
    _run(tmp_path, "a", 0, [0.0, 1.0])
    out = tmp_path / "fig.png"
    assert cli.main(["plot", str(tmp_path), "--out", str(out)]) == 0
    assert out.stat().st_size > 1000
    assert cli.main(["report", str(tmp_path / "nope")]) == 2
    assert "not a run directory" in capsys.readouterr().err
