"""One RLModuleSpec per module id of a sharing mapping (on the team view: per team)."""

from __future__ import annotations

from typing import Any

from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
from ray.rllib.core.rl_module.rl_module import RLModuleSpec

from policies.common.contract import EnvFacts
from policies.common.sharing import PolicyMapping


def per_agent_module_specs(
    config: Any,
    facts: EnvFacts,
    mapping: PolicyMapping,
    module_class: type,
    model_config: dict[str, Any],
    extra_specs: dict[str, RLModuleSpec] | None = None,
) -> None:
    """Sets ``config``'s policies and a MultiRLModuleSpec with one module per module id.

    Each module is built from the spaces of the first agent mapped to it (agents that share
    a module have the same spaces). On the team view the agents are the teams and the mapping
    is one module per team, so this gives one team module per team. ``extra_specs`` (for
    example a learner-only centralized critic) join the MultiRLModuleSpec but are not
    policies that agents map to.
    """
    agents = facts.agents
    first_agent = {
        mid: next(a for a in agents if mapping(a) == mid) for mid in mapping.module_ids(agents)
    }
    specs = {
        mid: RLModuleSpec(
            module_class=module_class,
            observation_space=facts.observation_spaces[agent],
            action_space=facts.action_spaces[agent],
            model_config=dict(model_config),
        )
        for mid, agent in first_agent.items()
    }
    specs.update(extra_specs or {})
    config.multi_agent(policies=set(first_agent), policy_mapping_fn=mapping)
    config.rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs=specs))
