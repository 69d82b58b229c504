"""MAPPO end to end: sharing modes on MPE and LBF, determinism (round trips: test_algorithms)."""

from __future__ import annotations

import math

import pytest

from rl_apps.build import build_algo_config
from rl_apps.spec import validate_spec

from .helpers import MULTIWALKER_LEAVING, learner_modules, some_agent_left_early

pytestmark = pytest.mark.usefixtures("ray_session")

ENVS = {
    "simple_spread": {"name": "simple_spread"},
    "lbf": {"name": "lbf", "size": 8, "players": 2, "food": 2, "coop": True},
}


def spec(env: dict, sharing: str = "shared", groups: dict | None = None, **training):
    multi_agent = {"sharing": sharing, **({"groups": groups} if groups else {})}
    raw = {
        "name": "t",
        "algo": "mappo",
        "env": env,
        "seed": 7,
        "stop": {"training_iteration": 2},
        "env_runners": {"num_env_runners": 0, "num_envs_per_env_runner": 1},
        "training": {
            "train_batch_size_per_learner": 200,
            "minibatch_size": 100,
            "num_epochs": 2,
            **training,
        },
        "multi_agent": multi_agent,
        "rl_module": {"model_config": {"fcnet_hiddens": [16]}},
    }
    return validate_spec(raw, "<test>")


def run(experiment, iterations=2):
    algo = build_algo_config(experiment).build_algo()
    results = [algo.train() for _ in range(iterations)]
    return algo, results


@pytest.mark.parametrize("env", sorted(ENVS))
@pytest.mark.parametrize("sharing", ["shared", "individual"])
def test_sharing_modes_train(env, sharing):
    algo, results = run(spec(ENVS[env], sharing))
    try:
        last = results[-1]
        assert last["env_runners"]["num_env_steps_sampled"] >= 200
        expected = {"shared"} if sharing == "shared" else set(algo.config.policies)
        for module_id in expected:
            stats = last["learners"][module_id]
            assert math.isfinite(stats["vf_loss"]) and math.isfinite(stats["policy_loss"])
            module = learner_modules(algo)[module_id]
            assert module.critic_input == "state"
            assert float(module.value_norm.debiasing_term) > 0  # updated by the connector
    finally:
        algo.stop()


def test_centralized_critic_with_agents_leaving_and_continuous_actions():
    """Fallen walkers leave: their episodes end, the others train on with the global state."""
    experiment = spec(MULTIWALKER_LEAVING, critic="agent_specific")
    algo, results = run(experiment)
    try:
        assert some_agent_left_early(algo)
        stats = results[-1]["learners"]["shared"]
        assert math.isfinite(stats["vf_loss"]) and math.isfinite(stats["policy_loss"])
        assert learner_modules(algo)["shared"].critic_input == "agent_specific"
    finally:
        algo.stop()


def test_groups_by_role_on_simple_tag():
    groups = {"predator": ["adversary_0", "adversary_1", "adversary_2"], "prey": ["agent_0"]}
    experiment = spec({"name": "simple_tag"}, "groups", groups)
    algo, results = run(experiment, iterations=1)
    try:
        assert set(algo.config.policies) == {"predator", "prey"}
        assert {"predator", "prey"} <= set(results[-1]["learners"])
    finally:
        algo.stop()


def test_groups_must_cover_the_agents():
    from rl_apps.errors import SpecError

    experiment = spec({"name": "simple_tag"}, "groups", {"predator": ["adversary_0"]})
    with pytest.raises(SpecError, match="agent 'adversary_1' is in no group"):
        build_algo_config(experiment)


def test_same_seed_same_metrics():
    keys = ("policy_loss", "vf_loss", "entropy")
    runs = []
    for _ in range(2):
        algo, results = run(spec(ENVS["simple_spread"]))
        algo.stop()
        runs.append(
            [
                (
                    r["env_runners"]["episode_return_mean"],
                    *[r["learners"]["shared"][k] for k in keys],
                )
                for r in results
            ]
        )
    assert runs[0] == runs[1]
