"""``marl export CHECKPOINT --out DIR``: per-policy actors that act with torch alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from env_wrappers.make import make_rllib_env
from policies.common.export import actor_metadata, export_actor
from policies.common.sharing import policy_mapping
from policies.registry import ALGORITHMS
from rl_apps import checkpoints as ckpt
from rl_apps.build import env_kwargs
from rl_apps.errors import SpecError
from rl_apps.evaluate import check_checkpoint


def export_checkpoint(checkpoint: Path, out_dir: Path, trust: bool = False) -> list[Path]:
    """Writes ``<policy>.pt`` and ``<policy>.json`` for every policy of a checkpoint."""
    from ray.rllib.core.rl_module.rl_module import RLModule

    checkpoint = checkpoint.resolve()
    spec = check_checkpoint(checkpoint, trust)
    options = env_kwargs(spec)
    env = make_rllib_env(spec.env.name, **options)
    agents = list(env.possible_agents)
    env.close()
    if ALGORITHMS[spec.algo].team_view:
        return _export_teams(checkpoint, spec, out_dir)
    if spec.rl_module.get("model_config", {}).get("use_gru"):
        raise SpecError(
            str(checkpoint),
            [("rl_module.model_config.use_gru", "recurrent actors cannot be exported yet")],
        )
    modules = RLModule.from_checkpoint(str(ckpt.module_dir(checkpoint)))
    to_module = policy_mapping(spec.multi_agent)
    config = ALGORITHMS[spec.algo].new_config()
    normalize = spec.environment.get("normalize_actions", config.normalize_actions)
    written = []
    for module_id in modules.keys():
        served = [a for a in agents if to_module(a) == module_id]
        ids = agents if options.get("agent_id") else []
        meta = actor_metadata(modules[module_id], module_id, served, ids, normalize)
        written.append(export_actor(modules[module_id], out_dir, meta))
    return written


def _export_teams(checkpoint: Path, spec: Any, out_dir: Path) -> list[Path]:
    """Team algorithms: per-member actors of every team module."""
    from ray.rllib.core.rl_module.rl_module import RLModule

    from policies.qmix.export import export_team
    from rl_apps.build import make_spec_env

    env = make_spec_env(spec)
    teams = dict(env.teams)
    env.close()
    modules = RLModule.from_checkpoint(str(ckpt.module_dir(checkpoint)))
    written: list[Path] = []
    for team, members in teams.items():
        written += export_team(modules[team], team, list(members), out_dir)
    return written


def describe(paths: list[Path]) -> str:
    """Lines for the CLI."""
    lines: list[Any] = [f"wrote {p} and {p.with_suffix('.json').name}" for p in paths]
    lines.append("load with: torch.jit.load(PATH); forward(obs [B, obs_size], mask [B, n])")
    return "\n".join(lines)
