"""TeamQModule: per-agent utilities on local observations, a mixer on the state (training only).

The module acts for one team of the team view (``env_wrappers.team``): observations are
Dicts with ``obs`` ``[B, n, obs_dim]`` (every member's local observation), ``state``,
``action_mask`` ``[B, n, A]`` (when the env has masks) and ``alive``. Actions are one per
member (MultiDiscrete).

- **Agent network**: ``Q_a(o_a)`` for every member from its own observation only: one MLP
  shared by all members with a one-hot member id appended (``shared_agent_network: true``,
  the default), or one MLP per member. ``use_gru: true`` makes it a DRQN (MLP features, a
  GRU of ``gru_cell_size``, a linear head): utilities then depend on the member's own
  observation history, the module is stateful (state ``[n, cell]`` per team) and training
  unrolls it over replayed episodes (``sequence_q``).
- **Acting**: each member takes the masked argmax of its own utilities (decentralized
  execution), epsilon-greedy over its valid actions while exploring; epsilon follows the
  config's ``epsilon`` schedule (RLlib's DQN convention, ``[[t, value], ...]``).
- **Mixer** (``policies.qmix.mixers``): QMIX, VDN or none (IQL); built only for training
  (not ``inference_only``), with target copies of the agent network and mixer
  (``TargetNetworkAPI``).
"""

from __future__ import annotations

import copy
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.apis.target_network_api import TargetNetworkAPI
from ray.rllib.core.rl_module.torch.torch_rl_module import TorchRLModule
from ray.rllib.utils.annotations import override
from ray.rllib.utils.schedules.scheduler import Scheduler
from torch import nn

from env_wrappers.keys import MASK_KEY, OBS_KEY, STATE_KEY
from policies.common.episode_replay import FILLED
from policies.common.masking import masked_argmax
from policies.common.networks import GRUNet, mlp
from policies.qmix.mixers import make_mixer

#: ``rl_module.model_config`` keys a team Q module reads, with defaults.
MODEL_CONFIG_KEYS: dict[str, Any] = {
    "fcnet_hiddens": [64],
    "fcnet_activation": "relu",
    "shared_agent_network": True,
    "use_gru": False,
    "gru_cell_size": 64,
}
#: Forward-pass outputs.
Q_VALUES, Q_NEXT, Q_TARGET_NEXT = "q_values", "q_next", "q_target_next"
#: Forward-pass output on episode batches: target-network utilities ``[B, T + 1, n, A]``.
Q_TARGET_SEQ = "q_target_seq"
#: Key of the recurrent state (``[n, cell]`` per team).
HIDDEN = "h"


