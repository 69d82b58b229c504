"""GMACModule: MAPPO's actor-critic module with a Gaussian-mixture value head.

The actor is ``ActorCriticModule``'s, untouched. The critic's last layer outputs ``3K``
numbers that ``policies.gmac.distribution.mixture_from_head`` turns into K means, K standard
deviations (softplus plus a floor) and K weights (softmax): the distribution of the return.
Its mean is the value: ``compute_values`` and therefore GAE and the actor loss are MAPPO's.

With value normalization on (the default) the mixture lives in normalized space, like
MAPPO's scalar value; ``compute_mixture(..., raw=True)`` maps it to reward units (an affine
map of a Gaussian mixture is again one: means ``* std + mean``, stds ``* std``).

Options (``model_config``, set by the algorithm config from ``training.gmac``):
``gmac_components`` (K), ``gmac_init_scale`` (orthogonal gain of the head's last layer),
``gmac_min_std`` (the std floor, in the head's space).
"""

from __future__ import annotations

from typing import Any

import torch
from ray.rllib.utils.annotations import override
from torch import nn

from policies.common.networks import GRUNet, mlp
from policies.gmac.distribution import Mixture, mixture_from_head, mixture_mean
from policies.mappo.module import ActorCriticModule

#: ``training.gmac`` options and their defaults (K=3 and a tiny init scale per the issue and
#: Shahriari et al. 2022; the std floor is GMAC's 0.05).
GMAC_DEFAULTS: dict[str, Any] = {
    "components": 3,
    "init_scale": 1e-4,
    "min_std": 0.05,
    "horizon": 64,
}


class GMACModule(ActorCriticModule):
    """Actor on local observations; a Gaussian-mixture critic on the configured input."""

    @override(ActorCriticModule)
    def _build_critic(
        self, in_size: int, hidden: list[int], activation: str, config: dict[str, Any]
    ) -> nn.Module:
        self.n_components = int(config.get("gmac_components", GMAC_DEFAULTS["components"]))
        self.min_std = float(config.get("gmac_min_std", GMAC_DEFAULTS["min_std"]))
        gain = float(config.get("gmac_init_scale", GMAC_DEFAULTS["init_scale"]))
        out = 3 * self.n_components
        if self.recurrent:
            return GRUNet(in_size, hidden, self.cell_size, out, activation, out_gain=gain)
        return mlp(in_size, hidden, out, activation, out_gain=gain)

    def compute_mixture(self, batch: dict[str, Any], raw: bool = False) -> Mixture:
        """The critic's value distribution, ``[B, K]`` per field.

        Args:
            batch: A batch with ``Columns.OBS``.
            raw: In reward units instead of the (normalized) space the head predicts in.

        """
        head = self._critic(batch)[0]  # [B, (T,) 3K]
        mixture = mixture_from_head(head, self.min_std)
        return self.to_raw(mixture) if raw else mixture

    def to_raw(self, mixture: Mixture) -> Mixture:
        """Maps a mixture from the head's (normalized) space to reward units."""
        if not hasattr(self, "value_norm"):
            return mixture
        mean, std = self.value_norm.mean, self.value_norm.std
        dtype = mixture.means.dtype
        return Mixture(
            mixture.weights, (mixture.means * std + mean).to(dtype), (mixture.stds * std).to(dtype)
        )

    @override(ActorCriticModule)
    def compute_normalized_values(self, batch: dict[str, Any]) -> torch.Tensor:
        return mixture_mean(self.compute_mixture(batch))  # [B]
