"""TeamQModule: per-agent utilities on local observations, a mixer on the state (training only).

The module acts for one team of the team view (``env_wrappers.team``): observations are
Dicts with ``obs`` ``[B, n, obs_dim]`` (every member's local observation), ``state``,
``action_mask`` ``[B, n, A]`` (when the env has masks) and ``alive``. Actions are one per
member (MultiDiscrete).

- **Agent network** (``policies.common.members.MemberNetworks``, ``agent_nets``): ``Q_a(o_a)``
  for every member from its own observation only: one MLP shared by all members with a
  one-hot member id appended (``shared_agent_network: true``, the default), or one MLP per
  member. ``use_gru: true`` makes it a DRQN (MLP features, a GRU of ``gru_cell_size``, a
  linear head): utilities then depend on the member's own observation history, the module is
  stateful (state ``[n, cell]`` per team) and training unrolls it over replayed episodes
  (``sequence_q``).
- **Acting**: each member takes the masked argmax of its own utilities (decentralized
  execution), epsilon-greedy over its valid actions while exploring; epsilon follows the
  config's ``epsilon`` schedule (RLlib's DQN convention, ``[[t, value], ...]``).
- **Mixer** (``policies.qmix.mixers``): QMIX, VDN or none (IQL); built only for training
  (not ``inference_only``), with target copies of the agent network and mixer
  (``TargetNetworkAPI``). ``scale_state: true`` maps the state into ``[-1, 1]`` by its
  space's finite bounds before the mixer (``bounds_scaler``); off by default (PyMARL's
  mixer reads the raw state).
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
from policies.common.members import MemberNetworks
from policies.qmix.mixers import bounds_scaler, make_mixer

#: ``rl_module.model_config`` keys a team Q module reads, with defaults.
MODEL_CONFIG_KEYS: dict[str, Any] = {
    "fcnet_hiddens": [64],
    "fcnet_activation": "relu",
    "shared_agent_network": True,
    "use_gru": False,
    "gru_cell_size": 64,
    "scale_state": False,
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
        self.recurrent = bool(config["use_gru"])
        self.cell_size = int(config["gru_cell_size"])
        self.agent_nets = MemberNetworks(
            self.n_agents,
            gym.spaces.flatdim(obs_space) // self.n_agents,
            list(config["fcnet_hiddens"]),
            self.n_actions,
            shared=self.shared,
            cell_size=self.cell_size if self.recurrent else None,
            activation=config["fcnet_activation"],
        )
        self.epsilon_schedule = Scheduler(config.get("epsilon", 0.0))
        if not self.inference_only:
            state_space = self.observation_space[STATE_KEY]
            state_dim = gym.spaces.flatdim(state_space)
            scale, shift = torch.ones(state_dim), torch.zeros(state_dim)
            if config["scale_state"]:
                scale, shift = bounds_scaler(state_space.low, state_space.high)
            self.register_buffer("_state_scale", scale, persistent=False)
            self.register_buffer("_state_shift", shift, persistent=False)
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
        return {HIDDEN: self.agent_nets.initial_state().numpy()}  # [n, cell]

    def agent_q(self, obs: dict[str, torch.Tensor], nets: MemberNetworks | None = None) -> Any:
        """Every member's utilities from its own observation: ``[B, n, A]``.

        ``nets``: the agent networks to use (the target copy), ``agent_nets`` if None. A GRU
        agent starts from its initial (zero) state: this is its first step's output.
        """
        local = obs[OBS_KEY].float()
        local = local.reshape(*local.shape[:2], -1)  # [B, n, obs_size]
        return (self.agent_nets if nets is None else nets)(local)[0]  # [B, n, A]

    def sequence_q(
        self,
        obs: dict[str, torch.Tensor],
        nets: MemberNetworks | None = None,
        hidden: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Utilities along sequences ``obs[OBS] [B, T, n, ...]``: ``([B, T, n, A], h)``.

        ``hidden`` ``[B, n, cell]`` is the GRU state before the first step (zeros if None);
        ``h`` the state after the last one (None for MLP agents).
        """
        local = obs[OBS_KEY].float()
        local = local.reshape(*local.shape[:3], -1)  # [B, T, n, obs_size]
        return (self.agent_nets if nets is None else nets)(local, hidden)

    def state(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        """The mixer's global state, flattened (scaled with ``scale_state``): ``[B, S]``."""
        flat = obs[STATE_KEY].float().reshape(obs[STATE_KEY].shape[0], -1)
        return flat * self._state_scale + self._state_shift

    def state_sequence(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        """The mixer's global state along sequences, flattened: ``[B, T, S]``."""
        flat = obs[STATE_KEY].float().reshape(*obs[STATE_KEY].shape[:2], -1)
        return flat * self._state_scale + self._state_shift

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
