"""rMAPPO: a GRU in the actor and the critic, on MPE and LBF (action masks), then eval."""

from __future__ import annotations

import json
import math

import pytest

from rl_apps.build import build_algo_config
from rl_apps.spec import validate_spec

from .helpers import expect, learner_modules, marl_in_process, run_marl

pytestmark = pytest.mark.usefixtures("ray_session")

GRU = {"fcnet_hiddens": [16], "use_gru": True, "gru_cell_size": 8, "max_seq_len": 5}
ENVS = {
    "simple_spread": {"name": "simple_spread"},
    "lbf": {"name": "lbf", "size": 8, "players": 2, "food": 2, "coop": True},
}


def spec(env: dict, algo: str = "mappo", runners: int = 0, **training):
    raw = {
        "name": "t",
        "algo": algo,
        "env": env,
        "seed": 5,
        "stop": {"training_iteration": 2},
        "env_runners": {"num_env_runners": runners, "num_envs_per_env_runner": 2},
        "training": {
            "train_batch_size_per_learner": 200,
            "minibatch_size": 100,
            "num_epochs": 2,
            **training,
        },
        "rl_module": {"model_config": GRU},
    }
    return validate_spec(raw, "<test>")


@pytest.mark.parametrize(
    ("env", "algo", "training"),
    [
        ("simple_spread", "mappo", {}),
        ("lbf", "ippo", {}),
        ("simple_spread", "gmac", {}),
    ],
)
def test_recurrent_agents_train(env, algo, training):
    algo_ = build_algo_config(spec(ENVS[env], algo, **training)).build_algo()
    try:
        results = [algo_.train() for _ in range(2)]
        module = learner_modules(algo_)["shared"]
        assert module.is_stateful() and set(module.get_initial_state()) == {"actor", "critic"}
        stats = results[-1]["learners"]["shared"]
        for key in ("policy_loss", "vf_loss", "entropy", "vf_explained_var"):
            assert math.isfinite(stats[key]), key
        assert results[-1]["env_runners"]["num_env_steps_sampled"] >= 200
    finally:
        algo_.stop()


def test_recurrent_remote_runner_and_eval(tmp_path, capsys):
    spec_file = tmp_path / "r.yaml"
    spec_file.write_text(
        "name: r\nalgo: mappo\nenv: {name: simple_spread}\nseed: 2\n"
        "stop: {training_iteration: 1}\ncheckpoint: {frequency: 1}\n"
        "env_runners: {num_env_runners: 1, num_envs_per_env_runner: 2}\n"
        "training: {train_batch_size_per_learner: 200, minibatch_size: 100, num_epochs: 1}\n"
        f"rl_module: {{model_config: {json.dumps(GRU)}}}\n"
    )
    expect(run_marl("train", str(spec_file), "--runs-dir", "runs", cwd=tmp_path), 0)
    checkpoint = next((tmp_path / "runs").glob("*/checkpoints/checkpoint_*"))
    report = json.loads(marl_in_process(["eval", str(checkpoint), "--episodes", "2"], capsys).out)
    assert report["episodes"] == 2 and math.isfinite(report["team_return"]["mean"])
    refused = marl_in_process(["export", str(checkpoint), "--out", str(tmp_path / "x")], capsys, 2)
    assert "recurrent actors cannot be exported yet" in refused.err
