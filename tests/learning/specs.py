"""Experiment specs for the learning tests: one algorithm on one small game, by env steps."""

from __future__ import annotations

from typing import Any

from rl_apps.spec import ExperimentSpec, validate_spec


def game_spec(algo: str, game: str, env_steps: int, seed: int, **sections: Any) -> ExperimentSpec:
    """A validated spec that trains ``algo`` on ``game`` for ``env_steps``; ``sections``
    (``env_runners``, ``training``, ...) are added as given."""
    raw = {
        "name": "learn",
        "algo": algo,
        "env": {"name": game},
        "seed": seed,
        "stop": {"num_env_steps_sampled_lifetime": env_steps},
        **sections,
    }
    return validate_spec(raw, "<learning>")
