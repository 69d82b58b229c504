"""PettingZoo's SISL multiwalker and pursuit with explicit options (``pettingzoo[sisl]``).

PettingZoo's ``parallel_env`` factories take ``**kwargs``, so the catalog could not check an
option's name; these factories spell out the base envs' keyword arguments with the same
defaults (a unit test compares them). Pursuit's controller objects are left out.

multiwalker_v9 needs two fixes, made by ``MultiWalker``:

- its ``state()`` calls every walker's ``get_observation()``, which fails once a fallen walker's
  body is removed (``remove_on_fall=True``, the default); here a removed walker's part of the
  state is zeros;
- it reports the ``max_cycles`` time limit as termination; here it is a truncation (an agent
  that fell or finished on that same step stays terminated).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pettingzoo.sisl import multiwalker_v9, pursuit_v5
from pettingzoo.utils.env import ParallelEnv
from pettingzoo.utils.wrappers import BaseParallelWrapper

WALKER_OBS = 24  # the walker's own part of its observation (and of the state)


class MultiWalker(BaseParallelWrapper):
    """multiwalker_v9's parallel env with a safe ``state()`` and truncation at the time limit."""

    def __init__(self, env: ParallelEnv) -> None:
        super().__init__(env)
        self.state_space = env.state_space

    @property
    def _base(self) -> Any:
        """The underlying ``MultiWalkerEnv`` (walkers, package, frame count)."""
        return self.env.unwrapped.env

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        obs, rewards, terminations, truncations, infos = self.env.step(actions)
        base = self._base
        if base.frames >= base.max_cycles:
            really_done = base.last_dones
            for agent, terminated in terminations.items():
                index = self.possible_agents.index(agent)
                if terminated and not really_done[index]:
                    terminations[agent], truncations[agent] = False, True
        return obs, rewards, terminations, truncations, infos

    def state(self) -> np.ndarray:
        """Each walker's 24 own features (zeros once removed), then the package x, y, angle."""
        base = self._base
        walkers = [
            np.zeros(WALKER_OBS) if w.hull is None else np.asarray(w.get_observation())
            for w in base.walkers
        ]
        package = base.package
        package_obs = np.array([package.position.x, package.position.y, package.angle])
        return np.concatenate([*walkers, package_obs]).astype(np.float32)


def multiwalker(
    n_walkers: int = 3,
    position_noise: float = 1e-3,
    angle_noise: float = 1e-3,
    forward_reward: float = 1.0,
    terminate_reward: float = -100.0,
    fall_reward: float = -10.0,
    shared_reward: bool = True,
    terminate_on_fall: bool = True,
    remove_on_fall: bool = True,
    terrain_length: int = 200,
    max_cycles: int = 500,
    render_mode: str | None = None,
) -> MultiWalker:
    """SISL multiwalker_v9: walkers carry a package together (continuous actions)."""
    options = dict(locals())  # exactly the keyword arguments above
    return MultiWalker(multiwalker_v9.parallel_env(**options))


def pursuit(
    x_size: int = 16,
    y_size: int = 16,
    max_cycles: int = 500,
    shared_reward: bool = True,
    n_evaders: int = 30,
    n_pursuers: int = 8,
    obs_range: int = 7,
    n_catch: int = 2,
    freeze_evaders: bool = False,
    tag_reward: float = 0.01,
    catch_reward: float = 5.0,
    urgency_reward: float = -0.1,
    surround: bool = True,
    constraint_window: float = 1.0,
    render_mode: str | None = None,
) -> ParallelEnv:
    """SISL pursuit_v5: pursuers surround randomly moving evaders on a grid."""
    options = dict(locals())  # exactly the keyword arguments above
    return pursuit_v5.parallel_env(**options)
