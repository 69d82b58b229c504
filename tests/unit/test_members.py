"""A team's member networks in plain torch: shapes for shared/individual x MLP/GRU, the shared
network's one-hot ids, stepping with the carried GRU state equals unrolling, each member's
output depends on its own inputs only, and the ModuleList contract exporters rely on."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from policies.common.members import MemberNetworks

N, F, OUT, CELL, T, B = 3, 5, 4, 8, 6, 2
KINDS = [(shared, cell) for shared in (True, False) for cell in (None, CELL)]


def members(shared: bool, cell_size: int | None, **kwargs) -> MemberNetworks:
    torch.manual_seed(0)
    return MemberNetworks(N, F, [16], OUT, shared=shared, cell_size=cell_size, **kwargs)


def inputs(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("shared, cell_size", KINDS)
def test_shapes_with_and_without_a_time_axis(shared, cell_size):
    nets = members(shared, cell_size)
    assert len(nets) == (1 if shared else N) and nets.recurrent == (cell_size is not None)
    out, h = nets(inputs(B, T, N, F))  # sequences
    assert out.shape == (B, T, N, OUT)
    step, h1 = nets(inputs(B, N, F))  # one step
    assert step.shape == (B, N, OUT)
    if cell_size is None:
        assert h is None and h1 is None
    else:
        assert h.shape == h1.shape == (B, N, CELL)


@pytest.mark.parametrize("shared, cell_size", KINDS)
def test_one_step_is_the_first_step_of_a_sequence(shared, cell_size):
    nets = members(shared, cell_size)
    x = inputs(B, T, N, F)
    torch.testing.assert_close(nets(x[:, 0])[0], nets(x)[0][:, 0])


@pytest.mark.parametrize("shared", [True, False])
def test_mlp_members_by_hand(shared):
    nets = members(shared, None)
    x = inputs(B, N, F)
    out = nets(x)[0]
    for i in range(N):
        if shared:  # the member's features, then its one-hot id
            expected = nets[0](torch.cat([x[:, i], torch.eye(N)[i].expand(B, N)], -1))
        else:
            expected = nets[i](x[:, i])
        torch.testing.assert_close(out[:, i], expected)


def test_the_shared_network_tells_members_apart_by_their_id():
    nets = members(True, None)
    same = inputs(B, 1, F).expand(B, N, F)  # every member sees the same features
    out = nets(same)[0]
    assert not torch.allclose(out[:, 0], out[:, 1])
    assert nets[0][0].in_features == F + N


@pytest.mark.parametrize("shared", [True, False])
def test_stepping_with_the_carried_state_equals_unrolling(shared):
    nets = members(shared, CELL)
    x, h0 = inputs(B, T, N, F), inputs(B, N, CELL, seed=1)
    unrolled, last = nets(x, h0)
    h = h0
    with torch.no_grad():
        for t in range(T):
            out, h = nets(x[:, t], h)
            torch.testing.assert_close(out, unrolled[:, t])
    torch.testing.assert_close(h, last)
    torch.testing.assert_close(nets(x)[0], nets(x, nets.initial_state().expand(B, N, CELL))[0])


@pytest.mark.parametrize("shared, cell_size", KINDS)
def test_a_members_output_depends_only_on_its_own_inputs_and_state(shared, cell_size):
    nets = members(shared, cell_size)
    x = inputs(B, T, N, F)
    h = None if cell_size is None else inputs(B, N, CELL, seed=1)
    changed_x = x.clone()
    changed_x[:, :, 1] = inputs(B, T, F, seed=2)  # member 1's history
    changed_h = None if h is None else h.clone()
    if changed_h is not None:
        changed_h[:, 1] = 0.0  # and its state
    before, after = nets(x, h)[0], nets(changed_x, changed_h)[0]
    torch.testing.assert_close(before[:, :, [0, 2]], after[:, :, [0, 2]])
    assert not torch.allclose(before[:, :, 1], after[:, :, 1])


def test_initial_state_and_errors():
    assert torch.equal(members(True, CELL).initial_state(), torch.zeros(N, CELL))
    mlps, grus = members(True, None), members(False, CELL)
    with pytest.raises(ValueError, match="MLP members have no state"):
        mlps.initial_state()
    with pytest.raises(ValueError, match="MLP members take no hidden state"):
        mlps(inputs(B, N, F), torch.zeros(B, N, CELL))
    with pytest.raises(ValueError, match=r"expected x \[B, \(T,\) 3, 5\], got \(2, 2, 5\)"):
        mlps(inputs(B, 2, F))
    with pytest.raises(ValueError, match=r"expected x .* got \(2, 3, 4\)"):
        mlps(inputs(B, N, F - 1))
    with pytest.raises(ValueError, match=r"expected hidden \(2, 3, 8\)"):
        grus(inputs(B, N, F), torch.zeros(B, N - 1, CELL))
    with pytest.raises(ValueError, match="n_members must be at least 1"):
        MemberNetworks(0, F, [16], OUT)


def test_module_list_contract_state_dict_and_target_copy():
    nets = members(False, None)
    assert isinstance(nets, nn.ModuleList) and isinstance(nets[1], nn.Sequential)
    assert type(nets[1:]) is nn.ModuleList and len(nets[1:]) == N - 1
    assert next(iter(nets.state_dict())) == "0.0.weight"  # a plain ModuleList's keys
    target = copy.deepcopy(nets)
    assert isinstance(target, MemberNetworks) and target.n_members == N
    x = inputs(B, N, F)
    torch.testing.assert_close(target(x)[0], nets(x)[0])


def test_out_gain_scales_the_output_layer():
    one, small = members(True, None), members(True, None, out_gain=0.01)
    torch.testing.assert_close(small[0][-1].weight, 0.01 * one[0][-1].weight)
