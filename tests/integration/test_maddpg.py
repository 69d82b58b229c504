"""MADDPG end to end: joint transitions in the replay, a mixed game, shared and individual
actors, discrete and continuous MPE, DDPG (``critic: local``), and its logged metrics."""

from __future__ import annotations

import json
import math
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from pettingzoo.utils.env import ParallelEnv

from env_wrappers.keys import OBS_KEY, STATE_KEY
from env_wrappers.pettingzoo import PettingZooEnv
from env_wrappers.team import TeamEnv
from policies.common.contract import env_facts
from policies.common.episode_replay import ACTIONS, FILLED, MEMBER_REWARDS, TERMINATEDS
from rl_apps.build import plan
from rl_apps.spec import validate_spec

from .helpers import marl_in_process

pytestmark = pytest.mark.usefixtures("ray_session")

AGENTS = 3
STEPS = 7


class StampEnv(ParallelEnv):
    """Agent ``i`` observes ``[t, i, its previous action]``; the state is ``[t]``; agent
    ``i``'s reward for step ``t`` is ``10 t + i``; 7 steps, then a time limit."""

    metadata = {"name": "stamp", "is_parallelizable": True}

    def __init__(self) -> None:
        self.possible_agents = [f"agent_{i}" for i in range(AGENTS)]
        self.agents: list[str] = []
        self.observation_spaces = {
            a: gym.spaces.Box(-1.0, 100.0, (3,), np.float32) for a in self.possible_agents
        }
        self.action_spaces = {a: gym.spaces.Discrete(4) for a in self.possible_agents}
        self.state_space = gym.spaces.Box(0.0, 100.0, (1,), np.float32)
        self.t = 0

    def observation_space(self, agent: str) -> gym.Space:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> gym.Space:
        return self.action_spaces[agent]

    def state(self) -> np.ndarray:
        return np.array([self.t], np.float32)

    def _obs(self, actions: dict) -> dict:
        return {
            a: np.array([self.t, i, actions.get(a, -1)], np.float32)
            for i, a in enumerate(self.possible_agents)
        }

    def reset(self, seed: int | None = None, options: Any = None) -> tuple[dict, dict]:
        self.t, self.agents = 0, list(self.possible_agents)
        return self._obs({}), {a: {} for a in self.agents}

    def step(self, actions: dict) -> tuple[dict, dict, dict, dict, dict]:
        rewards = {a: 10.0 * self.t + i for i, a in enumerate(self.possible_agents)}
        self.t += 1
        obs = self._obs({a: int(v) for a, v in actions.items()})
        done = self.t >= STEPS
        truncs = dict.fromkeys(self.agents, done)
        if done:
            self.agents = []
        return obs, rewards, dict.fromkeys(truncs, False), truncs, {a: {} for a in truncs}


class StampTeamEnv(TeamEnv):
    def __init__(self, config: dict | None = None) -> None:
        super().__init__(PettingZooEnv(StampEnv()), teams="all")


def spec(env: dict, **training: Any):
    raw = {
        "name": "m",
        "algo": "maddpg",
        "env": env,
        "seed": 2,
        "stop": {"training_iteration": 2},
        "env_runners": {"num_env_runners": 0, "num_envs_per_env_runner": 2},
        "training": {
            "episode_batch_size": 32,
            "num_steps_sampled_before_learning_starts": 50,
            "updates_per_env_step": 0.02,
            **training,
        },
        "rl_module": {"model_config": {"fcnet_hiddens": [16], "critic_hiddens": [16]}},
    }
    return validate_spec(raw, "<maddpg>")


def test_replayed_rows_are_joint_transitions_of_one_env_step():
    planned = plan(spec({"name": "two_step_game"}))
    config = planned.config.copy(copy_frozen=False)
    config.environment(env=StampTeamEnv, env_config={})
    config.configure_modules(env_facts(StampTeamEnv()), planned.mapping, {"fcnet_hiddens": [8]})
    algo = config.build_algo()
    try:
        algo.train()
        algo.train()
        batch = algo.episode_trainer.train_batch()["all"]
    finally:
        algo.stop()
    obs, after = batch["obs"][OBS_KEY][:, 0], batch["obs"][OBS_KEY][:, 1]  # [B, n, 3]
    t = obs[:, 0, 0]  # [B]
    assert len(set(t.tolist())) > 1  # rows from several steps
    for i in range(AGENTS):
        assert np.array_equal(obs[:, i, 0], t)  # every member's observation: the same step
        assert np.array_equal(obs[:, i, 1], np.full_like(t, i))
        assert np.array_equal(after[:, i, 0], t + 1)
        assert np.array_equal(batch[ACTIONS][:, 0, i], after[:, i, 2])  # the actions taken then
        assert np.array_equal(batch[MEMBER_REWARDS][:, 0, i], 10 * t + i)
    assert np.array_equal(batch["obs"][STATE_KEY][:, 0, 0], t)
    assert batch[FILLED].all()
    assert not batch[TERMINATEDS].any()  # the time limit bootstraps (RLlib says terminated)


