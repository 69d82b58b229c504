"""Every registered algorithm x every env kind its capabilities allow, from the registry alone.

For each pair: train two small iterations (the algorithm's own ``SMOKE_TEST`` sections),
checkpoint, restore into a fresh algorithm (learner weights equal, training continues at
iteration 3), then in a NEW process evaluate and export, and check that the exported actors,
fed exactly what their JSON says (local observation, one-hot id, mask), choose the actions
the restored training-time modules choose. A new algorithm is covered by its registry line.

The default run uses the smallest env of each kind (``KIND_ENVS``); ``-m matrix`` runs every
catalog env. Pairs a capability excludes are listed, and the spec check must refuse them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from env_wrappers.registry import ENVS
from policies.registry import ALGORITHMS
from rl_apps import actor_weights
from rl_apps import checkpoints as ckpt
from rl_apps.actor_weights import algorithm_writer
from rl_apps.build import plan
from rl_apps.errors import SpecError
from rl_apps.spec import validate_spec
from rl_apps.train import restore_checkpoint

from .helpers import ROOT

#: The smallest env of each kind: ``kind -> (env section, action kind)``.
KIND_ENVS: dict[str, tuple[dict, str]] = {
    "discrete": ({"name": "two_step_game"}, "discrete"),
    "masked": (
        {"name": "lbf", "size": 5, "players": 2, "food": 1, "max_episode_steps": 10},
        "discrete",
    ),
    "continuous": ({"name": "multiwalker", "max_cycles": 10}, "continuous"),
}


def env_for(algo: str, kind: str) -> dict:
    """The kind's env; a common-reward algorithm on the team view gets ``team_reward: sum``."""
    env = dict(KIND_ENVS[kind][0])
    entry = ALGORITHMS[algo]
    if ENVS[env["name"]].reward not in entry.rewards and entry.view == "teams":
        env["team_reward"] = "sum"  # the documented way to make a team's reward shared
    return env


def exclusion(algo: str, kind: str) -> str | None:
    """The capability that keeps ``algo`` off ``kind``'s env, or None when the pair runs."""
    entry = ALGORITHMS[algo]
    env, action_kind = env_for(algo, kind), KIND_ENVS[kind][1]
    if action_kind not in entry.action_spaces:
        return f"action_spaces={entry.action_spaces} lacks {action_kind}"
    reward = "shared" if "team_reward" in env else ENVS[env["name"]].reward
    if reward not in entry.rewards:
        return f"rewards={entry.rewards} lacks {reward}"
    return None


PAIRS = [(a, k) for a in ALGORITHMS for k in KIND_ENVS if exclusion(a, k) is None]
EXCLUDED = [
    (a, k, exclusion(a, k)) for a in ALGORITHMS for k in KIND_ENVS if exclusion(a, k) is not None
]


def smoke_spec(algo: str, env: dict, seed: int = 3) -> dict:
    """A raw spec of a few-second run built from the algorithm's own ``SMOKE_TEST``."""
    sections = ALGORITHMS[algo].config_type().SMOKE_TEST
    raw = {"name": f"{algo}_{env['name']}", "algo": algo, "env": env, "seed": seed}
    raw["stop"] = {"training_iteration": 2}
    raw.update({k: dict(v) for k, v in sections.items()})
    raw["env_runners"] = {**raw.get("env_runners", {}), "num_env_runners": 0}
    return raw


def learner_weights(algo) -> dict:
    return algo.learner_group.get_weights()


def assert_same_weights(saved: dict, restored: dict) -> None:
    assert saved.keys() == restored.keys()
    for module_id, weights in saved.items():
        for key, value in weights.items():
            np.testing.assert_array_equal(value, restored[module_id][key], err_msg=key)


