"""Parameter sharing: which module (policy) each agent uses.

Mapping functions are module-level so that RLlib can pickle them to env runners and into
checkpoints without closures.
"""

from __future__ import annotations

from typing import Any

SHARED_MODULE_ID = "shared"
SHARING_MODES = ("shared", "individual")


def map_to_shared(agent_id: str, *args: Any, **kwargs: Any) -> str:
    """Every agent acts with the one shared module."""
    return SHARED_MODULE_ID


def map_to_own(agent_id: str, *args: Any, **kwargs: Any) -> str:
    """Every agent acts with a module of its own, named after the agent."""
    return agent_id


def module_ids(agents: list[str], sharing: str) -> list[str]:
    """The module ids for ``agents`` under a sharing mode (``shared`` or ``individual``)."""
    if sharing == "shared":
        return [SHARED_MODULE_ID]
    if sharing == "individual":
        return list(agents)
    raise ValueError(f"sharing must be one of {SHARING_MODES}, got {sharing!r}")


def mapping_fn(sharing: str) -> Any:
    """The policy mapping function for a sharing mode."""
    return map_to_shared if sharing == "shared" else map_to_own


def module_for_agent(agent_id: str, sharing: str) -> str:
    """The module id an agent acts with."""
    return mapping_fn(sharing)(agent_id)
