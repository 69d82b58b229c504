"""GMACConfig and GMAC: MAPPO with a Gaussian-mixture distributional critic.

GMAC swaps the critic's value head and value loss of MAPPO's code; the actor, GAE and the
policy loss stay MAPPO's. ``training.critic`` chooses what the critic reads, as for MAPPO:
``state`` (the default: GMAC-MAPPO), ``concat_obs``, ``agent_specific`` or ``local``
(GMAC-IPPO). ``training.gmac`` holds the mixture's options (``GMAC_DEFAULTS``).
"""

from __future__ import annotations

from typing import Any

from ray.rllib.algorithms.algorithm_config import NotProvided
from ray.rllib.utils.annotations import override

from policies.common.contract import AlgorithmContract, Inspector
from policies.gmac.module import GMAC_DEFAULTS, GMACModule
from policies.mappo.config import MAPPO, MAPPOConfig


class GMACConfig(MAPPOConfig):
    """MAPPOConfig plus ``training.gmac``; a Gaussian-mixture critic and its learner."""

    def __init__(self, algo_class: type | None = None) -> None:
        super().__init__(algo_class=algo_class or GMAC)
        self.gmac: dict[str, Any] = {}

    @override(MAPPOConfig)
    def training(self, *, gmac: dict[str, Any] = NotProvided, **kwargs: Any) -> GMACConfig:
        """GMAC's options; the rest are MAPPO's.

        Args:
            gmac: ``components`` (K), ``init_scale`` (orthogonal gain of the head's last
                layer), ``min_std`` (the std floor) and ``horizon`` (the longest n-step
                return in the SR(lambda) target; null: to the rollout end).
            **kwargs: MAPPOConfig.training's options.

        """
        super().training(**kwargs)
        if gmac is not NotProvided:
            self.gmac = gmac
        return self

    @override(MAPPOConfig)
    def validate(self) -> None:
        super().validate()
        validate_gmac_options(self.gmac)

    @property
    def gmac_options(self) -> dict[str, Any]:
        """``training.gmac`` with its defaults filled in."""
        return {**GMAC_DEFAULTS, **self.gmac}

    @override(MAPPOConfig)
    def get_default_learner_class(self) -> type:
        from policies.gmac.learner import GMACTorchLearner

        return GMACTorchLearner

    @override(MAPPOConfig)
    def critic_module(self) -> tuple[type, dict[str, Any]]:
        options = self.gmac_options
        return GMACModule, {
            "gmac_components": options["components"],
            "gmac_init_scale": options["init_scale"],
            "gmac_min_std": options["min_std"],
        }

    @classmethod
    @override(AlgorithmContract)
    def inspectors(cls) -> dict[str, Inspector]:
        from policies.gmac.value_dist import VALUE_DIST

        return {VALUE_DIST.name: VALUE_DIST}


class GMAC(MAPPO):
    """PPO's training loop with GMAC's config, critic and learner."""

    @classmethod
    @override(MAPPO)
    def get_default_config(cls) -> GMACConfig:
        return GMACConfig()


def validate_gmac_options(options: dict[str, Any]) -> None:
    """Raises ValueError naming the offending ``training.gmac`` key.

    Args:
        options: The spec's ``training.gmac`` dict.

    """
    if not isinstance(options, dict):
        raise ValueError("training.gmac must be a mapping of GMAC options")
    unknown = sorted(set(options) - set(GMAC_DEFAULTS))
    if unknown:
        raise ValueError(
            f"training.gmac: unknown option(s) {unknown}; valid: {', '.join(GMAC_DEFAULTS)}"
        )
    merged = {**GMAC_DEFAULTS, **options}
    checks = {
        "components": isinstance(merged["components"], int) and merged["components"] >= 1,
        "init_scale": _positive(merged["init_scale"]),
        "min_std": _positive(merged["min_std"]),
        "horizon": merged["horizon"] is None
        or (isinstance(merged["horizon"], int) and merged["horizon"] >= 1),
    }
    bad = [key for key, ok in checks.items() if not ok]
    if bad:
        detail = {key: merged[key] for key in bad}
        raise ValueError(
            f"training.gmac: invalid {detail}: components and horizon are integers >= 1 "
            "(horizon may be null: up to the rollout end), init_scale and min_std are > 0"
        )


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0
