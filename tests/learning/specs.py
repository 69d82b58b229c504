"""Experiment specs for the learning tests: one algorithm on one small game, by env steps; and
``greedy_episode``, which trains one and plays the game once greedily with the actors alone."""

from __future__ import annotations

from typing import Any

import numpy as np

from policies.common.acting import DecentralizedActors
from rl_apps.build import plan
from rl_apps.spec import ExperimentSpec, validate_spec

from ..integration.helpers import learner_modules


def game_spec(
    algo: str, game: str | dict, env_steps: int, seed: int, **sections: Any
) -> ExperimentSpec:
    """A validated spec that trains ``algo`` on ``game`` (a name, or an env section with
    options) for ``env_steps``; ``sections`` (``env_runners``, ``training``, ...) are added
    as given."""
    raw = {
        "name": "learn",
        "algo": algo,
        "env": {"name": game} if isinstance(game, str) else dict(game),
        "seed": seed,
        "stop": {"num_env_steps_sampled_lifetime": env_steps},
        **sections,
    }
    return validate_spec(raw, "<learning>")


def greedy_episode(
    algo: str, game: str | dict, env_steps: int, seed: int = 0, envs: int = 8, **training: Any
) -> tuple[tuple[int, ...], float]:
    """Trains for ``env_steps``; returns (first greedy joint action, mean reward per agent).

    ``envs`` envs in the driver, batches of 400 env steps unless ``training`` says otherwise.
    """
    spec = game_spec(
        algo,
        game,
        env_steps,
        seed,
        env_runners={"num_env_runners": 0, "num_envs_per_env_runner": envs},
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
