"""GMAC end to end: with MAPPO and IPPO for 2 iterations, metrics, checkpoint round trip, eval."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from rl_apps import checkpoints as ckpt
from rl_apps.build import build_algo_config
from rl_apps.errors import SpecError
from rl_apps.spec import validate_spec
from rl_apps.train import _restore

from .helpers import expect, run_marl

pytestmark = pytest.mark.usefixtures("ray_session")

LBF = {"name": "lbf", "size": 8, "players": 2, "food": 2, "coop": True}
GMAC_METRICS = ("gmac_weight_entropy", "gmac_mean_std", "gmac_max_weight", "vf_loss")


def spec(algo: str, env: dict, **gmac):
    raw = {
        "name": "t",
        "algo": algo,
        "env": env,
        "seed": 3,
        "stop": {"training_iteration": 2},
        "env_runners": {"num_env_runners": 0, "num_envs_per_env_runner": 1},
        "training": {
            "train_batch_size_per_learner": 200,
            "minibatch_size": 100,
            "num_epochs": 2,
            "value_head": "gmac",
            "gmac": gmac,
        },
        "rl_module": {"model_config": {"fcnet_hiddens": [16]}},
    }
    return validate_spec(raw, "<test>")


@pytest.mark.parametrize(
    ("algo", "env", "critic_input"),
    [("mappo", {"name": "simple_spread"}, "state"), ("ippo", LBF, "local")],
)
def test_gmac_trains_with_mappo_and_ippo(algo, env, critic_input):
    built = build_algo_config(spec(algo, env, components=2)).build_algo()
    try:
        results = [built.train() for _ in range(2)]
        module = built.learner_group._learner.module["shared"]
        assert type(module).__name__ == "GMACModule" and module.critic_input == critic_input
        assert module.vf[-1].out_features == 3 * 2
        stats = results[-1]["learners"]["shared"]
        for key in GMAC_METRICS:
            assert math.isfinite(stats[key]), key
        assert 0.5 <= stats["gmac_max_weight"] <= 1.0  # K=2: the largest weight is >= 1/2
        assert 0.0 <= stats["gmac_weight_entropy"] <= math.log(2) + 1e-6
    finally:
        built.stop()


def test_gmac_options_are_checked():
    with pytest.raises(SpecError, match="unknown option"):
        build_algo_config(spec("mappo", LBF, componets=3))
    with pytest.raises(SpecError, match="components"):
        build_algo_config(spec("mappo", LBF, components=0))


def test_gmac_checkpoint_round_trip(tmp_path):
    experiment = spec("mappo", {"name": "simple_spread"})
    algo = build_algo_config(experiment).build_algo()
    try:
        algo.train()
        path = ckpt.save_checkpoint(
            tmp_path, ckpt.Counters(1, 200, 1.0), lambda p: algo.save_to_path(str(p)), "x", keep=1
        )
        saved = algo.learner_group._learner.module["shared"].state_dict()
        saved = {k: v.detach().clone() for k, v in saved.items()}
    finally:
        algo.stop()
    fresh = build_algo_config(experiment).build_algo()
    try:
        _restore(fresh, path, echo=lambda _: None)
        restored = fresh.learner_group._learner.module["shared"].state_dict()
        for key, value in saved.items():
            assert np.array_equal(value.numpy(), restored[key].numpy()), key
        assert fresh.train()["training_iteration"] == 2
    finally:
        fresh.stop()


def test_eval_value_dist_writes_png(tmp_path):
    spec_file = tmp_path / "gmac.yaml"
    spec_file.write_text(
        "name: g\nalgo: mappo\nenv: {name: simple_spread}\nseed: 1\n"
        "stop: {training_iteration: 1}\ncheckpoint: {frequency: 1}\n"
        "env_runners: {num_env_runners: 0}\n"
        "training: {train_batch_size_per_learner: 200, minibatch_size: 100, num_epochs: 1,"
        " value_head: gmac}\n"
    )
    expect(run_marl("train", str(spec_file), "--runs-dir", str(tmp_path / "runs"), cwd=tmp_path), 0)
    checkpoint = next((tmp_path / "runs").glob("*/checkpoints/checkpoint_*"))
    png = tmp_path / "dist.png"
    proc = expect(
        run_marl(
            "eval", str(checkpoint), "--episodes", "1", "--value-dist", str(png), cwd=tmp_path
        ),
        0,
    )
    report = json.loads(proc.stdout)
    assert png.stat().st_size > 1000
    states = report["value_dist"]["states"]
    assert len({row["step"] for row in states}) == 4
    assert all(abs(sum(row["weights"]) - 1) < 1e-3 for row in states)
