"""``marl inspect NAME CHECKPOINT [OUT]``: an algorithm's training-time view of a checkpoint.

The views belong to the algorithms (``config.inspectors()``, e.g. QMIX's ``q-table`` and
GMAC's ``value-dist``); this module restores the checkpoint's modules (from its pickle-free
weights, ``rl_apps.actor_weights``), builds the env the algorithm sees and runs the view.
Asking an algorithm for a view it lacks is a spec error that lists the ones it has.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from policies.common.contract import InspectContext, UnsupportedError
from rl_apps import checkpoints as ckpt
from rl_apps.build import Plan, plan
from rl_apps.errors import SpecError


def check_inspector(name: str, checkpoint: Path, planned: Plan) -> Any:
    """The inspector ``name`` of the checkpoint's algorithm; a SpecError if it has none."""
    offered = planned.config.inspectors()
    if name not in offered:
        has = ", ".join(offered) or "none"
        raise SpecError(
            str(checkpoint),
            [("algo", f"{planned.spec.algo} has no inspector {name!r}; its inspectors: {has}")],
        )
    return offered[name]


def run_inspector(
    name: str,
    checkpoint: Path,
    planned: Plan,
    out: Path | None,
    seed: int,
    modules: Any = None,
    trust: bool = False,
) -> dict[str, Any]:
    """Runs inspector ``name`` of the checkpoint's algorithm; returns its JSON-ready report.

    Raises:
        SpecError: The algorithm has no such inspector, or the inspector cannot serve this
            checkpoint (named by its spec path).

    """
    inspector = check_inspector(name, checkpoint, planned)
    from rl_apps.evaluate import load_modules

    context = InspectContext(
        config=planned.config,
        mapping=planned.mapping,
        model_config=planned.spec.rl_module.get("model_config", {}),
        seed=seed,
    )
    env = planned.make_env()
    try:
        if modules is None:
            modules = load_modules(checkpoint, planned, env, trust)
        return inspector.run(modules, env, context, out)
    except UnsupportedError as err:
        raise SpecError(str(checkpoint), [(err.path, str(err))]) from None
    finally:
        env.close()


def inspect_checkpoint(
    name: str, checkpoint: Path, out: Path | None, seed: int, trust: bool = False
) -> tuple[dict[str, Any], str | None]:
    """(the report, its console text or None) of inspector ``name`` on a checkpoint."""
    from rl_apps.evaluate import check_checkpoint

    checkpoint = checkpoint.resolve()  # RLlib's loader (pyarrow) needs absolute paths
    checkpoint = ckpt.resolve_checkpoint(checkpoint)  # a run directory: its latest
    planned = plan(check_checkpoint(checkpoint, trust))
    report = run_inspector(name, checkpoint, planned, out, seed, trust=trust)
    text = planned.config.inspectors()[name].text
    return report, text(report) if text else None
