"""Action masks on action values: the best allowed action and its value (no Ray).

``action_mask [..., A]`` is nonzero for allowed actions. A row with no allowed action (padding,
a terminal next state, a dead agent) counts every action as allowed, so every result is a
valid index and finite values stay finite. Used for greedy acting (QMIX's members, PAC's
actors) and for bootstrap values of targets (``policies.common.targets``).

Masking logits for a softmax policy is ``policies.common.networks.mask_logits``.
"""

from __future__ import annotations

import torch


def masked_argmax(q: torch.Tensor, action_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Index of the best allowed action, ``q [..., A]`` -> ``[...]`` (int64).

    Args:
        q: ``[..., A]`` action values.
        action_mask: ``[..., A]``, nonzero for allowed actions, or None (all allowed). A row
            with no allowed action (padding, a terminal next state) is treated as all
            allowed: its plain argmax is returned, so the result is always a valid index.
            Ties go to the lowest index.

    """
    return _masked_fill(q, action_mask).argmax(-1)


def masked_max(q: torch.Tensor, action_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Value of the best allowed action, ``q [..., A]`` -> ``[...]``, as ``masked_argmax``.

    Gradients flow to the chosen entry of ``q``.
    """
    return gather_actions(q, masked_argmax(q, action_mask))


def gather_actions(q: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """The value of each chosen action: ``q [..., A]`` at ``actions [...]`` -> ``[...]``.

    Args:
        q: ``[..., A]`` action values.
        actions: ``[...]`` integer action indices (the leading shape of ``q``).

    """
    return q.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)


def _masked_fill(q: torch.Tensor, action_mask: torch.Tensor | None) -> torch.Tensor:
    """``q`` with disallowed actions at -inf (all allowed in rows without an allowed one)."""
    if action_mask is None:
        return q
    if action_mask.shape != q.shape:
        raise ValueError(
            f"action_mask {tuple(action_mask.shape)} does not match q {tuple(q.shape)}"
        )
    allowed = action_mask != 0
    allowed = allowed | ~allowed.any(-1, keepdim=True)  # no allowed action: all allowed
    return q.masked_fill(~allowed, float("-inf"))
