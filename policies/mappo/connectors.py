"""MAPPO's learner connector: GAE on the (centralized) critic's values, value normalization.

It replaces RLlib's ``GeneralAdvantageEstimation`` in the learner pipeline, after RLlib's
``AddOneTsToEpisodesAndTruncate`` has given every agent trajectory of T steps one extra row:
the observation after the last step (its value is the bootstrap) with a zero reward and no
loss weight (the layout of ``policies.common.trajectories``). For each module it

1. computes the critic's values (in reward units) for every row, once;
2. runs ``policies.common.gae.gae`` on each trajectory (``trajectory_gae``), bootstrapping
   from the extra row unless the trajectory ended in a termination;
3. updates the module's value normalizer with the new value targets (once per train batch);
4. stores standardized advantages, raw value targets and the old values (``VF_PREDS``, for
   the clipped value loss) in the batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.apis.value_function_api import ValueFunctionAPI
from ray.rllib.evaluation.postprocessing import Postprocessing
from ray.rllib.utils.annotations import override
from ray.rllib.utils.numpy import convert_to_numpy

from policies.common.module_columns import ModuleColumnsConnector, loss_mask
from policies.common.terminal import ended_in_terminal_state
from policies.common.trajectories import Trajectories, trajectory_gae


class CentralizedGAE(ModuleColumnsConnector):
    """GAE from each module's critic (centralized or local) with value normalization."""

    #: Whether advantages are standardized over the batch (MAPPO: yes).
    standardize = True

    def __init__(
        self, input_observation_space=None, input_action_space=None, *, gamma: float, lambda_: float
    ) -> None:
        super().__init__(input_observation_space, input_action_space)
        self.gamma = gamma
        self.lambda_ = lambda_

    @override(ModuleColumnsConnector)
    def wants(self, module: Any) -> bool:
        return isinstance(module, ValueFunctionAPI)

    def _returns(
        self, module: Any, batch: dict, layout: Trajectories, values: np.ndarray, rewards: Any
    ) -> tuple[np.ndarray, np.ndarray]:
        """(advantages, value targets) of every row ``[N]``: GAE (A2C overrides this)."""
        return trajectory_gae(
            values, rewards, layout.lengths, layout.terminated, self.gamma, self.lambda_
        )

    def _critic_values(self, module: Any, batch: dict, layout: Trajectories) -> np.ndarray:
        """The critic's value of every row, in reward units: ``[N]``."""
        with torch.no_grad():
            return layout.unpad(convert_to_numpy(module.compute_values(batch)))

    def _extra_columns(self, module: Any, layout: Trajectories, rewards: np.ndarray) -> dict:
        """More learner columns, ``[N, ...]`` (none here; GMAC adds its targets)."""
        return {}

    @override(ModuleColumnsConnector)
    def module_columns(self, module: Any, batch: dict, episodes: list) -> dict[str, np.ndarray]:
        layout = Trajectories(
            lengths=[len(e) for e in episodes],
            terminated=[ended_in_terminal_state(e) for e in episodes],
            seq_len=module.model_config["max_seq_len"] if module.is_stateful() else None,
        )
        values = self._critic_values(module, batch, layout)  # [N], reward units
        rewards = layout.unpad(convert_to_numpy(batch[Columns.REWARDS]))  # [N]
        advantages, targets = self._returns(module, batch, layout, values, rewards)
        valid = layout.unpad(loss_mask(batch, convert_to_numpy(batch[Columns.REWARDS]).shape))
        norm = getattr(module, "value_norm", None)
        if norm is not None:
            norm.update(torch.as_tensor(targets[valid]))
        if self.standardize:
            scale = max(1e-4, advantages[valid].std())
            advantages = (advantages - advantages[valid].mean()) / scale
        results = {
            Postprocessing.ADVANTAGES: advantages.astype(np.float32),
            Postprocessing.VALUE_TARGETS: targets.astype(np.float32),
            Columns.VF_PREDS: values.astype(np.float32),
            **self._extra_columns(module, layout, rewards),
        }
        return {key: layout.pad(column) for key, column in results.items()}
