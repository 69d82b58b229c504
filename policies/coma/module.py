"""COMAModule: a team's actors on local observations and (for training) the central critic.

The module acts for one team of the team view (``env_wrappers.team``): observations are
Dicts with ``obs`` ``[B, n, obs_dim]`` (every member's local observation), ``state`` and
``action_mask`` ``[B, n, A]`` (when the env has masks); actions are one per member
(MultiDiscrete), sampled from independent categoricals (``TorchMultiCategorical``).

- **Actors** (``policies.common.members.MemberNetworks``): logits ``pi_i(. | o_i)`` from each
  member's own observation, masked; shared with a one-hot member id
  (``shared_actor: true``, the default) or one network per member. ``use_gru: true`` makes
  every actor a GRU (``MemberNetworks`` with ``cell_size = gru_cell_size``): the module is
  then stateful, its state ``{"h": [n, cell]}`` per team (each member's own hidden state,
  carried by the env runners), and RLlib adds a time axis: ``[B, 1, ...]`` on env runners,
  zero-padded chunks ``[B, max_seq_len, ...]`` in training, each chunk starting from the
  state stored while sampling (RLlib's ``AddStatesFromEpisodesToBatch``). Logits and
  Q-values then carry that time axis too: ``[B, T, n * A]`` and ``[B, T, n, A]``.
- **Critic** (built only when not ``inference_only``, so never on env runners and never
  exported): ``Q_i(s, (., u_-i)) [B, n, A]`` from ``policies.coma.math.critic_inputs``
  (state, the others' one-hot actions with the member's own block zeroed, its id), with a
  target copy (``TargetNetworkAPI``), and with ``standardize_rewards`` the running reward
  statistics its targets use (``policies.common.reward_norm``).
"""

from __future__ import annotations

import copy
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from ray.rllib.core.columns import Columns
from ray.rllib.core.distribution.torch.torch_distribution import TorchMultiCategorical
from ray.rllib.core.rl_module.apis.target_network_api import TargetNetworkAPI
from ray.rllib.core.rl_module.torch.torch_rl_module import TorchRLModule
from ray.rllib.utils.annotations import override

from env_wrappers.keys import MASK_KEY, OBS_KEY, STATE_KEY
from policies.coma.math import critic_inputs
from policies.common.members import MemberNetworks
from policies.common.networks import mask_logits, mlp
from policies.common.reward_norm import RewardStandardizer
from policies.common.value_norm import restore_exact_buffers

#: ``rl_module.model_config`` keys a COMA module reads, with defaults.
MODEL_CONFIG_KEYS: dict[str, Any] = {
    "fcnet_hiddens": [64, 64],
    "fcnet_activation": "relu",
    "shared_actor": True,
    "critic_hiddens": [64, 64],
    "use_gru": False,
    "gru_cell_size": 64,
    "max_seq_len": 20,
}
#: Forward-pass output of training: the critic's ``Q [B, n, A]``.
Q_VALUES = "q_values"
#: Key of the recurrent state (``[n, cell]`` per team) of GRU actors.
HIDDEN = "h"


