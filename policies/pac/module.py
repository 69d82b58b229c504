"""PACModule: COMA's team module plus a state-value critic and the optimistic ``Qmax`` pass.

Actors are COMA's (``policies.coma.module.COMAModule``): each member's policy on its own
observation, masked. For training (never on env runners, never exported) the module keeps:

- COMA's action-value critic ``Q_i(s, a_-i) [B, n, A]`` (state, the others' one-hot actions
  with the member's own block zeroed, its id) and its target copy;
- a state-value critic ``V_i(s)`` (state and id);
- the joint-action table of the others (``policies.pac.math``), so ``pareto_q`` evaluates a
  critic on every joint action of the others in one batched pass and takes the max over the
  available ones: ``Qmax_i(s, a_i) [B, n, A]``.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.utils.annotations import override

from env_wrappers.keys import MASK_KEY, STATE_KEY
from policies.coma.module import MODEL_CONFIG_KEYS as COMA_MODEL_CONFIG_KEYS
from policies.coma.module import COMAModule
from policies.common.networks import mlp
from policies.pac.math import (
    other_joint_actions,
    others_available,
    others_onehot,
    pareto_inputs,
    pareto_max,
)

#: ``rl_module.model_config`` keys a PAC module reads, with defaults (EPyMARL's ``pac_ns``:
#: one actor per member).
MODEL_CONFIG_KEYS: dict[str, Any] = {**COMA_MODEL_CONFIG_KEYS, "shared_actor": False}
#: Forward-pass outputs of training: ``V_i(s) [B, n]`` and the online ``Qmax [B, n, A]``.
STATE_VALUES = "state_values"
PARETO_Q = "pareto_q"


class PACModule(COMAModule):
    """COMA's actors and action-value critic, a state-value critic and the ``Qmax`` pass."""

    @override(COMAModule)
    def setup(self) -> None:
        self.model_config = {**MODEL_CONFIG_KEYS, **(self.model_config or {})}
        super().setup()
        if self.inference_only:
            return
        state_size = gym.spaces.flatdim(self.observation_space[STATE_KEY])
        config = self.model_config
        self.value_net = mlp(
            state_size + self.n_agents,
            list(config["critic_hiddens"]),
            1,
            config["fcnet_activation"],
        )
        table = other_joint_actions(self.n_agents, self.n_actions)  # [n, K, n]
        self.register_buffer("_joint_table", table, persistent=False)
        self.register_buffer(
            "_joint_onehot", others_onehot(table, self.n_actions), persistent=False
        )

    def state_values(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        """``V_i(s)`` of every member: ``[B, n]``."""
        state = obs[STATE_KEY].float().reshape(obs[STATE_KEY].shape[0], -1)  # [B, S]
        ids = torch.eye(self.n_agents, device=state.device)  # [n, n]
        rows = torch.cat(
            [state.unsqueeze(1).expand(-1, self.n_agents, -1), ids.expand(len(state), -1, -1)],
            dim=-1,
        )  # [B, n, S + n]
        return self.value_net(rows).squeeze(-1)  # [B, n]

    def pareto_q(self, obs: dict[str, torch.Tensor], net: Any = None) -> torch.Tensor:
        """``Qmax_i(s, a_i)`` over the others' available joint actions: ``[B, n, A]``."""
        state = obs[STATE_KEY].float().reshape(obs[STATE_KEY].shape[0], -1)  # [B, S]
        ids = torch.eye(self.n_agents, device=state.device)
        rows = pareto_inputs(state, self._joint_onehot, ids)  # [B, n, K, F]
        q_all = (net or self.critic)(rows)  # [B, n, K, A]
        return pareto_max(q_all, others_available(obs.get(MASK_KEY), self._joint_table))

    @override(COMAModule)
    def _forward_train(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        out = super()._forward_train(batch)  # logits and Q_i(s, a_-i) at the batch's actions
        out[STATE_VALUES] = self.state_values(batch[Columns.OBS])
        with torch.no_grad():
            out[PARETO_Q] = self.pareto_q(batch[Columns.OBS])
        return out
