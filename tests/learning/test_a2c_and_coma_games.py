"""IA2C and MAA2C find the optimal joint action of the linear and monotonic games; COMA learns
the two-step game above random (issue: COMA and the A2C family).

Marked ``learning``: ``python -m pytest -m learning tests/learning/test_a2c_and_coma_games.py``.
Each test trains in-process, then plays greedily with the actors alone (``DecentralizedActors``,
as ``marl eval --greedy`` does).
"""

from __future__ import annotations

import numpy as np
import pytest

from policies.common.acting import DecentralizedActors
from rl_apps.build import plan

from ..integration.helpers import learner_modules
from .specs import game_spec

pytestmark = [
    pytest.mark.learning,
    pytest.mark.timeout(1800),
    pytest.mark.usefixtures("ray_session"),
]

#: The optimal joint action and its payoff: linear [[1,5],[5,9]], monotonic [[0,0],[0,10]].
OPTIMUM = {"linear_game": ((1, 1), 9.0), "monotonic_game": ((1, 1), 10.0)}
#: The two-step game's random-policy return: 0.5 * 7 + 0.5 * mean([0, 1, 1, 8]).
TWO_STEP_RANDOM = 4.75


def greedy_episode(algo: str, game: str, env_steps: int, seed: int = 0, **training):
    """Trains for ``env_steps``; returns (first greedy joint action, mean reward per agent)."""
    spec = game_spec(
        algo,
        game,
        env_steps,
        seed,
        env_runners={"num_env_runners": 0, "num_envs_per_env_runner": 8},
        training={"train_batch_size_per_learner": 400, **training},
        rl_module={"model_config": {"fcnet_hiddens": [32]}},
    )
    planned = plan(spec)
    trained = planned.config.build_algo()
    try:
        while trained.train()["env_runners"]["num_env_steps_sampled_lifetime"] < env_steps:
            pass
        env = planned.make_env()
        actors = DecentralizedActors(
            learner_modules(trained), planned.mapping, dict(env.action_spaces), greedy=True
        )
        obs, _ = env.reset(seed=seed)
        first, total, done = None, 0.0, False
        while not done:
            actions = actors.act(obs)
            first = first or tuple(int(a) for a in _flat(actions))
            obs, rewards, terms, truncs, _ = env.step(actions)
            total += sum(rewards.values()) / len(rewards)
            done = terms["__all__"] or truncs["__all__"]
        return first, total
    finally:
        trained.stop()


def _flat(actions: dict) -> list:
    """Every agent's action (a team's actions member by member), in agent order."""
    return [a for agent in sorted(actions) for a in np.atleast_1d(actions[agent]).tolist()]


@pytest.mark.parametrize("algo", ["ia2c", "maa2c"])
@pytest.mark.parametrize("game", sorted(OPTIMUM))
def test_a2c_greedy_joint_action_is_optimal(algo: str, game: str) -> None:
    assert greedy_episode(algo, game, 50_000) == OPTIMUM[game]


def test_coma_learns_the_two_step_game_above_random() -> None:
    _, payoff = greedy_episode("coma", "two_step_game", 50_000, entropy_coeff=0.01)
    assert payoff >= 7.0 > TWO_STEP_RANDOM
