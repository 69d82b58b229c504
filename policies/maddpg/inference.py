"""Inferring the other agents' policies (MADDPG paper, section 4.2), pure torch (no Ray).

Agent ``i`` keeps an approximation ``mu-hat_i^j`` of every other agent ``j``'s policy, fitted
from ``j``'s replayed observations and actions by maximising the log-likelihood with an entropy
bonus:

    L(phi_i^j) = -E_{o_j, a_j}[ log mu-hat_i^j(a_j | o_j) + lambda H(mu-hat_i^j(. | o_j)) ]

- Discrete actions: a categorical over the (masked) logits; ``a_j`` the replayed action index.
- Continuous actions: a diagonal Gaussian with mean ``tanh(m)`` (RLlib's normalized action
  space ``[-1, 1]``, where the replayed actions live) and ``log_std`` clamped to
  ``LOG_STD_RANGE``; ``a_j`` the replayed action, clamped to ``[-1, 1]``.

How close an approximation is to the true current policy: ``categorical_kl`` (discrete,
``KL(pi_j || mu-hat)``) or the squared error between the Gaussian's mean and the
deterministic action (continuous, ``mean_squared_error``).

Shapes: ``...`` is any leading shape (``[B, T, n, n - 1]`` in the learner: observer ``i``,
approximated agent ``j``); ``A`` actions or ``d`` action dimensions.
"""

from __future__ import annotations

import math

import torch

#: Clamp of the Gaussian approximation's log standard deviation.
LOG_STD_RANGE = (-5.0, 2.0)


def categorical_log_prob_entropy(
    logits: torch.Tensor, actions: torch.Tensor, allowed: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(log p(a), H(p))`` of ``softmax(logits)``: ``logits [..., A]``, ``actions [...]``.

    ``allowed [..., A]`` (nonzero: allowed) removes masked actions from the distribution.
    """
    if allowed is not None:
        logits = logits.masked_fill(allowed == 0, -1e9)
    log_p = torch.log_softmax(logits, dim=-1)  # [..., A]
    chosen = log_p.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)  # [...]
    p = log_p.exp()
    entropy = -torch.where(p > 0, p * log_p, 0.0).sum(-1)  # [...]
    return chosen, entropy


def gaussian_params(head: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A head ``[..., 2d]`` as ``(mean in [-1, 1], clamped log_std)``, each ``[..., d]``."""
    raw_mean, raw_log_std = head.chunk(2, dim=-1)
    return torch.tanh(raw_mean), raw_log_std.clamp(*LOG_STD_RANGE)


def gaussian_log_prob_entropy(
    mean: torch.Tensor, log_std: torch.Tensor, actions: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(log N(a; mean, std), H)`` of a diagonal Gaussian, summed over the last dim ``d``."""
    z = (actions - mean) / log_std.exp()
    log_prob = -0.5 * z.pow(2) - log_std - 0.5 * math.log(2 * math.pi)  # [..., d]
    entropy = log_std + 0.5 * math.log(2 * math.pi * math.e)  # [..., d]
    return log_prob.sum(-1), entropy.sum(-1)


def inference_loss(
    log_prob: torch.Tensor, entropy: torch.Tensor, valid: torch.Tensor, entropy_coeff: float
) -> torch.Tensor:
    """``-mean(log_prob + entropy_coeff * entropy)`` over the valid entries (``[...]`` each)."""
    mask = valid != 0
    total = torch.where(mask, log_prob + entropy_coeff * entropy, 0.0).sum()
    return -total / mask.sum().clamp(min=1)


def categorical_kl(
    p_logits: torch.Tensor, q_logits: torch.Tensor, allowed: torch.Tensor | None = None
) -> torch.Tensor:
    """``KL(softmax(p) || softmax(q))`` over the last dim (masked actions left out): ``[...]``."""
    if allowed is not None:
        p_logits = p_logits.masked_fill(allowed == 0, -1e9)
        q_logits = q_logits.masked_fill(allowed == 0, -1e9)
    log_p, log_q = torch.log_softmax(p_logits, -1), torch.log_softmax(q_logits, -1)
    p = log_p.exp()
    return torch.where(p > 0, p * (log_p - log_q), 0.0).sum(-1)


def mean_squared_error(mean: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """``mean_d (mean - a)^2``: ``[..., d]`` -> ``[...]``."""
    return (mean - actions).pow(2).mean(-1)


def masked_mean(values: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """The mean of ``values`` over the entries where ``valid`` is nonzero (0 if none)."""
    mask = valid != 0
    return torch.where(mask, values, 0.0).sum() / mask.sum().clamp(min=1)


def joint_with_approximations(own: torch.Tensor, approx: torch.Tensor) -> torch.Tensor:
    """Each observer's joint action: its own action, its approximations' for the others.

    Args:
        own: ``[..., n, A]`` every agent's own (target) action.
        approx: ``[..., n, n - 1, A]`` agent ``i``'s approximations' actions of ``others(n, i)``.

    Returns:
        ``[..., n, n, A]``: row ``i`` is the joint action agent ``i``'s critic target uses.

    """
    n = own.shape[-2]
    rows = []
    for i in range(n):
        blocks = list(approx[..., i, :, :].unbind(-2))
        blocks.insert(i, own[..., i, :])
        rows.append(torch.stack(blocks, dim=-2))  # [..., n, A]
    return torch.stack(rows, dim=-3)


def others(n: int, i: int) -> list[int]:
    """The agents other than ``i``, in order: agent ``i``'s approximations' targets."""
    return [j for j in range(n) if j != i]
