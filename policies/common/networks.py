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


class GRUNet(nn.Module):
    """MLP features, one GRU layer, a linear head: rMAPPO's recurrent actor or critic.

    Args:
        in_size: Input features.
        hidden: MLP sizes; the last one is the GRU's input size.
        cell_size: The GRU's hidden state size.
        out_size: Output features.
        activation: One of ``ACTIVATIONS``.
        out_gain: Orthogonal gain of the head.

    """

    def __init__(
        self,
        in_size: int,
        hidden: Sequence[int],
        cell_size: int,
        out_size: int,
        activation: str = "tanh",
        out_gain: float = 1.0,
    ) -> None:
        super().__init__()
        *body, width = list(hidden) or [cell_size]
        self.features = nn.Sequential(
            mlp(in_size, body, width, activation), ACTIVATIONS[activation]()
        )
        self.gru = nn.GRU(width, cell_size, batch_first=True)
        for name, param in self.gru.named_parameters():
            if name.startswith("weight"):
                nn.init.orthogonal_(param)
            else:
                nn.init.zeros_(param)
        self.head = _init(nn.Linear(cell_size, out_size), out_gain)

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x [B, T, in]``, ``h [B, cell]`` -> (``[B, T, out]``, next state ``[B, cell]``)."""
        out, h_n = self.gru(self.features(x), h.unsqueeze(0).contiguous())  # [B, T, cell]
        return self.head(out), h_n.squeeze(0)
