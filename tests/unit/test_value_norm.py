"""MAPPO's value normalizer: hand-computed statistics, inverse, masking, checkpoints."""

from __future__ import annotations

import math

import pytest
import torch

from policies.common.value_norm import ValueNormalizer


def test_two_updates_by_hand_with_small_beta():
    norm = ValueNormalizer(beta=0.5)
    # batch mean 2, mean of squares (1 + 9) / 2 = 5
    # running_mean = 0.5 * 2 = 1, running_mean_sq = 2.5, debiasing_term = 0.5
    norm.update(torch.tensor([1.0, 3.0]))
    assert norm.mean.item() == pytest.approx(2.0)  # 1 / 0.5
    assert norm.std.item() == pytest.approx(1.0)  # sqrt(2.5 / 0.5 - 2 ** 2)
    # a [B, T] batch: mean 5, mean of squares (16 + 36) / 2 = 26
    # running_mean = 0.5 * 1 + 0.5 * 5 = 3, running_mean_sq = 0.5 * 2.5 + 0.5 * 26 = 14.25
    # debiasing_term = 0.5 * 0.5 + 0.5 = 0.75
    norm.update(torch.tensor([[4.0, 6.0], [4.0, 6.0]]))
    assert norm.mean.item() == pytest.approx(4.0)  # 3 / 0.75
    assert norm.std.item() == pytest.approx(math.sqrt(3.0))  # sqrt(14.25 / 0.75 - 16)
    assert norm.running_mean.item() == pytest.approx(3.0)
    assert norm.running_mean_sq.item() == pytest.approx(14.25)
    assert norm.debiasing_term.item() == pytest.approx(0.75)


def test_default_beta_weights_each_update_once_whatever_its_size():
    beta = 0.99999
    norm = ValueNormalizer()
    norm.update(torch.tensor([1.0, 3.0]))  # mean 2, mean_sq 5
    norm.update(torch.full((100,), 5.0))  # mean 5, mean_sq 25
    # debiased EMA of two updates: weights beta / (1 + beta) and 1 / (1 + beta)
    mean = (beta * 2.0 + 5.0) / (1 + beta)
    mean_sq = (beta * 5.0 + 25.0) / (1 + beta)
    assert norm.mean.item() == pytest.approx(mean, rel=1e-9)
    assert norm.std.item() == pytest.approx(math.sqrt(mean_sq - mean**2), rel=1e-9)
    assert norm.mean.item() == pytest.approx(3.5, abs=1e-4)  # not 5 * 100/102 + 2 * 2/102


def test_variance_is_floored_and_initial_state_is_mappos():
    norm = ValueNormalizer()
    assert norm.mean.item() == 0.0 and norm.std.item() == pytest.approx(0.1)
    norm.update(torch.full((4,), 7.0))
    assert norm.mean.item() == pytest.approx(7.0)
    assert norm.std.item() == pytest.approx(0.1)  # sqrt(1e-2), not 0
    torch.testing.assert_close(norm.normalize(torch.tensor([7.5])), torch.tensor([5.0]))


def test_mask_excludes_entries_and_empty_update_is_skipped():
    masked, plain = ValueNormalizer(beta=0.5), ValueNormalizer(beta=0.5)
    masked.update(torch.tensor([[1.0, 3.0, 100.0]]), mask=torch.tensor([[True, True, False]]))
    plain.update(torch.tensor([1.0, 3.0]))
    masked.update(torch.tensor([9.0]), mask=torch.tensor([False]))
    torch.testing.assert_close(masked.state_dict(), plain.state_dict())


def test_normalize_and_denormalize_are_inverse_and_keep_dtype():
    norm = ValueNormalizer(beta=0.9)
    norm.update(torch.tensor([[-3.0, 10.0], [2.0, 50.0]]))
    x = torch.linspace(-5, 5, 12).reshape(3, 4)  # [B, T] float32
    y = norm.normalize(x)
    assert y.dtype == torch.float32 and y.shape == (3, 4)
    torch.testing.assert_close(norm.denormalize(y), x)
    torch.testing.assert_close(norm.normalize(norm.denormalize(x)), x)
    expected = (x.double() - norm.mean) / norm.std
    torch.testing.assert_close(y, expected.float())


def test_normalize_passes_gradients_and_update_does_not_need_them():
    norm = ValueNormalizer(beta=0.5)
    norm.update(torch.tensor([0.0, 4.0], requires_grad=True))  # std 2
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    norm.normalize(x).sum().backward()
    torch.testing.assert_close(x.grad, torch.tensor([0.5, 0.5]))
    assert not any(b.requires_grad for b in norm.buffers())


def test_state_dict_round_trip_restores_statistics():
    norm = ValueNormalizer(beta=0.9)
    norm.update(torch.tensor([1.0, 2.0, 6.0]))
    norm.update(torch.tensor([-4.0]))
    state = norm.state_dict()
    assert set(state) == {"running_mean", "running_mean_sq", "debiasing_term"}
    fresh = ValueNormalizer(beta=0.9)
    assert fresh.mean.item() != pytest.approx(norm.mean.item())
    fresh.load_state_dict(state)
    assert fresh.mean.item() == norm.mean.item() and fresh.std.item() == norm.std.item()
    wrapper = torch.nn.Sequential(norm)  # buffers live in a parent module's state too
    assert "0.running_mean" in wrapper.state_dict()


def test_rejects_bad_beta():
    with pytest.raises(ValueError, match="beta"):
        ValueNormalizer(beta=1.0)
