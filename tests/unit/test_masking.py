"""Action masking: masked actions get exactly zero probability and everything stays finite;
greedy actions and values never pick a masked action."""

from __future__ import annotations

import pytest
import torch
from torch.distributions import Categorical, kl_divergence

from policies.common.masking import gather_actions, masked_argmax, masked_max
from policies.common.networks import MASKED_LOGIT, mask_logits

MASKS = {
    "some": torch.tensor([[1, 0, 1, 0, 1], [0, 1, 1, 1, 1]]),
    "all_but_one": torch.tensor([[0, 0, 1, 0, 0], [1, 0, 0, 0, 0]]),
}


def _logits(seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return (3 * torch.randn(2, 5, generator=gen)).requires_grad_()  # [B, n_actions]


@pytest.mark.parametrize("name", sorted(MASKS))
def test_masked_actions_have_zero_probability(name):
    mask = MASKS[name]
    dist = Categorical(logits=mask_logits(_logits(), mask))
    assert torch.all(dist.probs[mask == 0] == 0.0)
    assert torch.all(dist.probs[mask == 1] > 0.0)
    torch.testing.assert_close(dist.probs.sum(-1), torch.ones(2))
    samples = dist.sample((200,))  # [200, B]
    assert torch.all(mask.gather(1, samples.T) == 1)


@pytest.mark.parametrize("name", sorted(MASKS))
def test_entropy_and_log_probs_are_finite(name):
    mask = MASKS[name]
    dist = Categorical(logits=mask_logits(_logits(), mask))
    entropy = dist.entropy()
    assert torch.all(torch.isfinite(entropy)) and torch.all(entropy >= 0)
    all_actions = torch.arange(5)[:, None].expand(5, 2)  # [n_actions, B]
    assert torch.all(torch.isfinite(dist.log_prob(all_actions)))
    if name == "all_but_one":
        torch.testing.assert_close(entropy, torch.zeros(2))
        only = mask.argmax(-1)
        torch.testing.assert_close(dist.log_prob(only), torch.zeros(2))


def test_entropy_ignores_masked_actions():
    logits = _logits().detach()
    mask = MASKS["some"]
    masked = Categorical(logits=mask_logits(logits, mask)).entropy()
    kept = [Categorical(logits=row[m.bool()]).entropy() for row, m in zip(logits, mask)]
    torch.testing.assert_close(masked, torch.stack(kept))


@pytest.mark.parametrize("name", sorted(MASKS))
def test_gradients_through_mask_logits_are_finite(name):
    mask = MASKS[name]
    layer = torch.nn.Linear(3, 5)
    obs = torch.randn(2, 3, generator=torch.Generator().manual_seed(1))
    logits = layer(obs)  # [B, n_actions]
    dist = Categorical(logits=mask_logits(logits, mask))
    other = Categorical(logits=mask_logits(logits.detach() + 1.0, mask))
    actions = mask.argmax(-1)  # a valid action per row
    loss = -dist.log_prob(actions).mean() - 0.01 * dist.entropy().mean()
    loss = loss + kl_divergence(other, dist).mean()
    assert torch.isfinite(loss)
    loss.backward()
    assert torch.all(torch.isfinite(layer.weight.grad))
    assert torch.all(torch.isfinite(layer.bias.grad))


def test_masked_logit_gets_no_gradient():
    logits = _logits()
    mask = MASKS["some"]
    Categorical(logits=mask_logits(logits, mask)).entropy().sum().backward()
    assert torch.all(logits.grad[mask == 0] == 0.0)
    assert torch.any(logits.grad[mask == 1] != 0.0)


def test_no_mask_is_identity_and_masked_logit_is_float32_min():
    logits = _logits().detach()
    assert mask_logits(logits, None) is logits
    assert mask_logits(logits, MASKS["some"])[0, 1].item() == MASKED_LOGIT


# --- greedy actions on action values (policies.common.masking) -----------------------------


def test_masked_argmax_never_picks_a_masked_action():
    gen = torch.Generator().manual_seed(0)
    q = 10 * torch.randn(500, 6, generator=gen)  # [N, A]
    mask = (torch.rand(500, 6, generator=gen) < 0.4).long()
    mask[torch.arange(500), torch.randint(6, (500,), generator=gen)] = 1  # >= 1 allowed
    actions = masked_argmax(q, mask)  # [N]
    assert torch.all(mask.gather(1, actions[:, None]) == 1)
    best = q.masked_fill(mask == 0, -1e9).max(-1).values
    torch.testing.assert_close(masked_max(q, mask), best)
    assert torch.equal(masked_argmax(q), q.argmax(-1))


def test_rows_without_allowed_action_count_all_actions_as_allowed():
    q = torch.tensor([[1.0, 3.0, 2.0], [1.0, 3.0, 2.0]])
    mask = torch.tensor([[0, 0, 0], [1, 0, 1]])
    assert masked_argmax(q, mask).tolist() == [1, 2]
    assert masked_max(q, mask).tolist() == [3.0, 2.0]


def test_masked_max_gradient_flows_to_the_chosen_entry_only():
    q = torch.tensor([[1.0, 3.0, 2.0], [4.0, 0.0, 5.0]], requires_grad=True)  # [B, A]
    mask = torch.tensor([[1, 0, 1], [1, 1, 0]])
    masked_max(q, mask).sum().backward()
    torch.testing.assert_close(q.grad, torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]))


def test_greedy_actions_keep_leading_dims_and_reject_a_wrong_mask():
    q = torch.randn(2, 5, 3, 4)  # [B, T, n_agents, A]
    mask = torch.ones(2, 5, 3, 4, dtype=torch.int8)
    assert masked_argmax(q, mask).shape == (2, 5, 3) and masked_max(q).shape == (2, 5, 3)
    with pytest.raises(ValueError, match=r"action_mask \(2, 5, 3, 3\) does not match q"):
        masked_argmax(q, mask[..., :3])


def test_gather_actions_by_hand():
    q = torch.tensor([[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]])  # [B, n, A]
    actions = torch.tensor([[1, 0], [0, 1]], dtype=torch.int32)  # [B, n], any integer dtype
    assert gather_actions(q, actions).tolist() == [[2.0, 3.0], [5.0, 8.0]]
