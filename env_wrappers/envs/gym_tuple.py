"""A gymnasium multi-agent env with Tuple spaces -> a PettingZoo ParallelEnv.

lbforaging and rware share this form: Tuple observation and action spaces, a tuple of
observations, a list of rewards and one ``done`` flag for the whole team (their time limit
sets ``done``, not ``truncated``). Agents are named ``agent_0..agent_{n-1}`` in tuple order.
Subclasses decide whether an episode end is a termination or a truncation, and may embed
action masks (the PettingZoo ``{"observation", "action_mask"}`` Dict) and define ``state()``.
"""

from __future__ import annotations

import os
from typing import Any

import gymnasium as gym
from pettingzoo.utils.env import ParallelEnv

RENDER_MODES = (None, "human", "rgb_array")


def check_render_mode(render_mode: str | None) -> None:
    """Raises ValueError unless ``render_mode`` is None, ``human`` or ``rgb_array``."""
    if render_mode not in RENDER_MODES:
        raise ValueError(f"render_mode must be one of {RENDER_MODES}, got {render_mode!r}")


def use_headless_pyglet() -> None:
    """Lets pyglet (lbforaging's and rware's viewers) draw offscreen when there is no display.

    Must run before ``pyglet.window`` is first imported; harmless afterwards.
    """
    if not os.environ.get("DISPLAY"):
        import pyglet

        pyglet.options["headless"] = True


class TupleParallelEnv(ParallelEnv):
    """Adapts a Tuple-space multi-agent gymnasium env; every agent acts every step.

    Args:
        env: The gymnasium env (not wrapped by ``gym.make``).
        name: The env's name in ``metadata``.
        render_mode: ``None``, ``human`` (drawn every step) or ``rgb_array`` (``render()``
            returns a frame).

    """

    def __init__(self, env: gym.Env, name: str, render_mode: str | None = None) -> None:
        super().__init__()
        check_render_mode(render_mode)
        self.env = env
        self.render_mode = render_mode
        self.metadata = {
            "name": name,
            "render_modes": ["human", "rgb_array"],
            "is_parallelizable": True,
        }
        self.possible_agents = [f"agent_{i}" for i in range(len(env.action_space))]
        self.agents: list[str] = []
        self.action_spaces = dict(zip(self.possible_agents, env.action_space.spaces))
        self.observation_spaces = {
            agent: self._observation_space(i, space)
            for i, (agent, space) in enumerate(zip(self.possible_agents, env.observation_space))
        }

    # ------------------------------------------------------------ subclass hooks
    def _observation_space(self, index: int, space: gym.Space) -> gym.Space:
        """The space of agent ``index``'s observation (the env's own by default)."""
        return space

    def _observation(self, index: int, raw: Any) -> Any:
        """Agent ``index``'s observation from the env's raw one (unchanged by default)."""
        return raw

    def _episode_end(self, done: bool, truncated: bool) -> tuple[bool, bool]:
        """``(terminated, truncated)`` for the team from the env's flags."""
        raise NotImplementedError

    # ---------------------------------------------------------------- PettingZoo
    def observation_space(self, agent: str) -> gym.Space:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> gym.Space:
        return self.action_spaces[agent]

    def _observations(self, raw: tuple) -> dict[str, Any]:
        return {a: self._observation(i, raw[i]) for i, a in enumerate(self.possible_agents)}

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, dict]]:
        raw, _ = self.env.reset(seed=seed, options=options)
        self.agents = list(self.possible_agents)
        return self._observations(raw), {a: {} for a in self.agents}

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        """Steps all agents at once; an agent without an action plays action 0 (no-op)."""
        if not self.agents:
            raise RuntimeError("step() called on a finished episode; call reset() first")
        joint = [int(actions.get(agent, 0)) for agent in self.possible_agents]
        raw, rewards, done, truncated, _ = self.env.step(joint)
        terminated, truncated = self._episode_end(bool(done), bool(truncated))
        if terminated or truncated:
            self.agents = []
        if self.render_mode == "human":
            self.env.render()
        agents = self.possible_agents
        return (
            self._observations(raw),
            {a: float(r) for a, r in zip(agents, rewards)},
            dict.fromkeys(agents, terminated),
            dict.fromkeys(agents, truncated),
            {a: {} for a in agents},
        )

    def render(self) -> Any:
        """A frame with ``rgb_array``; draws in a window with ``human``; else nothing."""
        if self.render_mode is None:
            return None
        if self.render_mode == "rgb_array":
            use_headless_pyglet()
        return self.env.render(mode=self.render_mode)

    def close(self) -> None:
        self.env.close()
