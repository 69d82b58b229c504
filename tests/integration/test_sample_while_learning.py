"""``training.sample_while_learning``: both training loops (PPO's and episode replay's) keep
full batches, count every env step once and act one update behind the learner."""

from __future__ import annotations

import math
from typing import Any

import pytest

from policies.common.sample_while_learning import REQUEST_TAG, STALENESS_KEY
from rl_apps.build import build_algo_config
from rl_apps.spec import validate_spec

pytestmark = pytest.mark.usefixtures("ray_session")

RUNNERS = {"num_env_runners": 1, "num_envs_per_env_runner": 2}
SMALL = {"model_config": {"fcnet_hiddens": [16]}}


def train(raw: dict[str, Any], iterations: int = 3) -> tuple[list[dict], int]:
    """Results of ``iterations`` iterations and the requests in flight after the last one."""
    algo = build_algo_config(validate_spec(raw, "<test>")).build_algo()
    try:
        results = [algo.train() for _ in range(iterations)]
        return results, algo.env_runner_group.num_in_flight_async_reqs(REQUEST_TAG)
    finally:
        algo.stop()


def test_ppo_loop_acts_one_update_behind_with_full_batches():
    raw = {
        "name": "t",
        "algo": "mappo",
        "env": {"name": "simple_spread"},
        "seed": 7,
        "env_runners": RUNNERS,
        "training": {
            "train_batch_size_per_learner": 200,
            "minibatch_size": 100,
            "num_epochs": 2,
            "sample_while_learning": True,
        },
        "rl_module": SMALL,
    }
    results, in_flight = train(raw)
    assert [r[STALENESS_KEY] for r in results] == [0, 1, 1]
    assert in_flight == 1  # the next batch is sampling while the caller has the result
    assert [r["env_runners"]["num_env_steps_sampled"] for r in results] == [200, 200, 200]
    assert results[-1]["num_env_steps_sampled_lifetime"] == 600
    (stats,) = [m for m in results[-1]["learners"].values() if "policy_loss" in m]
    assert math.isfinite(stats["policy_loss"] + stats["vf_loss"])


def test_episode_replay_loop_keeps_every_episode_whole():
    raw = {
        "name": "q",
        "algo": "qmix",
        "env": {"name": "lbf", "size": 5, "players": 2, "food": 1, "max_episode_steps": 10},
        "seed": 4,
        "env_runners": {**RUNNERS, "rollout_fragment_length": 10},
        "training": {
            "replay": "episodes",
            "episode_batch_size": 4,
            "num_steps_sampled_before_learning_starts": 20,
            "sample_while_learning": True,
        },
        "reporting": {"min_sample_timesteps_per_iteration": 1},  # one round per iteration
        "rl_module": SMALL,
    }
    results, in_flight = train(raw, iterations=4)
    assert [r[STALENESS_KEY] for r in results][:2] == [0, 0]  # no update before round 2
    assert results[-1][STALENESS_KEY] >= 1
    assert in_flight == 1
    lifetime = [0] + [r["num_env_steps_sampled_lifetime"] for r in results]
    per_round = [b - a for a, b in zip(lifetime, lifetime[1:], strict=False)]
    assert all(20 <= n <= 22 for n in per_round), per_round  # full rounds of 2 x 10 steps
    replay = results[-1]["episode_replay"]
    assert replay["dropped_chunks"] == 0  # rounds reached the assembler in order
    assert replay["episodes"] >= 4
    (stats,) = [m for m in results[-1]["learners"].values() if "qf_loss" in m]
    assert math.isfinite(stats["qf_loss"])


@pytest.mark.parametrize("algo", ["coma", "maddpg"])
def test_every_loop_offers_the_option(algo):
    config = validate_spec(
        {
            "name": "c",
            "algo": algo,
            "env": {"name": "simple_spread", "team_reward": "sum"},
            "training": {"sample_while_learning": True},
        },
        "<test>",
    )
    assert build_algo_config(config).sample_while_learning is True


def test_transition_replay_refuses_the_option():
    from rl_apps.errors import SpecError

    raw = {
        "name": "q",
        "algo": "qmix",
        "env": {"name": "two_step_game"},
        "training": {"replay": "transitions", "sample_while_learning": True},
    }
    with pytest.raises(SpecError, match="sample_while_learning needs training.replay: episodes"):
        build_algo_config(validate_spec(raw, "<test>"))
