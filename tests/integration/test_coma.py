"""COMA end to end on the team view: an MPE env, LBF and a matrix game for two iterations,
its logged metrics, the common-reward rule and the discrete-only capability; GRU actors
(train, checkpoint round trip, eval, the export refusal, the state changing acting)."""

from __future__ import annotations

import math

import pytest
import torch
from ray.rllib.core.columns import Columns

from policies.coma.module import HIDDEN
from rl_apps.build import build_algo_config
from rl_apps.errors import SpecError
from rl_apps.evaluate import EvalOptions, evaluate
from rl_apps.export import export_checkpoint
from rl_apps.spec import validate_spec

from .helpers import learner_modules
from .test_algorithms import train_and_checkpoint

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


MLP = {"fcnet_hiddens": [16], "critic_hiddens": [16]}
GRU = {**MLP, "use_gru": True, "gru_cell_size": 8, "max_seq_len": 5}
SPREAD = {"name": "simple_spread", "max_cycles": 10, "team_reward": "sum"}


def raw_spec(env: dict, model: dict | None = None, **training) -> dict:
    return {
        "name": "c",
        "algo": "coma",
        "env": env,
        "seed": 5,
        "stop": {"training_iteration": 2},
        "env_runners": {"num_env_runners": 0, "num_envs_per_env_runner": 2},
        "training": {"train_batch_size_per_learner": 100, **training},
        "rl_module": {"model_config": model or MLP},
    }


def spec(env: dict, model: dict | None = None, **training):
    return validate_spec(raw_spec(env, model, **training), "<coma>")


def train_and_check_metrics(algo) -> tuple[str, list[dict]]:
    """Two iterations; every COMA metric finite and the advantages centred. (team, results)"""
    results = [algo.train() for _ in range(2)]
    (team,) = algo.config.policies
    stats = results[-1]["learners"][team]
    for key in METRICS:
        assert math.isfinite(stats[key]), key
    assert stats["expected_advantage_abs_max"] < 1e-3  # sum_a pi(a) A(a) = 0 per agent
    return team, results


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
        team, results = train_and_check_metrics(algo)
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


def logits_after(module, history: list[torch.Tensor], last: torch.Tensor) -> torch.Tensor:
    """The team's logits for ``last`` after acting on ``history`` (one step at a time)."""
    h = torch.as_tensor(module.get_initial_state()[HIDDEN])[None]  # [1, n, cell]
    for obs in [*history, last]:
        batch = {Columns.OBS: {"obs": obs[None, None]}, Columns.STATE_IN: {HIDDEN: h}}
        out = module.forward_inference(batch)
        h = out[Columns.STATE_OUT][HIDDEN]
    return out[Columns.ACTION_DIST_INPUTS][0, 0]


def test_gru_actors_train_and_their_state_changes_acting():
    algo = build_algo_config(spec(SPREAD, GRU)).build_algo()
    try:
        team, _ = train_and_check_metrics(algo)
        assert learner_modules(algo)[team].is_stateful()
        module = algo.get_module(team)  # the env runner's copy, which carries the state
        assert module.is_stateful()
        g = torch.Generator().manual_seed(0)
        n, size = module.n_agents, module.obs_size
        last = torch.randn(n, size, generator=g)
        one, other = ([torch.randn(n, size, generator=g) for _ in range(3)] for _ in range(2))
        with torch.no_grad():
            assert not torch.allclose(
                logits_after(module, one, last), logits_after(module, other, last)
            )
            torch.testing.assert_close(
                logits_after(module, one, last), logits_after(module, one, last)
            )
    finally:
        algo.stop()


def test_gru_checkpoint_round_trip_eval_and_export_refusal(tmp_path):
    path = train_and_checkpoint(raw_spec(SPREAD, GRU), tmp_path / "run")
    report = evaluate(EvalOptions(checkpoint=path, episodes=1, baseline=False))
    assert report["episodes"] == 1 and math.isfinite(report["team_return"]["mean"])
    with pytest.raises(SpecError, match=r"use_gru.*recurrent \(GRU\) actors cannot be exported"):
        export_checkpoint(path, tmp_path / "export")


@pytest.mark.parametrize(
    ("model", "match"),
    [
        ({**MLP, "max_seq_len": 5}, "rl_module.model_config.max_seq_len is read only with use_gru"),
        ({**GRU, "max_seq_len": 0}, "rl_module.model_config.max_seq_len must be an integer"),
        ({**GRU, "gru_cell_size": 0}, "rl_module.model_config.gru_cell_size: 0 is outside"),
    ],
    ids=["seq-len-without-gru", "zero-seq-len", "zero-cell"],
)
def test_gru_options_are_checked_naming_the_key(model, match):
    with pytest.raises(SpecError, match=match):
        build_algo_config(spec({"name": "climbing_game"}, model))
