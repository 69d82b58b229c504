"""PettingZoo ParallelEnv -> RLlib MultiAgentEnv, carrying what CTDE algorithms need.

Every agent's observation becomes a Dict:

- ``obs``: the agent's own local observation (the env's observation space);
- ``state``: the global state, from ``env.state()`` or, when the env has none (or the caller
  asks for it), the concatenation of all agents' flattened observations;
- ``action_mask``: present only when the env provides masks (a Dict observation with
  ``observation`` and ``action_mask`` keys, the PettingZoo convention, or a ``mask_fn``).

Episodes end for RLlib (``__all__``) when the PettingZoo env has no agents left; whether that
end is a termination or a truncation follows the agents' own flags.

``agents`` lists the agents of the latest returned observations, so that after a step it still
holds the agents whose final rewards and done flags that step reported: RLlib's own env checker
requires this (and RLlib's env runner does not read ``agents``). ``alive_agents`` lists the
agents still playing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import gymnasium as gym
import numpy as np
from pettingzoo.utils.env import ParallelEnv
from ray.rllib.env.multi_agent_env import MultiAgentEnv

from env_wrappers.keys import MASK_KEY, OBS_KEY, STATE_KEY

StateSource = Literal["auto", "env", "concat", "none"]
MaskFn = Callable[[ParallelEnv, str], np.ndarray]
STATE_SOURCES = ("auto", "env", "concat", "none")


def env_has_state(env: ParallelEnv) -> bool:
    """True when the env implements ``state()`` and declares a ``state_space``."""
    if getattr(env, "state_space", None) is None:
        return False
    try:
        env.state()
    except NotImplementedError:
        return False
    except Exception:  # noqa: BLE001 - some envs need a reset before state() works
        return True
    return True


def _local_space(space: gym.Space) -> gym.Space:
    """The agent's local observation space, without an embedded action mask."""
    if isinstance(space, gym.spaces.Dict) and MASK_KEY in space.spaces:
        return space["observation"]
    return space


