"""`--address` runs on an existing Ray cluster (here: the test session's instance) and checks
resource requests against that cluster, not against the local machine."""

from __future__ import annotations

import pytest

from ..conftest import QUICKSTART, TINY
from .helpers import expect, run_marl

pytestmark = pytest.mark.usefixtures("ray_session")


def gcs_address(ray):
    return ray.get_runtime_context().gcs_address


def test_train_on_existing_cluster(tmp_path, ray_session):
    sets = [arg for item in TINY for arg in ("--set", item)]
    args = ["train", str(QUICKSTART), *sets, "--set", "stop.training_iteration=1"]
    proc = run_marl(
        *args, "--address", gcs_address(ray_session), "--runs-dir", "runs", cwd=tmp_path
    )
    expect(proc, 0)
    assert "iter    1 |" in proc.stdout
    assert ray_session.is_initialized()  # the driver's disconnect left the cluster running


def test_request_larger_than_cluster_is_rejected(tmp_path, ray_session):
    cpus = int(ray_session.cluster_resources()["CPU"])
    args = ["train", str(QUICKSTART), "--set", f"env_runners.num_env_runners={cpus + 1}"]
    proc = run_marl(
        *args, "--address", gcs_address(ray_session), "--runs-dir", "runs", cwd=tmp_path
    )
    expect(proc, 2)
    assert f"requests {cpus + 1} CPUs" in proc.stderr and f"has {cpus}" in proc.stderr
    assert not (tmp_path / "runs").exists()