def train_and_checkpoint(raw: dict, run_dir: Path) -> Path:
    """Two iterations, a marl checkpoint, then a fresh algorithm restored from it."""
    spec = validate_spec(raw, "<registry test>")
    config = plan(spec).config
    algo = config.build_algo()
    try:
        results = [algo.train() for _ in range(2)]
        assert results[-1]["num_env_steps_sampled_lifetime"] > 0
        path = ckpt.save_checkpoint(
            run_dir,
            ckpt.Counters(2, int(results[-1]["num_env_steps_sampled_lifetime"]), 1.0),
            algorithm_writer(algo),
            yaml.safe_dump(spec.to_dict()),
            keep=1,
        )
        saved = learner_weights(algo)
    finally:
        algo.stop()
    data = (path / actor_weights.WEIGHTS).read_bytes()  # what eval and export load
    assert_same_weights(saved, actor_weights.decode(data, str(path)))
    fresh = config.build_algo()
    try:
        restore_checkpoint(fresh, path, echo=lambda _: None)
        assert_same_weights(saved, learner_weights(fresh))
        assert fresh.train()["training_iteration"] == 3
    finally:
        fresh.stop()
    return path


def check_in_new_process(checkpoints: dict[str, Path], work: Path) -> dict:
    """``restore_check.py`` in one fresh interpreter for every checkpoint: eval, export,
    exported == module."""
    jobs = {job: [str(path), str(work / job)] for job, path in checkpoints.items()}
    (work / "jobs.json").write_text(json.dumps(jobs))
    proc = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).with_name("restore_check.py")),
            str(work / "jobs.json"),
            str(work),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "WANDB_MODE": "offline"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def pair_id(algo: str, kind: str) -> str:
    return f"{algo}-{kind}"


@pytest.fixture(scope="module")
def round_trips(ray_session, tmp_path_factory):
    """Every pair trained, checkpointed and restored here, then checked in one new process.

    ``{pair id: exception}`` for a pair that failed here; ``{pair id: report}`` otherwise.
    """
    work = tmp_path_factory.mktemp("registry")
    checkpoints, failures = {}, {}
    for algo, kind in PAIRS:
        job = pair_id(algo, kind)
        try:
            raw = smoke_spec(algo, env_for(algo, kind))
            checkpoints[job] = train_and_checkpoint(raw, work / "runs" / job)
        except Exception as err:  # noqa: BLE001 - raised again by that pair's test
            failures[job] = err
    reports = check_in_new_process(checkpoints, work) if checkpoints else {}
    return {**reports, **failures}


@pytest.mark.parametrize(("algo", "kind"), PAIRS, ids=[pair_id(a, k) for a, k in PAIRS])
def test_train_checkpoint_restore_eval_export(algo, kind, round_trips):
    report = round_trips[pair_id(algo, kind)]
    if isinstance(report, Exception):
        raise report
    assert "error" not in report, report.get("error")
    assert report["eval"]["episodes"] == 1 and report["eval"]["algo"] == algo
    assert report["eval"]["actions"] == ALGORITHMS[algo].eval_actions
    assert report["exported"], "no actor was exported"
    assert report["compared_steps"] >= 1
    assert report["mismatches"] == [], report["mismatches"][:5]
    assert report["torch_only"] is True


@pytest.mark.parametrize(
    ("algo", "kind", "reason"), EXCLUDED, ids=[f"{a}-{k}" for a, k, _ in EXCLUDED]
)
def test_excluded_pairs_are_refused_by_the_spec_check(algo, kind, reason):
    """Every pair a capability excludes is refused before Ray starts (``reason`` is listed in
    the test id's parameters, so no pair is left out silently)."""
    raw = smoke_spec(algo, env_for(algo, kind))
    with pytest.raises(SpecError) as err:
        plan(validate_spec(raw, "<registry test>"))
    assert err.value.problems[0][0] == "algo", err.value.problems


def test_every_algorithm_runs_on_some_env_kind():
    assert {algo for algo, _ in PAIRS} == set(ALGORITHMS)


def test_registry_inspectors_match_the_config_classes():
    for name, entry in ALGORITHMS.items():
        assert set(entry.config_type().inspectors()) == set(entry.inspectors), name
        assert entry.view == entry.config_type().env_view, name
