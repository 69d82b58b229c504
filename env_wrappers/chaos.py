"""Fault injection for testing fault tolerance: an env whose ``step`` sometimes raises.

``env: {name: ..., step_error_rate: 0.01}`` makes 1% of ``step`` calls raise
``InjectedEnvError``, as a crashing simulator would. With marl's default
``fault_tolerance.restart_failed_sub_environments: true`` the env runner rebuilds only the
failed sub-env and truncates its episode there (``env_wrappers.recovering``); the other
sub-envs and the sample go on, so training batches stay full.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pettingzoo.utils.env import ParallelEnv
from pettingzoo.utils.wrappers import BaseParallelWrapper


class InjectedEnvError(RuntimeError):
    """The failure ``FlakyParallelEnv`` raises on purpose."""


class FlakyParallelEnv(BaseParallelWrapper):
    """Raises InjectedEnvError on a ``rate`` fraction of ``step`` calls.

    The failures are deliberately not seeded by the env's seed: RLlib rebuilds a failed env
    and resets it with the same seed, and a seeded failure would then repeat at the same
    step forever.
    """

    def __init__(self, env: ParallelEnv, rate: float) -> None:
        super().__init__(env)
        self.rate = rate
        self._rng = np.random.default_rng()
        self._fresh = True

    def reset(self, seed: int | None = None, options: dict | None = None) -> Any:
        """Resets the env; the first step after a reset never fails (see ``step``)."""
        self._fresh = True
        return self.env.reset(seed=seed, options=options)

    def step(self, actions: dict[str, Any]) -> Any:
        """Steps the env, or raises with probability ``rate``.

        Never on the first step after a reset: RLlib's env checker steps every env it
        (re)builds once, and a failure there kills the whole env runner.
        """
        fresh, self._fresh = self._fresh, False
        if not fresh and self._rng.random() < self.rate:
            raise InjectedEnvError(f"injected env failure (step_error_rate={self.rate})")
        return self.env.step(actions)
