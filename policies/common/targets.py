"""Returns and TD targets over padded episode batches, and the TD loss (no Ray).

Shared by the value-based and the actor-critic team algorithms: QMIX/VDN/IQL regress
utilities on them, COMA's critic on TD(lambda) targets, PAC's critics on n-step targets.

Batch convention: ``B`` rows, each one episode (or a chunk of one), padded at the end to
``T`` steps. ``filled [B, T]`` is 1 on a row's real steps (a prefix of the row), 0 on padding.
For a real step ``t`` of row ``b``:

- ``rewards[b, t]``: the team reward ``r_t`` of the joint step ``t`` (one per joint step).
- ``terminated[b, t]``: 1 if step ``t`` ended the episode in a terminal state (so at most the
  row's last real step).
- ``target_values[b, t]``: the bootstrap value *after* step ``t``, i.e. a (target) value of
  the next state ``s_{t+1}``: for QMIX/VDN the target ``Q_tot`` of ``s_{t+1}`` at the
  greedy joint action (see ``double_q_greedy_values``), for COMA the target critic's Q of
  the next joint action, for an actor-critic the target ``V(s_{t+1})``. At the last real
  step of an episode truncated by a time limit it is the value of the final observation
  returned by the env; at the last step of a chunk cut mid-episode, the value of the
  observation the episode continues from. Ignored where ``terminated`` and on padding (may
  even be NaN). It is ``values[t + 1]`` of ``policies.common.gae``.

A row's last real step ends every return that reaches it: with a bootstrap from
``target_values`` there unless ``terminated`` (only termination stops the bootstrap, as in
``gae``). Targets are 0 on padding, and ``td_loss`` ignores padding.

``target_values`` may have trailing dimensions, ``[B, T, ...]``, e.g. ``[B, T, n_agents]``
for IQL or per-agent critics (each agent's own target value); ``terminated`` and ``filled``
are then broadcast over them, and so are ``rewards [B, T]``, so every agent gets its own
target from the shared team reward. ``rewards`` of ``target_values``' full shape (``[B, T,
n_agents]``) give each agent its own reward instead (PAC's general-sum critics).

Transitions sampled by RLlib's replay buffers (no time axis) get ``transition_targets``.
Masked greedy actions and values are in ``policies.common.masking``.
"""

from __future__ import annotations

import torch

from policies.common.masking import gather_actions, masked_argmax


