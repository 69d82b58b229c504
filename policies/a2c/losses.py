"""A2C's losses (no Ray): the plain policy gradient and the squared value error."""

from __future__ import annotations

import torch

from policies.common.ppo_losses import masked_mean


def policy_gradient_loss(
    logp: torch.Tensor, advantages: torch.Tensor, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """``-mean(A * log pi(a|o))`` over the valid entries; the advantages carry no gradient.

    Args:
        logp: ``[B]`` (or ``[B, T]``) log-probabilities of the taken actions.
        advantages: Same shape: the advantage of each taken action.
        mask: Same shape, 1 where the entry carries loss weight (None: all).

    """
    return -masked_mean(advantages.detach() * logp, mask)


def value_error_loss(
    values: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """``mean((V - target)^2)`` over the valid entries (targets carry no gradient)."""
    return masked_mean((values - targets.detach()) ** 2, mask)