class TeamQModule(TorchRLModule, TargetNetworkAPI):
    """Utilities of every team member and (for training) the mixer."""

    @override(TorchRLModule)
    def setup(self) -> None:
        config = {**MODEL_CONFIG_KEYS, **(self.model_config or {})}
        obs_space = self.observation_space[OBS_KEY]
        self.n_agents = int(obs_space.shape[0])
        self.n_actions = int(self.action_space.nvec[0])
        self.shared = bool(config["shared_agent_network"])
        obs_size = gym.spaces.flatdim(obs_space) // self.n_agents
        hidden, activation = list(config["fcnet_hiddens"]), config["fcnet_activation"]
        in_size = obs_size + (self.n_agents if self.shared else 0)
        count = 1 if self.shared else self.n_agents
        self.recurrent = bool(config["use_gru"])
        self.cell_size = int(config["gru_cell_size"])
        self.agent_nets = nn.ModuleList(
            GRUNet(in_size, hidden, self.cell_size, self.n_actions, activation)
            if self.recurrent
            else mlp(in_size, hidden, self.n_actions, activation)
            for _ in range(count)
        )
        self.epsilon_schedule = Scheduler(config.get("epsilon", 0.0))
        if not self.inference_only:
            state_dim = gym.spaces.flatdim(self.observation_space[STATE_KEY])
            self.mixer = make_mixer(
                config.get("mixer", "qmix"),
                self.n_agents,
                state_dim,
                **dict(config.get("mixer_options", {})),
            )

    @override(TorchRLModule)
    def get_initial_state(self) -> dict[str, np.ndarray]:
        if not self.recurrent:
            return {}
        return {HIDDEN: np.zeros((self.n_agents, self.cell_size), dtype=np.float32)}

    def agent_q(self, obs: dict[str, torch.Tensor], nets: nn.ModuleList | None = None) -> Any:
        """Every member's utilities from its own observation: ``[B, n, A]``.

        A GRU agent starts from its initial (zero) state: this is its first step's output.
        """
        local = obs[OBS_KEY].float()
        local = local.reshape(*local.shape[:2], -1).unsqueeze(1)  # [B, 1, n, obs_size]
        return self._run(local, nets, None)[0].squeeze(1)  # [B, n, A]

    def sequence_q(
        self,
        obs: dict[str, torch.Tensor],
        nets: nn.ModuleList | None = None,
        hidden: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Utilities along sequences ``obs[OBS] [B, T, n, ...]``: ``([B, T, n, A], h)``.

        ``hidden`` ``[B, n, cell]`` is the GRU state before the first step (zeros if None);
        ``h`` the state after the last one (None for MLP agents).
        """
        local = obs[OBS_KEY].float()
        local = local.reshape(*local.shape[:3], -1)  # [B, T, n, obs_size]
        return self._run(local, nets, hidden)

    def _run(
        self, local: torch.Tensor, nets: nn.ModuleList | None, hidden: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The agent network(s) on ``local [B, T, n, F]`` -> ``([B, T, n, A], h [B, n, cell])``."""
        nets = nets if nets is not None else self.agent_nets
        batch, steps, n, _ = local.shape
        if self.shared:
            ids = torch.eye(n, device=local.device).expand(batch, steps, n, n)
            local = torch.cat([local, ids], dim=-1)  # [B, T, n, F + n]
            inputs = [local]
        else:
            inputs = [local[:, :, i : i + 1] for i in range(n)]  # n x [B, T, 1, F]
        if not self.recurrent:
            return torch.cat([net(x) for net, x in zip(nets, inputs)], dim=2), None
        if hidden is None:
            hidden = local.new_zeros(batch, n, self.cell_size)
        outs, states = [], []
        for k, (net, x) in enumerate(zip(nets, inputs)):
            width = x.shape[2]  # n members (shared net) or 1
            h0 = hidden[:, k * width : (k + 1) * width].reshape(batch * width, -1)
            x = x.transpose(1, 2).reshape(batch * width, steps, -1)  # [B * w, T, F]
            out, h = net(x, h0)  # [B * w, T, A], [B * w, cell]
            outs.append(out.reshape(batch, width, steps, -1).transpose(1, 2))
            states.append(h.reshape(batch, width, -1))
        return torch.cat(outs, dim=2), torch.cat(states, dim=1)

    def state(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        """The global state, flattened: ``[B, state_dim]``."""
        return obs[STATE_KEY].float().reshape(obs[STATE_KEY].shape[0], -1)

    def state_sequence(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        """The global state along sequences, flattened: ``[B, T, state_dim]``."""
        return obs[STATE_KEY].float().reshape(*obs[STATE_KEY].shape[:2], -1)

    @override(TorchRLModule)
    def _forward_inference(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        obs = batch[Columns.OBS]
        if not self.recurrent:
            q = self.agent_q(obs)  # [B, n, A]
            return {Columns.ACTIONS: masked_argmax(q, obs.get(MASK_KEY)), Q_VALUES: q}
        # Env runners add a time axis for stateful modules: obs [B, 1, n, ...].
        q, hidden = self.sequence_q(obs, hidden=batch[Columns.STATE_IN][HIDDEN])
        return {
            Columns.ACTIONS: masked_argmax(q, obs.get(MASK_KEY)),  # [B, 1, n]
            Q_VALUES: q,
            Columns.STATE_OUT: {HIDDEN: hidden},
        }

    @override(TorchRLModule)
    def _forward_exploration(self, batch: dict[str, Any], t: int = 0, **kw: Any) -> dict:
        obs = batch[Columns.OBS]
        out = self._forward_inference(batch)
        out.pop(Q_VALUES)  # not stored in the episodes
        greedy = out[Columns.ACTIONS]  # [B, n] ([B, 1, n] for GRU agents)
        self.epsilon_schedule.update(t)
        epsilon = float(self.epsilon_schedule.get_current_value())
        mask = obs.get(MASK_KEY)
        weights = torch.ones(*greedy.shape, self.n_actions) if mask is None else mask.float()
        weights = torch.where(weights.sum(-1, keepdim=True) > 0, weights, torch.ones_like(weights))
        random = torch.multinomial(weights.reshape(-1, self.n_actions), 1).reshape(greedy.shape)
        explore = torch.rand(greedy.shape, device=greedy.device) < epsilon  # [B, n]
        out[Columns.ACTIONS] = torch.where(explore, random.to(greedy.device), greedy)
        return out

    @override(TorchRLModule)
    def _forward_train(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if FILLED in batch:  # a replayed episode batch: obs [B, T + 1, n, ...]
            obs = batch[Columns.OBS]
            with torch.no_grad():
                target_q = self.sequence_q(obs, self._target_agent_nets)[0]
            return {Q_VALUES: self.sequence_q(obs)[0], Q_TARGET_SEQ: target_q}
        out = {Q_VALUES: self.agent_q(batch[Columns.OBS])}
        if Columns.NEXT_OBS in batch:
            next_obs = batch[Columns.NEXT_OBS]
            out[Q_NEXT] = self.agent_q(next_obs).detach()
            out[Q_TARGET_NEXT] = self.agent_q(next_obs, self._target_agent_nets).detach()
        return out

    @override(TargetNetworkAPI)
    def make_target_networks(self) -> None:
        self._target_agent_nets = copy.deepcopy(self.agent_nets)
        self._target_mixer = copy.deepcopy(self.mixer)
        for net in (self._target_agent_nets, self._target_mixer):
            net.requires_grad_(False)

    @override(TargetNetworkAPI)
    def get_target_network_pairs(self) -> list[tuple[nn.Module, nn.Module]]:
        return [(self.agent_nets, self._target_agent_nets), (self.mixer, self._target_mixer)]

    @override(TargetNetworkAPI)
    def forward_target(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {Q_TARGET_NEXT: self.agent_q(batch[Columns.OBS], self._target_agent_nets)}

    def target_mixer(self, agent_qs: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        """The target network's mixer."""
        return self._target_mixer(agent_qs, state)
