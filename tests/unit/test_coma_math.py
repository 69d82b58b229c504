"""COMA's math by hand: critic inputs, counterfactual baseline and advantages, losses, targets."""

from __future__ import annotations

import pytest
import torch

from policies.coma.math import (
    coma_advantages,
    coma_policy_loss,
    coma_targets,
    counterfactual_baseline,
    critic_inputs,
    critic_loss,
    expected_advantage,
    next_step_values,
)

NAN, INF = float("nan"), float("inf")


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # Tiny tensors: a second thread only contends with whatever else runs on the machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# --- baseline and advantages: 2 agents, 3 actions -------------------------------------------

Q = torch.tensor([[[1.0, 2.0, 3.0], [4.0, 0.0, -2.0]]])  # [B=1, n=2, A=3]
PROBS = torch.tensor([[[0.2, 0.3, 0.5], [0.5, 0.25, 0.25]]])  # [B, n, A]
ACTIONS = torch.tensor([[2, 0]])  # [B, n]
# Agent 1's action 2 is masked; its Q there is garbage.
MASK = torch.tensor([[[1, 1, 1], [1, 1, 0]]])  # [B, n, A]
MASKED_PROBS = torch.tensor([[[0.2, 0.3, 0.5], [0.5, 0.5, 0.0]]])


def test_baseline_and_advantages_by_hand():
    # b_0 = 0.2 * 1 + 0.3 * 2 + 0.5 * 3 = 2.3;  b_1 = 0.5 * 4 + 0.25 * 0 + 0.25 * -2 = 1.5
    # A_0 = Q_0(2) - b_0 = 3 - 2.3 = 0.7;      A_1 = Q_1(0) - b_1 = 4 - 1.5 = 2.5
    torch.testing.assert_close(counterfactual_baseline(Q, PROBS), torch.tensor([[2.3, 1.5]]))
    advantages, q_taken, baseline = coma_advantages(Q, PROBS, ACTIONS)
    torch.testing.assert_close(advantages, torch.tensor([[0.7, 2.5]]))
    torch.testing.assert_close(q_taken, torch.tensor([[3.0, 4.0]]))
    torch.testing.assert_close(baseline, torch.tensor([[2.3, 1.5]]))
    assert expected_advantage(Q, PROBS).abs().max() < 1e-6


@pytest.mark.parametrize("garbage", [1e9, INF, NAN])
def test_a_masked_action_does_not_change_the_baseline(garbage):
    q = Q.clone()
    q[0, 1, 2] = garbage
    # b_1 = 0.5 * 4 + 0.5 * 0 = 2 (action 2 ignored);  A_1 = 4 - 2 = 2;  agent 0 as before.
    expected = torch.tensor([[2.3, 2.0]])
    torch.testing.assert_close(counterfactual_baseline(q, MASKED_PROBS, MASK), expected)
    advantages, _, _ = coma_advantages(q, MASKED_PROBS, ACTIONS, MASK)
    torch.testing.assert_close(advantages, torch.tensor([[0.7, 2.0]]))
    # Even a (wrong) nonzero probability on the masked action is ignored, not renormalized:
    leaky = torch.tensor([[[0.2, 0.3, 0.5], [0.5, 0.5, 1e-6]]])
    torch.testing.assert_close(counterfactual_baseline(q, leaky, MASK), expected)
    assert expected_advantage(q, MASKED_PROBS, MASK).abs().max() < 1e-6


def test_without_the_mask_a_huge_masked_q_leaks_into_the_baseline():
    q = Q.clone()
    q[0, 1, 2] = 1e9
    leaky = torch.tensor([[[0.2, 0.3, 0.5], [0.5, 0.5, 1e-6]]])
    # 0.5 * 4 + 0.5 * 0 + 1e-6 * 1e9 = 1002: why the mask must be applied.
    torch.testing.assert_close(counterfactual_baseline(q, leaky)[0, 1], torch.tensor(1002.0))


