"""`marl export`: a trained checkpoint's actors act with torch alone, like the module does."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
import yaml

from env_wrappers import make_rllib_env
from rl_apps import checkpoints as ckpt
from rl_apps.build import build_algo_config, env_kwargs
from rl_apps.evaluate import load_actors
from rl_apps.export import export_checkpoint
from rl_apps.spec import validate_spec

pytestmark = pytest.mark.usefixtures("ray_session")

RAW = {
    "name": "t",
    "algo": "mappo",
    "env": {"name": "lbf", "coop": True},
    "seed": 1,
    "stop": {"training_iteration": 1},
    "env_runners": {"num_env_runners": 0},
    "training": {"train_batch_size_per_learner": 200, "minibatch_size": 200, "num_epochs": 1},
    "rl_module": {"model_config": {"fcnet_hiddens": [16]}},
}

TORCH_ONLY = """
import json, sys, torch
actor = torch.jit.load(sys.argv[1])
data = torch.load(sys.argv[2])
actions = actor(data["obs"], data["mask"]).argmax(-1).tolist()
assert "ray" not in sys.modules
print(json.dumps(actions))
"""


def test_exported_actor_matches_training_module(tmp_path):
    spec = validate_spec(RAW, "<test>")
    algo = build_algo_config(spec).build_algo()
    try:
        algo.train()
        path = ckpt.save_checkpoint(
            tmp_path,
            ckpt.Counters(1, 200, 1.0),
            lambda p: algo.save_to_path(str(p)),
            yaml.safe_dump(spec.to_dict()),
            keep=1,
        )
    finally:
        algo.stop()
    (pt_file,) = export_checkpoint(path, tmp_path / "out")
    meta = json.loads(pt_file.with_suffix(".json").read_text())
    assert meta["uses_mask"] and meta["agent_ids"] == ["agent_0", "agent_1"]

    env = make_rllib_env("lbf", **env_kwargs(spec))
    obs, _ = env.reset(seed=5)
    reference = load_actors(path, spec, env, greedy=True).act(obs)
    agents = list(obs)
    local = torch.as_tensor(np.stack([obs[a]["obs"] for a in agents]))
    mask = torch.as_tensor(np.stack([obs[a]["action_mask"] for a in agents]))
    torch.save({"obs": local, "mask": mask}, tmp_path / "data.pt")
    out = subprocess.run(
        [sys.executable, "-c", TORCH_ONLY, str(pt_file), str(tmp_path / "data.pt")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [int(reference[a]) for a in agents]
