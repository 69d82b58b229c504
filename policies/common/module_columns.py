"""A learner connector that adds per-module columns computed from each module's batch.

On-policy learners (MAPPO's GAE, A2C's n-step returns, COMA's critic targets) compute new
columns from every module's batch and its per-agent episodes once per train batch; this base
class does the plumbing: find each module's episodes, call ``module_columns``, turn the numpy
columns into tensors on the module's device and add them to the batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ray.rllib.connectors.common.numpy_to_tensor import NumpyToTensor
from ray.rllib.connectors.connector_v2 import ConnectorV2
from ray.rllib.core.columns import Columns
from ray.rllib.utils.annotations import override
from ray.rllib.utils.numpy import convert_to_numpy


class ModuleColumnsConnector(ConnectorV2):
    """Adds ``module_columns(module, batch, episodes)`` to every module's batch it ``wants``."""

    def __init__(self, input_observation_space=None, input_action_space=None) -> None:
        super().__init__(input_observation_space, input_action_space)
        self._to_tensor: NumpyToTensor | None = None

    def wants(self, module: Any) -> bool:
        """Whether this connector computes columns for ``module`` (default: all)."""
        return True

    def module_columns(self, module: Any, batch: dict, episodes: list) -> dict[str, np.ndarray]:
        """The new columns of one module's batch (numpy, in the batch's layout)."""
        raise NotImplementedError

    @override(ConnectorV2)
    def __call__(self, *, rl_module: Any, episodes: list, batch: dict, **kwargs: Any) -> Any:
        per_agent = list(
            self.single_agent_episode_iterator(episodes, agents_that_stepped_only=False)
        )
        results, device = {}, None
        for module_id, module_batch in batch.items():
            module = rl_module[module_id]
            if not self.wants(module):
                continue
            mine = [e for e in per_agent if e.module_id in (None, module_id)]
            results[module_id] = self.module_columns(module.unwrapped(), module_batch, mine)
            device = next(module.parameters()).device
        if self._to_tensor is None:
            self._to_tensor = NumpyToTensor(as_learner_connector=True, device=device)
        tensors = self._to_tensor(rl_module=rl_module, batch=results, episodes=episodes)
        for module_id, columns in tensors.items():
            batch[module_id].update(columns)
        return batch


def loss_mask(batch: dict, shape: tuple[int, ...]) -> np.ndarray:
    """The batch's loss mask as booleans (all True when the batch has none)."""
    mask = batch.get(Columns.LOSS_MASK)
    return np.ones(shape, bool) if mask is None else convert_to_numpy(mask).astype(bool)


def swap_learner_connector(learner: Any, old: type, new: ConnectorV2) -> None:
    """Replaces the learner pipeline's ``old`` connector (e.g. RLlib's GAE) by ``new``.

    Only where RLlib built its default learner pipeline; a pipeline the user replaced is
    left alone.
    """
    pipeline = learner._learner_connector
    if pipeline is None or not learner.config.add_default_connectors_to_learner_pipeline:
        return
    pipeline.remove(old)
    pipeline.append(new)
