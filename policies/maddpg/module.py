"""MADDPGModule: every agent's deterministic actor and (for training) its centralized critic.

MADDPG runs on the team view with one team holding every agent (``teams: all``, padded
spaces), so one module sees all agents of an env step together: observations ``obs [B, n,
obs_dim]``, ``state``, ``alive [B, n]`` and ``action_mask [B, n, A]`` (discrete envs with
masks); actions one per member (MultiDiscrete or a ``[n, d]`` Box).

- **Actors** (``policies.common.members.MemberNetworks``, shared with one-hot ids or one per
  agent) on each agent's own observation. Discrete: masked logits; exploration samples the
  categorical policy (a one-hot behaviour action), inference takes the argmax. Continuous:
  ``tanh`` actions in RLlib's normalized ``[-1, 1]`` (RLlib maps them to the Box), with
  Gaussian exploration noise of std ``noise_scale`` (a buffer the learner sets from the
  schedule, synced to env runners with the weights).
- **Critics** (only when not ``inference_only``: never on env runners, never exported): one
  per agent, ``Q_i(x, a_1, ..., a_n)``, ``x`` the state (``critic: state``) or all agents'
  observations (``concat_obs``); ``critic: local`` gives independent DDPG, ``Q_i(o_i, a_i)``.
  Target copies of actors and critics.
- **Ensembles** (``ensemble_size`` K > 1): ``agent_nets`` is a ``ModuleList`` of K
  ``MemberNetworks``; the team env's ``sub_policy`` observation says which one each agent
  drew for the episode (``policies.common.ensemble``), in acting and in the replay alike.
  The critics are shared by an agent's sub-policies.
- **Policy approximations** (``policy_inference``, only when not ``inference_only``): for
  each agent ``i``, one network per other agent ``j`` (``MemberNetworks`` over the ``n - 1``
  others, the actors' hidden sizes) that approximates ``j``'s policy from ``j``'s own
  observation: masked logits (discrete) or a Gaussian head ``[mean, log_std]`` (continuous,
  ``policies.maddpg.inference``), with target copies. Never exported.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import gymnasium as gym
import torch
import torch.nn.functional as F
from ray.rllib.core.columns import Columns
from ray.rllib.core.distribution.torch.torch_distribution import (
    TorchDiagGaussian,
    TorchMultiCategorical,
)
from ray.rllib.core.rl_module.apis.target_network_api import TargetNetworkAPI
from ray.rllib.core.rl_module.torch.torch_rl_module import TorchRLModule
from ray.rllib.utils.annotations import override

from env_wrappers.keys import MASK_KEY, OBS_KEY, STATE_KEY
from policies.common.ensemble import select_sub_policy, sub_policy_of
from policies.common.members import MemberNetworks
from policies.common.networks import mask_logits
from policies.maddpg.inference import gaussian_params, others
from policies.maddpg.math import gapped_straight_through, gumbel_straight_through, squash

#: ``rl_module.model_config`` keys a MADDPG module reads, with defaults (the paper's MPE
#: networks: two hidden layers of 64, ReLU).
MODEL_CONFIG_KEYS: dict[str, Any] = {
    "fcnet_hiddens": [64, 64],
    "fcnet_activation": "relu",
    "shared_actor": False,
    "critic_hiddens": [64, 64],
}
#: Critic inputs (``training.critic``).
CRITIC_INPUTS = ("state", "concat_obs", "local")


class MADDPGModule(TorchRLModule, TargetNetworkAPI):
    """Actors of every agent and (for training) one centralized critic per agent."""

    @override(TorchRLModule)
    def setup(self) -> None:
        config = {**MODEL_CONFIG_KEYS, **(self.model_config or {})}
        obs_space = self.observation_space[OBS_KEY]
        self.n_agents = int(obs_space.shape[0])
        self.obs_size = gym.spaces.flatdim(obs_space) // self.n_agents
        self.discrete = isinstance(self.action_space, gym.spaces.MultiDiscrete)
        if self.discrete:
            self.action_size = int(self.action_space.nvec[0])
        else:
            self.action_size = int(math.prod(self.action_space.shape[1:]))
        activation = config["fcnet_activation"]
        self.ensemble_size = int(config.get("ensemble_size", 1))

        def actors() -> MemberNetworks:
            return MemberNetworks(
                self.n_agents,
                self.obs_size,
                list(config["fcnet_hiddens"]),
                self.action_size,
                shared=bool(config["shared_actor"]),
                activation=activation,
                out_gain=0.01,
            )

        if self.ensemble_size == 1:
            self.agent_nets = actors()
        else:
            self.agent_nets = torch.nn.ModuleList(actors() for _ in range(self.ensemble_size))
        self.register_buffer("noise_scale", torch.tensor(float(config.get("noise_scale", 0.1))))
        self.critic_input = config.get("critic", "state")
        self.policy_inference = False  # approximations live on the learner only
        if self.inference_only:
            return
        self.critics = MemberNetworks(
            self.n_agents,
            self._critic_in_size(),
            list(config["critic_hiddens"]),
            1,
            shared=False,
            activation=activation,
        )
        self.policy_inference = bool(config.get("policy_inference")) and self.n_agents > 1
        if self.policy_inference:
            head = self.action_size if self.discrete else 2 * self.action_size
            self.approximations = torch.nn.ModuleList(
                MemberNetworks(
                    self.n_agents - 1,
                    self.obs_size,
                    list(config["fcnet_hiddens"]),
                    head,
                    shared=False,
                    activation=activation,
                    out_gain=0.01,
                )
                for _ in range(self.n_agents)
            )
        self.make_target_networks()

    def _critic_in_size(self) -> int:
        joint = self.n_agents * self.action_size
        if self.critic_input == "local":
            return self.obs_size + self.action_size
        if self.critic_input == "concat_obs":
            return self.n_agents * self.obs_size + joint
        return gym.spaces.flatdim(self.observation_space[STATE_KEY]) + joint

    @override(TargetNetworkAPI)
    def make_target_networks(self) -> None:
        if not hasattr(self, "_target_critics"):
            self._target_actors = copy.deepcopy(self.agent_nets).requires_grad_(False)
            self._target_critics = copy.deepcopy(self.critics).requires_grad_(False)
        if getattr(self, "policy_inference", False) and not hasattr(self, "_target_approx"):
            self._target_approx = copy.deepcopy(self.approximations).requires_grad_(False)

    @override(TargetNetworkAPI)
    def get_target_network_pairs(self) -> list[tuple[Any, Any]]:
        pairs = [(self.agent_nets, self._target_actors), (self.critics, self._target_critics)]
        if self.policy_inference:
            pairs.append((self.approximations, self._target_approx))
        return pairs

    @override(TargetNetworkAPI)
    def forward_target(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {}  # the learner calls ``actor_outputs`` and ``q_values`` with the targets

    def local_obs(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        """Every member's flattened observation: ``[..., n, obs_size]``."""
        local = obs[OBS_KEY].float()
        lead = local.shape[: local.ndim - len(self.observation_space[OBS_KEY].shape)]
        return local.reshape(*lead, self.n_agents, self.obs_size)

    def actor_outputs(self, obs: dict[str, torch.Tensor], nets: Any = None) -> torch.Tensor:
        """Masked logits (discrete) or pre-``tanh`` actions (continuous): ``[..., n, A]``.

        With an ensemble, each agent's from the sub-policy it drew (``obs["sub_policy"]``).
        """
        nets, local = nets or self.agent_nets, self.local_obs(obs)
        if self.ensemble_size == 1:
            out, _ = nets(local)
        else:
            pick = sub_policy_of(obs)
            if pick is None:
                raise ValueError("an ensemble module needs the team env's sub_policy observation")
            every = torch.stack([net(local)[0] for net in nets], dim=-2)  # [..., n, K, A]
            out = select_sub_policy(every, pick)
        if self.discrete:
            return mask_logits(out, obs.get(MASK_KEY))
        return out

    def approximation_outputs(self, obs: dict[str, torch.Tensor], nets: Any = None) -> torch.Tensor:
        """Every agent's approximations of the others: ``[..., n, n - 1, A or 2d]``.

        Row ``i`` holds agent ``i``'s approximations of agents ``others(n, i)`` (in order),
        each applied to that agent's own observation: masked logits (discrete) or a Gaussian
        head ``[mean, log_std]`` (continuous).
        """
        local, mask = self.local_obs(obs), obs.get(MASK_KEY)  # [..., n, O]
        rows = []
        for i, net in enumerate(nets or self.approximations):
            index = others(self.n_agents, i)
            out, _ = net(local[..., index, :])  # [..., n - 1, A or 2d]
            if self.discrete:
                out = mask_logits(out, None if mask is None else mask[..., index, :])
            rows.append(out)
        return torch.stack(rows, dim=-3)

    def approximation_actions(self, outputs: torch.Tensor) -> torch.Tensor:
        """The approximations' most likely actions: one-hot argmax or the Gaussian's mean."""
        if self.discrete:
            return F.one_hot(outputs.argmax(-1), self.action_size).float()
        return gaussian_params(outputs)[0]

    def policy_actions(
        self, outputs: torch.Tensor, estimator: str, temperature: float
    ) -> torch.Tensor:
        """Differentiable actions from ``actor_outputs``: one-hot (discrete) or in [-1, 1]."""
        if not self.discrete:
            return squash(outputs)
        if estimator == "gapped":
            return gapped_straight_through(outputs, temperature)
        return gumbel_straight_through(outputs, temperature)

    def action_inputs(self, actions: torch.Tensor) -> torch.Tensor:
        """Replayed actions as critic inputs: one-hot ``[..., n, A]`` or ``[..., n, d]``."""
        if self.discrete:
            return F.one_hot(actions.long(), self.action_size).float()
        return actions.float().reshape(*actions.shape[:-2], self.n_agents, -1).clamp(-1, 1)

    def q_values(
        self, obs: dict[str, torch.Tensor], actions: torch.Tensor, nets: Any = None
    ) -> torch.Tensor:
        """``Q_i`` of every member at the joint ``actions [..., n, A]``: ``[..., n]``."""
        local = self.local_obs(obs)  # [..., n, O]
        lead, n = local.shape[:-2], self.n_agents
        if self.critic_input == "local":
            rows = torch.cat([local, actions], dim=-1)  # [..., n, O + A]
        else:
            if self.critic_input == "concat_obs":
                x = local.flatten(-2)  # [..., n * O]
            else:
                state = obs[STATE_KEY].float()
                x = state.reshape(*lead, -1)  # [..., S]
            joint = torch.cat([x, actions.flatten(-2)], dim=-1)  # [..., F]
            rows = joint.unsqueeze(-2).expand(*lead, n, joint.shape[-1])  # [..., n, F]
        out, _ = (nets or self.critics)(rows)
        return out.squeeze(-1)  # [..., n]

    def _dist_inputs(self, obs: dict[str, torch.Tensor], explore: bool) -> torch.Tensor:
        out = self.actor_outputs(obs)  # [B, n, A]
        if self.discrete:
            return out.reshape(out.shape[0], -1)
        mean = squash(out)  # [B, n, d]: samples keep the team Box's [n, d] shape
        scale = self.noise_scale if explore else torch.tensor(1e-6)
        log_std = torch.log(scale.clamp_min(1e-6)).expand_as(mean)
        return torch.cat([mean, log_std], dim=-1)  # [B, n, 2d]

    @override(TorchRLModule)
    def _forward_inference(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {Columns.ACTION_DIST_INPUTS: self._dist_inputs(batch[Columns.OBS], False)}

    @override(TorchRLModule)
    def _forward_exploration(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {Columns.ACTION_DIST_INPUTS: self._dist_inputs(batch[Columns.OBS], True)}

    @override(TorchRLModule)
    def _forward_train(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {}  # the learner runs actors and critics itself (two phases)

    def _dist_cls(self) -> type:
        if self.discrete:
            return TorchMultiCategorical.get_partial_dist_cls(
                input_lens=[self.action_size] * self.n_agents
            )
        return TorchDiagGaussian

    @override(TorchRLModule)
    def get_inference_action_dist_cls(self) -> type:
        return self._dist_cls()

    @override(TorchRLModule)
    def get_exploration_action_dist_cls(self) -> type:
        return self._dist_cls()

    @override(TorchRLModule)
    def get_train_action_dist_cls(self) -> type:
        return self._dist_cls()
