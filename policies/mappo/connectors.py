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
from ray.rllib.utils.postprocessing.zero_padding import split_and_zero_pad_n_episodes

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
    """How a module's batch splits into trajectories (each ``T + 1`` rows, see above).

    For a recurrent (stateful) module RLlib lays the batch out as ``[B, max_seq_len, ...]``:
    each trajectory split into chunks of ``seq_len`` rows, the last chunk zero-padded.
    ``unpad`` turns such columns into flat rows ``[N, ...]`` in trajectory order and ``pad``
    back; for other modules (``seq_len`` None) both return their input.
    """

    lengths: list[int]
    terminated: list[bool]
    seq_len: int | None = None

    def unpad(self, x: Any) -> Any:
        """``[B, seq_len, ...]`` -> ``[N, ...]`` (numpy or torch)."""
        if self.seq_len is None:
            return x
        rows, pieces = 0, []
        for length in self.lengths:
            chunks = -(-length // self.seq_len)  # ceil
            flat = x[rows : rows + chunks].reshape(chunks * self.seq_len, *x.shape[2:])
            pieces.append(flat[:length])
            rows += chunks
        return torch.cat(pieces) if isinstance(x, torch.Tensor) else np.concatenate(pieces)

    def pad(self, x: np.ndarray) -> np.ndarray:
        """``[N, ...]`` -> ``[B, seq_len, ...]``, the layout of the module's batch."""
        if self.seq_len is None:
            return x
        return np.stack(split_and_zero_pad_n_episodes(x, self.lengths, self.seq_len))


class CentralizedGAE(ConnectorV2):
    """GAE from each module's critic (centralized or local) with value normalization."""

    def __init__(
        self, input_observation_space=None, input_action_space=None, *, gamma: float, lambda_: float
    ) -> None:
        super().__init__(input_observation_space, input_action_space)
        self.gamma = gamma
        self.lambda_ = lambda_
        self._to_tensor: NumpyToTensor | None = None

    def _critic_values(self, module: Any, batch: dict, layout: Trajectories) -> np.ndarray:
        """The critic's value of every row, in reward units: ``[N]``."""
        with torch.no_grad():
            return layout.unpad(convert_to_numpy(module.compute_values(batch)))

    def _extra_columns(self, module: Any, layout: Trajectories, rewards: np.ndarray) -> dict:
        """More learner columns, ``[N, ...]`` (none here; GMAC adds its targets)."""
        return {}

    def _module_results(self, module: Any, batch: dict, episodes: list) -> dict[str, np.ndarray]:
        layout = Trajectories(
            lengths=[len(e) for e in episodes],
            terminated=[bool(e.is_terminated) for e in episodes],
            seq_len=module.model_config["max_seq_len"] if module.is_stateful() else None,
        )
        values = self._critic_values(module, batch, layout)  # [N], reward units
        rewards = layout.unpad(convert_to_numpy(batch[Columns.REWARDS]))  # [N]
        advantages, targets = trajectory_gae(
            values, rewards, layout.lengths, layout.terminated, self.gamma, self.lambda_
        )
        valid = layout.unpad(_loss_mask(batch, convert_to_numpy(batch[Columns.REWARDS]).shape))
        norm = getattr(module, "value_norm", None)
        if norm is not None:
            norm.update(torch.as_tensor(targets[valid]))
        advantages = (advantages - advantages[valid].mean()) / max(1e-4, advantages[valid].std())
        results = {
            Postprocessing.ADVANTAGES: advantages.astype(np.float32),
            Postprocessing.VALUE_TARGETS: targets.astype(np.float32),
            Columns.VF_PREDS: values.astype(np.float32),
            **self._extra_columns(module, layout, rewards),
        }
        return {key: layout.pad(column) for key, column in results.items()}

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


def _loss_mask(batch: dict, shape: tuple[int, ...]) -> np.ndarray:
    mask = batch.get(Columns.LOSS_MASK)
    return np.ones(shape, bool) if mask is None else convert_to_numpy(mask).astype(bool)
