"""Value normalization as in MAPPO (Yu et al. 2022, finding 1): no Ray, plain torch.

We chose MAPPO's update, not an exact running (Welford) variance, so that results compare with
the paper's. Each ``update(batch)`` call is one step of a debiased exponential moving average
(EMA) of the batch's mean and mean of squares, whatever the batch size:

    w = beta                                     (0.99999)
    running_mean    <- w * running_mean    + (1 - w) * mean(batch)
    running_mean_sq <- w * running_mean_sq + (1 - w) * mean(batch ** 2)
    debiasing_term  <- w * debiasing_term  + (1 - w)
    mean = running_mean / max(debiasing_term, epsilon)
    var  = max(running_mean_sq / max(debiasing_term, epsilon) - mean ** 2, 1e-2)
    normalize(x) = (x - mean) / sqrt(var),   denormalize(y) = y * sqrt(var) + mean

The debiasing makes ``mean`` the average of the batch means with weights proportional to
``beta ** (updates since)``; with ``beta`` near 1 that is almost the plain average over the
updates so far (each update counts once, not each target). The variance floor of 1e-2 means
``std >= 0.1``; before the first update ``mean = 0`` and ``std = 0.1``, as in MAPPO.

How MAPPO uses it: the critic outputs values in normalized space. Value targets are normalized
before the (clipped) value loss, and the normalizer is updated with the raw targets right
before that; GAE uses denormalized values.

The statistics are float64 buffers: saved in ``state_dict`` and moved by ``.to(device)``.
"""

from __future__ import annotations

import torch
from torch import nn

#: Variance floor of MAPPO's ValueNorm.
MIN_VAR = 1e-2


class ValueNormalizer(nn.Module):
    """Debiased EMA of the mean and mean of squares of value targets (MAPPO's ValueNorm).

    The statistics are scalars: ``update`` reduces over every element of a batch of any shape
    (``[B]``, ``[B, T]``, ...), optionally only over the entries where ``mask`` is true.

    Args:
        beta: EMA weight of the old statistics per ``update`` call.
        epsilon: Floor of the debiasing term (avoids dividing by 0 before the first update).

    """

    running_mean: torch.Tensor
    running_mean_sq: torch.Tensor
    debiasing_term: torch.Tensor

    def __init__(self, beta: float = 0.99999, epsilon: float = 1e-5) -> None:
        super().__init__()
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"beta must be in [0, 1), got {beta}")
        self.beta = beta
        self.epsilon = epsilon
        for name in ("running_mean", "running_mean_sq", "debiasing_term"):
            self.register_buffer(name, torch.zeros((), dtype=torch.float64))

    @torch.no_grad()
    def update(self, targets: torch.Tensor, mask: torch.Tensor | None = None) -> None:
        """One EMA step with the mean and mean of squares of ``targets``.

        Args:
            targets: Raw (unnormalized) value targets, any shape.
            mask: Bool tensor broadcastable to ``targets``; only true entries count. An update
                with no valid entry is skipped.

        """
        x = targets.detach().to(self.running_mean)  # same shape, float64, our device
        if mask is not None:
            x = x[mask.to(self.running_mean.device).bool().expand_as(x)]  # [N]
        if x.numel() == 0:
            return
        w = self.beta
        self.running_mean.mul_(w).add_((1.0 - w) * x.mean())
        self.running_mean_sq.mul_(w).add_((1.0 - w) * x.square().mean())
        self.debiasing_term.mul_(w).add_(1.0 - w)

    def _mean_var(self) -> tuple[torch.Tensor, torch.Tensor]:
        debias = self.debiasing_term.clamp(min=self.epsilon)
        mean = self.running_mean / debias
        var = (self.running_mean_sq / debias - mean.square()).clamp(min=MIN_VAR)
        return mean, var

    @property
    def mean(self) -> torch.Tensor:
        """Debiased running mean (float64 scalar)."""
        return self._mean_var()[0]

    @property
    def std(self) -> torch.Tensor:
        """Square root of the debiased running variance, at least 0.1 (float64 scalar)."""
        return self._mean_var()[1].sqrt()

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """``(x - mean) / std`` in ``x``'s dtype; differentiable in ``x``."""
        mean, var = self._mean_var()
        return ((x - mean.to(x.dtype)) / var.sqrt().to(x.dtype)).to(x.dtype)

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        """``x * std + mean`` in ``x``'s dtype; differentiable in ``x``."""
        mean, var = self._mean_var()
        return (x * var.sqrt().to(x.dtype) + mean.to(x.dtype)).to(x.dtype)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, epsilon={self.epsilon}"


def restore_exact_buffers(module: nn.Module, state: dict) -> None:
    """Copies every float64 buffer of ``module`` from ``state`` without a float32 round trip.

    RLlib's ``set_state`` casts float64 to float32; running statistics (value and reward
    normalization) must come back exactly after a checkpoint restore.
    """
    for name, buffer in module.named_buffers():
        if buffer.dtype == torch.float64 and name in state:
            buffer.copy_(torch.as_tensor(state[name], dtype=buffer.dtype))
