"""Turns RLlib's PPOConfig into IPPO on a wrapped multi-agent env."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
from ray.rllib.core.rl_module.rl_module import RLModuleSpec

from policies.common.actor_critic import ActorCriticModule
from policies.common.sharing import mapping_fn, module_ids


def configure_ippo(
    config: PPOConfig,
    *,
    observation_spaces: dict[str, gym.Space],
    action_spaces: dict[str, gym.Space],
    sharing: str,
    model_config: dict[str, Any],
) -> PPOConfig:
    """Sets the multi-agent policies and RLModules of an IPPO run.

    Args:
        config: The PPOConfig with every spec section already applied.
        observation_spaces: Per-agent (wrapped, Dict) observation spaces.
        action_spaces: Per-agent action spaces.
        sharing: ``shared`` (one module for all agents) or ``individual``.
        model_config: The spec's ``rl_module.model_config``.

    """
    agents = list(observation_spaces)
    ids = module_ids(agents, sharing)
    first_agent = {mid: next(a for a in agents if mapping_fn(sharing)(a) == mid) for mid in ids}
    specs = {
        mid: RLModuleSpec(
            module_class=ActorCriticModule,
            observation_space=observation_spaces[agent],
            action_space=action_spaces[agent],
            model_config={**model_config, "critic_input": "local"},
        )
        for mid, agent in first_agent.items()
    }
    config.multi_agent(policies=set(ids), policy_mapping_fn=mapping_fn(sharing))
    config.rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs=specs))
    return config
