"""IPPO and MAPPO find the optimal joint action of the linear and monotonic games (REFERENCE.md).

REFERENCE.md's row "linear, monotonic games | VDN, QMIX, IQL, IPPO, MAPPO | 50k steps | optimal
greedy action". Marked ``learning``: ``python -m pytest -m learning
tests/learning/test_policy_gradient_games.py``. Each test trains in-process through RLlib and
then acts greedily with the actors alone (``DecentralizedActors``, as ``marl eval`` does).
"""

from __future__ import annotations

import pytest

from policies.common.acting import DecentralizedActors
from rl_apps.build import build_algo_config, plan

from ..integration.helpers import learner_modules
from .specs import game_spec

pytestmark = [
    pytest.mark.learning,
    pytest.mark.timeout(1800),
    pytest.mark.usefixtures("ray_session"),
]

#: The optimal joint action and its payoff: linear [[1,5],[5,9]], monotonic [[0,0],[0,10]].
OPTIMUM = {"linear_game": ((1, 1), 9.0), "monotonic_game": ((1, 1), 10.0)}


def train_and_act(algo: str, game: str, env_steps: int = 50_000, seed: int = 0):
    """Trains for ``env_steps``; returns (greedy joint action, its team reward)."""
    spec = game_spec(
        algo,
        game,
        env_steps,
        seed,
        env_runners={"num_env_runners": 0, "num_envs_per_env_runner": 8},
        training={"train_batch_size_per_learner": 1000, "minibatch_size": 500},
        multi_agent={"sharing": "shared"},
        rl_module={"model_config": {"fcnet_hiddens": [32]}},
    )
    trained = build_algo_config(spec).build_algo()
    try:
        while trained.train()["env_runners"]["num_env_steps_sampled_lifetime"] < env_steps:
            pass
        modules = learner_modules(trained)
        env = plan(spec).make_env()
        spaces = {agent: env.get_action_space(agent) for agent in env.possible_agents}
        actors = DecentralizedActors(modules, plan(spec).mapping, spaces, greedy=True)
        observations, _ = env.reset(seed=seed)
        actions = actors.act(observations)
        _, rewards, *_ = env.step(actions)
        joint = tuple(int(actions[agent]) for agent in sorted(actions))
        return joint, float(sum(rewards.values())) / len(rewards)
    finally:
        trained.stop()


@pytest.mark.parametrize("algo", ["ippo", "mappo"])
@pytest.mark.parametrize("game", sorted(OPTIMUM))
def test_greedy_joint_action_is_optimal(algo: str, game: str) -> None:
    joint, payoff = train_and_act(algo, game)
    assert (joint, payoff) == OPTIMUM[game]
