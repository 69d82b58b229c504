"""Parameter sharing: which module (policy) each agent acts and learns with.

``shared``: one module for all agents; ``individual``: one per agent; ``groups``: one per
named group of agents (e.g. by role: ``{predator: [adversary_0, ...], prey: [agent_0]}``).
The mapping is a small picklable object: RLlib ships it to env runners and into checkpoints.
"""

from __future__ import annotations

from typing import Any

SHARED_MODULE_ID = "shared"
SHARING_MODES = ("shared", "individual", "groups")


class PolicyMapping:
    """``agent_id -> module_id`` for a sharing mode (RLlib's ``policy_mapping_fn``).

    Args:
        sharing: One of ``SHARING_MODES``.
        groups: ``group -> agents`` for ``groups`` (each agent in exactly one group).

    """

    def __init__(self, sharing: str, groups: dict[str, list[str]] | None = None) -> None:
        if sharing not in SHARING_MODES:
            raise ValueError(f"sharing must be one of {SHARING_MODES}, got {sharing!r}")
        if (sharing == "groups") != bool(groups):
            raise ValueError("multi_agent.groups is needed with, and only with, sharing: groups")
        self.sharing = sharing
        self.groups = {g: list(members) for g, members in (groups or {}).items()}
        self._group_of: dict[str, str] = {}
        for group, members in self.groups.items():
            for agent in members:
                if agent in self._group_of:
                    raise ValueError(
                        f"agent {agent!r} is in groups {self._group_of[agent]!r} and {group!r}"
                    )
                self._group_of[agent] = group

    def __call__(self, agent_id: str, *args: Any, **kwargs: Any) -> str:
        if self.sharing == "shared":
            return SHARED_MODULE_ID
        if self.sharing == "individual":
            return agent_id
        return self._group_of[agent_id]

    def module_ids(self, agents: list[str]) -> list[str]:
        """The module ids used by ``agents``, in first-use order."""
        return list(dict.fromkeys(self(agent) for agent in agents))

    def problems(self, agents: list[str]) -> list[str]:
        """Why this mapping does not fit an env's agents (empty when it does)."""
        if self.sharing != "groups":
            return []
        unknown = sorted(set(self._group_of) - set(agents))
        missing = [a for a in agents if a not in self._group_of]
        out = [f"unknown agent {a!r}; the env's agents: {', '.join(agents)}" for a in unknown]
        return out + [f"agent {a!r} is in no group" for a in missing]


def policy_mapping(multi_agent: dict[str, Any]) -> PolicyMapping:
    """The mapping a spec's ``multi_agent`` section asks for."""
    return PolicyMapping(multi_agent.get("sharing", "shared"), multi_agent.get("groups"))
