"""``marl export CHECKPOINT --out DIR``: per-agent actors that act with torch alone.

The algorithm writes them (``config.export_actors``) in the one schema of every exported
actor (``policies.common.export``); this module restores the modules from the checkpoint's
pickle-free weights (``rl_apps.actor_weights``) and reports.
"""

from __future__ import annotations

from pathlib import Path

from policies.common.contract import UnsupportedError
from rl_apps import checkpoints as ckpt
from rl_apps.build import plan
from rl_apps.errors import SpecError
from rl_apps.evaluate import check_checkpoint, load_modules


def export_checkpoint(checkpoint: Path, out_dir: Path, trust: bool = False) -> list[Path]:
    """Writes ``<policy>.pt`` and ``<policy>.json`` per actor; returns the ``.pt`` paths."""
    checkpoint = checkpoint.resolve()
    checkpoint = ckpt.resolve_checkpoint(checkpoint)  # a run directory: its latest
    planned = plan(check_checkpoint(checkpoint, trust))
    env = planned.make_env()
    try:
        modules = load_modules(checkpoint, planned, env, trust)
    finally:
        env.close()
    try:
        return planned.config.export_actors(modules, planned.facts, planned.mapping, out_dir)
    except UnsupportedError as err:
        raise SpecError(str(checkpoint), [(err.path, str(err))]) from None


def describe(paths: list[Path]) -> str:
    """Lines for the CLI."""
    lines = [f"wrote {p} and {p.with_suffix('.json').name}" for p in paths]
    lines.append(
        "load with: torch.jit.load(PATH); forward(obs [B, input.size], mask [B, n_actions]); "
        "the JSON says what obs holds (agent id, mask) and what the output is"
    )
    return "\n".join(lines)
