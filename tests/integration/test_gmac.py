"""GMAC end to end: with MAPPO and IPPO for 2 iterations, metrics, checkpoint round trip, eval."""

from __future__ import annotations

import json
import math

import pytest

from rl_apps.build import build_algo_config
from rl_apps.errors import SpecError
from rl_apps.spec import validate_spec

from .helpers import expect, learner_modules, marl_in_process, run_marl

pytestmark = pytest.mark.usefixtures("ray_session")

LBF = {"name": "lbf", "size": 8, "players": 2, "food": 2, "coop": True}
GMAC_METRICS = ("gmac_weight_entropy", "gmac_mean_std", "gmac_max_weight", "vf_loss")


def spec(critic: str, env: dict, **gmac):
    raw = {
        "name": "t",
        "algo": "gmac",
        "env": env,
        "seed": 3,
        "stop": {"training_iteration": 2},
        "env_runners": {"num_env_runners": 0, "num_envs_per_env_runner": 1},
        "training": {
            "train_batch_size_per_learner": 200,
            "minibatch_size": 100,
            "num_epochs": 2,
            "critic": critic,
            "gmac": gmac,
        },
        "rl_module": {"model_config": {"fcnet_hiddens": [16]}},
    }
    return validate_spec(raw, "<test>")


@pytest.mark.parametrize(
    ("critic", "env", "critic_input"),
    [("state", {"name": "simple_spread"}, "state"), ("local", LBF, "local")],
)
def test_gmac_trains_with_centralized_and_local_critics(critic, env, critic_input):
    built = build_algo_config(spec(critic, env, components=2)).build_algo()
    try:
        results = [built.train() for _ in range(2)]
        module = learner_modules(built)["shared"]
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
        build_algo_config(spec("state", LBF, componets=3))
    with pytest.raises(SpecError, match="training.gmac: .*components"):
        build_algo_config(spec("state", LBF, components=0))


def test_old_value_head_spelling_names_the_new_one(capsys):
    raw = {"name": "t", "algo": "ippo", "env": LBF, "stop": {"training_iteration": 1}}
    experiment = validate_spec({**raw, "training": {"value_head": "gmac"}}, "<old>")
    assert experiment.algo == "gmac" and experiment.training == {"critic": "local"}
    assert "use `algo: gmac`, training.critic: local" in capsys.readouterr().err
    assert "mappo" not in build_algo_config(experiment).algo_class.__name__.lower()


def test_inspect_value_dist_writes_png(tmp_path, capsys):
    spec_file = tmp_path / "gmac.yaml"
    spec_file.write_text(
        "name: g\nalgo: gmac\nenv: {name: simple_spread}\nseed: 1\n"
        "stop: {training_iteration: 1}\ncheckpoint: {frequency: 1}\n"
        "env_runners: {num_env_runners: 0}\n"
        "training: {train_batch_size_per_learner: 200, minibatch_size: 100, num_epochs: 1}\n"
    )
    expect(run_marl("train", str(spec_file), "--runs-dir", str(tmp_path / "runs"), cwd=tmp_path), 0)
    checkpoint = next((tmp_path / "runs").glob("*/checkpoints/checkpoint_*"))
    png = tmp_path / "dist.png"
    inspected = marl_in_process(["inspect", "value-dist", str(checkpoint), str(png)], capsys)
    report = json.loads(inspected.out)
    assert png.stat().st_size > 1000
    states = report["states"]
    assert len({row["step"] for row in states}) == 4
    assert all(abs(sum(row["weights"]) - 1) < 1e-3 for row in states)
