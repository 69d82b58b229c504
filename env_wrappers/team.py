"""The team view for joint algorithms (QMIX, VDN, COMA, MADDPG).

All agents of a team become one RLlib agent. Its observation is a Dict with every member's
local observation stacked in the env's ``possible_agents`` order (``obs``: ``[n, obs_dim]``),
the global ``state``, the members' ``action_mask`` (``[n, n_actions]``) when the env has masks,
and ``alive`` (``[n]``, 0 once a member has left the episode). Its action holds one action per
member (MultiDiscrete, or a ``[n, act_dim]`` Box for continuous actions).

A member that has left gets a zero observation, ``alive = 0``, a mask that allows only
action 0, and its actions are dropped, so episodes and batches keep a fixed shape. The team
reward is the sum of the members' rewards (``team_reward="sum"``) or their mean (``"mean"``,
right for envs whose agents all receive the same shared reward).

Teams default to the agents' name prefixes (``adversary_0`` -> team ``adversary``), which
gives one team for cooperative envs and one per side for simple_adversary and simple_tag;
``teams="all"`` makes one team ``all`` of every agent (MADDPG's joint critics see every agent,
adversaries included). Every step's info carries the members' own rewards
(``member_rewards``), for algorithms whose critics learn each member's reward.

Policy ensembles (``sub_policies=K`` > 1): the observation also holds ``sub_policy`` (``[n]``),
each member's sub-policy index for the whole episode, drawn uniformly from ``0..K-1`` for each
member independently at every reset. The draws are seeded: ``reset(seed=s)`` restarts them
from ``s``, a reset without a seed continues the sequence. ``sub_policy=k`` fixes every
member's index to ``k`` (evaluation of one sub-policy). It is data in the observation, so
replayed episodes carry the index their members acted with.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Literal

import gymnasium as gym
import numpy as np
from ray.rllib.env.multi_agent_env import MultiAgentEnv

from env_wrappers.keys import ALIVE_KEY, MASK_KEY, OBS_KEY, STATE_KEY, SUB_POLICY_KEY
from env_wrappers.pettingzoo import PettingZooEnv

TeamReward = Literal["sum", "mean"]


def teams_by_prefix(agents: list[str]) -> dict[str, list[str]]:
    """Groups agents by the part of their name before the last ``_``."""
    teams: dict[str, list[str]] = defaultdict(list)
    for agent in agents:
        teams[agent.rsplit("_", 1)[0]].append(agent)
    return dict(teams)


def _same(spaces: list[gym.Space], what: str, team: str) -> gym.Space:
    first = spaces[0]
    for space in spaces[1:]:
        if space.shape != first.shape or type(space) is not type(first):
            raise ValueError(
                f"team {team!r} mixes {what} spaces {spaces}; pass pad=True to pad them"
            )
        if isinstance(first, gym.spaces.Discrete) and space.n != first.n:
            raise ValueError(f"team {team!r} mixes action counts; pass pad=True to pad them")
    return first


class TeamEnv(MultiAgentEnv):
    """Groups the agents of a wrapped env into teams (one RLlib agent each).

    Args:
        env: The per-agent adapter.
        teams: ``team -> members``; by default the agents' name prefixes; ``"all"``: one team
            of every agent.
        team_reward: ``sum`` or ``mean`` of the members' rewards.
        sub_policies: Sub-policies per member (policy ensembles); 1: no ``sub_policy`` key.
        sub_policy: A fixed index for every member instead of the per-episode draw.

    """

    def __init__(
        self,
        env: PettingZooEnv,
        teams: dict[str, list[str]] | str | None = None,
        team_reward: TeamReward = "sum",
        sub_policies: int = 1,
        sub_policy: int | None = None,
    ) -> None:
        super().__init__()
        _check_ensemble(sub_policies, sub_policy)
        self.sub_policies, self.sub_policy = sub_policies, sub_policy
        self._draws = np.random.default_rng()
        self._picks: dict[str, np.ndarray] = {}
        if team_reward not in ("sum", "mean"):
            raise ValueError(f"team_reward must be 'sum' or 'mean', got {team_reward!r}")
        if env.state_space is None:
            raise ValueError(
                "the team view needs a global state: global_state='none' is not allowed"
            )
        self.env = env
        if isinstance(teams, str):
            if teams != "all":
                raise ValueError(
                    f"teams must be a mapping of team -> agents or 'all', got {teams!r}"
                )
            teams = {"all": list(env.possible_agents)}
        self.teams = teams or teams_by_prefix(env.possible_agents)
        self.team_reward = team_reward
        self.possible_agents = list(self.teams)
        self.agents = list(self.teams)
        self.observation_spaces = {t: self._obs_space(t) for t in self.teams}
        self.action_spaces = {t: self._action_space(t) for t in self.teams}
        self._last: dict[str, dict[str, Any]] = {}

    def _obs_space(self, team: str) -> gym.spaces.Dict:
        members = self.teams[team]
        member_spaces = [self.env.observation_spaces[m] for m in members]
        local = _same([s[OBS_KEY] for s in member_spaces], "observation", team)
        n = len(members)
        spaces = {
            OBS_KEY: gym.spaces.Box(
                np.repeat(local.low[None], n, 0),
                np.repeat(local.high[None], n, 0),
                dtype=local.dtype,
            ),
            STATE_KEY: self.env.state_space,
            ALIVE_KEY: gym.spaces.Box(0, 1, (n,), np.int8),
        }
        if self.sub_policies > 1:
            spaces[SUB_POLICY_KEY] = gym.spaces.Box(0, self.sub_policies - 1, (n,), np.int8)
        if MASK_KEY in member_spaces[0].spaces:
            n_actions = member_spaces[0][MASK_KEY].shape[0]
            spaces[MASK_KEY] = gym.spaces.Box(0, 1, (n, n_actions), np.int8)
        return gym.spaces.Dict(spaces)

    def _action_space(self, team: str) -> gym.Space:
        members = self.teams[team]
        space = _same([self.env.action_spaces[m] for m in members], "action", team)
        if isinstance(space, gym.spaces.Discrete):
            return gym.spaces.MultiDiscrete([space.n] * len(members))
        n = len(members)
        return gym.spaces.Box(
            np.repeat(space.low[None], n, 0), np.repeat(space.high[None], n, 0), dtype=space.dtype
        )

    def _team_obs(self, team: str, obs: dict[str, Any]) -> dict[str, np.ndarray]:
        space = self.observation_spaces[team]
        members = self.teams[team]
        out = {
            OBS_KEY: np.zeros(space[OBS_KEY].shape, space[OBS_KEY].dtype),
            ALIVE_KEY: np.zeros(len(members), np.int8),
            STATE_KEY: self.env.get_state_vector(),
        }
        if team in self._picks:
            out[SUB_POLICY_KEY] = self._picks[team].copy()
        if MASK_KEY in space.spaces:
            out[MASK_KEY] = np.zeros(space[MASK_KEY].shape, np.int8)
            out[MASK_KEY][:, 0] = 1  # members that left may only "act" with action 0
        for index, member in enumerate(members):
            if member in obs:
                out[OBS_KEY][index] = obs[member][OBS_KEY]
                out[ALIVE_KEY][index] = 1
                if MASK_KEY in out:
                    out[MASK_KEY][index] = obs[member][MASK_KEY]
        return out

    def _group(self, obs: dict[str, Any]) -> dict[str, dict[str, np.ndarray]]:
        active = [t for t in self.teams if any(m in obs for m in self.teams[t])]
        return {t: self._team_obs(t, obs) for t in active}

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        obs, _ = self.env.reset(seed=seed, options=options)
        self._draw_sub_policies(seed)
        grouped = self._group(obs)
        self.agents = list(grouped)
        return grouped, {t: {} for t in grouped}

    def _draw_sub_policies(self, seed: int | None) -> None:
        """Each member's sub-policy for this episode (ensembles only)."""
        if self.sub_policies == 1:
            return
        if seed is not None:
            self._draws = np.random.default_rng([seed, 0x5E6])  # apart from the env's seed
        for team, members in self.teams.items():
            draw = self._draws.integers(self.sub_policies, size=len(members))
            fixed = None if self.sub_policy is None else np.full(len(members), self.sub_policy)
            self._picks[team] = (draw if fixed is None else fixed).astype(np.int8)

    def step(self, action_dict: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        actions = {}
        for team, joint in action_dict.items():
            for member, action in zip(self.teams[team], joint):
                if member in self.env.alive_agents:
                    actions[member] = action
        obs, rewards, terms, truncs, _ = self.env.step(actions)
        grouped = self._group(obs)
        team_rewards, infos = {}, {}
        for team in grouped:
            member_rewards = [rewards.get(m, 0.0) for m in self.teams[team]]
            total = float(sum(member_rewards))
            team_rewards[team] = (
                total / len(member_rewards) if self.team_reward == "mean" else total
            )
            infos[team] = {"member_rewards": member_rewards}
        team_terms = {
            t: all(terms.get(m, True) for m in self.teams[t] if m in obs) for t in grouped
        }
        team_truncs = {
            t: all(truncs.get(m, True) for m in self.teams[t] if m in obs) for t in grouped
        }
        team_terms["__all__"], team_truncs["__all__"] = terms["__all__"], truncs["__all__"]
        self.agents = list(grouped)
        return grouped, team_rewards, team_terms, team_truncs, infos

    def render(self) -> Any:
        return self.env.render()

    def close(self) -> None:
        self.env.close()


def _check_ensemble(sub_policies: Any, sub_policy: Any) -> None:
    if isinstance(sub_policies, bool) or not isinstance(sub_policies, int) or sub_policies < 1:
        raise ValueError(f"sub_policies must be an integer >= 1, got {sub_policies!r}")
    if sub_policy is None:
        return
    if isinstance(sub_policy, bool) or not isinstance(sub_policy, int):
        raise ValueError(f"sub_policy must be an integer or null, got {sub_policy!r}")
    if not 0 <= sub_policy < sub_policies:
        raise ValueError(f"sub_policy must be in 0..{sub_policies - 1}, got {sub_policy}")
