"""Level-Based Foraging (lbforaging 2.0) as a PettingZoo ParallelEnv with masks and a state.

``lbf(size=8, players=2, food=2, coop=True)`` is ``Foraging-8x8-2p-2f-coop-v3``: the factory
builds ``ForagingEnv`` with the arguments lbforaging's registered ids use (player levels from 1,
food levels from 1 up to the sum of the three lowest player levels, vector observations).

- Observations: ``{"observation": <the agent's vector>, "action_mask": int8[6]}``, the mask
  from the env's valid actions (lbforaging turns an invalid action into NONE anyway).
- ``state()``: the fully observable observation in a fixed agent order: every food's
  (row, col, level), padded with (-1, -1, 0), then every player's (row, col, level).
- lbforaging reports the time limit as ``done``; here it is a truncation, and only an
  episode that ends because all food is gone is a termination.
- Rewards are individual (each loader's share of the food); with ``normalize_reward`` the
  team return of an episode is at most 1.
- Seeded episodes reproduce: lbforaging resolves simultaneous loads by popping players from a
  ``set``, whose order follows the players' memory addresses, so two runs with one seed could
  differ whenever a loader stood next to two foods. Players here hash by their index, which
  makes that order the players' order in every process. And lbforaging spawns players
  around the previous episode's last positions (a new position may not be an old one), so a
  seeded reset depended on the history before it (an env checker's random steps, say): a
  seeded reset here clears those positions first and depends on the seed alone.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from lbforaging.foraging.environment import Action, ForagingEnv, Player

from env_wrappers.envs.gym_tuple import TupleParallelEnv, check_render_mode

N_ACTIONS = len(Action)


class IndexedPlayer(Player):
    """An lbforaging player that hashes by its index, so sets of players iterate in one order."""

    def __init__(self, index: int) -> None:
        super().__init__()
        self.index = index

    def __hash__(self) -> int:
        return self.index


class ForagingParallelEnv(TupleParallelEnv):
    """``ForagingEnv`` as a ParallelEnv (agents ``agent_0..``), with masks and a state."""

    env: ForagingEnv

    def __init__(self, env: ForagingEnv, render_mode: str | None = None) -> None:
        super().__init__(env, name="lbf", render_mode=render_mode)
        local = env.observation_space[0]
        self.state_space = gym.spaces.Box(local.low, local.high, dtype=np.float32)

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, dict]]:
        """Resets lbforaging; a seeded reset forgets the last episode's player positions."""
        if seed is not None:
            for player in self.env.players:
                player.position = None
        return super().reset(seed=seed, options=options)

    def _observation_space(self, index: int, space: gym.Space) -> gym.Space:
        mask = gym.spaces.Box(0, 1, (N_ACTIONS,), np.int8)
        return gym.spaces.Dict({"observation": space, "action_mask": mask})

    def _observation(self, index: int, raw: Any) -> dict[str, np.ndarray]:
        return {"observation": raw, "action_mask": self.action_mask(index)}

    def _episode_end(self, done: bool, truncated: bool) -> tuple[bool, bool]:
        terminated = done and int(self.env.field.sum()) == 0
        return terminated, (done or truncated) and not terminated

    def action_mask(self, index: int) -> np.ndarray:
        """int8[6], 1 where agent ``index``'s action is valid now."""
        mask = np.zeros(N_ACTIONS, np.int8)
        for action in self.env._valid_actions[self.env.players[index]]:
            mask[action.value] = 1
        return mask

    def state(self) -> np.ndarray:
        """Foods (row, col, level) padded to ``max_num_food``, then players (row, col, level).

        Built as one Python list and one array: it runs every step, and a handful of small
        numpy calls cost more than the env's own step does.
        """
        env = self.env
        rows, cols = env.field.nonzero()
        values: list[float] = [-1.0, -1.0, 0.0] * env.max_num_food
        levels = env.field[rows, cols].tolist()
        for i, item in enumerate(zip(rows.tolist(), cols.tolist(), levels)):
            values[3 * i : 3 * i + 3] = item
        for player in env.players:
            values += [*player.position, player.level] if player.position else [0, 0, 0]
        return np.array(values, np.float32)


def lbf(
    size: int = 8,
    players: int = 2,
    food: int = 2,
    coop: bool = False,
    sight: int | None = None,
    max_episode_steps: int = 50,
    max_player_level: int = 2,
    penalty: float = 0.0,
    normalize_reward: bool = True,
    render_mode: str | None = None,
) -> ForagingParallelEnv:
    """Level-Based Foraging on a ``size`` x ``size`` grid.

    Args:
        size: Side of the square grid.
        players: Number of agents.
        food: Number of food items spawned at reset.
        coop: Every food needs all players' levels together (``-coop`` ids).
        sight: Observation radius; ``None`` means ``size`` (fully observable).
        max_episode_steps: Time limit (reported as truncation).
        max_player_level: Player levels are drawn from 1..max_player_level.
        penalty: Reward subtracted from players whose loading attempt fails.
        normalize_reward: Scale rewards so that a whole episode sums to at most 1.
        render_mode: ``None``, ``human`` or ``rgb_array``.

    """
    check_render_mode(render_mode)
    env = ForagingEnv(
        players=players,
        min_player_level=1,
        max_player_level=max_player_level,
        min_food_level=1,
        max_food_level=None,
        field_size=(size, size),
        max_num_food=food,
        sight=size if sight is None else sight,
        max_episode_steps=max_episode_steps,
        force_coop=coop,
        normalize_reward=normalize_reward,
        grid_observation=False,
        penalty=penalty,
        render_mode=render_mode,
    )
    env.players = [IndexedPlayer(i) for i in range(players)]
    return ForagingParallelEnv(env, render_mode=render_mode)
