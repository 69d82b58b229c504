"""QMIX, VDN and IQL end to end on the team view: every matrix game, the two-step game and
LBF for a couple of iterations, with transition replay and with episode replay (GRU agents,
TD(lambda), windows with burn-in), checkpoint round trip, resume records the empty buffer,
and `marl inspect q-table`."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import yaml
from ray.rllib.core.columns import Columns

from policies.qmix.q_table import joint_table
from rl_apps import checkpoints as ckpt
from rl_apps.actor_weights import algorithm_writer
from rl_apps.build import build_algo_config, plan
from rl_apps.errors import SpecError
from rl_apps.export import export_checkpoint
from rl_apps.progress import learner_summary
from rl_apps.spec import validate_spec
from rl_apps.train import RESUME_NOTES, restore_checkpoint

from .helpers import expect, learner_modules, marl_in_process, run_marl

pytestmark = pytest.mark.usefixtures("ray_session")

LBF = {"name": "lbf", "size": 8, "players": 2, "food": 2, "coop": True}
FAST = {
    "env_runners": {
        "num_env_runners": 0,
        "num_envs_per_env_runner": 4,
        "rollout_fragment_length": 4,
    },
    "training": {
        "num_steps_sampled_before_learning_starts": 32,
        "train_batch_size_per_learner": 32,
    },
    "reporting": {"min_sample_timesteps_per_iteration": 64},
    "rl_module": {"model_config": {"fcnet_hiddens": [16]}},
}


def spec(algo: str, env: dict, **extra):
    raw = {"name": "q", "algo": algo, "env": env, "seed": 4, "stop": {"training_iteration": 2}}
    return validate_spec({**raw, **FAST, **extra}, "<test>")


@pytest.mark.parametrize(
    ("algo", "env"),
    [
        ("qmix", {"name": game})
        for game in (
            "linear_game",
            "monotonic_game",
            "climbing_game",
            "penalty_game",
            "two_step_game",
        )
    ]
    + [("vdn", {"name": "monotonic_game"}), ("iql", {"name": "monotonic_game"}), ("qmix", LBF)],
)
def test_value_decomposition_trains(algo, env):
    built = build_algo_config(spec(algo, env)).build_algo()
    try:
        results = [built.train() for _ in range(2)]
        (team,) = built.config.policies
        stats = results[-1]["learners"][team]
        assert math.isfinite(stats["qf_loss"]) and math.isfinite(stats["q_tot_mean"])
        assert 0.0 <= stats["epsilon"] <= 1.0  # the exploration schedule, for the console line
        assert set(learner_summary(results[-1])) == {"critic loss", "epsilon"}
        assert results[-1]["env_runners"]["num_env_steps_sampled_lifetime"] >= 128
        module = learner_modules(built)[team]
        assert type(module.mixer).__name__ == MIXER_CLASS[algo]
        if env["name"] in GAMES:
            assert greedy_joint_action_maximises_q_tot(module, spec(algo, env), team)
    finally:
        built.stop()


MIXER_CLASS = {"qmix": "QMixer", "vdn": "VDNMixer", "iql": "NoMixer"}
GAMES = {"linear_game", "monotonic_game", "climbing_game", "penalty_game", "two_step_game"}


def greedy_joint_action_maximises_q_tot(module, experiment, team: str) -> bool:
    """IGM on the trained module: the members' own greedy actions at the game's first state
    form the joint action with the largest Q_tot (all joint actions enumerated)."""
    obs, _ = plan(experiment).make_env().reset(seed=0)
    table = joint_table(module, obs[team])
    best = table["joint_actions"][int(np.argmax(table["q_tot"]))]
    batch = {k: torch.as_tensor(v)[None] for k, v in obs[team].items()}
    greedy = module.forward_inference({Columns.OBS: batch})[Columns.ACTIONS][0].tolist()
    return greedy == best


GRU = {"rl_module": {"model_config": {"fcnet_hiddens": [16], "use_gru": True, "gru_cell_size": 8}}}


SHORT_LBF = {**LBF, "max_episode_steps": 10}  # several finished episodes per iteration


def episode_training(**options):
    return {**FAST["training"], "episode_batch_size": 4, **options}


@pytest.mark.parametrize(
    ("algo", "env", "extra"),
    [
        ("qmix", SHORT_LBF, {**GRU, "training": episode_training(td_lambda=0.8)}),
        ("vdn", {"name": "two_step_game"}, {"training": episode_training(td_lambda=0.0)}),
        ("iql", SHORT_LBF, {**GRU, "training": episode_training(sequence_length=4, burn_in=2)}),
    ],
    ids=["qmix-gru-lbf-td-lambda", "vdn-mlp-two-step-td0", "iql-gru-lbf-windows"],
)
def test_episode_replay_trains(algo, env, extra):
    built = build_algo_config(spec(algo, env, **extra)).build_algo()
    try:
        assert built.episode_trainer is not None
        results = [built.train() for _ in range(3)]
        (team,) = built.config.policies
        stats = results[-1]["learners"][team]
        assert math.isfinite(stats["qf_loss"]) and math.isfinite(stats["q_tot_mean"])
        assert 0.0 <= stats["epsilon"] <= 1.0  # the exploration schedule, for the console line
        assert set(learner_summary(results[-1])) == {"critic loss", "epsilon"}
        assert results[-1]["episode_replay"]["episodes"] >= 4
        assert results[-1]["episode_replay"]["dropped_chunks"] == 0
        module = learner_modules(built)[team]
        assert module.recurrent == ("rl_module" in extra)
    finally:
        built.stop()


@pytest.mark.parametrize(
    ("training", "model_config", "problem"),
    [
        ({"replay": "transitions"}, {"use_gru": True}, "need training.replay: episodes"),
        ({"td_lambda": 1.5}, {}, r"training.td_lambda: .* must be a number in \[0, 1\]"),
        ({"burn_in": 4}, {"use_gru": True}, "burn_in needs training.sequence_length"),
        ({"replay": "sometimes"}, {}, "training.replay: .*must be one of auto"),
        ({"episode_batch_size": 0}, {}, "training.episode_batch_size: .*an integer >= 1"),
    ],
)
def test_bad_episode_replay_options_are_clear_errors(training, model_config, problem):
    with pytest.raises(SpecError, match=problem):
        build_algo_config(
            spec("qmix", LBF, training=training, rl_module={"model_config": model_config})
        )


def test_continuous_envs_are_refused():
    with pytest.raises(SpecError, match="qmix supports discrete actions"):
        build_algo_config(spec("qmix", {"name": "multiwalker"}))


def test_gru_resume_records_the_empty_buffer_and_export_refuses_gru(tmp_path):
    """Weights round trips are the registry test's; this is QMIX's own: the replay buffer
    starts empty after a resume (said in the run directory), and GRU agents are not exported
    (a clear error, not a traceback)."""
    experiment = spec("qmix", {"name": "two_step_game"}, **GRU)
    algo = build_algo_config(experiment).build_algo()
    try:
        algo.train()
        run_dir = tmp_path / "run"
        path = ckpt.save_checkpoint(
            run_dir,
            ckpt.Counters(1, 64, 1.0),
            algorithm_writer(algo),
            yaml.safe_dump(experiment.to_dict()),
            keep=1,
        )
    finally:
        algo.stop()
    fresh = build_algo_config(experiment).build_algo()
    try:
        lines: list[str] = []
        restore_checkpoint(fresh, path, echo=lines.append)
        assert any("EMPTY replay buffer" in line for line in lines)
        assert "EMPTY replay buffer" in (run_dir / RESUME_NOTES).read_text()
        assert fresh.train()["training_iteration"] == 2
    finally:
        fresh.stop()
    with pytest.raises(SpecError, match="use_gru: recurrent .GRU. agents cannot be exported"):
        export_checkpoint(path, tmp_path / "exported")


def test_inspect_q_table_on_a_matrix_game(tmp_path, capsys):
    spec_file = tmp_path / "q.yaml"
    spec_file.write_text(
        "name: q\nalgo: vdn\nenv: {name: linear_game}\nseed: 1\n"
        "stop: {training_iteration: 1}\ncheckpoint: {frequency: 1}\n"
        f"env_runners: {json.dumps(FAST['env_runners'])}\n"
        f"training: {json.dumps(FAST['training'])}\n"
        f"reporting: {json.dumps(FAST['reporting'])}\n"
    )
    expect(run_marl("train", str(spec_file), "--runs-dir", "runs", cwd=tmp_path), 0)
    checkpoint = next((tmp_path / "runs").glob("*/checkpoints/checkpoint_*"))
    out, err = marl_in_process(["inspect", "q-table", str(checkpoint)], capsys)
    report = json.loads(out)
    table = report["agent"]["first_state"]
    assert table["joint_actions"] == [[0, 0], [0, 1], [1, 0], [1, 1]]
    utilities = np.array(table["utilities"])  # VDN: Q_tot is exactly the sum of the utilities
    expected = [utilities[0, a] + utilities[1, b] for a, b in table["joint_actions"]]
    np.testing.assert_allclose(table["q_tot"], expected, rtol=1e-5, atol=1e-5)
    assert "Q_tot by joint action" in err
    # the old spelling, kept for one release; and an inspector vdn lacks (in this process)
    old = marl_in_process(["eval", str(checkpoint), "--episodes", "1", "--q-table"], capsys)
    assert json.loads(old.out)["q_table"] == report and "marl inspect q-table" in old.err
    value_dist = ["inspect", "value-dist", str(checkpoint), str(tmp_path / "x.png")]
    refused = marl_in_process(value_dist, capsys, 2).err
    assert "vdn has no inspector 'value-dist'; its inspectors: q-table" in refused
    exported_utilities_match(tmp_path, checkpoint, utilities, capsys)


def exported_utilities_match(tmp_path, checkpoint, utilities, capsys):
    """`marl export` writes the team's shared agent network; it gives the same utilities."""
    import torch

    from env_wrappers.keys import MASK_KEY, OBS_KEY
    from env_wrappers.make import make_team_env

    exported = marl_in_process(
        ["export", str(checkpoint), "--out", str(tmp_path / "exported")], capsys
    )
    assert "agent.pt" in exported.out
    meta = json.loads((tmp_path / "exported" / "agent.json").read_text())
    assert meta["input"]["agent_id"]["order"] == meta["agents"] and len(meta["agents"]) == 2
    assert meta["input"]["obs_size"] == 1 and meta["input"]["size"] == 3  # the id counts
    assert meta["output"]["kind"] == "utilities"
    actor = torch.jit.load(str(tmp_path / "exported" / "agent.pt"))
    team_obs, _ = make_team_env("linear_game").reset(seed=0)
    local = torch.as_tensor(team_obs["agent"][OBS_KEY], dtype=torch.float32).reshape(2, -1)
    inputs = torch.cat([local, torch.eye(2)], dim=-1)  # own observation + one-hot member id
    mask = team_obs["agent"].get(MASK_KEY)
    n_actions = meta["action"]["n"]
    mask = torch.ones(2, n_actions) if mask is None else torch.as_tensor(mask).float()
    out = actor(inputs, mask).detach().numpy()
    np.testing.assert_allclose(out, utilities, rtol=1e-5, atol=1e-5)
