"""Resource requests are checked against what the cluster offers, before anything starts."""

from __future__ import annotations

import pytest
from ray.rllib.algorithms.ppo import PPOConfig

from rl_apps.errors import ResourceError
from rl_apps.runtime import check_resources, resource_request


def config(**env_runners):
    return PPOConfig().env_runners(**env_runners)


def test_request_counts_env_runners_and_learners():
    cfg = config(num_env_runners=3, num_cpus_per_env_runner=0.5).learners(num_learners=2)
    request = resource_request(cfg)
    assert request.cpus == pytest.approx(3 * 0.5 + 2 * 1)
    assert request.gpus == 0


def test_too_many_cpus_is_a_clear_error():
    with pytest.raises(ResourceError, match=r"requests 8 CPUs .* has 2"):
        check_resources(config(num_env_runners=8), {"CPU": 2.0})


def test_gpu_request_without_gpu_is_a_clear_error():
    cfg = PPOConfig().learners(num_learners=1, num_gpus_per_learner=1)
    with pytest.raises(ResourceError, match="requests 1 GPUs .* has 0"):
        check_resources(cfg, {"CPU": 4.0, "GPU": 0.0})


def test_request_that_fits_passes():
    assert check_resources(config(num_env_runners=2), {"CPU": 2.0}).cpus == 2
