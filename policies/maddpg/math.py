"""MADDPG's math, pure torch (no Ray).

Lowe et al. 2017, "Multi-Agent Actor-Critic for Mixed Cooperative-Competitive Environments".

Shapes: ``n`` members of the team that holds every agent, ``A`` discrete actions or ``d``
action dimensions each; ``...`` is any leading batch shape (``[B, T]`` on replayed rows).

- Discrete actions: ``gumbel_straight_through`` gives a one-hot forward value and the
  gradient of the Gumbel-softmax relaxation (Jang et al. 2017), or of its gapped variant
  (``gapped_straight_through``, Tilbury et al. 2023, "Revisiting the Gumbel-Softmax in
  MADDPG"), through which the critic's gradient reaches the actor.
- Continuous actions: ``squash`` is the actor's ``tanh`` output in ``[-1, 1]`` (RLlib's
  normalized action space), ``scale_to_box`` maps it to a Box's ``[low, high]``.
- ``joint_actions``: every member's action as one critic input ``[..., n * A]``, with member
  ``i``'s replaced by its differentiable action (``with_own_action``) for ``i``'s actor loss.
- ``critic_targets``: ``y_i = r_i + gamma (1 - terminated) Q'_i(x', mu'(o'))``; truncation
  bootstraps. ``critic_loss`` / ``actor_loss``: masked means; ``logits_penalty`` is the
  paper's code's ``1e-3 * mean(logits^2)``.
- ``polyak``: ``target <- tau * online + (1 - tau) * target``.
"""

from __future__ import annotations

import torch

#: Estimators of the discrete actor's gradient.
ESTIMATORS = ("straight_through", "gapped")


def gumbel_straight_through(
    logits: torch.Tensor, temperature: float = 1.0, generator: torch.Generator | None = None
) -> torch.Tensor:
    """A one-hot sample from ``softmax(logits)`` whose gradient is the relaxation's.

    Forward: ``one_hot(argmax(logits + g))`` with Gumbel noise ``g`` (a sample of the
    categorical policy); backward: the gradient of ``softmax((logits + g) / temperature)``.
    Masked logits (very negative) are never sampled.
    """
    uniform = torch.rand(logits.shape, generator=generator, device=logits.device)
    gumbel = -torch.log((-torch.log(uniform.clamp(1e-10, 1.0))).clamp_min(1e-10))
    soft = torch.softmax((logits + gumbel) / temperature, dim=-1)
    hard = torch.nn.functional.one_hot(soft.argmax(-1), logits.shape[-1]).to(soft)
    return hard + (soft - soft.detach())  # exactly one-hot forward


