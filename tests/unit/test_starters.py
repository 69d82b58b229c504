"""Every registered algorithm has a starter spec in experiments/starters/ that validates and
builds (no Ray), takes its name from its file and the default stop budget, and fits 2 cores."""

from __future__ import annotations

from pathlib import Path

import pytest

from policies.registry import ALGORITHMS
from rl_apps.build import plan
from rl_apps.spec import load_spec
from rl_apps.spec.experiment import DEFAULT_STOP

STARTERS = Path(__file__).resolve().parents[2] / "experiments" / "starters"


def test_each_registered_algorithm_has_a_starter_and_no_other():
    assert sorted(p.stem for p in STARTERS.glob("*.yaml")) == sorted(ALGORITHMS)


@pytest.mark.parametrize("algo", sorted(ALGORITHMS))
def test_a_starter_validates_builds_and_uses_the_defaults(algo):
    path = STARTERS / f"{algo}.yaml"
    spec = load_spec(path)
    assert spec.algo == algo and spec.name == algo  # name: the file name
    assert spec.stop.model_dump(exclude_none=True) == DEFAULT_STOP
    assert spec.env_runners["num_env_runners"] <= 1  # one runner next to the driver: 2 cores
    planned = plan(spec)  # the env and modules build with these settings
    assert planned.agents
