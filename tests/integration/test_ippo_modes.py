"""IPPO end to end in the modes the quickstart does not cover: one policy per agent, and
continuous actions on an env whose agents leave mid-episode (multiwalker with fallen walkers
removed)."""

from __future__ import annotations

import math

import pytest

from rl_apps.build import build_algo_config
from rl_apps.spec import validate_spec

from .helpers import MULTIWALKER_LEAVING, some_agent_left_early

pytestmark = pytest.mark.usefixtures("ray_session")

SMALL = {
    "env_runners": {"num_env_runners": 0, "num_envs_per_env_runner": 1},
    "training": {"train_batch_size_per_learner": 300, "minibatch_size": 150, "num_epochs": 1},
    "rl_module": {"model_config": {"fcnet_hiddens": [16]}},
}


def spec(env: dict, sharing: str):
    raw = {
        "name": "t",
        "algo": "ippo",
        "env": env,
        "stop": {"training_iteration": 1},
        "multi_agent": {"sharing": sharing},
        **SMALL,
    }
    return validate_spec(raw, "<test>")


def train_once(experiment, check=None):
    algo = build_algo_config(experiment).build_algo()
    try:
        result = algo.train()
        return algo, result, check(algo) if check else None
    finally:
        algo.stop()


def test_individual_policies_one_module_per_agent():
    algo, result, _ = train_once(spec({"name": "simple_spread"}, "individual"))
    assert set(algo.config.policies) == {"agent_0", "agent_1", "agent_2"}
    assert set(result["learners"]) >= {"agent_0", "agent_1", "agent_2"}
    assert result["env_runners"]["num_env_steps_sampled"] >= 300


def test_continuous_actions_with_agents_leaving_mid_episode():
    experiment = spec(MULTIWALKER_LEAVING, "shared")
    _, result, left = train_once(experiment, some_agent_left_early)
    assert left
    assert result["env_runners"]["num_env_steps_sampled"] >= 300
    assert math.isfinite(result["learners"]["shared"]["policy_loss"])
