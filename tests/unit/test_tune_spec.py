"""The `tune` section: samplers, edge values, consistency rules and per-trial specs."""

from __future__ import annotations

import pytest

from rl_apps.errors import SpecError
from rl_apps.spec import validate_spec
from rl_apps.tune import preflight
from rl_apps.tune.search import trial_spec
from rl_apps.tune.spec import (
    Dimension,
    TuneSpec,
    apply_values,
    edge_assignments,
    trial_index,
    trial_seed,
)

BASE = {
    "name": "t",
    "algo": "ippo",
    "env": {"name": "simple_spread"},
    "stop": {"training_iteration": 1},
    "seed": 5,
}


def spec_errors(tune: dict) -> str:
    with pytest.raises(SpecError) as info:
        validate_spec({**BASE, "tune": tune}, "<t>")
    return str(info.value)


def test_each_sampler_gives_its_edge_values():
    assert Dimension(grid=[1, 2, 3]).edge_values() == [1, 2, 3]
    assert Dimension(loguniform=(1e-4, 1e-2)).edge_values() == [1e-4, 1e-2]
    assert Dimension(randint=(4, 9)).edge_values() == [4, 8]  # high is exclusive


@pytest.mark.parametrize(
    ("dimension", "message"),
    [
        ({"uniform": [1, 0]}, "low < high"),
        ({"loguniform": [0, 1]}, "positive low end"),
        ({"choice": []}, "at least one value"),
        ({"grid": [1], "choice": [2]}, "exactly one of"),
        ({"normal": [0, 1]}, "unknown key"),
    ],
)
def test_bad_dimensions_are_named_with_their_path(dimension, message):
    errors = spec_errors({"search_space": {"training.lr": dimension}})
    assert "tune.search_space.training.lr" in errors and message in errors


def test_metric_must_be_reported_and_optuna_cannot_grid():
    assert "not reported" in spec_errors({"metric": "reward"})
    errors = spec_errors({"search_alg": "optuna", "search_space": {"seed": {"grid": [1, 2]}}})
    assert "optuna cannot search a grid (seed)" in errors


def test_a_sides_return_is_a_tune_metric():
    assert TuneSpec(metric="team_return_predator").metric == "team_return_predator"
    assert "team_return_<side>" in spec_errors({"metric": "reward"})


def test_unknown_scheduler_key_is_named():
    errors = spec_errors({"scheduler": {"type": "asha", "grace_priod": 2}})
    assert "tune.scheduler.grace_priod: unknown key (did you mean 'grace_period'?)" in errors


def test_apply_values_sets_dotted_paths_without_touching_the_original():
    raw = {"training": {"lr": 1.0}}
    out = apply_values(raw, {"training.lr": 2.0, "rl_module.model_config.fcnet_hiddens": [8]})
    assert out == {"training": {"lr": 2.0}, "rl_module": {"model_config": {"fcnet_hiddens": [8]}}}
    assert raw == {"training": {"lr": 1.0}}


def test_preflight_validates_every_edge_value_before_any_trial():
    tune = TuneSpec(
        search_space={
            "training.lr": {"uniform": [-0.1, 0.1]},  # the low end is invalid
            "training.lrr": {"choice": [0.1]},  # a typo
            "training.gamma": {"choice": [0.9, 0.99]},
        }
    )
    labels = [label for label, _ in edge_assignments(tune)]
    assert labels[0] == "search_space.training.lr=-0.1"
    with pytest.raises(SpecError) as info:
        preflight(BASE, "<t>", tune)
    errors = str(info.value)
    assert "search_space.training.lr=-0.1: training.lr" in errors
    assert "search_space.training.lrr=0.1: training.lrr: unknown key" in errors
    assert "gamma" not in errors


def test_trials_get_consecutive_seeds_unless_the_seed_is_searched():
    assert trial_index("run_trial_ab12_00003_3_training.lr=0.1_2026", "run_trial_ab12_00003") == 3
    assert trial_index("run_trial_9f2e41aa_7_lr=0.1", "run_trial_9f2e41aa") == 7
    assert trial_seed(5, 3) == 8
    assert trial_spec(BASE, {"training.lr": 0.01}, 2, "<t>").seed == 7
    assert trial_spec(BASE, {"seed": 42}, 2, "<t>").seed == 42


def test_marl_tune_refuses_a_bad_space_before_ray_starts(write_spec, capsys):
    from rl_apps.cli import main

    text = (
        "name: t\nalgo: ippo\nenv: {name: simple_spread}\nstop: {training_iteration: 1}\n"
        "tune: {search_space: {training.gama: {choice: [0.9]}}}\n"
    )
    assert main(["tune", str(write_spec(text))]) == 2
    assert "search_space.training.gama=0.9: training.gama: unknown key" in capsys.readouterr().err
    assert main(["validate", str(write_spec(text))]) == 2


def test_tune_kills_a_stopped_trial_after_a_bounded_cleanup():
    from rl_apps.tune.search import TRIAL_CLEANUP_S, bound_trial_cleanup

    environ: dict[str, str] = {}
    bound_trial_cleanup(environ)
    assert environ == {"TUNE_FORCE_TRIAL_CLEANUP_S": str(TRIAL_CLEANUP_S)}
    assert TRIAL_CLEANUP_S < 600  # Tune's own default
    mine = {"TUNE_FORCE_TRIAL_CLEANUP_S": "90"}
    bound_trial_cleanup(mine)
    assert mine == {"TUNE_FORCE_TRIAL_CLEANUP_S": "90"}  # the user's setting wins
