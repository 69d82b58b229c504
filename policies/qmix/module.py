"""TeamQModule: per-agent utilities on local observations, a mixer on the state (training only).

The module acts for one team of the team view (``env_wrappers.team``): observations are
Dicts with ``obs`` ``[B, n, obs_dim]`` (every member's local observation), ``state``,
``action_mask`` ``[B, n, A]`` (when the env has masks) and ``alive``. Actions are one per
member (MultiDiscrete).

- **Agent network**: ``Q_a(o_a)`` for every member from its own observation only: one MLP
  shared by all members with a one-hot member id appended (``shared_agent_network: true``,
  the default), or one MLP per member.
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
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.apis.target_network_api import TargetNetworkAPI
from ray.rllib.core.rl_module.torch.torch_rl_module import TorchRLModule
from ray.rllib.utils.annotations import override
from ray.rllib.utils.schedules.scheduler import Scheduler
from torch import nn

from env_wrappers.keys import MASK_KEY, OBS_KEY, STATE_KEY
from policies.common.networks import mlp
from policies.qmix.mixers import make_mixer
from policies.qmix.targets import masked_argmax

#: ``rl_module.model_config`` keys a team Q module reads, with defaults.
MODEL_CONFIG_KEYS: dict[str, Any] = {
    "fcnet_hiddens": [64],
    "fcnet_activation": "relu",
    "shared_agent_network": True,
}
#: Forward-pass outputs.
Q_VALUES, Q_NEXT, Q_TARGET_NEXT = "q_values", "q_next", "q_target_next"


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
        self.agent_nets = nn.ModuleList(
            mlp(in_size, hidden, self.n_actions, activation) for _ in range(count)
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

    def agent_q(self, obs: dict[str, torch.Tensor], nets: nn.ModuleList | None = None) -> Any:
        """Every member's utilities from its own observation: ``[B, n, A]``."""
        nets = nets if nets is not None else self.agent_nets
        local = obs[OBS_KEY].float()
        local = local.reshape(*local.shape[:2], -1)  # [B, n, obs_size]
        if self.shared:
            ids = torch.eye(self.n_agents, device=local.device).expand(local.shape[0], -1, -1)
            return nets[0](torch.cat([local, ids], dim=-1))  # [B, n, A]
        return torch.stack([net(local[:, i]) for i, net in enumerate(nets)], dim=1)

    def state(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        """The global state, flattened: ``[B, state_dim]``."""
        return obs[STATE_KEY].float().reshape(obs[STATE_KEY].shape[0], -1)

    @override(TorchRLModule)
    def _forward_inference(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        obs = batch[Columns.OBS]
        q = self.agent_q(obs)  # [B, n, A]
        return {Columns.ACTIONS: masked_argmax(q, obs.get(MASK_KEY)), Q_VALUES: q}

    @override(TorchRLModule)
    def _forward_exploration(self, batch: dict[str, Any], t: int = 0, **kw: Any) -> dict:
        obs = batch[Columns.OBS]
        greedy = self._forward_inference(batch)[Columns.ACTIONS]  # [B, n]
        self.epsilon_schedule.update(t)
        epsilon = float(self.epsilon_schedule.get_current_value())
        mask = obs.get(MASK_KEY)
        weights = torch.ones(*greedy.shape, self.n_actions) if mask is None else mask.float()
        weights = torch.where(weights.sum(-1, keepdim=True) > 0, weights, torch.ones_like(weights))
        random = torch.multinomial(weights.reshape(-1, self.n_actions), 1).reshape(greedy.shape)
        explore = torch.rand(greedy.shape, device=greedy.device) < epsilon  # [B, n]
        return {Columns.ACTIONS: torch.where(explore, random.to(greedy.device), greedy)}

    @override(TorchRLModule)
    def _forward_train(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
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
