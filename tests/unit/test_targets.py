"""Returns and TD targets over padded episode rows by hand: n-step, TD(lambda) (against
``gae``), double Q, transitions, and the TD loss on real steps only."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from policies.common.gae import gae
from policies.common.targets import (
    double_q_greedy_values,
    n_step_targets,
    td_lambda_targets,
    td_loss,
    transition_targets,
)

GAMMA, LAMBDA = 0.9, 0.8  # gamma * lambda = 0.72, as in test_gae.py
NAN = float("nan")
# Two rows with the rewards and values of test_gae.py, 3 real steps and 1 padding step each:
# row 0 is truncated (bootstraps from V(s_3) = 2.0), row 1 terminated at step 2.
REWARDS = torch.tensor([[1.0, 0.0, 2.0, NAN], [1.0, 0.0, 2.0, NAN]])  # [B, T]
TERMINATED = torch.tensor([[0, 0, 0, 0], [0, 0, 1, 0]])  # [B, T]
# target_values[b, t] = V(s_{t+1}); ignored where terminated or padding, so NaN there.
NEXT_VALUES = torch.tensor([[1.0, 1.5, 2.0, NAN], [1.0, 1.5, NAN, NAN]])  # [B, T]
FILLED = torch.tensor([[1, 1, 1, 0], [1, 1, 1, 0]])  # [B, T]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # Tiny tensors: a second thread only contends with whatever else runs on the machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _targets(fn, **kwargs) -> torch.Tensor:
    return fn(REWARDS, TERMINATED, NEXT_VALUES, FILLED, GAMMA, **kwargs)


# --- double Q -------------------------------------------------------------------------------


def test_double_q_online_chooses_target_evaluates():
    online = torch.tensor([[1.0, 5.0, 2.0], [3.0, 0.0, 9.0]]).view(1, 1, 2, 3)  # [B, T, n, A]
    target = torch.tensor([[10.0, 20.0, 30.0], [40.0, 50.0, 60.0]]).view(1, 1, 2, 3)
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]]).view(1, 1, 2, 3)
    # Agent 0: online argmax is action 1 -> target 20 (not the target's max, 30).
    # Agent 1: action 2 (online 9) is masked, so action 0 (3 > 0) -> target 40.
    values = double_q_greedy_values(online, target, mask)
    assert values.shape == (1, 1, 2)
    assert values.flatten().tolist() == [20.0, 40.0]
    assert double_q_greedy_values(online, target).flatten().tolist() == [20.0, 60.0]
    with pytest.raises(ValueError, match="differ in shape"):
        double_q_greedy_values(online, target[..., :2])


# --- targets --------------------------------------------------------------------------------


def test_one_step_targets_by_hand():
    # truncated:  1 + 0.9 * 1.0 = 1.9;  0 + 0.9 * 1.5 = 1.35;  2 + 0.9 * 2.0 = 3.8
    # terminated: 1.9;  1.35;  2 (no bootstrap)
    expected = torch.tensor([[1.9, 1.35, 3.8, 0.0], [1.9, 1.35, 2.0, 0.0]])
    torch.testing.assert_close(_targets(n_step_targets, n=1), expected)


def test_two_step_targets_by_hand():
    # truncated:  G_0 = 1 + 0.9 * 0 + 0.81 * 1.5 = 2.215
    #             G_1 = 0 + 0.9 * 2 + 0.81 * 2.0 = 3.42
    #             G_2 = 2 + 0.9 * 2.0 = 3.8 (the episode ends: one step only)
    # terminated: G_0 = 2.215;  G_1 = 0 + 0.9 * 2 = 1.8;  G_2 = 2
    expected = torch.tensor([[2.215, 3.42, 3.8, 0.0], [2.215, 1.8, 2.0, 0.0]])
    torch.testing.assert_close(_targets(n_step_targets, n=2), expected)


@pytest.mark.parametrize("n", [3, 10])
def test_long_n_step_is_the_monte_carlo_return(n):
    # truncated:  G_0 = 1 + 0 + 0.81 * 2 + 0.729 * 2.0 = 4.078;  G_1 = 3.42;  G_2 = 3.8
    # terminated: G_0 = 1 + 0 + 0.81 * 2 = 2.62;  G_1 = 1.8;  G_2 = 2
    expected = torch.tensor([[4.078, 3.42, 3.8, 0.0], [2.62, 1.8, 2.0, 0.0]])
    torch.testing.assert_close(_targets(n_step_targets, n=n), expected)
    torch.testing.assert_close(_targets(td_lambda_targets, lambda_=1.0), expected)


def test_td_lambda_targets_by_hand():
    # truncated:  G_2 = 2 + 0.9 * 2.0 = 3.8
    #             G_1 = 0 + 0.9 * (0.2 * 1.5 + 0.8 * 3.8) = 0.9 * 3.34 = 3.006
    #             G_0 = 1 + 0.9 * (0.2 * 1.0 + 0.8 * 3.006) = 1 + 0.9 * 2.6048 = 3.34432
    # terminated: G_2 = 2;  G_1 = 0.9 * (0.3 + 0.8 * 2) = 1.71
    #             G_0 = 1 + 0.9 * (0.2 + 0.8 * 1.71) = 1 + 0.9 * 1.568 = 2.4112
    # (the value targets of test_gae.py)
    expected = torch.tensor([[3.34432, 3.006, 3.8, 0.0], [2.4112, 1.71, 2.0, 0.0]])
    torch.testing.assert_close(_targets(td_lambda_targets, lambda_=LAMBDA), expected)


def _random_batch(seed: int, b: int = 6, t: int = 9, *extra: int):
    gen = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, t + 1, (b,), generator=gen)  # real steps per row
    filled = (torch.arange(t) < lengths[:, None]).long()  # [B, T]
    terminated = torch.zeros(b, t, dtype=torch.long)
    ends = torch.rand(b, generator=gen) < 0.5  # half the rows end in a terminal state
    terminated[ends, lengths[ends] - 1] = 1
    rewards = torch.randn(b, t, generator=gen, dtype=torch.float64)
    values = torch.randn(b, t, *extra, generator=gen, dtype=torch.float64)
    return rewards, terminated, values, filled, lengths


def test_td_lambda_zero_equals_one_step_and_matches_gae():
    rewards, terminated, values, filled, lengths = _random_batch(0)
    one_step = n_step_targets(rewards, terminated, values, filled, GAMMA, n=1)
    torch.testing.assert_close(
        td_lambda_targets(rewards, terminated, values, filled, GAMMA, 0.0), one_step
    )
    targets = td_lambda_targets(rewards, terminated, values, filled, GAMMA, LAMBDA)
    for row, length in enumerate(lengths.tolist()):
        # gae's values[t] is the value of s_t; values[t + 1] is our target_values[t].
        # V(s_0) does not enter the TD(lambda) returns: 0.
        v = np.concatenate([[0.0], values[row, :length].numpy()])
        ended = bool(terminated[row].any())
        _, expected = gae(rewards[row, :length].numpy(), v, ended, GAMMA, LAMBDA)
        np.testing.assert_allclose(targets[row, :length].numpy(), expected, atol=1e-12)


@pytest.mark.parametrize(
    "fn, kwargs", [(n_step_targets, {"n": 3}), (td_lambda_targets, {"lambda_": LAMBDA})]
)
def test_padding_and_terminal_values_are_ignored(fn, kwargs):
    rewards, terminated, values, filled, _ = _random_batch(1)
    targets = fn(rewards, terminated, values, filled, GAMMA, **kwargs)
    ignored = (filled == 0) | (terminated == 1)
    rewards2 = rewards.masked_fill(filled == 0, NAN)
    values2 = values.masked_fill(ignored, NAN)
    torch.testing.assert_close(fn(rewards2, terminated, values2, filled, GAMMA, **kwargs), targets)
    assert torch.all(targets[filled == 0] == 0)


def test_iql_per_agent_targets_broadcast_the_team_reward():
    rewards, terminated, values, filled, _ = _random_batch(2, 4, 7, 3)  # values [B, T, n=3]
    targets = td_lambda_targets(rewards, terminated, values, filled, GAMMA, LAMBDA)
    assert targets.shape == (4, 7, 3)
    for agent in range(3):
        alone = td_lambda_targets(rewards, terminated, values[..., agent], filled, GAMMA, LAMBDA)
        torch.testing.assert_close(targets[..., agent], alone)


def test_td_loss_ignores_padding_and_detaches_targets():
    q_taken = torch.tensor([[1.0, 2.0, 1e6], [0.0, 5.0, NAN]], requires_grad=True)  # [B, T]
    targets = torch.tensor([[2.0, 2.0, 0.0], [1.0, 3.0, 0.0]], requires_grad=True)
    filled = torch.tensor([[1, 1, 0], [1, 1, 0]])
    loss = td_loss(q_taken, targets, filled)
    # errors on the 4 real steps: -1, 0, -1, 2 -> (1 + 0 + 1 + 4) / 4 = 1.5
    assert loss.item() == pytest.approx(1.5)
    loss.backward()
    # d/dq (q - y)^2 / 4 = (q - y) / 2 on real steps, exactly 0 on padding
    torch.testing.assert_close(q_taken.grad, torch.tensor([[-0.5, 0.0, 0.0], [-0.5, 1.0, 0.0]]))
    assert targets.grad is None


def test_n_must_be_positive():
    with pytest.raises(ValueError, match="n must be at least 1"):
        _targets(n_step_targets, n=0)


def test_td_loss_without_real_steps_is_zero():
    q_taken = torch.ones(2, 3, requires_grad=True)
    assert td_loss(q_taken, torch.zeros(2, 3), torch.zeros(2, 3)).item() == 0.0


def test_transition_targets_bootstrap_unless_terminal():
    rewards = torch.tensor([1.0, 2.0])
    terminated = torch.tensor([0.0, 1.0])
    # row 0: 1 + 0.81 * 10 = 9.1 (a 2-step reward, discount gamma^2); row 1: terminal -> 2
    out = transition_targets(rewards, terminated, torch.tensor([10.0, 99.0]), 0.81)
    torch.testing.assert_close(out, torch.tensor([9.1, 2.0]))
    per_agent = transition_targets(
        rewards, terminated, torch.tensor([[10.0, 20.0], [5.0, 5.0]]), 0.5
    )
    torch.testing.assert_close(per_agent, torch.tensor([[6.0, 11.0], [2.0, 2.0]]))


@pytest.mark.parametrize(
    "fn, kwargs", [(n_step_targets, {"n": 2}), (td_lambda_targets, {"lambda_": LAMBDA})]
)
def test_targets_are_detached_and_check_shapes(fn, kwargs):
    values = NEXT_VALUES.nan_to_num().requires_grad_()
    targets = fn(REWARDS, TERMINATED, values, FILLED, GAMMA, **kwargs)
    assert not targets.requires_grad
    with pytest.raises(ValueError, match=r"expected rewards, terminated and filled \[B, T\]"):
        fn(REWARDS[:, :3], TERMINATED, values, FILLED, GAMMA, **kwargs)
