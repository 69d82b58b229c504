"""Pareto Actor-Critic's math (Christianos, Papoudakis and Albrecht, TMLR 2023), no Ray.

Shapes: ``n`` members of a team, ``A`` discrete actions each, ``K = A^(n-1)`` joint actions of
the other members, ``S`` state features; ``...`` is any leading batch shape.

PAC trains each member ``i`` as if the others played the joint action best for ``i``:

- ``other_joint_actions``: the table of every joint action of the others, per member,
  ``[n, K, n]`` (member ``i``'s own entry is a 0 placeholder, its block is zeroed later);
  ``joint_table_rows`` is ``K``, the critic rows per sample and member that cost buys.
- ``others_onehot`` / ``pareto_inputs``: those joint actions as the critic's input, laid out
  exactly as ``policies.coma.math.critic_inputs`` (state, every member's one-hot action with
  the own block zeroed, the member's id), so one critic serves both passes.
- ``others_available``: which table rows use only actions the others may take (masks).
- ``pareto_max``: ``Qmax_i(s, a_i) = max over available a_-i of Q_i(s, a_-i)[a_i]``.
- ``pac_advantages``: ``A_i = Qmax_i(s, a_i) - V_i(s)``, detached.
- ``entropy_schedule``: the entropy coefficient, linear from a large start to its end over
  the first part of training, as RLlib's ``[[timestep, value], ...]`` schedule.
"""

from __future__ import annotations

import itertools

import torch

from policies.common.masking import gather_actions

#: Default cap on ``joint_table_rows`` (PAC's ``training.max_joint_rows``).
MAX_JOINT_ROWS = 4096


def joint_table_rows(n_agents: int, n_actions: int) -> int:
    """``K = n_actions ** (n_agents - 1)``: joint actions of the others, per member."""
    if n_agents < 1 or n_actions < 1:
        raise ValueError(f"need at least one agent and action, got {n_agents}, {n_actions}")
    return n_actions ** (n_agents - 1)


def other_joint_actions(n_agents: int, n_actions: int) -> torch.Tensor:
    """Every joint action of the other members, for each member: ``[n, K, n]`` (long).

    Row ``[i, k]`` is a full joint action whose entries ``j != i`` run over the others'
    joint actions in ``itertools.product`` order (the last other member fastest); entry
    ``i`` is 0, a placeholder (the critic never sees member ``i``'s own action).
    """
    others = list(itertools.product(range(n_actions), repeat=n_agents - 1))  # K tuples
    table = torch.zeros(n_agents, len(others), n_agents, dtype=torch.long)
    for i in range(n_agents):
        columns = [j for j in range(n_agents) if j != i]
        if columns:
            table[i][:, columns] = torch.tensor(others, dtype=torch.long)
    return table


def others_onehot(table: torch.Tensor, n_actions: int) -> torch.Tensor:
    """The table's joint actions as one-hot blocks, member ``i``'s own zeroed: ``[n, K, n*A]``."""
    n = table.shape[0]
    onehot = torch.nn.functional.one_hot(table, n_actions).float()  # [n, K, n, A]
    others = (1.0 - torch.eye(n)).reshape(n, 1, n, 1)  # [n, 1, n, 1] j != i
    return (onehot * others).flatten(-2)  # [n, K, n * A]


def pareto_inputs(
    state: torch.Tensor, onehot_table: torch.Tensor, member_ids: torch.Tensor
) -> torch.Tensor:
    """The critic's input for every member and every joint action of the others.

    Args:
        state: ``[..., S]`` global state.
        onehot_table: ``[n, K, n * A]`` from ``others_onehot``.
        member_ids: ``[n, n_ids]``, row ``i`` member ``i``'s id (usually ``torch.eye(n)``).

    Returns:
        ``[..., n, K, S + n * A + n_ids]``: row ``[..., i, k]`` is what
        ``policies.coma.math.critic_inputs`` gives member ``i`` when the others play
        ``table[i, k]``.

    """
    n, k, _ = onehot_table.shape
    if member_ids.shape[0] != n:
        raise ValueError(f"member_ids {tuple(member_ids.shape)} do not match {n} members")
    lead = state.shape[:-1]
    parts = [
        state.reshape(*lead, 1, 1, state.shape[-1]).expand(*lead, n, k, state.shape[-1]),
        onehot_table.to(state).expand(*lead, *onehot_table.shape),
        member_ids.to(state).reshape(n, 1, -1).expand(*lead, n, k, member_ids.shape[-1]),
    ]
    return torch.cat(parts, dim=-1)  # [..., n, K, F]


def others_available(action_mask: torch.Tensor | None, table: torch.Tensor) -> torch.Tensor:
    """Whether every other member may take its action in each table row: ``[..., n, K]``.

    Args:
        action_mask: ``[..., n, A]``, nonzero for allowed actions, or None (all allowed). A
            member with no allowed action (padding) counts every action as allowed.
        table: ``[n, K, n]`` from ``other_joint_actions``.

    """
    n, k, _ = table.shape
    if action_mask is None:
        return torch.ones(n, k, dtype=torch.bool, device=table.device)
    allowed = action_mask != 0
    allowed = allowed | ~allowed.any(-1, keepdim=True)  # [..., n, A]
    own = torch.eye(n, dtype=torch.bool, device=allowed.device)  # [n, n]
    checks = []
    for j in range(n):
        member_j = allowed[..., j, :][..., table[:, :, j]]  # [..., n, K]
        checks.append(member_j | own[:, j].reshape(n, 1))  # own action: no constraint
    return torch.stack(checks, dim=-1).all(-1)  # [..., n, K]


def pareto_max(q_all: torch.Tensor, available: torch.Tensor | None = None) -> torch.Tensor:
    """``Qmax_i(s, a_i)``: the max over the others' available joint actions: ``[..., n, A]``.

    Args:
        q_all: ``[..., n, K, A]`` the critic's Q of each own action, for each joint action
            of the others.
        available: ``[..., n, K]`` (or broadcastable) from ``others_available``, or None.

    """
    if available is None:
        return q_all.max(dim=-2).values
    keep = available.unsqueeze(-1).expand(q_all.shape)  # [..., n, K, A]
    return torch.where(keep, q_all, -torch.inf).max(dim=-2).values  # [..., n, A]


def pac_advantages(
    pareto_q: torch.Tensor, actions: torch.Tensor, values: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``A_i = Qmax_i(s, a_i) - V_i(s)``, detached, and ``Qmax_i(s, a_i)``: ``[..., n]`` each.

    Args:
        pareto_q: ``[..., n, A]`` from ``pareto_max``.
        actions: ``[..., n]`` the members' actions.
        values: ``[..., n]`` the state-value critic's ``V_i(s)``.

    """
    if actions.shape != pareto_q.shape[:-1] or values.shape != actions.shape:
        shapes = [tuple(x.shape) for x in (pareto_q, actions, values)]
        raise ValueError(f"expected pareto_q [..., n, A], actions and values [..., n]: {shapes}")
    optimistic = gather_actions(pareto_q.detach(), actions)  # [..., n]
    return optimistic - values.detach(), optimistic


def entropy_schedule(start: float, end: float, anneal_steps: int) -> list[list[float]]:
    """RLlib's schedule: ``start`` at env step 0, linearly to ``end`` at ``anneal_steps``.

    After ``anneal_steps`` the coefficient stays at ``end`` (RLlib keeps the last value);
    ``anneal_steps <= 0`` gives ``end`` from the start.
    """
    if anneal_steps <= 0:
        return [[0, float(end)]]
    return [[0, float(start)], [int(anneal_steps), float(end)]]
