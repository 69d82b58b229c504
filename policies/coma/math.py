"""COMA's math (Foerster et al. 2018, "Counterfactual Multi-Agent Policy Gradients"), no Ray.

Shapes: ``n`` members of a team, ``A`` discrete actions each, ``S`` state features; ``...``
is any leading batch shape, ``[B]`` for one step or ``[B, T]`` for padded episode rows.

- ``critic_inputs``: the central critic's input for every member ``i``, which it maps to
  ``q_values [..., n, A]``: ``Q_i(s, (a, u_-i))`` of each own action ``a``, others' fixed.
- ``counterfactual_baseline`` / ``coma_advantages``: ``b_i = sum_a pi_i(a) Q_i(s, (a, u_-i))``
  and ``A_i = Q_i(s, u) - b_i``; ``expected_advantage`` is ``sum_a pi_i(a) A_i(a)``, zero
  unless the policy puts mass on masked actions (a metric).
- ``coma_policy_loss`` and ``critic_loss``: masked means over the real entries.
- ``coma_targets``: the critic's TD(lambda) or n-step targets, via ``policies.common.targets``;
  ``next_step_values`` aligns the target critic's Q to what those functions expect.

Action masks follow ``policies.common.masking``: nonzero is allowed, and a row with no
allowed action (padding) counts every action as allowed, so its values stay finite.
"""

from __future__ import annotations

import torch

from policies.common.masking import gather_actions
from policies.common.targets import n_step_targets, td_lambda_targets


def critic_inputs(
    state: torch.Tensor,
    actions_onehot: torch.Tensor,
    member_ids: torch.Tensor,
    obs: torch.Tensor | None = None,
    last_actions_onehot: torch.Tensor | None = None,
) -> torch.Tensor:
    """The critic's input of every member: ``[..., n, F]``, member ``i``'s at ``[..., i, :]``.

    Row ``i``, in order: the state ``[S]``; every member's one-hot action in member order,
    member ``i``'s own block zeroed ``[n * A]`` (block ``j`` at ``j * A``); member ``i``'s
    id ``[n_ids]``; if given, its observation ``[O]`` and the last joint action, no block
    zeroed ``[n * A]``. So ``F = S + n * A + n_ids (+ O) (+ n * A)``.

    Args:
        state: ``[..., S]`` global state, e.g. ``[B, S]`` or ``[B, T, S]``.
        actions_onehot: ``[..., n, A]`` one-hot actions of the joint step.
        member_ids: ``[n, n_ids]`` (or ``[..., n, n_ids]``), row ``i`` member ``i``'s id;
            usually ``torch.eye(n)``.
        obs: ``[..., n, O]`` each member's own observation, or None.
        last_actions_onehot: ``[..., n, A]`` one-hot actions of the previous step, or None.

    Returns:
        ``[..., n, F]`` in the dtype of ``state``.

    """
    *lead, n, n_actions = actions_onehot.shape
    rows = (*lead, n)
    if tuple(state.shape[:-1]) != tuple(lead) or member_ids.shape[-2] != n:
        shapes = [tuple(x.shape) for x in (state, actions_onehot, member_ids)]
        raise ValueError(f"expected state [..., S], actions [..., n, A], ids [n, k]: {shapes}")
    others = 1.0 - torch.eye(n, dtype=state.dtype, device=state.device)  # [n, n] j != i
    joint = actions_onehot.to(state.dtype).unsqueeze(-3)  # [..., 1, n, A]
    parts = [
        state.unsqueeze(-2).expand(*rows, state.shape[-1]),  # [..., n, S]
        (joint * others.unsqueeze(-1)).flatten(-2),  # [..., n, n * A] own block zeroed
        member_ids.to(state.dtype).expand(*rows, member_ids.shape[-1]),  # [..., n, n_ids]
    ]
    if obs is not None:
        parts.append(obs.to(state.dtype).expand(*rows, obs.shape[-1]))  # [..., n, O]
    if last_actions_onehot is not None:
        _check_shape("last_actions_onehot", last_actions_onehot, actions_onehot)
        last = last_actions_onehot.to(state.dtype).flatten(-2)  # [..., n * A]
        parts.append(last.unsqueeze(-2).expand(*rows, n * n_actions))  # [..., n, n * A]
    return torch.cat(parts, dim=-1)  # [..., n, F]


