"""Making sure env runners act with the learner's weights (after a restore, for instance).

Why RLlib 2.60 can leave env runners on stale weights after ``restore_from_path``: an env
runner only takes weights whose ``weights_seq_no`` is newer than its own
(``MultiAgentEnvRunner.set_state``), and ``EnvRunnerGroup.sync_weights`` does not wait by
default (``timeout_seconds=0``). A runner whose counter is already at or past the restored
learner's keeps acting with its old weights, silently, and keeps skipping later syncs until
the learner's counter overtakes it.

``sync_runner_weights`` therefore pushes the learner's weights with sequence number 0 (which
RLlib treats as "force"), sets each runner's counter to the learner's, waits for every
runner, and then compares every runner's parameters with the learner's, raising if any differ.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ray.rllib.core import COMPONENT_RL_MODULE
from ray.rllib.utils.metrics import WEIGHTS_SEQ_NO

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


def sync_runner_weights(algo: Any) -> None:
    """Forces the learner's weights onto every env runner, waits, and verifies them."""
    import ray

    learner_state = algo.learner_group.get_state(components="learner/rl_module")["learner"]
    seq_no = int(learner_state[WEIGHTS_SEQ_NO])
    weights_ref = ray.put({COMPONENT_RL_MODULE: learner_state[COMPONENT_RL_MODULE]})

    def force(runner: Any) -> None:
        runner.set_state({**ray.get(weights_ref), WEIGHTS_SEQ_NO: 0})  # 0: always applied
        runner._weights_seq_no = seq_no  # so later (newer) syncs are not skipped

    algo.env_runner_group.foreach_env_runner(force, local_env_runner=True)
    mismatches = runner_weight_mismatches(algo)
    if mismatches:
        shown = ", ".join(mismatches[:5])
        raise RunError(f"env runners did not take the restored weights: {shown}")
