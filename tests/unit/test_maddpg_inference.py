"""MADDPG's policy inference (``policies.maddpg.inference``): hand-computed numbers and a fit
to a known policy (pure torch, no Ray)."""

from __future__ import annotations

import math

import torch

from policies.maddpg.inference import (
    categorical_kl,
    categorical_log_prob_entropy,
    gaussian_log_prob_entropy,
    gaussian_params,
    inference_loss,
    joint_with_approximations,
    mean_squared_error,
    others,
)


def test_categorical_loss_and_entropy_by_hand():
    logits = torch.tensor([[math.log(1.0), math.log(3.0)]])  # p = [0.25, 0.75]
    log_p, entropy = categorical_log_prob_entropy(logits, torch.tensor([1]))
    torch.testing.assert_close(log_p, torch.tensor([math.log(0.75)]))
    h = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))  # 0.5623
    torch.testing.assert_close(entropy, torch.tensor([h]))
    loss = inference_loss(log_p, entropy, torch.ones(1), entropy_coeff=0.1)
    torch.testing.assert_close(loss, torch.tensor(-(math.log(0.75) + 0.1 * h)))


def test_masked_actions_leave_the_categorical():
    logits = torch.tensor([[0.0, 5.0, 0.0]])
    allowed = torch.tensor([[1, 0, 1]])
    log_p, entropy = categorical_log_prob_entropy(logits, torch.tensor([2]), allowed)
    torch.testing.assert_close(log_p, torch.tensor([math.log(0.5)]))
    torch.testing.assert_close(entropy, torch.tensor([math.log(2.0)]))
    assert categorical_kl(torch.zeros(1, 3), logits, allowed).item() < 1e-6


def test_gaussian_loss_and_entropy_by_hand():
    mean, log_std = torch.tensor([[0.0, 0.5]]), torch.tensor([[0.0, math.log(0.5)]])
    log_p, entropy = gaussian_log_prob_entropy(mean, log_std, torch.tensor([[1.0, 0.5]]))
    half_log_2pi = 0.5 * math.log(2 * math.pi)
    expected = (-0.5 - half_log_2pi) + (0.0 - math.log(0.5) - half_log_2pi)
    torch.testing.assert_close(log_p, torch.tensor([expected]))
    h = 0.5 * math.log(2 * math.pi * math.e)
    torch.testing.assert_close(entropy, torch.tensor([h + (math.log(0.5) + h)]))
    head = torch.tensor([[0.0, 10.0, -9.0, 9.0]])  # means tanh(0), tanh(10); log_stds clamped
    m, s = gaussian_params(head)
    torch.testing.assert_close(m, torch.tensor([[0.0, math.tanh(10.0)]]))
    torch.testing.assert_close(s, torch.tensor([[-5.0, 2.0]]))


def test_the_loss_averages_over_valid_entries_only():
    log_p, entropy = torch.tensor([-1.0, -3.0, -100.0]), torch.tensor([2.0, 4.0, 0.0])
    loss = inference_loss(log_p, entropy, torch.tensor([1.0, 1.0, 0.0]), entropy_coeff=0.5)
    torch.testing.assert_close(loss, torch.tensor(-((-1 + 1) + (-3 + 2)) / 2))


def test_joint_actions_put_the_observers_own_action_among_its_approximations():
    n, a = 3, 2
    own = torch.arange(n * a, dtype=torch.float32).reshape(n, a)  # agent i: [2i, 2i + 1]
    approx = 100 + torch.arange(n * (n - 1) * a, dtype=torch.float32).reshape(n, n - 1, a)
    joint = joint_with_approximations(own, approx)  # [n, n, a]
    for i in range(n):
        torch.testing.assert_close(joint[i, i], own[i])
        for slot, j in enumerate(others(n, i)):
            torch.testing.assert_close(joint[i, j], approx[i, slot])


def _fit(net: torch.nn.Module, sample, loss_of, steps: int = 400) -> None:
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    for _ in range(steps):
        obs, actions = sample(256)
        loss = loss_of(net(obs), actions)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def test_the_categorical_approximation_of_a_known_policy_converges():
    torch.manual_seed(0)
    weights = torch.randn(4, 5) * 1.5  # the fixed policy: softmax(obs @ W)

    def sample(batch: int):
        obs = torch.randn(batch, 4)
        actions = torch.distributions.Categorical(logits=obs @ weights).sample()
        return obs, actions

    def loss_of(logits, actions):
        log_p, entropy = categorical_log_prob_entropy(logits, actions)
        return inference_loss(log_p, entropy, torch.ones_like(log_p), 1e-3)

    net = torch.nn.Sequential(torch.nn.Linear(4, 32), torch.nn.ReLU(), torch.nn.Linear(32, 5))
    obs = torch.randn(2000, 4)
    before = categorical_kl(obs @ weights, net(obs)).mean().item()
    _fit(net, sample, loss_of)
    after = categorical_kl(obs @ weights, net(obs).detach()).mean().item()
    assert before > 0.5
    assert after < 0.05, (before, after)


def test_the_gaussian_approximation_of_a_known_policy_converges():
    torch.manual_seed(1)
    weights = torch.randn(3, 2)  # the fixed policy: tanh(obs @ W) + N(0, 0.1^2), clipped

    def sample(batch: int):
        obs = torch.randn(batch, 3)
        actions = (torch.tanh(obs @ weights) + 0.1 * torch.randn(batch, 2)).clamp(-1, 1)
        return obs, actions

    def loss_of(head, actions):
        mean, log_std = gaussian_params(head)
        log_p, entropy = gaussian_log_prob_entropy(mean, log_std, actions)
        return inference_loss(log_p, entropy, torch.ones_like(log_p), 1e-3)

    net = torch.nn.Sequential(torch.nn.Linear(3, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4))
    _fit(net, sample, loss_of)
    obs = torch.randn(2000, 3)
    mean, log_std = gaussian_params(net(obs).detach())
    assert mean_squared_error(mean, torch.tanh(obs @ weights)).mean().item() < 0.01
    assert abs(log_std.exp().mean().item() - 0.1) < 0.05  # the noise's scale, roughly
