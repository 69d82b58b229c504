"""A base for small games with a few discrete states.

Every agent observes the one-hot of the current state (all zeros once the episode is over),
and ``state()`` returns the same vector. Subclasses define only
``transition(state, joint_action) -> (reward, next_state or None)``, where the reward is one
number every agent receives (a cooperative game) or one number per agent, in agent order (a
general-sum game such as the stag hunt).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from pettingzoo.utils.env import ParallelEnv

JointAction = tuple[int, ...]
#: One shared reward, or one reward per agent in ``possible_agents`` order.
Reward = float | tuple[float, ...]


class TabularGame(ParallelEnv):
    """A game on ``n_states`` states; the episode starts in state 0.

    Args:
        n_states: Number of non-terminal states (the length of the one-hot observation).
        action_sizes: Number of discrete actions of each agent, in agent order.
        name: The env's name in ``metadata``.

    """

    def __init__(self, n_states: int, action_sizes: tuple[int, ...], name: str) -> None:
        super().__init__()
        self.metadata = {"name": name, "render_modes": [], "is_parallelizable": True}
        self.possible_agents = [f"agent_{i}" for i in range(len(action_sizes))]
        self.agents: list[str] = []
        self.n_states = n_states
        space = gym.spaces.Box(0.0, 1.0, (n_states,), np.float32)
        self.state_space = space
        self.observation_spaces = {agent: space for agent in self.possible_agents}
        self.action_spaces = {
            agent: gym.spaces.Discrete(n) for agent, n in zip(self.possible_agents, action_sizes)
        }
        self._state: int | None = None

    def transition(self, state: int, joint: JointAction) -> tuple[Reward, int | None]:
        """The reward (shared, or one per agent) and the next state (``None`` ends the episode)."""
        raise NotImplementedError

    def observation_space(self, agent: str) -> gym.spaces.Box:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> gym.spaces.Discrete:
        return self.action_spaces[agent]

    def state(self) -> np.ndarray:
        """One-hot of the current state; all zeros before reset and after the episode."""
        vector = np.zeros(self.n_states, np.float32)
        if self._state is not None:
            vector[self._state] = 1.0
        return vector

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, dict]]:
        """Starts in state 0 (the games are deterministic, so ``seed`` changes nothing)."""
        self._state = 0
        self.agents = list(self.possible_agents)
        return {a: self.state() for a in self.agents}, {a: {} for a in self.agents}

    def _joint_action(self, actions: dict[str, Any]) -> JointAction:
        if not self.agents:
            raise RuntimeError("step() called on a finished episode; call reset() first")
        missing = [a for a in self.agents if a not in actions]
        if missing:
            raise ValueError(f"every agent must act; no action for {missing}")
        joint = tuple(int(actions[a]) for a in self.possible_agents)
        for agent, action in zip(self.possible_agents, joint):
            if not self.action_spaces[agent].contains(action):
                raise ValueError(f"{agent}: action {action} outside {self.action_spaces[agent]}")
        return joint

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        """Applies the joint action; every agent gets the shared reward, or its own."""
        joint = self._joint_action(actions)
        reward, self._state = self.transition(self._state, joint)
        acted = list(self.agents)
        done = self._state is None
        if done:
            self.agents = []
        obs = {a: self.state() for a in acted}
        rewards = dict(zip(acted, self._per_agent(reward), strict=True))
        terminations = dict.fromkeys(acted, done)
        truncations = dict.fromkeys(acted, False)
        return obs, rewards, terminations, truncations, {a: {} for a in acted}

    def _per_agent(self, reward: Reward) -> list[float]:
        if isinstance(reward, tuple | list):
            if len(reward) != len(self.possible_agents):
                raise ValueError(f"{len(reward)} rewards for {len(self.possible_agents)} agents")
            return [float(r) for r in reward]
        return [float(reward)] * len(self.possible_agents)

    def render(self) -> None:
        """These games have nothing to draw."""
        return None
