"""A2C's losses and its target critic (pure torch, no Ray runtime)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.learner.utils import update_target_network

from policies.a2c.losses import policy_gradient_loss, value_error_loss
from policies.a2c.module import A2CModule


def test_policy_gradient_loss_by_hand_and_without_gradient_into_the_advantage():
    logp = torch.tensor([-1.0, -2.0, -0.5], requires_grad=True)
    advantages = torch.tensor([2.0, -1.0, 4.0], requires_grad=True)
    mask = torch.tensor([1.0, 1.0, 0.0])
    loss = policy_gradient_loss(logp, advantages, mask)
    assert loss.item() == pytest.approx(-(2.0 * -1.0 + -1.0 * -2.0) / 2)
    loss.backward()
    assert advantages.grad is None
    np.testing.assert_allclose(logp.grad.numpy(), [-1.0, 0.5, 0.0])


def test_value_error_loss_by_hand():
    values = torch.tensor([1.0, 2.0, 3.0])
    targets = torch.tensor([2.0, 0.0, 3.0])
    assert value_error_loss(values, targets).item() == pytest.approx((1 + 4 + 0) / 3)


def module(target_critic: bool, inference_only: bool = False) -> A2CModule:
    spaces = {
        "obs": gym.spaces.Box(-1, 1, (4,), np.float32),
        "state": gym.spaces.Box(-1, 1, (6,), np.float32),
    }
    torch.manual_seed(0)
    return A2CModule(
        observation_space=gym.spaces.Dict(spaces),
        action_space=gym.spaces.Discrete(3),
        inference_only=inference_only,
        model_config={
            "fcnet_hiddens": [8],
            "critic_input": "state",
            "target_critic": target_critic,
        },
    )


def batch(rows: int = 5) -> dict:
    return {Columns.OBS: {"obs": torch.randn(rows, 4), "state": torch.randn(rows, 6)}}


def test_target_critic_starts_as_the_critic_and_follows_it_by_polyak_averaging():
    m = module(target_critic=True)
    b = batch()
    torch.testing.assert_close(m.compute_target_values(b), m.compute_values(b))
    ((main, target),) = m.get_target_network_pairs()
    with torch.no_grad():
        for p in main.parameters():
            p.add_(1.0)
    before = [t.clone() for t in target.parameters()]
    update_target_network(main_net=main, target_net=target, tau=0.25)
    for old, new, p in zip(before, target.parameters(), main.parameters()):
        torch.testing.assert_close(new, 0.75 * old + 0.25 * p)
    assert any(k.startswith("_target_vf.") for k in m.state_dict())  # checkpoints carry it


def test_no_target_critic_unless_asked_and_never_on_env_runners():
    assert module(target_critic=False).get_target_network_pairs() == []
    assert module(target_critic=True, inference_only=True).get_target_network_pairs() == []
    m = module(target_critic=False)
    b = batch()
    torch.testing.assert_close(m.compute_target_values(b), m.compute_values(b))
