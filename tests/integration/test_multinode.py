"""A real 3-node Ray cluster on this machine (`marl cluster up`), a training job on it, and
`marl cluster down` stopping exactly what was started.

The last worker advertises a fake GPU and the custom resource ``learner_node``; the spec asks
for two 1-CPU env runners and one learner with a GPU on ``learner_node``. With one CPU per
node, the env runners must use two nodes, and the learner must get its GPU bundle on the last
worker. (fake_gpu_train.py keeps the learner's tensors on the CPU of this GPU-less machine.)
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import psutil
import pytest

from .helpers import expect, run_marl

SPEC = """
name: multinode
algo: ippo
env: {name: simple_spread, N: 2, max_cycles: 10}
stop: {training_iteration: 2}
checkpoint: {frequency: 0, keep: 1}
resources:
  env_runners: 2
  cpus_per_env_runner: 1
  learners: 1
  gpus_per_learner: 1
  learner_resources: {learner_node: 0.01}
env_runners: {num_envs_per_env_runner: 2}
training: {train_batch_size_per_learner: 200, minibatch_size: 100, num_epochs: 1}
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """`marl cluster up` with 3 one-CPU nodes; `marl cluster down` afterwards."""
    tmp = tmp_path_factory.mktemp("cluster")
    os.environ["MARL_CLUSTER_STATE"] = str(tmp / "cluster.json")
    try:
        up = run_marl(
            "cluster",
            "up",
            "--nodes",
            "3",
            "--cpus-per-node",
            "1",
            "--gpus-on-last-node",
            "1",
            "--resources-on-last-node",
            '{"learner_node": 1}',
            cwd=tmp,
        )
        expect(up, 0)
        state = json.loads((tmp / "cluster.json").read_text())
        yield state, tmp
        down = expect(run_marl("cluster", "down", cwd=tmp), 0)
        assert "stopped" in down.stdout
        assert not any(psutil.pid_exists(pid) for pid, _ in state["processes"])
        assert not (tmp / "cluster.json").exists()
    finally:
        if (tmp / "cluster.json").exists():
            run_marl("cluster", "down", cwd=tmp)
        os.environ.pop("MARL_CLUSTER_STATE", None)


def test_cluster_up_starts_three_nodes_with_their_own_raylets(cluster):
    state, _ = cluster
    assert len(state["nodes"]) == 3
    raylets = [
        pid
        for pid, _ in state["processes"]
        if psutil.pid_exists(pid) and "raylet" in " ".join(psutil.Process(pid).cmdline())
    ]
    assert len(raylets) == 3


def test_training_spreads_env_runners_and_places_the_gpu_learner(cluster):
    state, tmp = cluster
    (tmp / "spec.yaml").write_text(SPEC)
    helper = Path(__file__).with_name("fake_gpu_train.py")
    proc = run_marl(
        "train",
        "spec.yaml",
        "--runs-dir",
        str(tmp / "runs"),
        cwd=tmp,
        script=helper,
        script_args=[state["address"]],
    )
    expect(proc, 0)
    (run_dir,) = (tmp / "runs").iterdir()
    where = json.loads((run_dir / "placement.json").read_text())
    runner_nodes = {r["node_id"] for r in where["env_runners"]}
    assert len(where["env_runners"]) == 2 and len(runner_nodes) == 2
    (learner,) = where["learners"]
    assert learner["gpu_ids"]  # Ray gave the learner a GPU bundle
    assert where["nodes"][learner["node_id"]].get("learner_node") == 1  # on the GPU node
