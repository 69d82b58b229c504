"""MAPPO's learner connector: GAE on the (centralized) critic's values, value normalization.

It replaces RLlib's ``GeneralAdvantageEstimation`` in the learner pipeline, after RLlib's
``AddOneTsToEpisodesAndTruncate`` has given every agent trajectory of T steps one extra row:
the observation after the last step (its value is the bootstrap) with a zero reward and no
loss weight. For each module it

1. computes the critic's values (in reward units) for every row, once;
2. runs ``policies.common.gae.gae`` on each trajectory (bootstrap from the extra row unless
   the trajectory ended in a termination);
3. updates the module's value normalizer with the new value targets (once per train batch);
4. stores standardized advantages, raw value targets and the old values (``VF_PREDS``, for
   the clipped value loss) in the batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from ray.rllib.connectors.common.numpy_to_tensor import NumpyToTensor
from ray.rllib.connectors.connector_v2 import ConnectorV2
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.apis.value_function_api import ValueFunctionAPI
from ray.rllib.evaluation.postprocessing import Postprocessing
from ray.rllib.utils.annotations import override
from ray.rllib.utils.numpy import convert_to_numpy

from policies.common.gae import gae


def trajectory_gae(
    values: np.ndarray,
    rewards: np.ndarray,
    lengths: list[int],
    terminated: list[bool],
    gamma: float,
    lambda_: float,
) -> tuple[np.ndarray, np.ndarray]:
    """GAE over consecutive trajectories, each ``T + 1`` rows long (the last: bootstrap row).

    Returns advantages and value targets for every row; the bootstrap rows get 0 and their
    own value (they carry no loss weight).
    """
    advantages = np.zeros_like(values, dtype=np.float64)  # [N]
    targets = values.astype(np.float64).copy()  # [N]
    start = 0
    for length, ended in zip(lengths, terminated, strict=True):
        steps = length - 1
        window = slice(start, start + steps)
        adv, ret = gae(rewards[window], values[start : start + length], ended, gamma, lambda_)
        advantages[window], targets[window] = adv, ret
        start += length
    if start != len(values):
        raise ValueError(f"trajectory lengths sum to {start}, the batch has {len(values)} rows")
    return advantages, targets


@dataclass(frozen=True)
class Trajectories:
    """How a module's batch splits into trajectories (each ``T + 1`` rows, see above)."""

    lengths: list[int]
    terminated: list[bool]
    rewards: np.ndarray  # [N]


class CentralizedGAE(ConnectorV2):
    """GAE from each module's critic (centralized or local) with value normalization."""

    def __init__(
        self, input_observation_space=None, input_action_space=None, *, gamma: float, lambda_: float
    ) -> None:
        super().__init__(input_observation_space, input_action_space)
        self.gamma = gamma
        self.lambda_ = lambda_
        self._to_tensor: NumpyToTensor | None = None

    def _critic_values(self, module: Any, batch: dict) -> np.ndarray:
        """The critic's value of every row, in reward units: ``[N]``."""
        with torch.no_grad():
            return convert_to_numpy(module.compute_values(batch))

    def _extra_columns(self, module: Any, batch: dict, trajectories: Trajectories) -> dict:
        """More learner columns (none here; GMAC adds its distributional targets)."""
        return {}

    def _module_results(self, module: Any, batch: dict, episodes: list) -> dict[str, np.ndarray]:
        if module.is_stateful():
            raise NotImplementedError("recurrent critics are not supported by this connector yet")
        values = self._critic_values(module, batch)  # [N], reward units
        rewards = convert_to_numpy(batch[Columns.REWARDS])
        trajectories = Trajectories(
            lengths=[len(e) for e in episodes],
            terminated=[bool(e.is_terminated) for e in episodes],
            rewards=rewards,
        )
        advantages, targets = trajectory_gae(
            values, rewards, trajectories.lengths, trajectories.terminated, self.gamma, self.lambda_
        )
        valid = _loss_mask(batch, len(values))
        norm = getattr(module, "value_norm", None)
        if norm is not None:
            norm.update(torch.as_tensor(targets[valid]))
        advantages = (advantages - advantages[valid].mean()) / max(1e-4, advantages[valid].std())
        return {
            Postprocessing.ADVANTAGES: advantages.astype(np.float32),
            Postprocessing.VALUE_TARGETS: targets.astype(np.float32),
            Columns.VF_PREDS: values.astype(np.float32),
            **self._extra_columns(module, batch, trajectories),
        }

    @override(ConnectorV2)
    def __call__(self, *, rl_module: Any, episodes: list, batch: dict, **kwargs: Any) -> Any:
        per_agent = list(
            self.single_agent_episode_iterator(episodes, agents_that_stepped_only=False)
        )
        results, device = {}, None
        for module_id, module_batch in batch.items():
            module = rl_module[module_id]
            if not isinstance(module, ValueFunctionAPI):
                continue
            mine = [e for e in per_agent if e.module_id in (None, module_id)]
            results[module_id] = self._module_results(module.unwrapped(), module_batch, mine)
            device = next(module.parameters()).device
        if self._to_tensor is None:
            self._to_tensor = NumpyToTensor(as_learner_connector=True, device=device)
        tensors = self._to_tensor(rl_module=rl_module, batch=results, episodes=episodes)
        for module_id, columns in tensors.items():
            batch[module_id].update(columns)
        return batch


def _loss_mask(batch: dict, size: int) -> np.ndarray:
    mask = batch.get(Columns.LOSS_MASK)
    return np.ones(size, bool) if mask is None else convert_to_numpy(mask).astype(bool)
