"""A2C's learner: one gradient step per batch on the policy gradient, value error and entropy.

Plumbing around ``policies.a2c.losses``; the connector (``A2CReturns``) has put advantages and
value targets in the batch. After each update the target critic moves towards the critic by
Polyak averaging (``training.target_critic_tau``).

Logged per module: ``policy_loss``, ``vf_loss``, ``entropy``, ``vf_explained_var``,
``advantage_mean`` and ``advantage_std`` (over the valid rows).
"""

from __future__ import annotations

from typing import Any

import torch
from ray.rllib.algorithms.ppo.ppo import LEARNER_RESULTS_VF_EXPLAINED_VAR_KEY
from ray.rllib.core.columns import Columns
from ray.rllib.core.learner.learner import ENTROPY_KEY, POLICY_LOSS_KEY, VF_LOSS_KEY
from ray.rllib.core.learner.utils import update_target_network
from ray.rllib.evaluation.postprocessing import Postprocessing
from ray.rllib.utils.annotations import override
from ray.rllib.utils.torch_utils import explained_variance

from policies.a2c.connectors import A2CReturns
from policies.a2c.losses import policy_gradient_loss, value_error_loss
from policies.common.ppo_losses import masked_mean
from policies.mappo.learner import MAPPOTorchLearner, valid_rows


class A2CTorchLearner(MAPPOTorchLearner):
    """MAPPO's learner plumbing with A2C's returns, losses and target critic."""

    @override(MAPPOTorchLearner)
    def returns_connector(self) -> A2CReturns:
        config = self.config
        return A2CReturns(gamma=config.gamma, lambda_=config.lambda_, n_step=config.n_step)

    @override(MAPPOTorchLearner)
    def compute_loss_for_module(
        self, *, module_id: str, config: Any, batch: dict[str, Any], fwd_out: dict[str, Any]
    ) -> torch.Tensor:
        module = self.module[module_id].unwrapped()
        mask = batch.get(Columns.LOSS_MASK)
        dist = module.get_train_action_dist_cls().from_logits(fwd_out[Columns.ACTION_DIST_INPUTS])
        advantages = batch[Postprocessing.ADVANTAGES]  # [B]
        policy_loss = policy_gradient_loss(dist.logp(batch[Columns.ACTIONS]), advantages, mask)
        entropy = masked_mean(dist.entropy(), mask)
        value_loss = self._squared_value_loss(module, module_id, batch, mask)
        valid = valid_rows(advantages, mask)
        coeff = self.entropy_coeff_schedulers_per_module[module_id].get_current_value()
        self.metrics.log_dict(
            {
                POLICY_LOSS_KEY: policy_loss,
                VF_LOSS_KEY: value_loss,
                ENTROPY_KEY: entropy,
                "advantage_mean": valid.mean(),
                "advantage_std": valid.std(unbiased=False),
            },
            key=module_id,
            window=1,
        )
        return policy_loss - coeff * entropy + config.vf_loss_coeff * value_loss

    def _squared_value_loss(self, module: Any, module_id: str, batch: dict, mask: Any) -> Any:
        norm = getattr(module, "value_norm", None)
        values = module.compute_normalized_values(batch)  # [B]
        targets = batch[Postprocessing.VALUE_TARGETS]
        loss = value_error_loss(values, norm.normalize(targets) if norm else targets, mask)
        raw = norm.denormalize(values) if norm is not None else values
        self.metrics.log_value(
            (module_id, LEARNER_RESULTS_VF_EXPLAINED_VAR_KEY),
            explained_variance(valid_rows(targets, mask), valid_rows(raw.detach(), mask)),
            window=1,
        )
        return loss

    @override(MAPPOTorchLearner)
    def after_gradient_based_update(self, *, timesteps: dict[str, Any]) -> None:
        super().after_gradient_based_update(timesteps=timesteps)
        tau = self.config.target_critic_tau
        if tau is None:
            return
        for module_id in self.module.keys():
            module = self.module[module_id].unwrapped()
            for main, target in getattr(module, "get_target_network_pairs", list)():
                update_target_network(main_net=main, target_net=target, tau=tau)
