"""GMAC's learner connector: MAPPO's GAE plus the SR(lambda) distributional targets.

The old critic's mixture is computed once for every row of the batch (each trajectory's
steps and its bootstrap row). Its mean is the value GAE uses, exactly as in MAPPO. From the
same mixtures ``sr_lambda_targets`` builds each step's target mixture by indexing, so no
distribution is computed twice. The targets are stored in reward units, padded to a common
number of components with zero-weight slots:

- ``gmac_target_weights``, ``gmac_target_means``, ``gmac_target_stds``: ``[N, M]``.

Bootstrap rows (no loss weight) get a point mass at their own value, so every row holds a
valid mixture.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from ray.rllib.utils.numpy import convert_to_numpy

from policies.common.trajectories import Trajectories
from policies.gmac.distribution import Mixture, mixture_mean, sr_lambda_targets
from policies.mappo.connectors import CentralizedGAE

TARGET_WEIGHTS = "gmac_target_weights"
TARGET_MEANS = "gmac_target_means"
TARGET_STDS = "gmac_target_stds"


class GMACTargets(CentralizedGAE):
    """GAE on the mixture mean and SR(lambda) target mixtures for the energy loss."""

    def __init__(
        self,
        input_observation_space: Any = None,
        input_action_space: Any = None,
        *,
        gamma: float,
        lambda_: float,
        horizon: int | None,
    ) -> None:
        super().__init__(input_observation_space, input_action_space, gamma=gamma, lambda_=lambda_)
        self.horizon = horizon
        self._mixture: Mixture | None = None

    def _critic_values(self, module: Any, batch: dict, layout: Trajectories) -> np.ndarray:
        with torch.no_grad():
            mixture = module.compute_mixture(batch, raw=True)  # [(B, T | N), K] each
        self._mixture = Mixture(*(layout.unpad(x).double().cpu() for x in mixture))  # [N, K]
        return convert_to_numpy(mixture_mean(self._mixture))  # [N]

    def _extra_columns(self, module: Any, layout: Trajectories, rewards: np.ndarray) -> dict:
        mixture, self._mixture = self._mixture, None
        assert mixture is not None, "_critic_values runs first"
        rewards = torch.as_tensor(rewards, dtype=torch.float64)  # [N]
        pieces, start = [], 0
        for length, ended in zip(layout.lengths, layout.terminated, strict=True):
            rows = slice(start, start + length)
            steps = sr_lambda_targets(
                rewards[start : start + length - 1],
                Mixture(*(x[rows] for x in mixture)),
                ended,
                self.gamma,
                self.lambda_,
                self.horizon,
            )  # [T, H*K]
            pieces += [steps, _point_mass(mixture_mean(Mixture(*(x[rows][-1:] for x in mixture))))]
            start += length
        return _pad_and_stack(pieces)


def _point_mass(value: torch.Tensor) -> Mixture:
    """A one-component mixture at ``value`` with zero spread: ``[R, 1]``."""
    column = value[:, None]  # [R, 1]
    return Mixture(torch.ones_like(column), column, torch.zeros_like(column))


def _pad_and_stack(pieces: list[Mixture]) -> dict[str, np.ndarray]:
    """Concatenates row blocks of different widths, padding with zero-weight components."""
    width = max(p.weights.shape[-1] for p in pieces)

    def pad(x: torch.Tensor, fill: float) -> torch.Tensor:
        return torch.nn.functional.pad(x, (0, width - x.shape[-1]), value=fill)

    return {
        TARGET_WEIGHTS: torch.cat([pad(p.weights, 0.0) for p in pieces]).float().numpy(),
        TARGET_MEANS: torch.cat([pad(p.means, 0.0) for p in pieces]).float().numpy(),
        TARGET_STDS: torch.cat([pad(p.stds, 1.0) for p in pieces]).float().numpy(),
    }
