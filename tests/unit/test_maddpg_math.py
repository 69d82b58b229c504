"""MADDPG's math against hand-computed numbers (pure torch, no Ray)."""

from __future__ import annotations

import pytest
import torch

from policies.maddpg.math import (
    actor_loss,
    critic_loss,
    critic_targets,
    gapped_straight_through,
    gumbel_straight_through,
    logits_penalty,
    polyak,
    scale_to_box,
    with_own_action,
)


def _same_noise(logits: torch.Tensor, seed: int) -> torch.Tensor:
    """The Gumbel noise ``gumbel_straight_through`` draws with a generator seeded ``seed``."""
    uniform = torch.rand(logits.shape, generator=torch.Generator().manual_seed(seed))
    return -torch.log((-torch.log(uniform.clamp(1e-10, 1.0))).clamp_min(1e-10))


def test_gumbel_straight_through_is_one_hot_forward_with_the_relaxations_gradient():
    logits = torch.randn(6, 3, 5, requires_grad=True)
    weights = torch.randn(6, 3, 5)
    sample = gumbel_straight_through(logits, 0.5, torch.Generator().manual_seed(7))
    assert torch.equal(sample.detach().sum(-1), torch.ones(6, 3))
    assert set(sample.detach().unique().tolist()) <= {0.0, 1.0}
    (sample * weights).sum().backward()
    got = logits.grad.clone()
    logits.grad = None
    soft = torch.softmax((logits + _same_noise(logits, 7)) / 0.5, dim=-1)
    (soft * weights).sum().backward()
    torch.testing.assert_close(got, logits.grad)
    assert torch.equal(sample.detach().argmax(-1), soft.detach().argmax(-1))


def test_masked_actions_are_never_sampled():
    logits = torch.zeros(2000, 4)
    logits[:, 1] = -3.4e38  # a masked action (mask_logits' fill)
    for estimator in (gumbel_straight_through, gapped_straight_through):
        picks = estimator(logits).argmax(-1)
        assert not (picks == 1).any()
        assert set(picks.tolist()) == {0, 2, 3}


def test_gapped_estimator_has_the_lifted_softmax_gradient():
    weights = torch.tensor([[1.0, -2.0, 0.5]])
    torch.manual_seed(0)
    for _ in range(20):
        logits = torch.tensor([[2.0, 0.0, -1.0]], requires_grad=True)
        sample = gapped_straight_through(logits, temperature=0.7, gap=1.0)
        k = int(sample.argmax())
        assert sample.detach().tolist()[0] == [float(j == k) for j in range(3)]
        (sample * weights).sum().backward()
        lifted = logits.detach().clone()
        others = torch.cat([lifted[0, :k], lifted[0, k + 1 :]]).max()
        lift = torch.zeros(1, 3)
        lift[0, k] = max(0.0, others.item() + 1.0 - lifted[0, k].item())
        reference = logits.detach().clone().requires_grad_()
        (torch.softmax((reference + lift) / 0.7, -1) * weights).sum().backward()
        torch.testing.assert_close(logits.grad, reference.grad)


def test_critic_targets_bootstrap_unless_terminated():
    rewards = torch.tensor([[1.0, -1.0], [0.5, 0.5]])  # [B, n]
    next_q = torch.tensor([[10.0, 20.0], [4.0, 8.0]])
    terminated = torch.tensor([0.0, 1.0])  # row 0 truncated or mid-episode, row 1 terminal
    y = critic_targets(rewards, terminated, next_q, gamma=0.9)
    torch.testing.assert_close(y, torch.tensor([[1 + 9.0, -1 + 18.0], [0.5, 0.5]]))
    assert not y.requires_grad


def test_the_actor_gradient_flows_only_into_its_own_action_block():
    actions = torch.randn(4, 3, 2, requires_grad=True)  # replayed joint actions [B, n, d]
    own = torch.randn(4, 2, requires_grad=True)
    joint = with_own_action(actions, own, member=1)
    critic = torch.nn.Linear(6, 1)
    critic(joint.flatten(-2)).sum().backward()
    assert actions.grad is None  # the others' actions are detached
    assert own.grad is not None and own.grad.abs().sum() > 0
    torch.testing.assert_close(joint[:, 1], own)
    torch.testing.assert_close(joint[:, 0], actions[:, 0].detach())


def test_masked_losses():
    q = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    valid = torch.tensor([[1.0, 0.0], [1.0, 1.0]])  # member 1 dead in row 0
    assert critic_loss(q, torch.zeros(2, 2), valid).item() == pytest.approx((1 + 9 + 16) / 3)
    assert actor_loss(q, valid).item() == pytest.approx(-(1 + 3 + 4) / 3)
    logits = torch.tensor([[[1.0, 2.0]], [[3.0, 4.0]]])  # [B, n=1, A]
    allowed = torch.tensor([[[1, 0]], [[1, 1]]])
    assert logits_penalty(logits, torch.ones(2, 1), allowed).item() == pytest.approx(26 / 3)


def test_polyak_update():
    online, target = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    torch.nn.init.constant_(online.weight, 1.0)
    torch.nn.init.constant_(target.weight, 0.0)
    polyak(online, target, 0.1)
    torch.testing.assert_close(target.weight, torch.full((1, 2), 0.1))


def test_tanh_actions_scale_to_a_box_with_asymmetric_bounds():
    low, high = torch.tensor([0.0, -2.0]), torch.tensor([1.0, 6.0])
    u = torch.tensor([[-1.0, -1.0], [0.0, 0.0], [1.0, 1.0], [3.0, -5.0]])
    out = scale_to_box(u, low, high)
    assert out.tolist() == [[0.0, -2.0], [0.5, 2.0], [1.0, 6.0], [1.0, -2.0]]