@pytest.mark.parametrize(
    ("env", "training", "model_config"),
    [
        ({"name": "simple_adversary", "max_cycles": 10}, {}, {"shared_actor": False}),
        (
            {"name": "simple_spread", "max_cycles": 10, "continuous_actions": True},
            {"exploration_noise": [[0, 0.8], [400, 0.05]], "critic": "state"},
            {"shared_actor": True},
        ),
        ({"name": "simple_tag", "max_cycles": 10}, {"critic": "local"}, {}),
        ({"name": "simple_spread", "max_cycles": 10}, {"gumbel_estimator": "gapped"}, {}),
        ({"name": "simple_spread", "max_cycles": 10}, {"others_actions": "current"}, {}),
        ({"name": "simple_crypto", "max_cycles": 10, "continuous_actions": True}, {}, {}),
    ],
    ids=[
        "adversary-individual",
        "spread-continuous-shared",
        "tag-ddpg",
        "gapped",
        "current",
        "crypto-continuous",
    ],
)
def test_maddpg_trains_and_logs_its_metrics(env, training, model_config):
    raw_spec = spec(env, **training)
    raw_spec.rl_module["model_config"].update(model_config)
    algo = plan(raw_spec).config.build_algo()
    try:
        results = [algo.train() for _ in range(3)]
    finally:
        algo.stop()
    stats = results[-1]["learners"]["all"]
    keys = ["critic_loss", "actor_loss", "q_mean", "target_mean", "q_mean_0", "q_mean_1"]
    keys.append("noise_scale" if env.get("continuous_actions") else "gumbel_temperature")
    for key in keys:
        assert math.isfinite(stats[key]), key
    if env.get("continuous_actions"):
        assert stats["noise_scale"] < 0.8  # the schedule moved
    if training.get("gumbel_estimator") == "gapped":
        assert stats["gumbel_temperature"] == pytest.approx(0.7)


def train_and_checkpoint(raw_spec, run_dir, iterations: int = 2, probe=None):
    """Trains, writes a marl checkpoint; returns (last result, checkpoint, learner weights).

    ``probe(algo)`` runs before the algorithm stops.
    """
    import yaml

    from rl_apps import checkpoints as ckpt
    from rl_apps.actor_weights import algorithm_writer

    algo = plan(raw_spec).config.build_algo()
    try:
        results = [algo.train() for _ in range(iterations)]
        steps = int(results[-1]["num_env_steps_sampled_lifetime"])
        path = ckpt.save_checkpoint(
            run_dir,
            ckpt.Counters(iterations, steps, 1.0),
            algorithm_writer(algo),
            yaml.safe_dump(raw_spec.to_dict()),
            keep=1,
        )
        weights = algo.learner_group.get_weights()
        if probe is not None:
            probe(algo)
    finally:
        algo.stop()
    return results[-1], path, weights


def restored_weights(raw_spec, path):
    from rl_apps.train import restore_checkpoint

    fresh = plan(raw_spec).config.build_algo()
    try:
        restore_checkpoint(fresh, path, echo=lambda _: None)
        return fresh.learner_group.get_weights()
    finally:
        fresh.stop()


@pytest.mark.parametrize(
    ("env", "gap"),
    [
        ({"name": "simple_spread", "N": 2, "max_cycles": 10}, "policy_inference_kl"),
        (
            {"name": "simple_speaker_listener", "max_cycles": 10, "continuous_actions": True},
            "policy_inference_mse",
        ),
    ],
    ids=["discrete", "continuous"],
)
def test_policy_inference_trains_logs_and_round_trips(env, gap, tmp_path):
    from rl_apps.evaluate import EvalOptions, evaluate
    from rl_apps.export import export_checkpoint

    raw_spec = spec(env, policy_inference=True, updates_per_env_step=0.05)
    result, path, saved = train_and_checkpoint(raw_spec, tmp_path / "run")
    stats = result["learners"]["all"]
    for key in (gap, f"{gap}_0", f"{gap}_1", "policy_inference_loss", "critic_loss"):
        assert math.isfinite(stats[key]), key
    assert any(k.startswith("approximations.") for k in saved["all"])
    restored = restored_weights(raw_spec, path)
    for key, value in saved["all"].items():
        np.testing.assert_array_equal(value, restored["all"][key], err_msg=key)
    report = evaluate(EvalOptions(checkpoint=path, episodes=1, baseline=False))
    assert math.isfinite(report["team_return"]["mean"])
    written = export_checkpoint(path, tmp_path / "export")
    assert written and not any("approx" in p.name for p in written)
    assert all("approx" not in p.with_suffix(".json").read_text() for p in written)


