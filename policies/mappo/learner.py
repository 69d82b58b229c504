"""MAPPO's learner: PPO's clipped policy loss and a clipped, normalized value loss.

The math lives in ``policies.common.ppo_losses``; this is plumbing.
"""

from __future__ import annotations

from typing import Any

import torch
from ray.rllib.algorithms.ppo.ppo import LEARNER_RESULTS_VF_EXPLAINED_VAR_KEY
from ray.rllib.algorithms.ppo.torch.ppo_torch_learner import PPOTorchLearner
from ray.rllib.connectors.learner import GeneralAdvantageEstimation
from ray.rllib.core.columns import Columns
from ray.rllib.core.learner.learner import ENTROPY_KEY, POLICY_LOSS_KEY, VF_LOSS_KEY
from ray.rllib.evaluation.postprocessing import Postprocessing
from ray.rllib.utils.annotations import override
from ray.rllib.utils.torch_utils import explained_variance

from policies.common.module_columns import swap_learner_connector
from policies.common.ppo_losses import clipped_policy_loss, clipped_value_loss, masked_mean
from policies.mappo.connectors import CentralizedGAE


def valid_rows(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """The entries that carry loss weight, flattened (``[B]`` or ``[B, T]`` in, 1-D out)."""
    return x.reshape(-1) if mask is None else x[mask.bool()]


class MAPPOTorchLearner(PPOTorchLearner):
    """PPO's learner with MAPPO's GAE connector and value loss."""

    @override(PPOTorchLearner)
    def build(self) -> None:
        super().build()
        swap_learner_connector(self, GeneralAdvantageEstimation, self.returns_connector())

    def returns_connector(self) -> CentralizedGAE:
        """The connector that puts advantages and value targets in the batch.

        GMAC and A2C return their own.
        """
        return CentralizedGAE(gamma=self.config.gamma, lambda_=self.config.lambda_)

    def _value_loss(self, module: Any, batch: dict, config: Any, mask: Any) -> torch.Tensor:
        norm = getattr(module, "value_norm", None)
        scale = norm.normalize if norm is not None else (lambda x: x)
        values = module.compute_normalized_values(batch)  # [B], normalized space
        targets = scale(batch[Postprocessing.VALUE_TARGETS])
        old = scale(batch[Columns.VF_PREDS])
        loss = clipped_value_loss(
            values, old, targets, config.value_clip, mask=mask, huber_delta=config.huber_delta
        )
        raw = norm.denormalize(values) if norm is not None else values
        self.metrics.log_value(
            (self._module_id, LEARNER_RESULTS_VF_EXPLAINED_VAR_KEY),
            explained_variance(
                valid_rows(batch[Postprocessing.VALUE_TARGETS], mask),
                valid_rows(raw.detach(), mask),
            ),
            window=1,
        )
        return loss

    @override(PPOTorchLearner)
    def compute_loss_for_module(
        self, *, module_id: str, config: Any, batch: dict[str, Any], fwd_out: dict[str, Any]
    ) -> torch.Tensor:
        module = self.module[module_id].unwrapped()
        self._module_id = module_id
        mask = batch.get(Columns.LOSS_MASK)
        dist = module.get_train_action_dist_cls().from_logits(fwd_out[Columns.ACTION_DIST_INPUTS])
        logp = dist.logp(batch[Columns.ACTIONS])  # [B]
        policy_loss, stats = clipped_policy_loss(
            logp,
            batch[Columns.ACTION_LOGP],
            batch[Postprocessing.ADVANTAGES],
            config.clip_param,
            mask=mask,
        )
        entropy = masked_mean(dist.entropy(), mask)
        value_loss = self._value_loss(module, batch, config, mask)
        coeff = self.entropy_coeff_schedulers_per_module[module_id].get_current_value()
        self.metrics.log_dict(
            {
                POLICY_LOSS_KEY: policy_loss,
                VF_LOSS_KEY: value_loss,
                ENTROPY_KEY: entropy,
                "clip_fraction": stats["clip_fraction"],
                "approx_kl": stats["approx_kl"],
            },
            key=module_id,
            window=1,
        )
        return policy_loss - coeff * entropy + config.vf_loss_coeff * value_loss
