"""COMA end to end on the team view: an MPE env, LBF and a matrix game for two iterations,
its logged metrics, the common-reward rule and the discrete-only capability."""

from __future__ import annotations

import math

import pytest

from rl_apps.build import build_algo_config
from rl_apps.errors import SpecError
from rl_apps.spec import validate_spec

from .helpers import learner_modules

pytestmark = pytest.mark.usefixtures("ray_session")

METRICS = (
    "vf_loss",
    "policy_loss",
    "entropy",
    "q_taken_mean",
    "baseline_mean",
    "advantage_mean",
    "advantage_std",
    "expected_advantage_abs_max",
)


def spec(env: dict, **training):
    raw = {
        "name": "c",
        "algo": "coma",
        "env": env,
        "seed": 5,
        "stop": {"training_iteration": 2},
        "env_runners": {"num_env_runners": 0, "num_envs_per_env_runner": 2},
        "training": {"train_batch_size_per_learner": 100, **training},
        "rl_module": {"model_config": {"fcnet_hiddens": [16], "critic_hiddens": [16]}},
    }
    return validate_spec(raw, "<coma>")


@pytest.mark.parametrize(
    ("env", "training"),
    [
        ({"name": "simple_spread", "max_cycles": 10, "team_reward": "sum"}, {}),
        ({"name": "lbf", "size": 6, "players": 2, "food": 1, "team_reward": "sum"}, {"n_step": 10}),
        ({"name": "climbing_game"}, {"target_tau": 0.05}),
    ],
    ids=["simple_spread-td-lambda", "lbf-n-step", "climbing-polyak"],
)
def test_coma_trains_and_logs_its_metrics(env, training):
    algo = build_algo_config(spec(env, **training)).build_algo()
    try:
        results = [algo.train() for _ in range(2)]
        (team,) = algo.config.policies
        stats = results[-1]["learners"][team]
        for key in METRICS:
            assert math.isfinite(stats[key]), key
        assert stats["expected_advantage_abs_max"] < 1e-3  # sum_a pi(a) A(a) = 0 per agent
        assert results[-1]["env_runners"]["num_env_steps_sampled_lifetime"] >= 200
        assert hasattr(learner_modules(algo)[team], "critic")
    finally:
        algo.stop()


def test_individual_rewards_need_a_team_reward():
    with pytest.raises(SpecError, match="coma needs shared rewards; lbf's rewards are individual"):
        build_algo_config(spec({"name": "lbf"}))


def test_continuous_actions_are_refused_naming_the_capability():
    with pytest.raises(SpecError, match="coma supports discrete actions"):
        build_algo_config(spec({"name": "multiwalker"}))


def test_td_lambda_and_n_step_are_exclusive():
    with pytest.raises(SpecError, match="training.td_lambda: give td_lambda or n_step"):
        build_algo_config(spec({"name": "climbing_game"}, td_lambda=0.8, n_step=5))
