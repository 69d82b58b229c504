"""Running reward standardization, as EPyMARL's ``standardise_rewards`` (no Ray, plain torch).

A running mean and variance over every reward seen (Chan et al.'s parallel update of
Welford's algorithm, started with a pseudo-count of ``epsilon`` at mean 0 and variance 1, as
EPyMARL's ``RunningMeanStd``); ``standardize(r) = (r - mean) / sqrt(var)``. The statistics are
float64 buffers, so checkpoints carry them. Sparse, small rewards (LBF's are at most 1 per
episode, normalized) become large: that is what lets one-step-per-batch actor-critics learn
from them at EPyMARL's learning rates.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class RewardStandardizer(nn.Module):
    """Running mean/variance of rewards; ``standardize`` maps rewards to unit scale."""

    count: torch.Tensor
    mean: torch.Tensor
    var: torch.Tensor

    def __init__(self, epsilon: float = 1e-4) -> None:
        super().__init__()
        self.register_buffer("count", torch.tensor(epsilon, dtype=torch.float64))
        self.register_buffer("mean", torch.zeros((), dtype=torch.float64))
        self.register_buffer("var", torch.ones((), dtype=torch.float64))

    @torch.no_grad()
    def update(self, rewards: torch.Tensor) -> None:
        """Adds a batch of rewards (any shape; every element counts once)."""
        x = rewards.detach().reshape(-1).to(self.mean)
        if x.numel() == 0:
            return
        n, batch_mean = float(x.numel()), x.mean()
        batch_var = x.var(unbiased=False)
        total = self.count + n
        delta = batch_mean - self.mean
        m2 = self.var * self.count + batch_var * n + delta.square() * self.count * n / total
        self.mean.add_(delta * n / total)
        self.var.copy_(m2 / total)
        self.count.copy_(total)

    def standardize(self, rewards: torch.Tensor) -> torch.Tensor:
        """``(r - mean) / sqrt(var)`` in ``rewards``' dtype."""
        scale = self.var.clamp_min(1e-12).sqrt()
        return ((rewards.to(self.mean) - self.mean) / scale).to(rewards.dtype)


def standardized_rewards(
    norm: RewardStandardizer | None, rewards: np.ndarray, extra_rows: np.ndarray
) -> np.ndarray:
    """A learner batch's rewards ``[N]`` standardized by ``norm``, after updating it.

    ``extra_rows`` are the indices of the trajectories' bootstrap rows (no real reward, not
    counted). Without a standardizer the rewards come back unchanged.
    """
    if norm is None:
        return rewards
    real = np.ones(len(rewards), bool)
    real[extra_rows] = False
    tensor = torch.as_tensor(np.asarray(rewards, np.float64))
    norm.update(tensor[torch.as_tensor(real)])
    return norm.standardize(tensor).numpy().astype(np.asarray(rewards).dtype)