def double_q_greedy_values(
    online_q_next: torch.Tensor,
    target_q_next: torch.Tensor,
    next_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Double Q-learning: greedy next actions of the online net, valued by the target net.

    Args:
        online_q_next: ``[..., A]`` online Q-values of the observations after each step,
            e.g. ``[B, T, n_agents, A]`` on episode rows (index ``t`` holds the next
            observation of step ``t``) or ``[B, n_agents, A]`` on transitions.
        target_q_next: ``[..., A]`` target-network Q-values of the same.
        next_mask: ``[..., A]`` action mask of those observations, or None.

    Returns:
        ``[...]`` (e.g. ``[B, T, n_agents]``) the target Q of each agent's masked-greedy
        online action; for QMIX/VDN, mix them with the target mixer and the next state to
        get ``target_values``.

    """
    if online_q_next.shape != target_q_next.shape:
        raise ValueError(
            f"online and target Q-values differ in shape: {tuple(online_q_next.shape)} and"
            f" {tuple(target_q_next.shape)}"
        )
    actions = masked_argmax(online_q_next.detach(), next_mask)  # [...]
    return gather_actions(target_q_next, actions)  # [...]


def n_step_targets(
    rewards: torch.Tensor,
    terminated: torch.Tensor,
    target_values: torch.Tensor,
    filled: torch.Tensor,
    gamma: float,
    n: int,
) -> torch.Tensor:
    """N-step returns ``r_t + ... + gamma^(m-1) r_(t+m-1) + gamma^m V_(t+m-1)``, detached.

    ``m = min(n, steps left in the row)``: a return that reaches the row's last real step
    ``e`` stops there and bootstraps from ``target_values[e]`` (0 if ``terminated[e]``).

    Args:
        rewards: ``[B, T]`` team rewards, or ``[B, T, ...]`` one per agent.
        terminated: ``[B, T]`` terminal flags.
        target_values: ``[B, T, ...]`` bootstrap values after each step.
        filled: ``[B, T]`` 1 on real steps, 0 on padding.
        gamma: Discount factor.
        n: Number of steps, at least 1 (1: one-step TD targets).

    Returns:
        ``[B, T, ...]`` targets in the dtype of ``target_values``; 0 on padding.

    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    r, boot, real, last = _prepare(rewards, terminated, target_values, filled)
    targets = torch.zeros_like(boot)  # [B, T, ...]
    active = real  # [B, T, ...] whether the return from t still reaches step t + k
    for k in range(n):
        last_k = _shift(last, k)  # step t + k is the last real step of its row
        targets = targets + torch.where(active, gamma**k * _shift(r, k), 0.0)
        ends = active & (last_k | (k == n - 1))
        targets = targets + torch.where(ends, gamma ** (k + 1) * _shift(boot, k), 0.0)
        active = active & ~last_k
    return targets


def td_lambda_targets(
    rewards: torch.Tensor,
    terminated: torch.Tensor,
    target_values: torch.Tensor,
    filled: torch.Tensor,
    gamma: float,
    lambda_: float,
) -> torch.Tensor:
    """TD(lambda) returns ``G_t = r_t + gamma ((1 - lambda) V_t + lambda G_(t+1))``, detached.

    ``V_t = target_values[t]``; at the row's last real step ``e`` the return is
    ``G_e = r_e + gamma V_e`` (``r_e`` if ``terminated[e]``). ``lambda_ = 0`` gives the
    one-step targets (``n_step_targets`` with ``n = 1``), ``lambda_ = 1`` the Monte-Carlo
    returns, bootstrapped at truncation.

    Args:
        rewards: ``[B, T]`` team rewards.
        terminated: ``[B, T]`` terminal flags.
        target_values: ``[B, T, ...]`` bootstrap values after each step.
        filled: ``[B, T]`` 1 on real steps, 0 on padding.
        gamma: Discount factor.
        lambda_: TD(lambda) parameter in ``[0, 1]``.

    Returns:
        ``[B, T, ...]`` targets in the dtype of ``target_values``; 0 on padding.

    """
    r, boot, real, last = _prepare(rewards, terminated, target_values, filled)
    returns: list[torch.Tensor] = []
    next_return = torch.zeros_like(boot[:, 0])  # [B, ...] G_(t+1)
    for t in reversed(range(boot.shape[1])):
        mixed = (1.0 - lambda_) * boot[:, t] + lambda_ * next_return  # [B, ...]
        following = torch.where(last[:, t], boot[:, t], mixed)  # [B, ...]
        next_return = torch.where(real[:, t], r[:, t] + gamma * following, 0.0)
        returns.append(next_return)
    if not returns:
        return torch.zeros_like(boot)
    return torch.stack(returns[::-1], dim=1)  # [B, T, ...]


def transition_targets(
    rewards: torch.Tensor,
    terminated: torch.Tensor,
    next_values: torch.Tensor,
    discount: torch.Tensor | float,
) -> torch.Tensor:
    """Targets of sampled transitions: ``r + discount * V(s')``, no bootstrap when terminal.

    For RLlib's n-step transition sampling: ``rewards`` are the already discounted n-step
    sums and ``discount`` is ``gamma ** n_step`` per row.

    Args:
        rewards: ``[B]`` (n-step) team rewards.
        terminated: ``[B]``, 1 where the transition ended in a terminal state.
        next_values: ``[B, ...]`` target values of the next state (``[B, n_agents]`` for IQL).
        discount: Scalar or ``[B]``.

    Returns:
        ``[B, ...]`` detached targets.

    """
    discount = torch.as_tensor(discount, dtype=next_values.dtype, device=next_values.device)
    keep = discount * (1.0 - terminated.to(next_values.dtype))  # [B] or []
    keep = keep.reshape(*keep.shape, *([1] * (next_values.dim() - keep.dim())))
    reward = rewards.to(next_values.dtype)
    reward = reward.reshape(*reward.shape, *([1] * (next_values.dim() - reward.dim())))
    return (reward + keep * next_values).detach()


def td_loss(q_taken: torch.Tensor, targets: torch.Tensor, filled: torch.Tensor) -> torch.Tensor:
    """Mean squared TD error over the real steps; padding gets neither loss nor gradient.

    Args:
        q_taken: ``[B, T, ...]`` Q of the actions taken (``Q_tot`` for QMIX/VDN, ``[B, T,
            n_agents]`` per-agent Qs for IQL).
        targets: Same shape; detached here, no gradient flows into them.
        filled: ``[B, T]`` 1 on real steps, 0 on padding.

    Returns:
        A scalar: the mean of ``(q_taken - targets)^2`` over real steps (and trailing
        dimensions); 0 if there is none.

    """
    if targets.shape != q_taken.shape or filled.shape != q_taken.shape[:2]:
        raise ValueError(
            f"expected q_taken and targets [B, T, ...] and filled [B, T], got"
            f" {tuple(q_taken.shape)}, {tuple(targets.shape)} and {tuple(filled.shape)}"
        )
    real = _expand(filled != 0, q_taken)  # [B, T, ...]
    errors = torch.where(real, q_taken - targets.detach(), 0.0)  # [B, T, ...]
    return errors.pow(2).sum() / real.sum().clamp(min=1)


def _prepare(
    rewards: torch.Tensor,
    terminated: torch.Tensor,
    target_values: torch.Tensor,
    filled: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Rewards, bootstrap values, real steps and last real steps, all ``[B, T, ...]``.

    Padding and terminal bootstrap values are zeroed (so NaNs there do no harm).
    """
    v = target_values.detach()  # [B, T, ...]
    own_rewards = v.ndim > 2 and rewards.shape == v.shape  # one reward per agent
    pairs = [(x, v.shape[:2]) for x in (terminated, filled)]
    pairs.append((rewards, v.shape if own_rewards else v.shape[:2]))
    if v.ndim < 2 or any(x.shape != shape for x, shape in pairs):
        raise ValueError(
            f"expected rewards, terminated and filled [B, T] and target_values [B, T, ...] (or"
            f" rewards of target_values' shape), got"
            f" {[tuple(x.shape) for x in (rewards, terminated, target_values, filled)]}"
        )
    real = _expand(filled != 0, v)
    term = _expand(terminated != 0, v) & real
    r = rewards.detach() if own_rewards else _expand(rewards.detach(), v)
    r = torch.where(real, r.to(v.dtype), 0.0)
    boot = torch.where(real & ~term, v, 0.0)
    last = real & (term | ~_shift(real, 1))
    return r, boot, real, last


def _shift(x: torch.Tensor, k: int) -> torch.Tensor:
    """``y[:, t] = x[:, t + k]``, zero (False) past the end of the time axis."""
    if k == 0:
        return x
    return torch.cat([x[:, k:], torch.zeros_like(x[:, :k])], dim=1)


def _expand(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``[B, T]`` -> ``[B, T, ...]`` of ``like`` (a view)."""
    return x.reshape(*x.shape, *(1,) * (like.ndim - 2)).expand(like.shape)
