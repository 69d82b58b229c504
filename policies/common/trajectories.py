"""Per-agent trajectories in a learner batch, and GAE over them (no Ray state).

Layout: RLlib's ``AddOneTsToEpisodesAndTruncate`` learner connector gives every agent
trajectory of ``T`` steps one extra row, the observation after the last step (its value is
the bootstrap), with a zero reward and no loss weight. A module's batch is then its
trajectories one after another, ``T + 1`` rows each: ``N`` rows in all. Every on-policy
algorithm that estimates advantages or returns from per-agent episodes (MAPPO, GMAC, IA2C,
MAA2C, COMA's per-agent view, ...) reads it this way.

- ``Trajectories``: how a module's batch splits into trajectories, and the move between the
  flat ``[N, ...]`` rows and the ``[B, seq_len, ...]`` chunks of a recurrent module.
- ``trajectory_gae``: ``policies.common.gae.gae`` on each trajectory of the flat rows.

``Trajectories.pad`` uses RLlib's ``split_and_zero_pad_n_episodes`` (a pure numpy function),
so the padding is exactly the one RLlib's own connectors make.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
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

    Args:
        values: ``[N]`` value of every row (in reward units).
        rewards: ``[N]`` reward of every row (the bootstrap rows' are ignored).
        lengths: Rows of each trajectory (``T + 1``), summing to ``N``.
        terminated: Per trajectory, whether it ended in a terminal state (no bootstrap).
        gamma: Discount factor.
        lambda_: GAE's lambda.

    Returns:
        Advantages and value targets for every row, ``[N]`` each (float64); the bootstrap
        rows get 0 and their own value (they carry no loss weight).

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

    Attributes:
        lengths: Rows of each trajectory (``T + 1``).
        terminated: Per trajectory, whether it ended in a terminal state.
        seq_len: The module's ``max_seq_len`` if it is stateful, else None.

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


def trajectory_n_step(
    bootstrap_values: np.ndarray,
    rewards: np.ndarray,
    lengths: list[int],
    terminated: list[bool],
    gamma: float,
    n: int,
) -> np.ndarray:
    """N-step returns over consecutive trajectories, each ``T + 1`` rows (see above).

    ``G_t = r_t + ... + gamma^(m-1) r_(t+m-1) + gamma^m V(s_(t+m))`` with ``m = min(n, T - t)``:
    every return stops at the trajectory's end, where it bootstraps from the bootstrap row's
    value unless the trajectory terminated (truncation bootstraps, termination does not).

    Args:
        bootstrap_values: ``[N]`` the values to bootstrap from (e.g. a target critic's), in
            reward units, one per row.
        rewards: ``[N]`` reward of every row (the bootstrap rows' are ignored).
        lengths: Rows of each trajectory (``T + 1``), summing to ``N``.
        terminated: Per trajectory, whether it ended in a terminal state.
        gamma: Discount factor.
        n: Steps before bootstrapping (>= 1).

    Returns:
        ``[N]`` float64 returns; the bootstrap rows get their own value (no loss weight).

    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    values = np.asarray(bootstrap_values, np.float64)
    returns = values.copy()  # [N]
    start = 0
    for length, ended in zip(lengths, terminated, strict=True):
        steps = length - 1
        r = np.asarray(rewards[start : start + steps], np.float64)  # [T]
        v = values[start : start + length].copy()  # [T + 1]
        if ended:
            v[steps] = 0.0
        for t in range(steps):
            m = min(n, steps - t)
            discounts = gamma ** np.arange(m)
            returns[start + t] = float(discounts @ r[t : t + m]) + gamma**m * v[t + m]
        start += length
    if start != len(values):
        raise ValueError(f"trajectory lengths sum to {start}, the batch has {len(values)} rows")
    return returns
