"""The actor-critic RLModule of IPPO and MAPPO: one class, the critic's input is a switch.

Observations are the env wrapper's Dicts (``obs``, ``state``, optional ``action_mask``).

- The **actor** reads only the agent's local ``obs`` (which carries a one-hot agent id when
  the env adds one) and applies the ``action_mask``: masked actions get zero probability when
  sampling and in the loss. It never reads ``state``: that is decentralized execution.
- The **critic** reads ``critic_input``: ``local`` (``obs``: IPPO), ``state`` (the global
  state: MAPPO), ``agent_specific`` (state and the agent's own obs, as the MAPPO paper
  recommends). It is not built on env runners (``inference_only``), so acting never needs it.
- With ``value_normalization`` the critic predicts values in normalized space and keeps the
  running statistics (``policies.common.value_norm``) as buffers, so checkpoints carry them;
  ``compute_values`` always returns values in reward units (what GAE needs).

``critic_input`` and ``value_normalization`` are set by the algorithm's configuration, not
by users' ``model_config``.
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

from env_wrappers.keys import MASK_KEY, OBS_KEY, STATE_KEY
from policies.common.networks import mask_logits, mlp
from policies.common.value_norm import ValueNormalizer

#: model_config keys users may set (the rest of RLlib's DefaultModelConfig is rejected).
MODEL_CONFIG_KEYS = {"fcnet_hiddens": [64, 64], "fcnet_activation": "tanh"}
CRITIC_INPUTS = ("local", "state", "agent_specific")


def _flat(x: torch.Tensor) -> torch.Tensor:
    return x.float().reshape(x.shape[0], -1)  # [B, features]


class ActorCriticModule(TorchRLModule, ValueFunctionAPI):
    """Actor on local observations, critic on a configurable input."""

    @override(TorchRLModule)
    def setup(self) -> None:
        config = {**MODEL_CONFIG_KEYS, **(self.model_config or {})}
        hidden, activation = list(config["fcnet_hiddens"]), config["fcnet_activation"]
        self.critic_input = config.get("critic_input", "local")
        if self.critic_input not in CRITIC_INPUTS:
            raise ValueError(f"critic_input must be one of {CRITIC_INPUTS}")
        spaces = self.observation_space
        obs_size = gym.spaces.flatdim(spaces[OBS_KEY])
        self.is_discrete = isinstance(self.action_space, gym.spaces.Discrete)
        if self.is_discrete:
            out_size = int(self.action_space.n)
        else:
            out_size = int(self.action_space.shape[0])
            self.log_std = nn.Parameter(torch.zeros(out_size))
        self.pi = mlp(obs_size, hidden, out_size, activation, out_gain=0.01)
        if not self.inference_only:
            self.vf = self._build_critic(self._critic_size(spaces), hidden, activation, config)
            if config.get("value_normalization", False):
                self.value_norm = ValueNormalizer()

    def _build_critic(
        self, in_size: int, hidden: list[int], activation: str, config: dict[str, Any]
    ) -> nn.Module:
        """The critic network: one scalar value per input (subclasses change the head)."""
        return mlp(in_size, hidden, 1, activation, out_gain=1.0)

    def _critic_size(self, spaces: gym.spaces.Dict) -> int:
        obs_size = gym.spaces.flatdim(spaces[OBS_KEY])
        if self.critic_input == "local":
            return obs_size
        if STATE_KEY not in spaces.spaces:
            raise ValueError("a centralized critic needs the env's state (global_state != none)")
        state_size = gym.spaces.flatdim(spaces[STATE_KEY])
        return state_size + (obs_size if self.critic_input == "agent_specific" else 0)

    def _critic_features(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        if self.critic_input == "local":
            return _flat(obs[OBS_KEY])
        if self.critic_input == "state":
            return _flat(obs[STATE_KEY])
        return torch.cat([_flat(obs[STATE_KEY]), _flat(obs[OBS_KEY])], dim=-1)

    def _action_dist_inputs(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        out = self.pi(_flat(obs[OBS_KEY]))  # [B, n_actions] or [B, act_dim]
        if not self.is_discrete:
            return torch.cat([out, self.log_std.expand_as(out)], dim=-1)
        return mask_logits(out, obs.get(MASK_KEY))

    @override(TorchRLModule)
    def _forward(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {Columns.ACTION_DIST_INPUTS: self._action_dist_inputs(batch[Columns.OBS])}

    def compute_normalized_values(self, batch: dict[str, Any]) -> torch.Tensor:
        """The critic's raw output (normalized space when value normalization is on)."""
        return self.vf(self._critic_features(batch[Columns.OBS])).squeeze(-1)  # [B]

    @override(ValueFunctionAPI)
    def compute_values(self, batch: dict[str, Any], embeddings: Any = None) -> torch.Tensor:
        values = self.compute_normalized_values(batch)  # [B]
        if hasattr(self, "value_norm"):
            return self.value_norm.denormalize(values)
        return values

    @override(TorchRLModule)
    def set_state(self, state: dict[str, Any]) -> None:
        """RLlib's set_state casts float64 to float32; restore the value statistics exactly."""
        exact = {k: v for k, v in state.items() if k.startswith("value_norm.")}
        super().set_state(state)
        for name, value in exact.items():
            buffer = self.get_buffer(name)
            buffer.copy_(torch.as_tensor(value, dtype=buffer.dtype))

    @override(TorchRLModule)
    def get_inference_action_dist_cls(self) -> type:
        return TorchCategorical if self.is_discrete else TorchDiagGaussian

    @override(TorchRLModule)
    def get_exploration_action_dist_cls(self) -> type:
        return self.get_inference_action_dist_cls()

    @override(TorchRLModule)
    def get_train_action_dist_cls(self) -> type:
        return self.get_inference_action_dist_cls()
