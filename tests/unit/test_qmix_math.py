"""QMIX/VDN/IQL mixers: monotonicity, shapes, a non-additive fit (targets: test_targets.py)."""

from __future__ import annotations

import pytest
import torch

from policies.qmix.mixers import NoMixer, QMixer, VDNMixer, make_mixer


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # Tiny tensors: a second thread only contends with whatever else runs on the machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# --- mixers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("hypernet_layers", [1, 2])
def test_qmix_is_monotonic_in_every_agent_q(hypernet_layers):
    torch.manual_seed(hypernet_layers)
    mixer = QMixer(n_agents=3, state_dim=5, embed_dim=8, hypernet_layers=hypernet_layers)
    agent_qs = (5 * torch.randn(200, 3)).requires_grad_()  # [200, n_agents]
    states = 3 * torch.randn(200, 5)  # [200, state_dim]
    # Sample i's Q_tot depends on row i only, so the gradient of the sum is per sample.
    (grads,) = torch.autograd.grad(mixer(agent_qs, states).sum(), agent_qs)
    assert torch.all(grads >= 0)
    assert torch.any(grads > 0)


def test_vdn_is_the_sum_and_ignores_the_state():
    agent_qs = torch.randn(4, 6, 3)  # [B, T, n_agents]
    out = VDNMixer(3)(agent_qs, torch.randn(4, 6, 7))
    torch.testing.assert_close(out, agent_qs.sum(-1))
    torch.testing.assert_close(VDNMixer()(agent_qs), out)


@pytest.mark.parametrize("name", ["qmix", "vdn", "none"])
def test_mixers_keep_leading_dims(name):
    mixer = make_mixer(name, n_agents=3, state_dim=5)
    agent_qs, states = torch.randn(4, 6, 3), torch.randn(4, 6, 5)  # [B, T, n], [B, T, state]
    out = mixer(agent_qs, states)
    assert out.shape == ((4, 6, 3) if name == "none" else (4, 6))
    flat = mixer(agent_qs.reshape(24, 3), states.reshape(24, 5))  # [B * T, ...]
    torch.testing.assert_close(out, flat.reshape(out.shape))


def test_no_mixer_returns_agent_qs_unchanged():
    agent_qs = torch.randn(2, 5, 4)
    assert NoMixer(4)(agent_qs, None) is agent_qs


def test_mixers_reject_wrong_shapes():
    with pytest.raises(ValueError, match=r"agent_qs \[\.\.\., 3\]"):
        QMixer(3, 5)(torch.randn(4, 2), torch.randn(4, 5))
    with pytest.raises(ValueError, match="expected state"):
        QMixer(3, 5)(torch.randn(4, 3), torch.randn(4, 6))
    with pytest.raises(ValueError, match="hypernet_layers must be 1 or 2"):
        QMixer(3, 5, hypernet_layers=3)


def _fit_payoff(mixer: torch.nn.Module) -> float:
    """Fits per-agent tables q1, q2 and the mixer to a 2x2 payoff; returns the max error."""
    payoff = torch.tensor([[0.0, 0.0], [0.0, 10.0]])  # monotonic but not additive
    a1, a2 = torch.tensor([0, 0, 1, 1]), torch.tensor([0, 1, 0, 1])  # the 4 joint actions
    state = torch.ones(4, 1)  # constant state
    q1, q2 = torch.zeros(2, requires_grad=True), torch.zeros(2, requires_grad=True)
    opt = torch.optim.Adam([q1, q2, *mixer.parameters()], lr=0.05)
    for _ in range(300):
        q_tot = mixer(torch.stack([q1[a1], q2[a2]], -1), state)  # [4]
        loss = (q_tot - payoff[a1, a2]).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        q_tot = mixer(torch.stack([q1[a1], q2[a2]], -1), state)
    return (q_tot - payoff[a1, a2]).abs().max().item()


def test_qmix_fits_a_non_additive_monotonic_payoff_vdn_cannot():
    torch.manual_seed(0)
    assert _fit_payoff(QMixer(2, 1, embed_dim=8)) < 0.5
    # The best additive fit of [[0, 0], [0, 10]] is off by 2.5 on every entry.
    assert _fit_payoff(VDNMixer(2)) > 2.4


def test_make_mixer_names_and_error():
    assert isinstance(make_mixer("qmix", 2, 4, embed_dim=16), QMixer)
    assert isinstance(make_mixer("vdn", 2, 4), VDNMixer)
    assert isinstance(make_mixer("none", 2, 4), NoMixer)
    with pytest.raises(ValueError, match=r"one of \['none', 'qmix', 'vdn'\], got 'qtran'"):
        make_mixer("qtran", 2, 4)
    with pytest.raises(ValueError, match="takes no options"):
        make_mixer("vdn", 2, 4, embed_dim=16)
