"""Setting up the per-agent actor-critic algorithms (IPPO, MAPPO) on a wrapped env."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
from ray.rllib.core.rl_module.rl_module import RLModuleSpec

from policies.common.actor_critic import MODEL_CONFIG_KEYS, ActorCriticModule
from policies.common.sharing import PolicyMapping


def configure_actor_critic(
    config: Any,
    *,
    observation_spaces: dict[str, gym.Space],
    action_spaces: dict[str, gym.Space],
    mapping: PolicyMapping,
    model_config: dict[str, Any],
    critic_input: str = "local",
    value_normalization: bool = False,
    module_class: type = ActorCriticModule,
    critic_options: dict[str, Any] | None = None,
) -> Any:
    """Sets the multi-agent policies and their actor-critic RLModules.

    Args:
        config: The algorithm's config with every spec section already applied.
        observation_spaces: Per-agent (wrapped, Dict) observation spaces.
        action_spaces: Per-agent action spaces.
        mapping: Which module each agent uses (the spec's sharing mode).
        model_config: The spec's ``rl_module.model_config``.
        critic_input: What the critic reads (see ``ActorCriticModule``).
        value_normalization: Whether the critic keeps running value statistics.
        module_class: The RLModule class (``ActorCriticModule`` or a subclass).
        critic_options: Extra ``model_config`` entries the module class reads.

    """
    agents = list(observation_spaces)
    first_agent = {
        mid: next(a for a in agents if mapping(a) == mid) for mid in mapping.module_ids(agents)
    }
    options = {
        **MODEL_CONFIG_KEYS,  # complete: RLlib's connectors read max_seq_len from here
        **model_config,
        "critic_input": critic_input,
        "value_normalization": value_normalization,
        **(critic_options or {}),
    }
    specs = {
        mid: RLModuleSpec(
            module_class=module_class,
            observation_space=observation_spaces[agent],
            action_space=action_spaces[agent],
            model_config=dict(options),
        )
        for mid, agent in first_agent.items()
    }
    config.multi_agent(policies=set(first_agent), policy_mapping_fn=mapping)
    config.rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs=specs))
    return config
