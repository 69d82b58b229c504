"""``marl tune``: Ray Tune searches over a spec's ``tune`` section.

``spec`` is the ``tune`` section's schema (no Ray import), ``search`` runs the search (every
trial a ``marl train`` run) and ``report`` writes the trial table and ``best.json``.

``tune``, ``TuneOptions`` and ``preflight`` are re-exported from ``search``, imported on first
use: ``rl_apps.spec`` imports ``rl_apps.tune.spec``, and ``search`` imports ``rl_apps.spec``
and the algorithms, so importing ``search`` here would be circular (and slow). This package
does not shadow ``ray.tune``: every import in marl is absolute.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rl_apps.tune.search import TuneOptions, preflight, tune

__all__ = ["TuneOptions", "preflight", "tune"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        value = getattr(importlib.import_module("rl_apps.tune.search"), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
