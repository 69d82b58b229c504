"""GMAC's options on MAPPO's and IPPO's config: ``training.value_head: gmac`` and ``training.gmac``.

GMAC is not a separate algorithm: it swaps the critic's value head and value loss of MAPPO
(centralized critic) or IPPO (local critics). This module checks ``training.gmac`` and turns
it into the module class and ``model_config`` entries that ``configure_actor_critic`` takes.
"""

from __future__ import annotations

from typing import Any

from policies.gmac.module import GMAC_DEFAULTS


def validate_gmac_options(options: dict[str, Any], value_head: str) -> None:
    """Raises ValueError naming the offending ``training.gmac`` key.

    Args:
        options: The spec's ``training.gmac`` dict.
        value_head: ``training.value_head``; GMAC options without ``gmac`` are a mistake.

    """
    if not isinstance(options, dict):
        raise ValueError("training.gmac must be a mapping of GMAC options")
    if options and value_head != "gmac":
        raise ValueError("training.gmac is set but training.value_head is not 'gmac'")
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


def gmac_module_options(options: dict[str, Any]) -> dict[str, Any]:
    """``configure_actor_critic`` keyword arguments for a GMAC critic."""
    from policies.gmac.module import GMACModule

    return {
        "module_class": GMACModule,
        "critic_options": {
            "gmac_components": options["components"],
            "gmac_init_scale": options["init_scale"],
            "gmac_min_std": options["min_std"],
        },
    }