@pytest.mark.parametrize("continuous", [False, True], ids=["discrete", "continuous"])
def test_an_ensemble_trains_replays_its_draws_exports_and_evaluates_each(continuous, tmp_path):
    from env_wrappers.keys import SUB_POLICY_KEY
    from rl_apps.evaluate import EvalOptions, evaluate
    from rl_apps.export import export_checkpoint

    k = 2
    env = {"name": "simple_adversary", "max_cycles": 10, "continuous_actions": continuous}
    raw_spec = spec(env, ensemble_size=k)
    batches = []
    result, path, saved = train_and_checkpoint(
        raw_spec, tmp_path / "run", probe=lambda a: batches.append(a.episode_trainer.train_batch())
    )
    assert math.isfinite(result["learners"]["all"]["actor_loss"])
    picks = batches[0]["all"]["obs"][SUB_POLICY_KEY]  # [B, T + 1, n]: a step and the next one
    assert np.array_equal(picks[:, 0], picks[:, 1])
    assert set(np.unique(picks).tolist()) == set(range(k))
    restored = restored_weights(raw_spec, path)  # every sub-policy's weights come back
    for key, value in saved["all"].items():
        np.testing.assert_array_equal(value, restored["all"][key], err_msg=key)
    written = export_checkpoint(path, tmp_path / "export")
    names = sorted(p.name for p in written)
    agents = ["adversary_0", "agent_0", "agent_1"]
    assert names == sorted(f"all.sub{s}.{a}.pt" for s in range(k) for a in agents)
    report = evaluate(EvalOptions(checkpoint=path, episodes=2, baseline=False, sub_policy="all"))
    assert sorted(report["sub_policies"]) == ["0", "1"]
    assert report["sub_policy"] == "all"
    one = evaluate(EvalOptions(checkpoint=path, episodes=2, baseline=False, sub_policy=1))
    assert one["team_return"] == report["sub_policies"]["1"]["team_return"]  # greedy: same
    drawn = evaluate(EvalOptions(checkpoint=path, episodes=2, baseline=False))
    assert drawn["sub_policy"] == "drawn"


def test_crossplay_of_two_checkpoints_on_simple_adversary(tmp_path, capsys):
    from rl_apps.cli import main
    from rl_apps.crossplay import CrossplayOptions, crossplay
    from rl_apps.evaluate import EvalOptions, evaluate

    env = {"name": "simple_adversary", "max_cycles": 10}
    paths = {}
    for name, training, env_extra in (
        ("maddpg", {}, {}),
        ("ddpg", {"critic": "local"}, {}),
        ("n3", {}, {"N": 3}),
    ):
        raw = spec({**env, **env_extra}, **training).model_copy(update={"name": name})
        paths[name] = train_and_checkpoint(raw, tmp_path / name, iterations=1)[1]
    a, b = paths["maddpg"], paths["ddpg"]
    report = crossplay(CrossplayOptions({"adversary": [a, b], "agent": [a, b]}, episodes=2))
    assert len(report["matchups"]) == 4
    assert len(report["commit"]) == 40 and report["dirty"] in (True, False)  # what played
    matrix = report["matrix"]
    assert np.shape(matrix["adversary"]) == (2, 2) and np.shape(matrix["agent"]) == (2, 2)
    assert np.isfinite(matrix["adversary_goal_distance"]).all()
    same = report["matchups"][0]  # a against itself: what `marl eval` measures
    alone = evaluate(EvalOptions(checkpoint=a, episodes=2, baseline=False))
    total = same["returns"]["adversary"]["mean"] + same["returns"]["agent"]["mean"]
    assert total == pytest.approx(alone["team_return"]["mean"], rel=1e-5)
    assert alone["task"] == pytest.approx(same["task"], rel=1e-5)  # eval reports it too
    code = main(["crossplay", "--side", f"adversary={a}", "--side", f"agent={paths['n3']}"])
    err = capsys.readouterr().err
    assert code == 2
    assert "agent 'adversary_0': observation space" in err, err
    png = tmp_path / "matrix.png"
    sides = ["--side", f"adversary={a},{b}", "--side", f"agent={b}", "--episodes", "1"]
    drawn = marl_in_process(["crossplay", *sides, "--plot", str(png)], capsys)
    matrix = json.loads(drawn.out)["matrix"]
    assert matrix["row_labels"] == ["maddpg seed 2", "ddpg seed 2"]
    assert matrix["column_labels"] == ["ddpg seed 2"] and png.stat().st_size > 1000
    assert [b["rows"] for b in json.loads(drawn.out)["by_spec"]] == ["maddpg", "ddpg"]
    progress = [line for line in drawn.err.splitlines() if line.startswith("[")]
    assert [line.split("]")[0] for line in progress] == ["[1/2", "[2/2"], drawn.err
    assert f"adversary={b} vs agent={b}: adversary " in progress[1]
