"""The Ray runtime: a local instance by default or a cluster address, and resource checks.

RLlib waits forever for resources a cluster does not have (an env runner asking for a CPU
that never frees up). ``check_resources`` compares what a config will request with what the
cluster offers and fails with a clear error instead, before anything is started.

Envs are passed to RLlib as a class (``env_wrappers.registry.CatalogEnv``), not a registered
name, so no ``register_env`` call is needed in the driver, in env runners, or in a fresh
process that restores a checkpoint.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from rl_apps.errors import ResourceError
from rl_apps.local_ray import restrict_token, start_local_ray
from rl_apps.resources import gpu_fallback

# Ray reads these at import time: keep a local run quiet and off the network.
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("WANDB_MODE", "offline")


def quiet_ray_logs(verbose: bool = False) -> None:
    """Shows only errors from Ray's Python loggers unless ``verbose`` (our output stays).

    RLlib sets its loggers' levels when it is first imported, so it is imported first.
    """
    import ray.rllib  # noqa: F401

    level = logging.INFO if verbose else logging.ERROR
    for name in ("ray", "ray.rllib", "ray.tune", "ray.data"):
        logging.getLogger(name).setLevel(level)


@dataclass(frozen=True)
class ResourceRequest:
    """CPUs and GPUs an AlgorithmConfig's actors will ask Ray for."""

    cpus: float
    gpus: float
    detail: str
    custom: dict[str, float] = field(default_factory=dict)


def resource_request(config: Any) -> ResourceRequest:
    """What the env runners, evaluation runners and remote learners of ``config`` request."""
    runners = config.num_env_runners * config.num_cpus_per_env_runner
    evaluators = (config.evaluation_num_env_runners or 0) * config.num_cpus_per_env_runner
    gpus_per_learner = config.num_gpus_per_learner
    cpus_per_learner = config.num_cpus_per_learner
    if cpus_per_learner == "auto":
        cpus_per_learner = 0 if gpus_per_learner else 1
    learners = config.num_learners * cpus_per_learner
    gpus = config.num_learners * gpus_per_learner if config.num_learners else gpus_per_learner
    gpus += config.num_env_runners * config.num_gpus_per_env_runner
    detail = (
        f"{config.num_env_runners} env runner(s) x {config.num_cpus_per_env_runner} CPU, "
        f"{config.evaluation_num_env_runners or 0} evaluation runner(s), "
        f"{config.num_learners} remote learner(s) x {cpus_per_learner} CPU "
        f"x {gpus_per_learner} GPU"
    )
    custom = _scaled(config.custom_resources_per_env_runner, config.num_env_runners)
    learner_custom = _scaled(config.custom_resources_per_learner, config.num_learners)
    for name, amount in learner_custom.items():
        custom[name] = custom.get(name, 0.0) + amount
    return ResourceRequest(runners + evaluators + learners, gpus, detail, custom)


def _scaled(per_actor: dict[str, float] | None, count: int) -> dict[str, float]:
    return {name: float(amount) * count for name, amount in (per_actor or {}).items()}


def local_resources() -> dict[str, float]:
    """What a local Ray instance started by ``start_ray`` will offer."""
    gpus = 0.0
    try:
        import torch

        gpus = float(torch.cuda.device_count())
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    return {"CPU": float(os.cpu_count() or 1), "GPU": gpus}


def check_resources(config: Any, available: dict[str, float]) -> ResourceRequest:
    """Raises ResourceError when the cluster can never satisfy the config's request."""
    request = resource_request(config)
    cpus, gpus = available.get("CPU", 0.0), available.get("GPU", 0.0)
    if request.cpus > cpus + 1e-9:
        raise ResourceError(
            f"the spec requests {request.cpus:g} CPUs ({request.detail}) but the Ray cluster "
            f"has {cpus:g}; lower env_runners.num_env_runners or "
            "env_runners.num_cpus_per_env_runner (fractions such as 0.5 are allowed)"
        )
    if request.gpus > gpus + 1e-9:
        raise ResourceError(
            f"the spec requests {request.gpus:g} GPUs ({request.detail}) but the Ray cluster "
            f"has {gpus:g}; set learners.num_gpus_per_learner: 0 to train on CPU, or "
            "resources.allow_cpu_fallback: true to fall back to CPU when there is no GPU"
        )
    for name, amount in request.custom.items():
        if amount > available.get(name, 0.0) + 1e-9:
            have = ", ".join(sorted(k for k in available if k not in ("CPU", "GPU")))
            raise ResourceError(
                f"the spec requests {amount:g} of the custom resource {name!r} "
                f"(env_runner_resources / learner_resources) but the Ray cluster has "
                f"{available.get(name, 0.0):g}; start a node with --resources "
                f"'{{\"{name}\": 1}}' (cluster resources: {have or 'none'})"
            )
    return request


def fit_resources(
    config: Any, spec: Any, available: dict[str, float], echo: Any = None
) -> ResourceRequest:
    """Applies the spec's CPU fallback (warning through ``echo``), then checks the request."""
    allow = bool(spec.resources and spec.resources.allow_cpu_fallback)
    warning = gpu_fallback(config, available.get("GPU", 0.0), allow)
    if warning and echo:
        echo(warning)
    return check_resources(config, available)


def current_resources(address: str | None) -> dict[str, float] | None:
    """Resources of the Ray instance this process is connected to, or of the local machine.

    None when ``address`` names a cluster that is not connected yet (check after connecting).
    """
    import ray

    if ray.is_initialized():
        return dict(ray.cluster_resources())
    return None if address else local_resources()


@contextmanager
def ray_runtime(address: str | None = None) -> Iterator[dict[str, float]]:
    """Connects to ``address`` or starts a small local Ray instance; yields its resources.

    A local instance listens on 127.0.0.1 only; either way Ray's token file is made private
    (``rl_apps.local_ray``).

    Shuts down only what it started, so a caller that already runs Ray (a test session,
    a notebook) keeps its instance.
    """
    import ray

    started = not ray.is_initialized()
    if started:
        level = logging.getLogger("ray").level or logging.WARNING
        kwargs: dict[str, Any] = {"include_dashboard": False, "logging_level": level}
        if address:
            ray.init(address=address, **kwargs)
            restrict_token()
        else:
            # "local": always a new instance, never a cluster found in /tmp/ray (use --address),
            # listening on loopback only (rl_apps.local_ray)
            start_local_ray(num_cpus=os.cpu_count(), log_to_driver=False, **kwargs)
    try:
        yield dict(ray.cluster_resources())
    finally:
        if started:
            ray.shutdown()
