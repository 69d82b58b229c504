"""Shared fixtures: one Ray instance for the whole session, small specs, quiet runtime."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "rl_apps" / "specs" / "quickstart.yaml"

#: One value of each credential format marl detects, built at run time (no credential-looking
#: literal in the repository): the secrets tests put them in specs, command lines and the
#: environment and check that no error message and no file of a run directory holds one.
SECRET_SENTINELS = {
    "wandb-hex-in-text": "0123456789abcdef" * 2 + "fedcba98",
    "aws-access-key-id": "AKIA" + "Q7X2" * 4,
    "aws-secret-key": "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY",
    "github-classic": "ghp_" + "a1B2" * 9,
    "github-fine-grained": "github_pat_" + "11ABCDEFG0" * 2 + "xy_" + "Zz9" * 20,
}
ENV_SENTINEL = "Sentinel-Env-Value-42"

#: Overrides that shrink the quickstart to a few seconds per iteration.
TINY = [
    "env_runners.num_env_runners=1",
    "env_runners.num_envs_per_env_runner=2",
    "training.train_batch_size_per_learner=400",
    "training.minibatch_size=200",
    "training.num_epochs=2",
    "stop.num_env_steps_sampled_lifetime=100000000",
    "stop.training_iteration=2",
    "checkpoint.frequency=1",
]


@pytest.fixture(scope="session")
def ray_session():
    """One local Ray instance (2 CPUs, no dashboard) shared by every test that needs Ray."""
    import ray

    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        _system_config={"worker_niceness": 0},  # as marl's local instances (rl_apps.local_ray)
    )
    yield ray
    ray.shutdown()


@pytest.fixture
def write_spec(tmp_path):
    """Writes YAML text to a spec file and returns its path."""

    def write(text: str, name: str = "spec.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write
