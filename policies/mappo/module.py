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

**Recurrent agents (rMAPPO)**: ``model_config: {use_gru: true}`` puts a GRU
(``policies.common.networks.GRUNet``) in the actor and in the critic. The module is then
stateful: its state is ``{"actor": h, "critic": h}``, and RLlib adds a time axis (``[B, T]``,
chunks of ``max_seq_len`` steps, zero-padded) in training and ``[B, 1]`` on env runners.
The critic's state is carried while sampling (its GRU runs on env runners too, so the
learner gets the true critic state at every chunk start); ``forward_inference`` (evaluation,
decentralized execution) runs the actor alone and passes the critic's state through.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
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
from policies.common.networks import GRUNet, mask_logits, mlp
from policies.common.value_norm import ValueNormalizer, restore_exact_buffers

#: model_config keys users may set (the rest of RLlib's DefaultModelConfig is rejected).
MODEL_CONFIG_KEYS = {
    "fcnet_hiddens": [64, 64],
    "fcnet_activation": "tanh",
    "use_gru": False,
    "gru_cell_size": 64,
    "max_seq_len": 20,
}
CRITIC_INPUTS = ("local", "state", "agent_specific")
#: Keys of the recurrent state.
ACTOR_STATE, CRITIC_STATE = "actor", "critic"


def _flat(x: torch.Tensor, space: gym.Space) -> torch.Tensor:
    """Flattens each item's features, keeping the batch (and time) axes: ``[B, (T,) F]``."""
    lead = x.dim() - len(space.shape)
    return x.float().reshape(*x.shape[:lead], -1)


class ActorCriticModule(TorchRLModule, ValueFunctionAPI):
    """Actor on local observations, critic on a configurable input."""

    @override(TorchRLModule)
    def setup(self) -> None:
        config = {**MODEL_CONFIG_KEYS, **(self.model_config or {})}
        hidden, activation = list(config["fcnet_hiddens"]), config["fcnet_activation"]
        self.recurrent = bool(config["use_gru"])
        self.cell_size = int(config["gru_cell_size"])
        if self.recurrent:
            self.inference_only = False  # the critic's state is carried while sampling
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
        if self.recurrent:
            self.pi = GRUNet(obs_size, hidden, self.cell_size, out_size, activation, 0.01)
        else:
            self.pi = mlp(obs_size, hidden, out_size, activation, out_gain=0.01)
        if not self.inference_only:
            self.vf = self._build_critic(self._critic_size(spaces), hidden, activation, config)
            if config.get("value_normalization", False):
                self.value_norm = ValueNormalizer()

    def _build_critic(
        self, in_size: int, hidden: list[int], activation: str, config: dict[str, Any]
    ) -> nn.Module:
        """The critic network: one scalar value per input (subclasses change the head)."""
        if self.recurrent:
            return GRUNet(in_size, hidden, self.cell_size, 1, activation, out_gain=1.0)
        return mlp(in_size, hidden, 1, activation, out_gain=1.0)

    @override(TorchRLModule)
    def get_initial_state(self) -> dict[str, np.ndarray]:
        if not self.recurrent:
            return {}
        zeros = np.zeros(self.cell_size, dtype=np.float32)  # [cell]
        return {ACTOR_STATE: zeros, CRITIC_STATE: zeros.copy()}

    def _critic_size(self, spaces: gym.spaces.Dict) -> int:
        obs_size = gym.spaces.flatdim(spaces[OBS_KEY])
        if self.critic_input == "local":
            return obs_size
        if STATE_KEY not in spaces.spaces:
            raise ValueError("a centralized critic needs the env's state (global_state != none)")
        state_size = gym.spaces.flatdim(spaces[STATE_KEY])
        return state_size + (obs_size if self.critic_input == "agent_specific" else 0)

    def _local(self, obs: dict[str, torch.Tensor], key: str) -> torch.Tensor:
        return _flat(obs[key], self.observation_space[key])  # [B, (T,) F]

    def _critic_features(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        if self.critic_input == "local":
            return self._local(obs, OBS_KEY)
        if self.critic_input == "state":
            return self._local(obs, STATE_KEY)
        return torch.cat([self._local(obs, STATE_KEY), self._local(obs, OBS_KEY)], dim=-1)

    def _actor(self, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Action distribution inputs ``[B, (T,) out]`` and the actor's next state."""
        obs = batch[Columns.OBS]
        features = self._local(obs, OBS_KEY)
        if self.recurrent:
            out, state = self.pi(features, batch[Columns.STATE_IN][ACTOR_STATE])
        else:
            out, state = self.pi(features), None
        if not self.is_discrete:
            return torch.cat([out, self.log_std.expand_as(out)], dim=-1), state
        return mask_logits(out, obs.get(MASK_KEY)), state

    def _critic(
        self, batch: dict[str, Any], net: nn.Module | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The critic head's raw output ``[B, (T,) out]`` and its next state.

        ``net`` replaces the critic network (a target copy of it, for example).
        """
        net = self.vf if net is None else net
        features = self._critic_features(batch[Columns.OBS])
        if self.recurrent:
            return net(features, batch[Columns.STATE_IN][CRITIC_STATE])
        return net(features), None

    @override(TorchRLModule)
    def _forward(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Env runners: the actor, and for recurrent modules both next states."""
        inputs, actor_state = self._actor(batch)
        out = {Columns.ACTION_DIST_INPUTS: inputs}
        if self.recurrent:
            _, critic_state = self._critic(batch)
            out[Columns.STATE_OUT] = {ACTOR_STATE: actor_state, CRITIC_STATE: critic_state}
        return out

    @override(TorchRLModule)
    def _forward_inference(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Decentralized execution: the actor alone (the critic's state passes through)."""
        inputs, actor_state = self._actor(batch)
        out = {Columns.ACTION_DIST_INPUTS: inputs}
        if self.recurrent:
            critic_state = batch[Columns.STATE_IN][CRITIC_STATE]
            out[Columns.STATE_OUT] = {ACTOR_STATE: actor_state, CRITIC_STATE: critic_state}
        return out

    @override(TorchRLModule)
    def _forward_train(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {Columns.ACTION_DIST_INPUTS: self._actor(batch)[0]}

    def compute_normalized_values(self, batch: dict[str, Any]) -> torch.Tensor:
        """The critic's raw output (normalized space when value normalization is on)."""
        return self._critic(batch)[0].squeeze(-1)  # [B] or [B, T]

    @override(ValueFunctionAPI)
    def compute_values(self, batch: dict[str, Any], embeddings: Any = None) -> torch.Tensor:
        values = self.compute_normalized_values(batch)  # [B]
        if hasattr(self, "value_norm"):
            return self.value_norm.denormalize(values)
        return values

    @override(TorchRLModule)
    def set_state(self, state: dict[str, Any]) -> None:
        """RLlib's set_state casts float64 to float32; restore the running statistics exactly."""
        super().set_state(state)
        restore_exact_buffers(self, state)

    @override(TorchRLModule)
    def get_inference_action_dist_cls(self) -> type:
        return TorchCategorical if self.is_discrete else TorchDiagGaussian

    @override(TorchRLModule)
    def get_exploration_action_dist_cls(self) -> type:
        return self.get_inference_action_dist_cls()

    @override(TorchRLModule)
    def get_train_action_dist_cls(self) -> type:
        return self.get_inference_action_dist_cls()
