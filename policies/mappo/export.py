"""MAPPO's (and IPPO's, GMAC's) exported actors: the actor network of each policy module.

The actor reads the agent's local observation; with shared (or grouped) actors the env
appends the one-hot agent id, so the JSON lists ``input.agent_id`` and the user appends it.
Output: logits (discrete) or the Gaussian's mean (continuous). See
``policies.common.export`` for the schema.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from policies.common.contract import EnvFacts, UnsupportedError
from policies.common.export import actor_schema, write_actor
from policies.common.sharing import PolicyMapping


def export_actor_modules(
    config: Any, modules: Any, facts: EnvFacts, mapping: PolicyMapping, out_dir: Path
) -> list[Path]:
    """Writes ``<policy>.pt``/``.json`` for every actor module; returns the ``.pt`` paths."""
    written = []
    for module_id in mapping.module_ids(facts.agents):
        module = modules[module_id]
        if module.is_stateful():
            raise UnsupportedError(
                "rl_module.model_config.use_gru", "recurrent actors cannot be exported yet"
            )
        ids = facts.agent_ids if facts.env_appends_id else []
        discrete = bool(module.is_discrete)
        meta = actor_schema(
            policy=module_id,
            agents=[a for a in facts.agents if mapping(a) == module_id],
            obs_size=int(module.pi[0].in_features) - len(ids),
            agent_ids=ids,
            action_space=module.action_space,
            output="logits" if discrete else "gaussian_mean",
            uses_mask="action_mask" in module.observation_space.spaces,
            log_std=None if discrete else module.log_std.detach().tolist(),
            normalize_actions=bool(config.normalize_actions),
        )
        written.append(write_actor(module.pi, out_dir, meta))
    return written
