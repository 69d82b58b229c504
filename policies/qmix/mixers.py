"""Mixers from per-agent Q-values to a team Q-value, plain torch (no Ray).

A mixer maps the Q-values of the actions the agents took (or would take), ``agent_qs
[..., n_agents]``, and the global state ``[..., state_dim]`` to the team value ``Q_tot [...]``:

- ``VDNMixer`` (Sunehag et al. 2018): ``Q_tot = sum_a Q_a``; the state is ignored.
- ``QMixer`` (Rashid et al. 2018): a monotonic two-layer network whose weights are produced
  from the state by hypernetworks and made non-negative, so ``dQ_tot / dQ_a >= 0`` and the
  joint greedy action is the tuple of the agents' greedy actions.
- ``NoMixer`` (IQL): no mixing, ``agent_qs`` is returned as it is (``[..., n_agents]``).

With ``NoMixer`` every agent is its own learner: the "team" TD target becomes one target per
agent, computed by ``policies.common.targets`` with ``target_values [B, T, n_agents]``
(each agent's own greedy target Q of the next observation) and the shared team reward
``[B, T]``, which is broadcast over the agents; ``td_loss`` then averages over agents too.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

MIXERS = ("none", "qmix", "vdn")


class _StatelessMixer(nn.Module):
    """A mixer without parameters that ignores the state.

    Args:
        n_agents: If given, the size the last dimension of ``agent_qs`` must have.

    """

    def __init__(self, n_agents: int | None = None) -> None:
        super().__init__()
        self.n_agents = n_agents


class VDNMixer(_StatelessMixer):
    """``Q_tot = sum_a Q_a`` (Sunehag et al. 2018); no parameters, the state is ignored."""

    def forward(self, agent_qs: torch.Tensor, state: torch.Tensor | None = None) -> torch.Tensor:
        """``agent_qs [..., n_agents]`` (``state`` ignored) -> ``Q_tot [...]``."""
        _check_agents(agent_qs, self.n_agents)
        return agent_qs.sum(-1)


class NoMixer(_StatelessMixer):
    """IQL: returns ``agent_qs [..., n_agents]`` unchanged, one value per agent.

    Each agent's Q then learns from its own TD target (see the module docstring).
    """

    def forward(self, agent_qs: torch.Tensor, state: torch.Tensor | None = None) -> torch.Tensor:
        """``agent_qs [..., n_agents]`` (``state`` ignored) -> the same tensor."""
        _check_agents(agent_qs, self.n_agents)
        return agent_qs


class QMixer(nn.Module):
    """The monotonic mixing network of QMIX (Rashid et al. 2018).

    ``hidden = elu(qs @ |W1(s)| + b1(s))`` and ``Q_tot = hidden @ |W2(s)| + V(s)``, where
    ``W1 [n_agents, embed_dim]`` and ``W2 [embed_dim, 1]`` come from hypernetworks of the
    state (linear, or two layers with a ReLU), ``b1 [embed_dim]`` from a linear one and
    ``V(s)`` from a two-layer one (``state -> embed_dim -> 1``). The absolute values make
    ``Q_tot`` monotonic (non-decreasing) in every ``Q_a``; biases and ``V`` are unconstrained.

    Args:
        n_agents: Number of agents (last dimension of ``agent_qs``).
        state_dim: Size of the global state (last dimension of ``state``).
        embed_dim: Width of the mixing network's hidden layer.
        hypernet_layers: 1 (linear) or 2 (``state -> hypernet_embed -> weights``) layers
            in the hypernetworks of ``W1`` and ``W2``.
        hypernet_embed: Hidden width of the two-layer weight hypernetworks.

    Raises:
        ValueError: If ``hypernet_layers`` is not 1 or 2.

    """

    def __init__(
        self,
        n_agents: int,
        state_dim: int,
        embed_dim: int = 32,
        hypernet_layers: int = 1,
        hypernet_embed: int = 64,
    ) -> None:
        super().__init__()
        self.n_agents, self.state_dim, self.embed_dim = n_agents, state_dim, embed_dim
        self.hyper_w1 = _hypernet(state_dim, n_agents * embed_dim, hypernet_layers, hypernet_embed)
        self.hyper_w2 = _hypernet(state_dim, embed_dim, hypernet_layers, hypernet_embed)
        self.hyper_b1 = nn.Linear(state_dim, embed_dim)
        self.hyper_v = nn.Sequential(
            nn.Linear(state_dim, embed_dim), nn.ReLU(), nn.Linear(embed_dim, 1)
        )

    def forward(self, agent_qs: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        """``agent_qs [..., n_agents]`` and ``state [..., state_dim]`` -> ``Q_tot [...]``."""
        _check_agents(agent_qs, self.n_agents)
        lead = agent_qs.shape[:-1]
        if state.shape != (*lead, self.state_dim):
            raise ValueError(
                f"expected state {(*lead, self.state_dim)} for agent_qs {tuple(agent_qs.shape)},"
                f" got {tuple(state.shape)}"
            )
        qs = agent_qs.reshape(-1, 1, self.n_agents)  # [N, 1, n_agents]
        s = state.reshape(-1, self.state_dim)  # [N, state_dim]
        w1 = self.hyper_w1(s).abs().view(-1, self.n_agents, self.embed_dim)  # [N, n, E]
        b1 = self.hyper_b1(s).unsqueeze(1)  # [N, 1, E]
        hidden = F.elu(torch.bmm(qs, w1) + b1)  # [N, 1, E]
        w2 = self.hyper_w2(s).abs().view(-1, self.embed_dim, 1)  # [N, E, 1]
        v = self.hyper_v(s).view(-1, 1, 1)  # [N, 1, 1]
        return (torch.bmm(hidden, w2) + v).view(lead)  # [...]


def bounds_scaler(low: Any, high: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """``(scale, shift)`` mapping a Box's finite ``[low, high]`` to ``[-1, 1]`` elementwise.

    ``x * scale + shift``; dimensions with an infinite or empty range are left as they are
    (scale 1, shift 0). The mixer's hypernetworks are linear in the state: on LBF's raw
    state (positions up to the grid size) the untrained QMIX mixer outputs ``Q_tot`` of
    20-60 where returns are at most 1, and about 1 on the scaled state.
    """
    lo = torch.as_tensor(np.asarray(low, np.float64)).flatten()
    hi = torch.as_tensor(np.asarray(high, np.float64)).flatten()
    finite = torch.isfinite(lo) & torch.isfinite(hi) & (hi > lo)
    width = torch.where(finite, hi - lo, torch.ones_like(lo))
    scale = torch.where(finite, 2.0 / width, torch.ones_like(lo))
    shift = torch.where(finite, -1.0 - lo * scale, torch.zeros_like(lo))
    return scale.float(), shift.float()


def make_mixer(name: str, n_agents: int, state_dim: int, **options: int) -> nn.Module:
    """Builds a mixer by name.

    Args:
        name: ``"qmix"`` (``QMixer``), ``"vdn"`` (``VDNMixer``) or ``"none"`` (``NoMixer``,
            IQL).
        n_agents: Number of agents.
        state_dim: Size of the global state (used by ``"qmix"`` only).
        **options: Keyword arguments of ``QMixer`` (``embed_dim``, ``hypernet_layers``,
            ``hypernet_embed``); ``"vdn"`` and ``"none"`` take none.

    Raises:
        ValueError: If ``name`` is unknown, or options are given to a mixer without any.

    """
    if name not in MIXERS:
        raise ValueError(f"mixer must be one of {list(MIXERS)}, got {name!r}")
    if name == "qmix":
        return QMixer(n_agents, state_dim, **options)
    if options:
        raise ValueError(f"mixer {name!r} takes no options, got {sorted(options)}")
    return VDNMixer(n_agents) if name == "vdn" else NoMixer(n_agents)


def _hypernet(in_size: int, out_size: int, layers: int, hidden: int) -> nn.Module:
    if layers == 1:
        return nn.Linear(in_size, out_size)
    if layers == 2:
        return nn.Sequential(nn.Linear(in_size, hidden), nn.ReLU(), nn.Linear(hidden, out_size))
    raise ValueError(f"hypernet_layers must be 1 or 2, got {layers}")


def _check_agents(agent_qs: torch.Tensor, n_agents: int | None) -> None:
    if n_agents is not None and (agent_qs.ndim == 0 or agent_qs.shape[-1] != n_agents):
        raise ValueError(f"expected agent_qs [..., {n_agents}], got {tuple(agent_qs.shape)}")
