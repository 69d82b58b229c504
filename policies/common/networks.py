"""Plain torch building blocks (no Ray): MLPs and the masking of logits."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {"tanh": nn.Tanh, "relu": nn.ReLU, "elu": nn.ELU}

#: Added to the logits of masked actions: their probability is exactly zero in float32,
#: while the entropy and log-probabilities of the others stay finite.
MASKED_LOGIT = torch.finfo(torch.float32).min


def mlp(
    in_size: int,
    hidden: Sequence[int],
    out_size: int,
    activation: str = "tanh",
    out_gain: float = 1.0,
) -> nn.Sequential:
    """An MLP with orthogonal initialisation (as in CleanRL/MAPPO) and a linear output.

    Args:
        in_size: Input features.
        hidden: Sizes of the hidden layers.
        out_size: Output features.
        activation: One of ``ACTIVATIONS``.
        out_gain: Orthogonal gain of the last layer (0.01 for policy logits, 1 for values).

    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    layers: list[nn.Module] = []
    size = in_size
    for width in hidden:
        layers += [_init(nn.Linear(size, width), 2**0.5), ACTIVATIONS[activation]()]
        size = width
    layers.append(_init(nn.Linear(size, out_size), out_gain))
    return nn.Sequential(*layers)


def _init(layer: nn.Linear, gain: float) -> nn.Linear:
    nn.init.orthogonal_(layer.weight, gain)
    nn.init.zeros_(layer.bias)
    return layer


def mask_logits(logits: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Gives masked actions (mask == 0) zero probability under a softmax.

    Args:
        logits: ``[..., n_actions]``.
        mask: ``[..., n_actions]`` of 0/1, or None for no masking.

    """
    if mask is None:
        return logits
    fill = -3.4028234663852886e38  # MASKED_LOGIT; a local literal so TorchScript can compile it
    return torch.where(mask != 0, logits, torch.full_like(logits, fill))
