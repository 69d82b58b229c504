"""PAC's math against brute force and hand-computed numbers (pure torch, no Ray)."""

from __future__ import annotations

import itertools

import pytest
import torch

from policies.coma.math import critic_inputs
from policies.common.targets import n_step_targets
from policies.pac.math import (
    entropy_schedule,
    joint_table_rows,
    other_joint_actions,
    others_available,
    others_onehot,
    pac_advantages,
    pareto_inputs,
    pareto_max,
)


def test_joint_table_for_two_agents():
    table = other_joint_actions(2, 3)  # [n, K, n]
    assert table.shape == (2, 3, 2) and joint_table_rows(2, 3) == 3
    assert table[0].tolist() == [[0, 0], [0, 1], [0, 2]]  # agent 1 varies, own entry 0
    assert table[1].tolist() == [[0, 0], [1, 0], [2, 0]]


def test_joint_table_for_three_agents_covers_every_joint_action_of_the_others():
    table = other_joint_actions(3, 2)
    assert table.shape == (3, 4, 3) and joint_table_rows(3, 2) == 4
    for i in range(3):
        others = [j for j in range(3) if j != i]
        rows = {tuple(row[others].tolist()) for row in table[i]}
        assert rows == set(itertools.product(range(2), repeat=2))
        assert table[i][:, i].eq(0).all()
    assert joint_table_rows(4, 6) == 216 and joint_table_rows(1, 5) == 1


def test_pareto_inputs_match_comas_critic_inputs_row_by_row():
    n, a = 3, 2
    table = other_joint_actions(n, a)
    state = torch.randn(4, 5)  # [B, S]
    ids = torch.eye(n)
    rows = pareto_inputs(state, others_onehot(table, a), ids)  # [B, n, K, F]
    assert rows.shape == (4, n, a ** (n - 1), 5 + n * a + n)
    for i, k in itertools.product(range(n), range(a ** (n - 1))):
        joint = torch.nn.functional.one_hot(table[i, k], a).float()  # [n, A]
        expected = critic_inputs(state, joint.expand(4, n, a), ids)[:, i]  # [B, F]
        assert torch.equal(rows[:, i, k], expected)


def _q_all(payoffs: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """``q_all[i, k, a] = payoffs[i][joint table[i, k] with member i playing a]``."""
    n, k, _ = table.shape
    a = payoffs.shape[-1]
    out = torch.zeros(n, k, a)
    for i, row, own in itertools.product(range(n), range(k), range(a)):
        joint = table[i, row].clone()
        joint[i] = own
        out[i, row, own] = payoffs[i][tuple(joint.tolist())]
    return out


@pytest.mark.parametrize("n", [2, 3])
def test_pareto_max_matches_a_brute_force_loop_with_masks(n):
    a = 3
    torch.manual_seed(n)
    payoffs = torch.randn(n, *([a] * n))  # payoffs[i][a_0, ..., a_(n-1)]
    mask = torch.ones(n, a)
    mask[0, 0] = 0  # member 0 may not take action 0
    mask[n - 1, 2] = 0
    table = other_joint_actions(n, a)
    got = pareto_max(_q_all(payoffs, table), others_available(mask, table))  # [n, A]
    for i, own in itertools.product(range(n), range(a)):
        best = -float("inf")
        for joint in itertools.product(range(a), repeat=n):
            others_ok = all(mask[j, joint[j]] for j in range(n) if j != i)
            if joint[i] == own and others_ok:
                best = max(best, float(payoffs[i][joint]))
        assert got[i, own].item() == pytest.approx(best)
    unmasked = pareto_max(_q_all(payoffs, table))
    for i, own in itertools.product(range(n), range(a)):
        assert unmasked[i, own] == payoffs[i].select(i, own).max()


def test_climbing_game_qmax_points_both_agents_at_the_optimum():
    climbing = torch.tensor([[11.0, -30, 0], [-30, 7, 0], [0, 6, 5]])
    payoffs = torch.stack([climbing, climbing])  # both agents' Q of every joint action
    table = other_joint_actions(2, 3)
    qmax = pareto_max(_q_all(payoffs, table))
    assert qmax.tolist() == [[11.0, 7.0, 6.0], [11.0, 7.0, 5.0]]


def test_a_member_without_an_allowed_action_constrains_nothing():
    table = other_joint_actions(2, 2)
    mask = torch.tensor([[1, 0], [0, 0]])  # member 1: a padding row
    available = others_available(mask, table)  # [n, K]
    assert available.tolist() == [[True, True], [True, False]]


def test_pac_advantages_against_hand_computed_numbers():
    pareto_q = torch.tensor([[[11.0, 7.0, 6.0], [11.0, 7.0, 5.0]]], requires_grad=True)
    actions = torch.tensor([[1, 2]])
    values = torch.tensor([[2.0, -1.0]], requires_grad=True)
    advantages, optimistic = pac_advantages(pareto_q, actions, values)
    assert optimistic.tolist() == [[7.0, 5.0]]
    assert advantages.tolist() == [[5.0, 6.0]]
    assert not advantages.requires_grad


def test_n_step_targets_with_each_members_own_reward():
    gamma = 0.5
    rewards = torch.tensor([[[1.0, 10.0], [2.0, 20.0], [0.0, 0.0]]])  # [B, T, n]
    boot = torch.tensor([[[4.0, 40.0], [8.0, 80.0], [0.0, 0.0]]])  # value after each step
    filled = torch.tensor([[1.0, 1.0, 0.0]])
    truncated = n_step_targets(rewards, torch.zeros(1, 3), boot, filled, gamma, n=10)
    assert truncated[0, 0].tolist() == [1 + 0.5 * 2 + 0.25 * 8, 10 + 0.5 * 20 + 0.25 * 80]
    assert truncated[0, 1].tolist() == [2 + 0.5 * 8, 20 + 0.5 * 80]
    terminated = n_step_targets(rewards, torch.tensor([[0.0, 1.0, 0.0]]), boot, filled, gamma, n=10)
    assert terminated[0, 0].tolist() == [1 + 0.5 * 2, 10 + 0.5 * 20]
    assert terminated[0, 2].tolist() == [0.0, 0.0]  # padding


def test_entropy_schedule():
    assert entropy_schedule(20.0, 0.01, 8000) == [[0, 20.0], [8000, 0.01]]
    assert entropy_schedule(20.0, 0.01, 0) == [[0, 0.01]]