def gapped_straight_through(
    logits: torch.Tensor,
    temperature: float = 0.7,
    gap: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The gapped straight-through estimator (Tilbury et al. 2023), one-hot forward.

    A categorical sample ``k`` is drawn; the logits are then pushed so that ``k`` leads every
    other action by at least ``gap`` (``m = logits``, raised at ``k`` to ``max_j m_j + gap``
    where it is below), and the gradient is that of ``softmax(m / temperature)``: no Gumbel
    noise in the gradient, hence lower variance.
    """
    with torch.no_grad():
        probs = torch.softmax(logits, dim=-1)
        flat = probs.reshape(-1, probs.shape[-1])
        sample = torch.multinomial(flat, 1, generator=generator).reshape(probs.shape[:-1])
        hard = torch.nn.functional.one_hot(sample, logits.shape[-1]).to(logits)
        others_max = torch.where(hard.bool(), -torch.inf, logits).max(-1, keepdim=True).values
        lift = (others_max + gap - logits).clamp_min(0.0) * hard  # only at the sample
    soft = torch.softmax((logits + lift) / temperature, dim=-1)
    return hard + (soft - soft.detach())  # exactly one-hot forward


def squash(pre_tanh: torch.Tensor) -> torch.Tensor:
    """The deterministic continuous action in RLlib's normalized space ``[-1, 1]``."""
    return torch.tanh(pre_tanh)


def scale_to_box(action: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    """``[-1, 1]`` -> ``[low, high]`` per dimension (asymmetric bounds allowed)."""
    low, high = torch.as_tensor(low).to(action), torch.as_tensor(high).to(action)
    return low + (action.clamp(-1.0, 1.0) + 1.0) * 0.5 * (high - low)


def joint_actions(actions: torch.Tensor) -> torch.Tensor:
    """``[..., n, A]`` (one-hot or continuous) -> the critic's ``[..., n * A]``."""
    return actions.flatten(-2)


def with_own_action(actions: torch.Tensor, own: torch.Tensor, member: int) -> torch.Tensor:
    """The joint actions ``[..., n, A]`` with member ``member``'s replaced by ``own [..., A]``.

    Only ``own`` carries a gradient: the others' actions are detached (the actor of
    ``member`` is trained through its own block of the critic's input alone).
    """
    blocks = list(actions.detach().unbind(-2))
    blocks[member] = own
    return torch.stack(blocks, dim=-2)


def critic_targets(
    rewards: torch.Tensor, terminated: torch.Tensor, next_q: torch.Tensor, gamma: float
) -> torch.Tensor:
    """``r_i + gamma (1 - terminated) Q'_i(x', mu'(o'))``, detached: ``[..., n]``.

    Args:
        rewards: ``[..., n]`` each member's own reward.
        terminated: ``[...]`` 1 where the step ended the episode in a terminal state (a time
            limit is not: it bootstraps).
        next_q: ``[..., n]`` the target critics at the next state and the target actors'
            actions.
        gamma: Discount factor.

    """
    if rewards.shape != next_q.shape or terminated.shape != rewards.shape[:-1]:
        shapes = [tuple(x.shape) for x in (rewards, terminated, next_q)]
        raise ValueError(f"expected rewards and next_q [..., n], terminated [...]: {shapes}")
    keep = (1.0 - terminated.to(next_q.dtype)).unsqueeze(-1)
    return (rewards.to(next_q.dtype) + gamma * keep * next_q).detach()


def critic_loss(q: torch.Tensor, targets: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the valid entries.

    ``q``, ``targets``: ``[..., n]``; ``valid``: ``[...]`` or ``[..., n]`` (nonzero: a real
    step of a member that is alive).
    """
    mask = _mask(valid, q)
    errors = torch.where(mask, q - targets.detach(), 0.0)
    return errors.pow(2).sum() / mask.sum().clamp(min=1)


def actor_loss(q: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """``-mean Q_i(x, a_1, ..., mu_i(o_i), ..., a_n)`` over the valid entries."""
    mask = _mask(valid, q)
    return -torch.where(mask, q, 0.0).sum() / mask.sum().clamp(min=1)


def logits_penalty(logits: torch.Tensor, valid: torch.Tensor, allowed: torch.Tensor | None):
    """``mean(logits^2)`` over valid entries and allowed actions (``[..., n, A]``)."""
    mask = _mask(valid, logits[..., 0]).unsqueeze(-1).expand(logits.shape)
    if allowed is not None:
        mask = mask & (allowed != 0)
    return torch.where(mask, logits, 0.0).pow(2).sum() / mask.sum().clamp(min=1)


@torch.no_grad()
def polyak(online: torch.nn.Module, target: torch.nn.Module, tau: float) -> None:
    """``target <- tau * online + (1 - tau) * target``, parameter by parameter."""
    for source, dest in zip(online.parameters(), target.parameters(), strict=True):
        dest.mul_(1.0 - tau).add_(source, alpha=tau)


def _mask(valid: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    if valid.shape == like.shape[:-1]:
        valid = valid.unsqueeze(-1)
    elif valid.shape != like.shape:
        raise ValueError(f"valid {tuple(valid.shape)} does not match {tuple(like.shape)}")
    return (valid != 0).expand(like.shape)
