"""Lean sampling (``env_runners.lean``) samples and reports exactly what RLlib's own does."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import tree
from ray.rllib.utils.metrics.metrics_logger import MetricsLogger

from rl_apps.build import build_algo_config
from rl_apps.env_runner import MarlEnvRunner, StockSamplingEnvRunner
from rl_apps.spec import validate_spec

pytestmark = pytest.mark.usefixtures("ray_session")

#: Metrics that measure wall-clock time (their names contain these; ``sample`` is the
#: sample timer): they differ between any two runs.
_TIMED = ("timer", "time_between", "duration_sec", "connectors")

#: Envs with a shared and with individual modules. LBF's seeded runs reproduce since its
#: players hash by index (``env_wrappers/envs/lbf.py``); before, two seeded stock runs in one
#: process differed in 3 of 4 tries.
ENVS = {
    "lbf": (
        {"name": "lbf", "size": 5, "players": 2, "food": 1, "max_episode_steps": 9},
        "individual",
    ),
    "simple_spread": ({"name": "simple_spread", "N": 2, "max_cycles": 10}, "shared"),
    "speaker_listener": ({"name": "simple_speaker_listener", "max_cycles": 9}, "individual"),
}


def _runner(env: dict[str, Any], sharing: str, lean: bool) -> Any:
    raw = {
        "name": "lean",
        "algo": "mappo",
        "seed": 5,
        "env": env,
        "stop": {"training_iteration": 1},
        "env_runners": {
            "num_env_runners": 0,
            "num_envs_per_env_runner": 2,
            "rollout_fragment_length": 13,  # episode chunks cut mid-episode
            "lean": lean,
        },
        "training": {"train_batch_size_per_learner": 52, "minibatch_size": 26, "num_epochs": 1},
        "multi_agent": {"sharing": sharing},
    }
    config = build_algo_config(validate_spec(raw, "<lean>"))
    assert config.env_runner_cls is (MarlEnvRunner if lean else StockSamplingEnvRunner)
    return config.env_runner_cls(config=config)  # seeds torch and numpy, as the algorithm does


def _episode_data(episode: Any) -> dict[str, Any]:
    """Everything an episode holds except its random id and its wall-clock times."""
    data: dict[str, Any] = {"t": (episode.env_t_started, episode.env_t), "done": episode.is_done}
    for agent, chunk in episode.agent_episodes.items():
        data[agent] = {
            "module": chunk.module_id,
            "numpy": chunk.is_numpy,
            "obs": chunk.get_observations(),
            "actions": chunk.get_actions(),
            "rewards": chunk.get_rewards(),
            "ends": (chunk.is_terminated, chunk.is_truncated),
            "extra": {k: chunk.get_extra_model_outputs(k) for k in chunk.extra_model_outputs},
        }
    return data


def _run(env: dict[str, Any], sharing: str, lean: bool) -> tuple[list, list]:
    """Three timestep samples and one episode sample; their episodes and reduced metrics."""
    runner = _runner(env, sharing, lean)
    root = MetricsLogger(root=True)  # as the algorithm merges its env runners' metrics
    episodes, metrics = [], []
    assert runner.env.unwrapped.copy is not lean  # MPE and LBF return new arrays every step
    try:
        for kwargs in ({}, {}, {}, {"num_episodes": 3}):
            episodes.append([_episode_data(e) for e in runner.sample(**kwargs)])
            root.aggregate([runner.get_metrics()])
            metrics.append(root.reduce(compile=True))
    finally:
        runner.stop()
    return episodes, metrics


def _paths(metrics: dict[str, Any]) -> list[tuple]:
    return [path for path, _ in tree.flatten_with_path(metrics)]


def _untimed(metrics: dict[str, Any]) -> dict[str, Any]:
    flat = tree.flatten_with_path(metrics)
    return {
        "/".join(path): value
        for path, value in flat
        if path != ("sample",) and not any(t in p for p in path for t in _TIMED)
    }


@pytest.mark.parametrize("env_name", list(ENVS))
def test_lean_runner_samples_and_reports_what_rllib_does(env_name):
    env, sharing = ENVS[env_name]
    stock_episodes, stock_metrics = _run(env, sharing, lean=False)
    lean_episodes, lean_metrics = _run(env, sharing, lean=True)

    np.testing.assert_equal(lean_episodes, stock_episodes)
    for stock, lean in zip(stock_metrics, lean_metrics):
        assert _paths(lean) == _paths(stock)  # the same keys, timers included
        assert _untimed(lean) == _untimed(stock)  # and exactly the same values
    last = _untimed(lean_metrics[-2])
    assert last["num_env_steps_sampled_lifetime"] >= 3 * 2 * 13  # 2 sub-envs x 13 steps
    assert last["num_episodes_lifetime"] > 0
    assert any(key.startswith("module_episode_returns_mean/") for key in last)
    assert any(key.startswith("agent_episode_returns_mean/") for key in last)


def _unsquashing(runner: Any) -> bool:
    from ray.rllib.connectors.module_to_env import NormalizeAndClipActions

    pieces = [p for p in runner._module_to_env.connectors if isinstance(p, NormalizeAndClipActions)]
    return any(p.normalize_actions or p.clip_actions for p in pieces)


def test_lean_runner_skips_action_unsquashing_only_for_discrete_actions():
    env, sharing = ENVS["simple_spread"]
    continuous = {**env, "continuous_actions": True}
    runners = {
        "lean discrete": _runner(env, sharing, lean=True),
        "stock discrete": _runner(env, sharing, lean=False),
        "lean continuous": _runner(continuous, sharing, lean=True),
    }
    try:
        assert {name: _unsquashing(r) for name, r in runners.items()} == {
            "lean discrete": False,
            "stock discrete": True,
            "lean continuous": True,  # Box actions are still unsquashed into their bounds
        }
        assert runners["lean continuous"].sample(num_timesteps=20)  # samples as before
    finally:
        for runner in runners.values():
            runner.stop()