def test_expected_advantage_flags_mass_on_masked_actions():
    broken = torch.tensor([[[0.2, 0.3, 0.5], [0.4, 0.4, 0.2]]])  # agent 1: 0.2 on masked
    # b_1 = 0.4 * 4 + 0.4 * 0 = 1.6;  0.4 * (4 - 1.6) + 0.4 * (0 - 1.6) = 0.32 = b_1 * (1 - 0.8)
    gaps = expected_advantage(Q, broken, MASK)
    torch.testing.assert_close(gaps, torch.tensor([[0.0, 0.32]]))


def test_a_row_without_allowed_actions_counts_all_as_allowed():
    mask = torch.zeros(1, 2, 3)  # padding
    torch.testing.assert_close(counterfactual_baseline(Q, PROBS, mask), torch.tensor([[2.3, 1.5]]))


def test_advantages_are_detached_and_q_taken_keeps_the_graph():
    q = Q.clone().requires_grad_()
    probs = PROBS.clone().requires_grad_()
    advantages, q_taken, baseline = coma_advantages(q, probs, ACTIONS)
    assert not advantages.requires_grad
    assert not baseline.requires_grad
    assert not expected_advantage(q, probs).requires_grad
    q_taken.sum().backward()
    assert q.grad.tolist() == [[[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]]  # the taken actions only


def test_baseline_gradients_stay_finite_on_masked_inf():
    q = Q.clone()
    q[0, 1, 2] = INF
    q.requires_grad_()
    probs = MASKED_PROBS.clone().requires_grad_()
    counterfactual_baseline(q, probs, MASK).sum().backward()
    assert torch.isfinite(q.grad).all() and torch.isfinite(probs.grad).all()
    assert q.grad[0, 1, 2] == 0 and probs.grad[0, 1, 2] == 0


def test_shape_errors():
    with pytest.raises(ValueError, match="probs"):
        counterfactual_baseline(Q, PROBS[..., :2])
    with pytest.raises(ValueError, match="action_mask"):
        counterfactual_baseline(Q, PROBS, MASK[..., :2])
    with pytest.raises(ValueError, match="actions"):
        coma_advantages(Q, PROBS, ACTIONS[:, :1])


# --- critic inputs: 3 agents, 2 actions, state [10, 11] -------------------------------------

STATE = torch.tensor([[10.0, 11.0]])  # [B=1, S=2]
ACTS = torch.tensor([[1, 0, 1]])  # [B, n=3]
ONEHOT = torch.nn.functional.one_hot(ACTS, 2).float()  # [B, n, A=2]
IDS = torch.eye(3)  # [n, n]
OBS = torch.tensor([[[7.0], [8.0], [9.0]]])  # [B, n, O=1]
LAST = torch.nn.functional.one_hot(torch.tensor([[0, 1, 0]]), 2).float()  # [B, n, A]


def test_critic_inputs_by_hand():
    x = critic_inputs(STATE, ONEHOT, IDS)
    assert x.shape == (1, 3, 2 + 6 + 3)
    # state | actions of agents 0, 1, 2 with the own block zeroed | one-hot id
    expected = torch.tensor(
        [
            [10, 11, 0, 0, 1, 0, 0, 1, 1, 0, 0],
            [10, 11, 0, 1, 0, 0, 0, 1, 0, 1, 0],
            [10, 11, 0, 1, 1, 0, 0, 0, 0, 0, 1],
        ],
        dtype=torch.float32,
    )
    torch.testing.assert_close(x[0], expected)


def test_critic_inputs_with_obs_and_last_actions():
    x = critic_inputs(STATE, ONEHOT, IDS, obs=OBS, last_actions_onehot=LAST)
    assert x.shape == (1, 3, 2 + 6 + 3 + 1 + 6)
    torch.testing.assert_close(x[..., :11], critic_inputs(STATE, ONEHOT, IDS))
    torch.testing.assert_close(x[0, :, 11], torch.tensor([7.0, 8.0, 9.0]))  # own obs
    last = torch.tensor([1.0, 0, 0, 1, 1, 0]).expand(3, 6)  # the whole last joint action
    torch.testing.assert_close(x[0, :, 12:], last)  # in every row, no block zeroed
    x_obs = critic_inputs(STATE, ONEHOT, IDS, obs=OBS)
    torch.testing.assert_close(x_obs, x[..., :12])
    x_last = critic_inputs(STATE, ONEHOT, IDS, last_actions_onehot=LAST)
    torch.testing.assert_close(x_last, torch.cat([x[..., :11], x[..., 12:]], -1))


def test_permuting_the_agents_permutes_rows_and_action_blocks():
    perm = torch.tensor([2, 0, 1])  # new agent j is old agent perm[j]; its id travels with it
    x = critic_inputs(STATE, ONEHOT, IDS, obs=OBS, last_actions_onehot=LAST)[0]  # [n, F]
    y = critic_inputs(
        STATE, ONEHOT[:, perm], IDS[perm], obs=OBS[:, perm], last_actions_onehot=LAST[:, perm]
    )[0]
    # Row j of y is row perm[j] of x with both action sections' blocks (in agent order)
    # reordered by perm; state, id and own obs are unchanged.
    for j in range(3):
        old = x[perm[j]]
        blocks = old[2:8].view(3, 2)[perm].flatten()
        last = old[12:18].view(3, 2)[perm].flatten()
        torch.testing.assert_close(y[j], torch.cat([old[:2], blocks, old[8:12], last]))
    # With positional ids (IDS unpermuted), only the id block differs: it is one-hot j.
    z = critic_inputs(
        STATE, ONEHOT[:, perm], IDS, obs=OBS[:, perm], last_actions_onehot=LAST[:, perm]
    )[0]
    torch.testing.assert_close(z[:, 8:11], torch.eye(3))
    torch.testing.assert_close(
        torch.cat([z[:, :8], z[:, 11:]], -1), torch.cat([y[:, :8], y[:, 11:]], -1)
    )


def test_critic_inputs_with_a_time_axis_are_per_step():
    torch.manual_seed(0)
    state = torch.randn(2, 4, 5)  # [B, T, S]
    onehot = torch.nn.functional.one_hot(torch.randint(0, 3, (2, 4, 3)), 3)  # [B, T, n, A]
    obs = torch.randn(2, 4, 3, 6)  # [B, T, n, O]
    x = critic_inputs(state, onehot, IDS, obs=obs, last_actions_onehot=onehot)
    assert x.shape == (2, 4, 3, 5 + 9 + 3 + 6 + 9)
    for t in range(4):
        step = critic_inputs(state[:, t], onehot[:, t], IDS, obs[:, t], onehot[:, t])
        torch.testing.assert_close(x[:, t], step)
    with pytest.raises(ValueError, match="expected state"):
        critic_inputs(state[:, 0], onehot, IDS)


# --- losses ---------------------------------------------------------------------------------


def test_policy_loss_by_hand():
    logp = torch.tensor([[-1.0, -2.0]])  # [B, n]
    adv = torch.tensor([[0.5, -1.0]])
    # -mean(-1 * 0.5, -2 * -1) = -(1.5 / 2)
    torch.testing.assert_close(coma_policy_loss(logp, adv), torch.tensor(-0.75))
    torch.testing.assert_close(
        coma_policy_loss(logp, adv, torch.tensor([[1, 0]])), torch.tensor(0.5)
    )
    logp = logp.clone().requires_grad_()
    coma_policy_loss(logp, adv.requires_grad_()).backward()
    assert logp.grad.tolist() == [[-0.25, 0.5]]  # -A / 2, and no gradient into the advantages


def test_critic_loss_by_hand_and_padding():
    q = torch.tensor([[[1.0, 2.0], [3.0, NAN]], [[0.0, 1.0], [NAN, NAN]]]).requires_grad_()
    targets = torch.tensor([[[2.0, 0.0], [3.0, 5.0]], [[1.0, 1.0], [NAN, NAN]]])  # [B, T, n]
    step_mask = torch.tensor([[1, 1], [1, 0]])  # [B, T]
    agent_mask = torch.tensor([[[1, 1], [1, 0]], [[1, 1], [0, 0]]])  # [B, T, n]
    # errors on valid entries: -1, 2, 0, -1, 0 -> (1 + 4 + 0 + 1 + 0) / 5
    loss = critic_loss(q, targets, agent_mask)
    torch.testing.assert_close(loss, torch.tensor(6.0 / 5))
    loss.backward()
    assert torch.isfinite(q.grad).all() and q.grad[0, 1, 1] == 0
    with_nan_agent = critic_loss(q, targets, step_mask)  # agent 1 at [0, 1] now valid: NaN
    assert torch.isnan(with_nan_agent)
    torch.testing.assert_close(critic_loss(q[:1, :1], targets[:1, :1]), torch.tensor(2.5))
    with pytest.raises(ValueError, match="mask"):
        critic_loss(q, targets, step_mask[:, :1])


# --- targets: gamma 0.9, rewards 1, 0, 2; two agents, two rows ------------------------------
# Row 0 is truncated after step 2 (bootstraps), row 1 terminated at step 2; one padding step.
# target_q_taken[b, t, i] is the target critic's Q_i(s_{t+1}, u_{t+1}) (after step t):
# agent 0: 1.0, 1.5, 2.0; agent 1: 0.5, 1.0, 3.0 (ignored at the terminal step and padding).

GAMMA = 0.9
REWARDS = torch.tensor([[1.0, 0.0, 2.0, NAN], [1.0, 0.0, 2.0, NAN]])  # [B, T]
TERMINATED = torch.tensor([[0, 0, 0, 0], [0, 0, 1, 0]])  # [B, T]
FILLED = torch.tensor([[1, 1, 1, 0], [1, 1, 1, 0]])  # [B, T]
NEXT_Q = torch.tensor(
    [
        [[1.0, 0.5], [1.5, 1.0], [2.0, 3.0], [NAN, NAN]],
        [[1.0, 0.5], [1.5, 1.0], [NAN, NAN], [NAN, NAN]],
    ]
)  # [B, T, n]


def _targets(**kwargs) -> torch.Tensor:
    return coma_targets(REWARDS, TERMINATED, NEXT_Q, FILLED, GAMMA, **kwargs)


def _rows(truncated, terminal) -> torch.Tensor:
    """``[B, T, n]`` from each row's per-agent values at steps 0..2, 0 on padding."""
    return torch.tensor([truncated + [[0.0, 0.0]], terminal + [[0.0, 0.0]]])


ONE_STEP = _rows(
    # truncated: 1 + 0.9 * 1.0 = 1.9, 1 + 0.9 * 0.5 = 1.45;  0.9 * 1.5, 0.9 * 1.0;
    #            2 + 0.9 * 2.0 = 3.8, 2 + 0.9 * 3.0 = 4.7
    [[1.9, 1.45], [1.35, 0.9], [3.8, 4.7]],
    [[1.9, 1.45], [1.35, 0.9], [2.0, 2.0]],  # terminal: r_2 = 2, no bootstrap
)
# Monte Carlo, bootstrapped at truncation: agent 0: 1 + 0 + 0.81 * 2 + 0.729 * 2.0 = 4.078,
# 0 + 0.9 * 2 + 0.81 * 2.0 = 3.42, 3.8; agent 1: 2.62 + 0.729 * 3.0 = 4.807, 1.8 + 2.43 = 4.23.
MONTE_CARLO = _rows(
    [[4.078, 4.807], [3.42, 4.23], [3.8, 4.7]],
    [[2.62, 2.62], [1.8, 1.8], [2.0, 2.0]],  # terminal: 1 + 0.81 * 2;  0.9 * 2;  2
)


def test_one_step_targets_by_hand():
    torch.testing.assert_close(_targets(n_step=1), ONE_STEP)


def test_two_step_targets_by_hand():
    # truncated: agent 0: 1 + 0.81 * 1.5 = 2.215, 0.9 * 2 + 0.81 * 2.0 = 3.42, 3.8 (one step
    #            left); agent 1: 1 + 0.81 * 1.0 = 1.81, 1.8 + 0.81 * 3.0 = 4.23, 4.7
    # terminal:  2.215, 1.81;  0.9 * 2 = 1.8 for both;  2 for both
    expected = _rows(
        [[2.215, 1.81], [3.42, 4.23], [3.8, 4.7]],
        [[2.215, 1.81], [1.8, 1.8], [2.0, 2.0]],
    )
    torch.testing.assert_close(_targets(n_step=2), expected)
    torch.testing.assert_close(_targets(n_step=3), MONTE_CARLO)


def test_td_lambda_targets_by_hand():
    # G_t = r_t + 0.9 * (0.2 * V_t + 0.8 * G_(t+1)), G_2 = r_2 + 0.9 * V_2 (r_2 if terminal).
    # truncated, agent 0: G_2 = 3.8;  G_1 = 0.9 * (0.3 + 3.04) = 3.006;
    #   G_0 = 1 + 0.9 * (0.2 + 2.4048) = 3.34432
    #   (forward view: 0.2 * 1.9 + 0.2 * 0.8 * 2.215 + 0.8^2 * 4.078 = 3.34432)
    # truncated, agent 1: G_2 = 4.7;  G_1 = 0.9 * (0.2 + 3.76) = 3.564;
    #   G_0 = 1 + 0.9 * (0.1 + 2.8512) = 3.65608
    # terminal, agent 0: G_2 = 2;  G_1 = 0.9 * (0.3 + 1.6) = 1.71;  G_0 = 1 + 0.9 * 1.568 = 2.4112
    # terminal, agent 1: G_2 = 2;  G_1 = 0.9 * (0.2 + 1.6) = 1.62;  G_0 = 1 + 0.9 * 1.396 = 2.2564
    expected = _rows(
        [[3.34432, 3.65608], [3.006, 3.564], [3.8, 4.7]],
        [[2.4112, 2.2564], [1.71, 1.62], [2.0, 2.0]],
    )
    torch.testing.assert_close(_targets(lambda_=0.8), expected)


def test_lambda_zero_is_one_step_and_lambda_one_is_monte_carlo():
    torch.testing.assert_close(_targets(lambda_=0.0), ONE_STEP)
    torch.testing.assert_close(_targets(lambda_=1.0), MONTE_CARLO)


def test_targets_are_detached_and_argument_errors():
    assert not coma_targets(
        REWARDS, TERMINATED, NEXT_Q.clone().requires_grad_(), FILLED, GAMMA, lambda_=0.8
    ).requires_grad
    for kwargs in ({}, {"lambda_": 0.8, "n_step": 2}):
        with pytest.raises(ValueError, match="exactly one"):
            _targets(**kwargs)
    with pytest.raises(ValueError, match="lambda_"):
        _targets(lambda_=1.5)


def test_next_step_values_shift_and_bootstrap():
    # Same-step Q_i(s_t, u_t) (t = 0, 1, 2) and each row's bootstrap Q_i(s_3, u_3).
    same_step = torch.tensor(
        [
            [[9.0, 9.9], [1.0, 0.5], [1.5, 1.0], [NAN, NAN]],
            [[9.0, 9.9], [1.0, 0.5], [1.5, 1.0], [NAN, NAN]],
        ]
    )  # [B, T, n]
    bootstrap = torch.tensor([[2.0, 3.0], [NAN, NAN]])  # [B, n]; row 1 terminated: unused
    after = next_step_values(same_step, bootstrap, FILLED)
    torch.testing.assert_close(after[0], torch.tensor([[1.0, 0.5], [1.5, 1.0], [2.0, 3.0], [0, 0]]))
    torch.testing.assert_close(after[1, :2], NEXT_Q[1, :2])
    assert after[1, 3].tolist() == [0.0, 0.0]
    targets = coma_targets(REWARDS, TERMINATED, after, FILLED, GAMMA, n_step=1)
    torch.testing.assert_close(targets, ONE_STEP)
    # A [B, T + 1, n] same-step layout (each row's bootstrap at its step e + 1) needs q[:, 1:].
    padded = torch.cat([same_step, torch.full((2, 1, 2), NAN)], dim=1)  # [B, T + 1, n]
    padded[0, 3] = bootstrap[0]
    torch.testing.assert_close(padded[:, 1:][0, :3], after[0, :3])
    with pytest.raises(ValueError, match="bootstrap"):
        next_step_values(same_step, bootstrap[:, :1], FILLED)
