"""The Multi-Robot Warehouse (rware 2.0) as a PettingZoo ParallelEnv with a global state.

``rware(size="tiny", agents=2, difficulty="medium")`` is ``rware-tiny-2ag-v2``: the factory
builds ``Warehouse`` with the arguments rware's registered ids use (column height 8, sensor
range 1, no messages, individual rewards, flattened observations). rware's difficulty sets
the request queue size: ``int(agents * f)`` with f = 2 (``-easy``), 1 (no suffix, our
``medium``) or 0.5 (``-hard``).

- Observations: rware's flattened local vector; all actions are always valid (no mask).
- ``state()``: which cells hold a shelf and which a requested shelf (two grid layers, from
  ``Warehouse.get_global_image``), then each agent's x, y, carrying flag, direction one-hot
  and on-highway flag, the same self features as in its observation.
- Episodes only end at ``max_steps``, reported as a truncation (rware reports ``done``).
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from rware.warehouse import Direction, ImageLayer, RewardType, Warehouse

from env_wrappers.envs.gym_tuple import TupleParallelEnv, check_render_mode

#: (shelf_rows, shelf_columns) of rware's size names.
SIZES = {"tiny": (1, 3), "small": (2, 3), "medium": (2, 5), "large": (3, 5)}
#: Request queue size per agent of rware's difficulty suffixes (-easy, none, -hard).
DIFFICULTIES = {"easy": 2.0, "medium": 1.0, "hard": 0.5}
STATE_LAYERS = [ImageLayer.SHELVES, ImageLayer.REQUESTS]
AGENT_FEATURES = 4 + len(Direction)  # x, y, carrying, direction one-hot, on highway


class WarehouseParallelEnv(TupleParallelEnv):
    """``Warehouse`` as a ParallelEnv (agents ``agent_0..``) with a global state."""

    env: Warehouse

    def __init__(self, env: Warehouse, render_mode: str | None = None) -> None:
        super().__init__(env, name="rware", render_mode=render_mode)
        rows, cols = env.grid_size
        size = len(STATE_LAYERS) * rows * cols + env.n_agents * AGENT_FEATURES
        self.state_space = gym.spaces.Box(0.0, float(max(rows, cols)), (size,), np.float32)

    def _episode_end(self, done: bool, truncated: bool) -> tuple[bool, bool]:
        return False, done or truncated

    def _agent_features(self) -> np.ndarray:
        features = np.zeros((self.env.n_agents, AGENT_FEATURES), np.float32)
        for i, agent in enumerate(self.env.agents):
            features[i, :3] = (agent.x, agent.y, agent.carrying_shelf is not None)
            features[i, 3 + agent.dir.value] = 1.0
            features[i, -1] = self.env.highways[agent.y, agent.x]
        return features.reshape(-1)

    def state(self) -> np.ndarray:
        """Shelf and request layers [2, rows, cols] flattened, then the agents' features."""
        if not self.env.agents:  # before the first reset
            return np.zeros(self.state_space.shape, np.float32)
        layers = self.env.get_global_image(image_layers=STATE_LAYERS, recompute=True)
        return np.concatenate([layers.reshape(-1), self._agent_features()]).astype(np.float32)


def request_queue_size(agents: int, difficulty: str) -> int:
    """The number of simultaneously requested shelves, as rware's ids compute it."""
    if difficulty not in DIFFICULTIES:
        raise ValueError(f"difficulty must be one of {list(DIFFICULTIES)}, got {difficulty!r}")
    size = int(agents * DIFFICULTIES[difficulty])
    if size < 1:
        raise ValueError(f"difficulty {difficulty!r} with {agents} agent(s) requests no shelf")
    return size


def rware(
    size: str = "tiny",
    agents: int = 2,
    difficulty: str = "medium",
    max_steps: int = 500,
    render_mode: str | None = None,
) -> WarehouseParallelEnv:
    """The Multi-Robot Warehouse.

    Args:
        size: ``tiny``, ``small``, ``medium`` or ``large`` (rware's layouts).
        agents: Number of robots.
        difficulty: ``easy``, ``medium`` or ``hard`` (2, 1 or 0.5 requests per agent).
        max_steps: Episode length (reported as truncation).
        render_mode: ``None``, ``human`` or ``rgb_array``.

    """
    if size not in SIZES:
        raise ValueError(f"size must be one of {list(SIZES)}, got {size!r}")
    check_render_mode(render_mode)
    shelf_rows, shelf_columns = SIZES[size]
    env = Warehouse(
        shelf_columns=shelf_columns,
        column_height=8,
        shelf_rows=shelf_rows,
        n_agents=agents,
        msg_bits=0,
        sensor_range=1,
        request_queue_size=request_queue_size(agents, difficulty),
        max_inactivity_steps=None,
        max_steps=max_steps,
        reward_type=RewardType.INDIVIDUAL,
        render_mode=render_mode,
    )
    return WarehouseParallelEnv(env, render_mode=render_mode)
