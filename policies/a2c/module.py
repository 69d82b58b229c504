"""A2CModule: MAPPO's actor-critic module plus an optional target copy of the critic.

The target critic (``model_config.target_critic: true``, set by ``A2CConfig``) gives the
n-step returns their bootstrap values; the learner moves it towards the critic by Polyak
averaging after every update (``TargetNetworkAPI``). With ``standardize_rewards`` the module
keeps the running reward statistics (``policies.common.reward_norm``) that the returns use.
Both exist only on the learner.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from ray.rllib.core.rl_module.apis.target_network_api import TargetNetworkAPI
from ray.rllib.core.rl_module.torch.torch_rl_module import TorchRLModule
from ray.rllib.utils.annotations import override

from policies.common.reward_norm import RewardStandardizer
from policies.mappo.module import ActorCriticModule


class A2CModule(ActorCriticModule, TargetNetworkAPI):
    """Actor on local observations; critic (and target critic) on the configured input."""

    @override(TorchRLModule)
    def setup(self) -> None:
        super().setup()
        self.make_target_networks()  # in the state dict, so checkpoints carry it
        if not self.inference_only and self.model_config.get("standardize_rewards", False):
            self.reward_norm = RewardStandardizer()

    @override(TargetNetworkAPI)
    def make_target_networks(self) -> None:
        wanted = not self.inference_only and self.model_config.get("target_critic", False)
        if wanted and not hasattr(self, "_target_vf"):
            self._target_vf = copy.deepcopy(self.vf)
            self._target_vf.requires_grad_(False)

    @override(TargetNetworkAPI)
    def get_target_network_pairs(self) -> list[tuple[Any, Any]]:
        target = getattr(self, "_target_vf", None)
        return [] if target is None else [(self.vf, target)]

    @override(TargetNetworkAPI)
    def forward_target(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {"target_values": self.compute_target_values(batch)}

    @torch.no_grad()
    def compute_target_values(self, batch: dict[str, Any]) -> torch.Tensor:
        """The target critic's values in reward units (the critic's without one): ``[B]``."""
        target = getattr(self, "_target_vf", None)
        values = self._critic(batch, target)[0].squeeze(-1)  # [B] or [B, T]
        if hasattr(self, "value_norm"):
            return self.value_norm.denormalize(values)
        return values
