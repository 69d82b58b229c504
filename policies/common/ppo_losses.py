"""PPO's clipped losses as MAPPO uses them (Yu et al. 2022): pure torch, no Ray.

All losses are means over the valid entries of tensors of any (equal) shape, ``[B]`` or
``[B, T]``; ``mask`` is an optional bool tensor of valid entries (padding, dead agents).

The value loss follows MAPPO's code, not RLlib's PPO: the error is measured against a prediction
clipped around the old value, ``old + clamp(v - old, -clip, clip)``, and the larger of the
clipped and unclipped errors is taken. The error function is MAPPO's too: half the squared
error, or the Huber loss (MAPPO's default, delta 10), which equals it for ``|e| <= delta``.
(RLlib's PPO instead uses the full squared error and clamps the *loss* at ``vf_clip_param``.)
"""

from __future__ import annotations

import torch

#: Huber delta of MAPPO's critic loss.
MAPPO_HUBER_DELTA = 10.0


def masked_mean(x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean of ``x`` over the entries where ``mask`` is true (all entries if None).

    Masked-out entries neither count nor pass gradients; with no valid entry the result is 0
    (not NaN), so an all-padding minibatch contributes nothing.

    Args:
        x: Any shape.
        mask: Bool (or 0/1) tensor broadcastable to ``x``, or None.

    """
    if mask is None:
        return x.mean()
    valid = mask.bool().expand_as(x)  # same shape as x
    total = torch.where(valid, x, torch.zeros_like(x)).sum()
    return total / valid.sum().clamp(min=1).to(x.dtype)


def clipped_policy_loss(
    logp_new: torch.Tensor,
    logp_old: torch.Tensor,
    advantages: torch.Tensor,
    clip: float,
    mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """PPO's clipped surrogate, negated for minimization.

    ``loss = -mean(min(r * A, clamp(r, 1 - clip, 1 + clip) * A))`` with
    ``r = exp(logp_new - logp_old)``.

    Args:
        logp_new: Log-probabilities of the taken actions under the current policy.
        logp_old: The same under the policy that sampled them (no gradient needed).
        advantages: Advantages (already normalized if wanted).
        clip: Clip parameter epsilon (MAPPO: keep it at or under 0.2).
        mask: Optional bool tensor of valid entries.

    Returns:
        ``(loss, stats)``: a scalar loss, and detached scalars ``clip_fraction`` (share of
        valid entries with ``|r - 1| > clip``, as in SB3/CleanRL) and ``approx_kl`` (the
        estimator ``mean((r - 1) - log r)`` of KL(old || new), Schulman's "k3").

    """
    log_ratio = logp_new - logp_old.detach()
    ratio = torch.exp(log_ratio)
    surrogate = torch.min(ratio * advantages, ratio.clamp(1.0 - clip, 1.0 + clip) * advantages)
    loss = -masked_mean(surrogate, mask)
    with torch.no_grad():
        stats = {
            "clip_fraction": masked_mean(((ratio - 1.0).abs() > clip).to(ratio.dtype), mask),
            "approx_kl": masked_mean((ratio - 1.0) - log_ratio, mask),
        }
    return loss, stats


def clipped_value_loss(
    values: torch.Tensor,
    old_values: torch.Tensor,
    targets: torch.Tensor,
    clip: float | None,
    mask: torch.Tensor | None = None,
    huber_delta: float | None = None,
) -> torch.Tensor:
    """MAPPO's clipped value loss: ``mean(max(f(v - t), f(old + clamp(v - old, ±clip) - t)))``.

    ``values``, ``old_values`` and ``targets`` must be in the same space: with value
    normalization, the critic's (normalized) outputs and the normalized targets.

    Args:
        values: Current critic predictions.
        old_values: Predictions of the critic that the targets were computed with.
        targets: Value targets.
        clip: Value clip parameter (MAPPO uses the policy's clip); None: no clipping,
            ``mean(f(v - t))``.
        mask: Optional bool tensor of valid entries.
        huber_delta: None: ``f(e) = e**2 / 2``; a float: the Huber loss with that delta
            (``e**2 / 2`` for ``|e| <= delta``, ``delta * (|e| - delta / 2)`` beyond).

    Returns:
        The scalar loss.

    """
    loss = _error_loss(values - targets, huber_delta)
    if clip is not None:
        clipped = old_values.detach() + (values - old_values.detach()).clamp(-clip, clip)
        loss = torch.max(loss, _error_loss(clipped - targets, huber_delta))
    return masked_mean(loss, mask)


def _error_loss(error: torch.Tensor, huber_delta: float | None) -> torch.Tensor:
    if huber_delta is None:
        return 0.5 * error.square()
    abs_error = error.abs()
    quadratic = 0.5 * error.square()
    linear = huber_delta * (abs_error - 0.5 * huber_delta)
    return torch.where(abs_error <= huber_delta, quadratic, linear)
