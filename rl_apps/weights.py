"""Making sure env runners act with the learner's weights (after a restore, for instance).

RLlib 2.60's ``EnvRunnerGroup.sync_weights`` defaults to ``timeout_seconds=0``: it sends the
weights without waiting, and after ``restore_from_path`` remote env runners were seen still
acting with the old ones. ``sync_runner_weights`` sends them, waits, and then compares every
runner's module parameters with the learner's, raising if any differ.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rl_apps.errors import RunError


def _as_numpy(state: dict[str, Any]) -> dict[str, np.ndarray]:
    out = {}
    for name, value in state.items():
        if hasattr(value, "detach"):
            value = value.detach().cpu().numpy()
        out[name] = np.asarray(value)
    return out


def _runner_states(algo: Any) -> list[dict[str, dict[str, np.ndarray]]]:
    def read(runner: Any) -> dict[str, Any]:
        module = runner.module
        return {mid: _as_numpy(module[mid].get_state()) for mid in module.keys()}

    group = algo.env_runner_group
    remote = group.num_remote_env_runners() > 0
    return group.foreach_env_runner(read, local_env_runner=not remote)


def runner_weight_mismatches(algo: Any) -> list[str]:
    """Names of parameters where some env runner differs from the learner (empty: in sync)."""
    learner = {mid: _as_numpy(state) for mid, state in algo.learner_group.get_weights().items()}
    mismatches = []
    for index, runner in enumerate(_runner_states(algo)):
        for mid, params in runner.items():
            for name, value in params.items():
                reference = learner.get(mid, {}).get(name)
                if reference is None or not np.array_equal(reference, value):
                    mismatches.append(f"env runner {index}: {mid}/{name}")
    return mismatches


def sync_runner_weights(algo: Any, timeout_s: float = 120.0) -> None:
    """Pushes the learner's weights to every env runner, waits, and verifies them."""
    algo.env_runner_group.sync_weights(
        from_worker_or_learner_group=algo.learner_group,
        inference_only=True,
        timeout_seconds=timeout_s,
    )
    mismatches = runner_weight_mismatches(algo)
    if mismatches:
        shown = ", ".join(mismatches[:5])
        raise RunError(f"env runners did not take the restored weights: {shown}")
