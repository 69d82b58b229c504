"""Deterministic mode's config and per-iteration seeding (no Ray)."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from rl_apps import determinism
from rl_apps.build import plan
from rl_apps.env_runner import MarlEnvRunner
from rl_apps.errors import SpecError
from rl_apps.spec import load_spec

from ..conftest import QUICKSTART


def test_deterministic_mode_samples_and_learns_in_the_driver():
    planned = plan(load_spec(QUICKSTART, ["debugging.deterministic=true"]))
    assert planned.config.num_env_runners == 0 and planned.config.num_learners == 0
    assert planned.config.env_runner_cls is MarlEnvRunner


def test_the_default_mode_keeps_the_spec_runners():
    planned = plan(load_spec(QUICKSTART))
    assert planned.config.num_env_runners == 2
    assert planned.config.env_runner_cls is MarlEnvRunner


@pytest.mark.parametrize(
    "setting", ["env.step_error_rate=0.01", "reporting.min_time_s_per_iteration=1"]
)
def test_settings_it_cannot_reproduce_are_refused_with_their_path(setting):
    with pytest.raises(SpecError) as caught:
        plan(load_spec(QUICKSTART, ["debugging.deterministic=true", setting]))
    assert setting.split("=")[0] in str(caught.value)


class _Runner:
    seeds: list[int]

    def reseed(self, seed: int) -> None:
        self.seeds.append(seed)


def _draws(algo, seed: int, iteration: int) -> tuple[float, float, float]:
    determinism.seed_iteration(algo, seed, iteration)
    return random.random(), float(np.random.rand()), float(torch.rand(1))


def test_an_iteration_s_draws_depend_on_seed_and_iteration_only():
    algo = type("Algo", (), {"env_runner": _Runner()})()
    algo.env_runner.seeds = []
    first = _draws(algo, 0, 3)
    _draws(algo, 0, 1)
    assert _draws(algo, 0, 3) == first
    assert _draws(algo, 0, 4) != first and _draws(algo, 1, 3) != first
    assert algo.env_runner.seeds[0] == algo.env_runner.seeds[2]  # env resets seeded too
