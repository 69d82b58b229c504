"""IPPO's RLModule: an actor and a critic that both read only the agent's local observation.

Observations are the env wrapper's Dicts (``obs``, ``state``, optional ``action_mask``);
this module never reads ``state``, which is what makes IPPO independent learning. Masked
actions get zero probability whenever logits are produced (sampling and the PPO loss).
On env runners (``inference_only``) the critic is not built.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.distribution.torch.torch_distribution import (
    TorchCategorical,
    TorchDiagGaussian,
)
from ray.rllib.core.rl_module.apis.value_function_api import ValueFunctionAPI
from ray.rllib.core.rl_module.torch.torch_rl_module import TorchRLModule
from ray.rllib.utils.annotations import override
from torch import nn

from env_wrappers.keys import MASK_KEY, OBS_KEY
from policies.common.networks import mask_logits, mlp

#: model_config keys this module reads (the rest of RLlib's DefaultModelConfig is rejected).
MODEL_CONFIG_KEYS = {"fcnet_hiddens": [64, 64], "fcnet_activation": "tanh"}


def local_obs_space(observation_space: gym.Space) -> gym.Space:
    """The local part of a wrapped observation space (or the space itself if not a Dict)."""
    if isinstance(observation_space, gym.spaces.Dict):
        return observation_space[OBS_KEY]
    return observation_space


class LocalActorCriticModule(TorchRLModule, ValueFunctionAPI):
    """Actor-critic MLPs on the local observation; categorical or diagonal-Gaussian actions."""

    @override(TorchRLModule)
    def setup(self) -> None:
        config = {**MODEL_CONFIG_KEYS, **(self.model_config or {})}
        hidden, activation = list(config["fcnet_hiddens"]), config["fcnet_activation"]
        in_size = gym.spaces.flatdim(local_obs_space(self.observation_space))
        self.is_discrete = isinstance(self.action_space, gym.spaces.Discrete)
        if self.is_discrete:
            out_size = int(self.action_space.n)
        else:
            out_size = int(self.action_space.shape[0])
            self.log_std = nn.Parameter(torch.zeros(out_size))
        self.pi = mlp(in_size, hidden, out_size, activation, out_gain=0.01)
        if not self.inference_only:
            self.vf = mlp(in_size, hidden, 1, activation, out_gain=1.0)

    def _local_obs(self, batch: dict[str, Any]) -> torch.Tensor:
        obs = batch[Columns.OBS]
        local = obs[OBS_KEY] if isinstance(obs, dict) else obs
        return local.float().reshape(local.shape[0], -1)  # [B, obs_dim]

    def _action_dist_inputs(self, batch: dict[str, Any]) -> torch.Tensor:
        out = self.pi(self._local_obs(batch))  # [B, n_actions] or [B, act_dim]
        if not self.is_discrete:
            return torch.cat([out, self.log_std.expand_as(out)], dim=-1)
        obs = batch[Columns.OBS]
        mask = obs.get(MASK_KEY) if isinstance(obs, dict) else None
        return mask_logits(out, mask)

    @override(TorchRLModule)
    def _forward(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {Columns.ACTION_DIST_INPUTS: self._action_dist_inputs(batch)}

    @override(ValueFunctionAPI)
    def compute_values(self, batch: dict[str, Any], embeddings: Any = None) -> torch.Tensor:
        return self.vf(self._local_obs(batch)).squeeze(-1)  # [B]

    @override(TorchRLModule)
    def get_inference_action_dist_cls(self) -> type:
        return TorchCategorical if self.is_discrete else TorchDiagGaussian

    @override(TorchRLModule)
    def get_exploration_action_dist_cls(self) -> type:
        return self.get_inference_action_dist_cls()

    @override(TorchRLModule)
    def get_train_action_dist_cls(self) -> type:
        return self.get_inference_action_dist_cls()