class COMAModule(TorchRLModule, TargetNetworkAPI):
    """Actors of every team member and (for training) the central action-value critic."""

    @override(TorchRLModule)
    def setup(self) -> None:
        config = {**MODEL_CONFIG_KEYS, **(self.model_config or {})}
        obs_space = self.observation_space[OBS_KEY]
        self.n_agents = int(obs_space.shape[0])
        self.n_actions = int(self.action_space.nvec[0])
        self.obs_size = gym.spaces.flatdim(obs_space) // self.n_agents
        self.recurrent = bool(config["use_gru"])
        self.agent_nets = MemberNetworks(
            self.n_agents,
            self.obs_size,
            list(config["fcnet_hiddens"]),
            self.n_actions,
            shared=bool(config["shared_actor"]),
            cell_size=int(config["gru_cell_size"]) if self.recurrent else None,
            activation=config["fcnet_activation"],
            out_gain=0.01,
        )
        if not self.inference_only:
            state_size = gym.spaces.flatdim(self.observation_space[STATE_KEY])
            in_size = state_size + self.n_agents * self.n_actions + self.n_agents
            self.critic = mlp(
                in_size, list(config["critic_hiddens"]), self.n_actions, config["fcnet_activation"]
            )
            self.make_target_networks()
            if config.get("standardize_rewards", False):
                self.reward_norm = RewardStandardizer()

    @override(TorchRLModule)
    def get_initial_state(self) -> dict[str, np.ndarray]:
        if not self.recurrent:
            return {}
        return {HIDDEN: self.agent_nets.initial_state().numpy()}  # [n, cell]

    @override(TorchRLModule)
    def set_state(self, state: dict[str, Any]) -> None:
        """RLlib's set_state casts float64 to float32; restore the reward statistics exactly."""
        super().set_state(state)
        restore_exact_buffers(self, state)

    @override(TargetNetworkAPI)
    def make_target_networks(self) -> None:
        if not hasattr(self, "_target_critic"):
            self._target_critic = copy.deepcopy(self.critic)
            self._target_critic.requires_grad_(False)

    @override(TargetNetworkAPI)
    def get_target_network_pairs(self) -> list[tuple[Any, Any]]:
        return [(self.critic, self._target_critic)]

    @override(TargetNetworkAPI)
    def forward_target(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        actions = batch[Columns.ACTIONS]
        return {Q_VALUES: self.q_values(batch[Columns.OBS], actions, self._target_critic)}

    def logits(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        """Every member's masked logits from its own observation: ``[B, n, A]``.

        MLP actors; a GRU actor gives its first step's logits (from the zero state).
        """
        local = obs[OBS_KEY].float()
        local = local.reshape(*local.shape[:2], self.obs_size)  # [B, n, obs_size]
        out, _ = self.agent_nets(local)  # [B, n, A]
        return mask_logits(out, obs.get(MASK_KEY))

    def sequence_logits(
        self, obs: dict[str, torch.Tensor], hidden: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """GRU actors along sequences ``[B, T, n, ...]``: masked logits and the next state.

        ``hidden`` ``[B, n, cell]`` is the state before the first step; returns the logits
        ``[B, T, n, A]`` and the state after the last step ``[B, n, cell]``.
        """
        local = obs[OBS_KEY].float()
        local = local.reshape(*local.shape[:3], self.obs_size)  # [B, T, n, obs_size]
        out, h = self.agent_nets(local, hidden)  # [B, T, n, A], [B, n, cell]
        return mask_logits(out, obs.get(MASK_KEY)), h

    def q_values(self, obs: dict, actions: torch.Tensor, net: Any = None) -> torch.Tensor:
        """The critic's ``Q_i(s, (a, u_-i))`` for every own action ``a``: ``[B, (T,) n, A]``.

        The critic is an MLP: a time axis (GRU actors' sequences) is flattened and restored.
        """
        lead = actions.shape[:-1]  # [B] or [B, T]
        onehot = F.one_hot(actions.long(), self.n_actions).float()
        onehot = onehot.reshape(-1, self.n_agents, self.n_actions)  # [B (* T), n, A]
        ids = torch.eye(self.n_agents, device=onehot.device)  # [n, n]
        state = obs[STATE_KEY].float().reshape(onehot.shape[0], -1)  # [B (* T), S]
        q = (net or self.critic)(critic_inputs(state, onehot, ids))  # [B (* T), n, A]
        return q.reshape(*lead, self.n_agents, self.n_actions)

    @override(TorchRLModule)
    def _forward(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if self.recurrent:
            hidden = batch[Columns.STATE_IN][HIDDEN]
            logits, h = self.sequence_logits(batch[Columns.OBS], hidden)  # [B, T, n, A]
            return {
                Columns.ACTION_DIST_INPUTS: logits.reshape(*logits.shape[:2], -1),
                Columns.STATE_OUT: {HIDDEN: h},
            }
        logits = self.logits(batch[Columns.OBS])  # [B, n, A]
        return {Columns.ACTION_DIST_INPUTS: logits.reshape(logits.shape[0], -1)}

    @override(TorchRLModule)
    def _forward_train(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        out = self._forward(batch)
        out[Q_VALUES] = self.q_values(batch[Columns.OBS], batch[Columns.ACTIONS])
        return out

    def _dist_cls(self) -> type:
        return TorchMultiCategorical.get_partial_dist_cls(
            input_lens=[self.n_actions] * self.n_agents
        )

    @override(TorchRLModule)
    def get_inference_action_dist_cls(self) -> type:
        return self._dist_cls()

    @override(TorchRLModule)
    def get_exploration_action_dist_cls(self) -> type:
        return self._dist_cls()

    @override(TorchRLModule)
    def get_train_action_dist_cls(self) -> type:
        return self._dist_cls()
