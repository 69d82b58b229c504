"""One sub-env of an env runner's vector env that rebuilds itself when its ``step`` raises.

RLlib 2.60's ``MultiAgentEnvRunner`` answers a failed ``step`` of any sub-env by rebuilding
*all* sub-envs and restarting the interrupted sample from zero (finished episodes are kept):
with 16 sub-envs and 1% failing steps a sample of a few hundred steps in a row almost never
finishes. ``RecoveringSubEnv`` keeps the failure inside the sub-env that had it:

- the failed step ends that sub-env's episode as a truncation at its last good observation
  (reward 0 for the failed step; the truncation lets the critic bootstrap from it), so the
  episode's completed steps stay in the batch;
- the broken env is closed and a new one is built from the same factory; the vector env's
  auto-reset resets it before its next step (with a fresh seed derived from ``base_seed``
  and the number of rebuilds, so a rebuilt env does not replay the episodes it started with);
- the other sub-envs and the sample go on untouched.

Each failure is reported to ``on_failure`` (the env runner counts them; ``marl train`` prints
the count per iteration) and logged as one line without a traceback: the first one of a
process as a warning, the others at debug level, so a flaky env does not flood the log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

logger = logging.getLogger(__name__)
_warned = False  # whether this process has logged a failure as a warning yet


def derived_seed(*entropy: int) -> int:
    """A 31-bit seed mixed from integers by ``numpy.random.SeedSequence``."""
    return int(np.random.SeedSequence(list(entropy)).generate_state(1)[0] >> 1)


class RecoveringSubEnv(gym.Wrapper):
    """Wraps one sub-env (an RLlib MultiAgentEnv); a raising ``step`` rebuilds it in place.

    Args:
        env: The sub-env as the vector env built it.
        factory: Builds a new sub-env like ``env`` (the env runner's registered env).
        on_failure: Called once per failed step (the env runner counts failures).
        base_seed: Seeds a rebuilt env's first reset when the vector env gives no seed.

    """

    def __init__(
        self,
        env: gym.Env,
        factory: Callable[[], gym.Env],
        on_failure: Callable[[], None] = lambda: None,
        base_seed: int | None = None,
    ) -> None:
        super().__init__(env)
        self._factory = factory
        self._on_failure = on_failure
        self._base_seed = base_seed
        self._last_obs: dict[str, Any] = {}
        self._reseed = False
        self.failures = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> Any:
        """Resets the env; the first reset after a rebuild gets a derived seed."""
        if seed is None and self._reseed and self._base_seed is not None:
            seed = derived_seed(self._base_seed, self.failures)
        self._reseed = False
        obs, infos = self.env.reset(seed=seed, options=options)
        self._last_obs = obs
        return obs, infos

    def step(self, action: dict[str, Any]) -> Any:
        """Steps the env; on an exception, rebuilds it and truncates the episode."""
        try:
            result = self.env.step(action)
        except Exception as err:  # noqa: BLE001 - any env failure is recovered the same way
            return self._recover(err)
        self._last_obs = result[0]
        return result

    def _recover(self, err: Exception) -> tuple[dict, dict, dict, dict, dict]:
        global _warned
        self.failures += 1
        level = logging.DEBUG if _warned else logging.WARNING
        _warned = True
        logger.log(
            level,
            "sub-env step failed (%s: %s); rebuilding this sub-env, its episode is truncated"
            " (further failures are logged at debug level)",
            type(err).__name__,
            err,
        )
        self._on_failure()
        try:
            self.env.close()
        except Exception:  # noqa: BLE001 - a broken env may fail to close too
            logger.debug("closing the failed sub-env failed as well")
        self.env = self._factory()  # raises on to RLlib's own handling if this fails
        self._reseed = True
        agents = list(self._last_obs)
        return (
            self._last_obs,
            {agent: 0.0 for agent in agents},
            {**{agent: False for agent in agents}, "__all__": False},
            {**{agent: True for agent in agents}, "__all__": True},
            {},
        )