class PettingZooEnv(MultiAgentEnv):
    """Adapts a PettingZoo ParallelEnv to RLlib's MultiAgentEnv with CTDE observations.

    Args:
        env: The PettingZoo parallel environment to wrap.
        global_state: ``auto`` uses ``env.state()`` when the env has one, else the
            concatenation of observations; ``env`` requires ``state()``; ``concat`` always
            concatenates; ``none`` puts no state in the observations (image envs).
        mask_fn: Optional ``(env, agent) -> mask`` for envs that expose masks another way.

    """

    def __init__(
        self,
        env: ParallelEnv,
        *,
        global_state: StateSource = "auto",
        mask_fn: MaskFn | None = None,
        agent_id: bool = False,
    ) -> None:
        super().__init__()
        if global_state not in STATE_SOURCES:
            raise ValueError(f"global_state must be one of {STATE_SOURCES}, got {global_state!r}")
        self.par_env = env
        self.possible_agents = list(env.possible_agents)
        self.agents = list(self.possible_agents)
        self._raw_spaces = {a: env.observation_space(a) for a in self.possible_agents}
        self._local_spaces = {a: _local_space(s) for a, s in self._raw_spaces.items()}
        self._agent_id = agent_id
        if agent_id:
            self._local_spaces = {a: self._with_id_space(a) for a in self.possible_agents}
        self._mask_fn = mask_fn
        self._use_env_state = self._resolve_state_source(global_state)
        self._with_state = global_state != "none"
        self.state_space = self._make_state_space() if self._with_state else None
        self.observation_spaces = {a: self._agent_obs_space(a) for a in self.possible_agents}
        self.action_spaces = {a: env.action_space(a) for a in self.possible_agents}
        self._last_local: dict[str, np.ndarray] = {}
        self._last_masks: dict[str, np.ndarray] = {}

    # ----------------------------------------------------------------- spaces
    def _resolve_state_source(self, source: StateSource) -> bool:
        has_state = env_has_state(self.par_env)
        if source == "env" and not has_state:
            raise ValueError(
                f"global_state='env' but {type(self.par_env).__name__} has no state(); "
                "use global_state='concat'"
            )
        return has_state and source in ("auto", "env")

    def _make_state_space(self) -> gym.spaces.Box:
        """A flat Box: the env's bounds where its sources are Boxes, unbounded otherwise.

        QMIX's ``scale_state`` reads the bounds.
        """
        if self._use_env_state:
            return _flat_box([self.par_env.state_space])
        return _flat_box(list(self._local_spaces.values()))

    def _with_id_space(self, agent: str) -> gym.spaces.Box:
        space = self._local_spaces[agent]
        if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
            raise ValueError(f"agent_id=True needs flat Box observations, {agent} has {space}")
        n = len(self.possible_agents)
        low = np.concatenate([space.low, np.zeros(n)]).astype(np.float32)
        high = np.concatenate([space.high, np.ones(n)]).astype(np.float32)
        return gym.spaces.Box(low, high, dtype=np.float32)

    def _append_id(self, agent: str, local: Any) -> np.ndarray:
        one_hot = np.zeros(len(self.possible_agents), np.float32)
        one_hot[self.possible_agents.index(agent)] = 1.0
        return np.concatenate([np.asarray(local, np.float32), one_hot])

    def _has_mask(self, agent: str) -> bool:
        raw = self._raw_spaces[agent]
        embedded = isinstance(raw, gym.spaces.Dict) and MASK_KEY in raw.spaces
        return embedded or self._mask_fn is not None

    def _agent_obs_space(self, agent: str) -> gym.spaces.Dict:
        spaces: dict[str, gym.Space] = {OBS_KEY: self._local_spaces[agent]}
        if self._with_state:
            spaces[STATE_KEY] = self.state_space
        if self._has_mask(agent):
            n_actions = int(self.par_env.action_space(agent).n)
            spaces[MASK_KEY] = gym.spaces.Box(0, 1, (n_actions,), np.int8)
        return gym.spaces.Dict(spaces)

    # ---------------------------------------------------------- observations
    def _split(self, agent: str, raw: Any) -> tuple[Any, np.ndarray | None]:
        if isinstance(raw, dict) and MASK_KEY in raw:
            return raw["observation"], np.asarray(raw[MASK_KEY], dtype=np.int8)
        if self._mask_fn is not None:
            return raw, np.asarray(self._mask_fn(self.par_env, agent), dtype=np.int8)
        return raw, None

    def _global_state(self) -> np.ndarray:
        if self._use_env_state:
            return np.asarray(self.par_env.state(), dtype=np.float32).reshape(-1)
        parts = []
        for agent in self.possible_agents:
            space = self._local_spaces[agent]
            local = self._last_local.get(agent)
            flat = np.zeros(gym.spaces.flatdim(space), np.float32)
            if local is not None:
                flat = gym.spaces.flatten(space, local).astype(np.float32)
            parts.append(flat)
        return np.concatenate(parts)

    def _wrap(self, raw_obs: dict[str, Any]) -> dict[str, dict[str, Any]]:
        for agent, raw in raw_obs.items():
            local, mask = self._split(agent, raw)
            if self._agent_id:
                local = self._append_id(agent, local)
            self._last_local[agent] = local
            if mask is not None:
                self._last_masks[agent] = mask
        state = self._global_state() if self._with_state else None
        wrapped = {}
        for agent in raw_obs:
            item = {OBS_KEY: self._last_local[agent]}
            if state is not None:
                item[STATE_KEY] = state
            if agent in self._last_masks:
                item[MASK_KEY] = self._last_masks[agent]
            wrapped[agent] = item
        return wrapped

    # --------------------------------------------------------------- gym API
    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        raw_obs, infos = self.par_env.reset(seed=seed, options=options)
        self._last_local, self._last_masks = {}, {}
        self.agents = list(raw_obs)
        return self._wrap(raw_obs), {a: infos.get(a, {}) for a in raw_obs}

    def step(self, action_dict: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        actions = {a: action_dict[a] for a in self.par_env.agents if a in action_dict}
        raw_obs, rewards, terms, truncs, infos = self.par_env.step(actions)
        obs = self._wrap(raw_obs)
        acted = list(obs)
        self.agents = acted
        terminateds = {a: bool(terms.get(a, False)) for a in acted}
        truncateds = {a: bool(truncs.get(a, False)) for a in acted}
        episode_over = not self.par_env.agents
        all_terminated = episode_over and all(terms.get(a, False) for a in acted)
        terminateds["__all__"] = all_terminated
        truncateds["__all__"] = episode_over and not all_terminated
        rewards_out = {a: float(rewards.get(a, 0.0)) for a in acted}
        return obs, rewards_out, terminateds, truncateds, {a: infos.get(a, {}) for a in acted}

    @property
    def appends_agent_id(self) -> bool:
        """Whether each local ``obs`` ends with the agent's one-hot index (``agent_id``)."""
        return self._agent_id

    @property
    def alive_agents(self) -> list[str]:
        """Agents still playing (not terminated or truncated)."""
        return list(self.par_env.agents)

    def render(self) -> Any:
        """Renders the wrapped env (an RGB array with ``render_mode='rgb_array'``)."""
        return self.par_env.render()

    def close(self) -> None:
        self.par_env.close()

    def get_state_vector(self) -> np.ndarray:
        """The current global state, as fed to the ``state`` key of every observation."""
        return self._global_state()


def _flat_box(spaces: list[gym.Space]) -> gym.spaces.Box:
    """The concatenation of ``spaces`` as one flat float32 Box (bounds kept for Boxes)."""
    lows, highs = [], []
    for space in spaces:
        size = gym.spaces.flatdim(space)
        if isinstance(space, gym.spaces.Box):
            lows.append(np.asarray(space.low, np.float32).reshape(-1))
            highs.append(np.asarray(space.high, np.float32).reshape(-1))
        else:
            lows.append(np.full(size, -np.inf, np.float32))
            highs.append(np.full(size, np.inf, np.float32))
    return gym.spaces.Box(np.concatenate(lows), np.concatenate(highs), dtype=np.float32)