def counterfactual_baseline(
    q_values: torch.Tensor, probs: torch.Tensor, action_mask: torch.Tensor | None = None
) -> torch.Tensor:
    """``b_i = sum_a pi_i(a | h_i) Q_i(s, (a, u_-i))`` over the allowed actions: ``[..., n]``.

    Masked actions contribute nothing, whatever their Q (huge, inf, NaN) or probability;
    ``probs`` are not renormalized over the allowed actions (a policy masked with
    ``mask_logits`` already is). Gradients flow into both inputs, and stay finite.

    Args:
        q_values: ``[..., n, A]`` the critic's Q of each own action, the others' fixed.
        probs: ``[..., n, A]`` each member's policy probabilities.
        action_mask: ``[..., n, A]``, nonzero for allowed actions, or None (all allowed).

    """
    _check_shape("probs", probs, q_values)
    allowed = _allowed(action_mask, q_values)  # [..., n, A]
    q = torch.where(allowed, q_values, 0.0)  # [..., n, A]
    p = torch.where(allowed, probs, 0.0)  # [..., n, A]
    return (p * q).sum(-1)  # [..., n]


def coma_advantages(
    q_values: torch.Tensor,
    probs: torch.Tensor,
    actions: torch.Tensor,
    action_mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Counterfactual advantages ``A_i = Q_i(s, u) - b_i``.

    Args:
        q_values: ``[..., n, A]`` the critic's Q of each own action, the others' fixed.
        probs: ``[..., n, A]`` each member's policy probabilities.
        actions: ``[..., n]`` integer actions taken.
        action_mask: ``[..., n, A]``, or None; see ``counterfactual_baseline``.

    Returns:
        ``(advantages, q_taken, baseline)``, each ``[..., n]``: the advantages and the
        baseline detached (no gradient reaches the critic or the policy through them);
        ``q_taken``, the Q of the actions taken, keeps the critic's graph.

    """
    if actions.shape != q_values.shape[:-1]:
        raise ValueError(
            f"actions {tuple(actions.shape)} do not match q_values {tuple(q_values.shape)}"
        )
    q_taken = gather_actions(q_values, actions)  # [..., n]
    baseline = counterfactual_baseline(q_values.detach(), probs.detach(), action_mask)
    return q_taken.detach() - baseline, q_taken, baseline


def expected_advantage(
    q_values: torch.Tensor, probs: torch.Tensor, action_mask: torch.Tensor | None = None
) -> torch.Tensor:
    """``sum_a pi_i(a) (Q_i(a) - b_i)`` over the allowed actions, detached: ``[..., n]``.

    Zero by construction when ``probs`` sum to 1 over the allowed actions; otherwise
    ``b_i (1 - allowed mass)``, so it flags a policy whose mask disagrees with the critic's
    (log it; it is blind where ``b_i = 0``).
    """
    q, p = q_values.detach(), probs.detach()
    baseline = counterfactual_baseline(q, p, action_mask)  # [..., n]
    gaps = p * (q - baseline.unsqueeze(-1))  # [..., n, A]
    return torch.where(_allowed(action_mask, q), gaps, 0.0).sum(-1)  # [..., n]


def coma_policy_loss(
    logp_taken: torch.Tensor, advantages: torch.Tensor, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """``-mean(log pi_i(u_i | h_i) A_i)`` over the valid entries; 0 if there is none.

    Args:
        logp_taken: ``[B, (T,) n]`` log-probabilities of the actions taken.
        advantages: Same shape; detached here.
        mask: ``[B, (T,)]`` or ``[B, (T,) n]``, nonzero on valid entries, or None (all).

    """
    _check_shape("advantages", advantages, logp_taken)
    valid = _valid(mask, logp_taken)  # [B, (T,) n]
    logp = torch.where(valid, logp_taken, 0.0)
    adv = torch.where(valid, advantages.detach(), 0.0)
    return -(logp * adv).sum() / valid.sum().clamp(min=1)


def critic_loss(
    q_taken: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean squared TD error ``(Q_i(s, u) - y_i)^2`` over the valid entries; 0 if none.

    Args:
        q_taken: ``[B, (T,) n]`` the critic's Q of the actions taken.
        targets: Same shape; detached here.
        mask: ``[B, (T,)]`` or ``[B, (T,) n]``, nonzero on valid entries, or None (all).
            Padding gets neither loss nor gradient, even if it holds NaNs.

    """
    _check_shape("targets", targets, q_taken)
    valid = _valid(mask, q_taken)  # [B, (T,) n]
    errors = torch.where(valid, q_taken - targets.detach(), 0.0)
    return errors.pow(2).sum() / valid.sum().clamp(min=1)


def coma_targets(
    rewards: torch.Tensor,
    terminated: torch.Tensor,
    target_q_taken: torch.Tensor,
    filled: torch.Tensor,
    gamma: float,
    lambda_: float | None = None,
    n_step: int | None = None,
) -> torch.Tensor:
    """The critic's targets ``y_i``: TD(lambda) with ``lambda_``, or n-step with ``n_step``.

    ``target_q_taken[b, t, i]`` must be the value *after* step ``t``: the target critic's
    ``Q_i(s_{t+1}, u_{t+1})`` at the joint action of step ``t + 1``, not ``Q_i(s_t, u_t)``
    (the convention of ``policies.common.targets``). From a same-step ``[B, T + 1, n]``
    tensor pass ``q[:, 1:]``; from ``[B, T, n]`` plus each row's bootstrap, use
    ``next_step_values``. Only ``terminated`` stops the bootstrap at a row's last real step;
    a time limit or a cut chunk bootstraps from ``target_q_taken`` there.

    Args:
        rewards: ``[B, T]`` team rewards, or ``[B, T, n]`` each member's own (PAC).
        terminated: ``[B, T]`` terminal flags.
        target_q_taken: ``[B, T, n]`` target-critic Q after each step (NaN is fine where
            ignored: terminal steps and padding).
        filled: ``[B, T]`` 1 on real steps, 0 on padding.
        gamma: Discount factor.
        lambda_: TD(lambda) parameter in ``[0, 1]`` (COMA: 0.8), or None.
        n_step: Steps of n-step returns, or None; give exactly one of the two.

    Returns:
        ``[B, T, n]`` detached targets, 0 on padding.

    """
    if (lambda_ is None) == (n_step is None):
        raise ValueError(f"give exactly one of lambda_ and n_step, got {lambda_}, {n_step}")
    if lambda_ is None:
        return n_step_targets(rewards, terminated, target_q_taken, filled, gamma, n_step)
    if not 0.0 <= lambda_ <= 1.0:
        raise ValueError(f"lambda_ must be in [0, 1], got {lambda_}")
    return td_lambda_targets(rewards, terminated, target_q_taken, filled, gamma, lambda_)


def next_step_values(
    q_taken: torch.Tensor, bootstrap: torch.Tensor, filled: torch.Tensor
) -> torch.Tensor:
    """Same-step Q ``[B, T, ...]`` -> the after-step values ``coma_targets`` expects.

    ``out[:, t] = q_taken[:, t + 1]``, except at a row's last real step ``e``, where it is
    ``bootstrap``: ``Q(s_{e+1}, u_{e+1})`` at the observation the row continues from (the
    joint action taken there for a cut chunk, one sampled from the policies after a time
    limit; anything, even NaN, if the row terminated). 0 on padding.

    Args:
        q_taken: ``[B, T, ...]`` e.g. target-critic ``Q_i(s_t, u_t)``, ``[B, T, n]``.
        bootstrap: ``[B, ...]`` the value after each row's last real step.
        filled: ``[B, T]`` 1 on real steps (a prefix of each row), 0 on padding.

    """
    if filled.shape != q_taken.shape[:2] or bootstrap.shape != q_taken[:, 0].shape:
        shapes = [tuple(x.shape) for x in (q_taken, bootstrap, filled)]
        raise ValueError(
            f"expected q_taken [B, T, ...], bootstrap [B, ...], filled [B, T]: {shapes}"
        )
    real = (filled != 0).reshape(*filled.shape, *(1,) * (q_taken.ndim - 2))  # [B, T, 1...]
    last = real & ~torch.cat([real[:, 1:], torch.zeros_like(real[:, :1])], dim=1)
    following = torch.cat([q_taken[:, 1:], torch.zeros_like(q_taken[:, :1])], dim=1)
    out = torch.where(last, bootstrap.unsqueeze(1), following)  # [B, T, ...]
    return torch.where(real, out, 0.0)


def _allowed(action_mask: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
    """Boolean ``[..., A]`` of allowed actions; all allowed in rows without an allowed one."""
    if action_mask is None:
        return torch.ones_like(like, dtype=torch.bool)
    _check_shape("action_mask", action_mask, like)
    allowed = action_mask != 0
    return allowed | ~allowed.any(-1, keepdim=True)


def _valid(mask: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
    """Boolean mask of ``like``'s shape from ``[B, (T,)]`` or ``[B, (T,) n]`` (None: all)."""
    if mask is None:
        return torch.ones_like(like, dtype=torch.bool)
    if mask.shape == like.shape[:-1]:
        mask = mask.unsqueeze(-1)
    elif mask.shape != like.shape:
        raise ValueError(f"mask {tuple(mask.shape)} does not match {tuple(like.shape)}")
    return (mask != 0).expand(like.shape)


def _check_shape(name: str, x: torch.Tensor, like: torch.Tensor) -> None:
    if x.shape != like.shape:
        raise ValueError(f"{name} {tuple(x.shape)} does not match {tuple(like.shape)}")
