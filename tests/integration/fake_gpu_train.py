"""Runs ``marl`` against a cluster whose "GPU" is fake (a test helper, run as a script).

A fake GPU resource gets the learner a real GPU bundle from Ray, but this machine's torch is
CPU-only: Ray Train would pick NCCL for a GPU learner, and RLlib would move the learner to
``cuda:0``. The script switches the learner group's collective backend to gloo and, in every
worker process, makes RLlib's device lookup return the CPU; everything else is the real CLI:
``python fake_gpu_train.py ADDRESS train SPEC ...``.
"""

from __future__ import annotations

import os
import sys

import ray
import ray.rllib.core.learner.learner_group as learner_group

from rl_apps.cli import main

_original_backend = learner_group._get_backend_config


def _gloo_backend(learner_class):
    config = _original_backend(learner_class)
    config.backend = "gloo"
    return config


def _cpu_device_in_workers() -> None:
    import ray.rllib.utils.framework as framework
    import torch

    framework.get_device = lambda *args, **kwargs: torch.device("cpu")


if __name__ == "__main__":
    learner_group._get_backend_config = _gloo_backend
    address, args = sys.argv[1], sys.argv[2:]
    ray.init(
        address=address,
        include_dashboard=False,
        runtime_env={"worker_process_setup_hook": _cpu_device_in_workers},
    )
    code = main([*args, "--address", address])
    # The run is finished and saved. Leave without Ray's teardown: with the gloo learner
    # group it sometimes ended in a segfault (exit -11) after a successful run (seen once
    # in CI). The cluster is stopped by `marl cluster down`.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
