"""MADDPG learns (issue 16): discrete actions pick the linear game's optimum, and continuous
MPE simple_spread beats the random policy clearly within a small budget.

Marked ``learning``: ``python -m pytest -m learning -s tests/learning/test_maddpg_learns.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rl_apps.build import plan

from ..integration.helpers import learner_modules
from .specs import game_spec, greedy_episode

pytestmark = [
    pytest.mark.learning,
    pytest.mark.timeout(3600),
    pytest.mark.usefixtures("ray_session"),
]

SPREAD = {"name": "simple_spread", "N": 3, "max_cycles": 25, "continuous_actions": True}


def test_discrete_maddpg_picks_the_linear_games_optimum():
    training = {
        "num_steps_sampled_before_learning_starts": 200,
        "updates_per_env_step": 0.1,
        "episode_batch_size": 64,
        "actor_lr": 0.003,
        "critic_lr": 0.003,
    }
    for seed in range(3):
        joint, _ = greedy_episode("maddpg", "linear_game", 4000, seed, **training)
        assert joint == (1, 1), (seed, joint)


def _team_return(env, act, episodes: int, seed: int) -> float:
    totals = []
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed + episode)
        total, done = 0.0, False
        while not done:
            obs, rewards, terms, truncs, _ = env.step(act(obs))
            total += sum(rewards.values())
            done = terms["__all__"] or truncs["__all__"]
        totals.append(total)
    return float(np.mean(totals))


def test_continuous_maddpg_beats_random_on_simple_spread():
    steps = 100_000
    spec = game_spec(
        "maddpg",
        SPREAD,
        steps,
        0,
        env_runners={"num_env_runners": 0, "num_envs_per_env_runner": 4},
        training={
            "num_steps_sampled_before_learning_starts": 5000,
            "updates_per_env_step": 0.1,
            "episode_batch_size": 256,
            "actor_lr": 0.001,
            "critic_lr": 0.001,
            "exploration_noise": [[0, 0.3], [60_000, 0.05]],
        },
    )
    planned = plan(spec)
    algo = planned.config.build_algo()
    try:
        while algo.train()["env_runners"]["num_env_steps_sampled_lifetime"] < steps:
            pass
        module = learner_modules(algo)["all"]
    finally:
        algo.stop()
    env = planned.make_env()
    space = env.action_spaces["all"]

    def greedy(obs):
        batch = {k: torch.as_tensor(v)[None] for k, v in obs["all"].items()}
        with torch.no_grad():
            action = torch.tanh(module.actor_outputs(batch))[0].numpy()
        return {"all": space.low + (action + 1.0) * 0.5 * (space.high - space.low)}

    trained = _team_return(env, greedy, 50, 1000)
    random = _team_return(env, lambda obs: {"all": space.sample()}, 50, 1000)
    print(f"simple_spread continuous: MADDPG {trained:.1f}, random {random:.1f}")
    assert trained > random + 10.0, (trained, random)
