"""GMAC's learner: MAPPO's learner with the energy-distance value loss.

The policy loss, entropy bonus and GAE are MAPPO's. The value loss is the energy distance
(``policies.gmac.distribution.energy_distance``) between the critic's mixture and the SR(lambda)
target mixture that ``GMACTargets`` stored in the batch, both in the critic's (normalized)
space. The target-target term of the distance is left out: it does not depend on the critic,
so the gradient is the same and the cost is ``K * M`` pairs per row instead of ``M * M``. The
logged value loss is therefore the energy distance minus a constant, and can be negative.

Logged per module and iteration: ``gmac_weight_entropy`` (entropy of the mixture weights),
``gmac_mean_std`` (mean component std, reward units) and ``gmac_max_weight``.
"""

from __future__ import annotations

from typing import Any

import torch
from ray.rllib.algorithms.ppo.ppo import LEARNER_RESULTS_VF_EXPLAINED_VAR_KEY
from ray.rllib.evaluation.postprocessing import Postprocessing
from ray.rllib.utils.annotations import override
from ray.rllib.utils.torch_utils import explained_variance

from policies.common.ppo_losses import masked_mean
from policies.gmac.connectors import TARGET_MEANS, TARGET_STDS, TARGET_WEIGHTS, GMACTargets
from policies.gmac.distribution import Mixture, energy_distance, mixture_mean, mixture_stats
from policies.mappo.learner import MAPPOTorchLearner, valid_rows


class GMACTorchLearner(MAPPOTorchLearner):
    """MAPPO's learner whose critic loss is the energy distance to SR(lambda) targets."""

    @override(MAPPOTorchLearner)
    def returns_connector(self) -> GMACTargets:
        config = self.config
        horizon = config.gmac_options["horizon"]
        return GMACTargets(gamma=config.gamma, lambda_=config.lambda_, horizon=horizon)

    def _target_mixture(self, module: Any, batch: dict) -> Mixture:
        """The stored targets mapped into the critic's (normalized) space."""
        means, stds = batch[TARGET_MEANS], batch[TARGET_STDS]  # [B, M]
        norm = getattr(module, "value_norm", None)
        if norm is not None:
            means = norm.normalize(means).to(means.dtype)
            stds = (stds / norm.std).to(stds.dtype)
        return Mixture(batch[TARGET_WEIGHTS], means, stds)

    @override(MAPPOTorchLearner)
    def _value_loss(self, module: Any, batch: dict, config: Any, mask: Any) -> torch.Tensor:
        predicted = module.compute_mixture(batch)  # [B, K] each, normalized space
        target = self._target_mixture(module, batch)
        distance = energy_distance(predicted, target, include_target_term=False)  # [B]
        loss = masked_mean(distance, mask)
        with torch.no_grad():
            raw = module.to_raw(Mixture(*(x.detach() for x in predicted)))
            stats = mixture_stats(raw)
            values = mixture_mean(raw)
        self.metrics.log_dict(
            {
                "gmac_weight_entropy": stats["weight_entropy"],
                "gmac_mean_std": stats["mean_std"],
                "gmac_max_weight": stats["max_weight"],
                LEARNER_RESULTS_VF_EXPLAINED_VAR_KEY: explained_variance(
                    valid_rows(batch[Postprocessing.VALUE_TARGETS], mask),
                    valid_rows(values, mask),
                ),
            },
            key=self._module_id,
            window=1,
        )
        return loss
