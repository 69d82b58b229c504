"""The networks of a team's members: one shared by all (with a one-hot member id) or one each.

Team algorithms apply a per-member network to every member's own input (QMIX's agent
utilities; COMA's, PAC's and MADDPG's decentralized actors). ``MemberNetworks`` builds and
runs them on the whole team at once (plain torch, no Ray):

- input ``x [B, n, F]`` (one step) or ``[B, T, n, F]`` (sequences): member ``i``'s own
  features (its flattened local observation) at ``x[..., i, :]``;
- output ``[B, n, out]`` or ``[B, T, n, out]``, member ``i``'s output at ``[..., i, :]``.

``shared=True``: one network for all members, its input the member's features followed by
the member's one-hot index (``[F + n]``), so members can still act differently. ``shared=False``:
one network per member on its features only. ``cell_size`` makes every network a ``GRUNet``
(MLP features, a GRU, a linear head): the state is ``[B, n, cell]``, member ``i``'s at
``[:, i]``, zeros before a sequence's first step, and outputs then depend on the member's own
input history only. Otherwise the networks are MLPs (``policies.common.networks.mlp``).

``MemberNetworks`` is an ``nn.ModuleList`` of the networks, so ``nets[i]`` is member ``i``'s
network (``nets[0]`` the shared one), which exporters script one by one, and the state-dict
keys are a plain ``ModuleList``'s (``0.*``, ``1.*``). Do not add or remove networks.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from policies.common.networks import GRUNet, mlp


class MemberNetworks(nn.ModuleList):
    """One network per member, or one shared network with member ids, run on a whole team.

    Args:
        n_members: Members of the team, ``n``.
        obs_size: Features of one member's input, ``F`` (without the id).
        hidden: Hidden layer sizes (for a GRU: the MLP before it, the last one its input).
        out_size: Outputs per member (e.g. its action values or logits).
        shared: One network for all members, with a one-hot member id appended to the input.
        cell_size: The GRU's state size; None for MLPs (stateless).
        activation: One of ``policies.common.networks.ACTIVATIONS``.
        out_gain: Orthogonal gain of the output layer (0.01 for policy logits).

    """

    def __init__(
        self,
        n_members: int,
        obs_size: int,
        hidden: Sequence[int],
        out_size: int,
        *,
        shared: bool = True,
        cell_size: int | None = None,
        activation: str = "tanh",
        out_gain: float = 1.0,
    ) -> None:
        if n_members < 1:
            raise ValueError(f"n_members must be at least 1, got {n_members}")
        in_size = obs_size + (n_members if shared else 0)
        super().__init__(
            mlp(in_size, hidden, out_size, activation, out_gain)
            if cell_size is None
            else GRUNet(in_size, hidden, cell_size, out_size, activation, out_gain)
            for _ in range(1 if shared else n_members)
        )
        self.n_members = n_members
        self.obs_size = obs_size
        self.out_size = out_size
        self.shared = shared
        self.cell_size = cell_size

    @property
    def recurrent(self) -> bool:
        """Whether the networks are GRUs (and carry a state)."""
        return self.cell_size is not None

    def initial_state(self) -> torch.Tensor:
        """The state before a sequence's first step: zeros ``[n, cell]`` (GRU members only)."""
        if self.cell_size is None:
            raise ValueError("MLP members have no state")
        return torch.zeros(self.n_members, self.cell_size)

    def forward(
        self, x: torch.Tensor, hidden: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Every member's output from its own input.

        Args:
            x: ``[B, n, F]`` (one step) or ``[B, T, n, F]`` (sequences).
            hidden: ``[B, n, cell]`` GRU state before the first step (zeros if None); must
                be None for MLP members.

        Returns:
            ``([B, n, out] or [B, T, n, out], h)``: ``h [B, n, cell]`` is the GRU state after
            the last step, None for MLP members.

        """
        self._check(x, hidden)
        if x.ndim == 3:
            out, h = self._unroll(x.unsqueeze(1), hidden)  # [B, 1, n, out]
            return out.squeeze(1), h
        return self._unroll(x, hidden)

    def _unroll(
        self, x: torch.Tensor, hidden: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``x [B, T, n, F]`` -> ``([B, T, n, out], h [B, n, cell] | None)``."""
        batch, steps, n, _ = x.shape
        if self.shared:
            ids = torch.eye(n, device=x.device, dtype=x.dtype).expand(batch, steps, n, n)
            x = torch.cat([x, ids], dim=-1)  # [B, T, n, F + n]
            inputs = [x]
        else:
            inputs = [x[:, :, i : i + 1] for i in range(n)]  # n x [B, T, 1, F]
        if self.cell_size is None:
            return torch.cat([net(part) for net, part in zip(self, inputs)], dim=2), None
        if hidden is None:
            hidden = x.new_zeros(batch, n, self.cell_size)
        outs, states = [], []
        for k, (net, part) in enumerate(zip(self, inputs)):
            width = part.shape[2]  # n members (shared net) or 1
            h0 = hidden[:, k * width : (k + 1) * width].reshape(batch * width, -1)
            part = part.transpose(1, 2).reshape(batch * width, steps, -1)  # [B * w, T, F]
            out, h = net(part, h0)  # [B * w, T, out], [B * w, cell]
            outs.append(out.reshape(batch, width, steps, -1).transpose(1, 2))
            states.append(h.reshape(batch, width, -1))
        return torch.cat(outs, dim=2), torch.cat(states, dim=1)

    def _check(self, x: torch.Tensor, hidden: torch.Tensor | None) -> None:
        if x.ndim not in (3, 4) or tuple(x.shape[-2:]) != (self.n_members, self.obs_size):
            raise ValueError(
                f"expected x [B, (T,) {self.n_members}, {self.obs_size}], got {tuple(x.shape)}"
            )
        if hidden is None:
            return
        if self.cell_size is None:
            raise ValueError("MLP members take no hidden state")
        expected = (x.shape[0], self.n_members, self.cell_size)
        if tuple(hidden.shape) != expected:
            raise ValueError(f"expected hidden {expected}, got {tuple(hidden.shape)}")

    def __getitem__(self, idx: int | slice) -> nn.Module:
        """Member network ``idx`` (``0``: the shared one); a slice is a plain ``ModuleList``."""
        if isinstance(idx, slice):
            return nn.ModuleList(list(self)[idx])
        return super().__getitem__(idx)

    def extra_repr(self) -> str:
        return f"n_members={self.n_members}, shared={self.shared}, cell_size={self.cell_size}"
