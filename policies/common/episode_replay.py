"""Episode replay for off-policy team algorithms: whole team episodes as padded batches (no Ray).

PyMARL-style replay (Rashid et al. 2018; Samvelyan et al. 2019): the buffer keeps whole
episodes of one team and samples rows that are whole episodes, or, with ``seq_len``, windows
of ``seq_len`` steps preceded by up to ``burn_in`` steps that only warm up a recurrent agent's
hidden state (R2D2, Kapturowski et al. 2019). Rows are padded at the end to the longest row;
the batch follows ``policies.common.targets``' convention:

- ``obs``: dict of ``[B, T + 1, ...]``: the observation before every step of the row and the
  one after its last step (the bootstrap observation);
- ``actions`` ``[B, T, n_agents]``, ``rewards`` ``[B, T]``, ``terminateds`` ``[B, T]`` (1 only
  at an episode's terminal step), ``filled`` ``[B, T]`` (1 on real steps, a prefix of the row);
- ``member_rewards`` ``[B, T, n_agents]``, each member's own reward, when the episodes carry
  them (the team view's infos; MADDPG's per-agent critics);
- ``loss_mask`` ``[B, T]``: ``filled`` without the burn-in steps.

Episodes arrive in chunks from the env runners (``EpisodeAssembler``); only finished episodes
enter the buffer. ``policies.common.episode_training`` runs this replay inside RLlib (QMIX's
episode replay; any other team algorithm that learns from replayed episodes).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Keys of a sampled batch besides ``obs``.
ACTIONS, REWARDS, TERMINATEDS = "actions", "rewards", "terminateds"
MEMBER_REWARDS = "member_rewards"
FILLED, LOSS_MASK = "filled", "loss_mask"


@dataclass
class TeamEpisode:
    """One finished (or partly assembled) episode of one team.

    Attributes:
        obs: dict of ``[L + 1, ...]`` arrays: every observation, the last one after the
            final step.
        actions: ``[L, n_agents]``.
        rewards: ``[L]`` team rewards.
        terminated: Whether the episode ended in a terminal state (not a time limit).
        member_rewards: ``[L, n_agents]`` each member's own reward, or None.

    """

    obs: dict[str, np.ndarray]
    actions: np.ndarray
    rewards: np.ndarray
    terminated: bool = False
    member_rewards: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.rewards)

    def extend(self, chunk: TeamEpisode) -> None:
        """Appends a continuation chunk (its first observation repeats our last one)."""
        self.obs = {k: np.concatenate([v, chunk.obs[k][1:]]) for k, v in self.obs.items()}
        self.actions = np.concatenate([self.actions, chunk.actions])
        self.rewards = np.concatenate([self.rewards, chunk.rewards])
        if self.member_rewards is not None and chunk.member_rewards is not None:
            self.member_rewards = np.concatenate([self.member_rewards, chunk.member_rewards])
        self.terminated = chunk.terminated


class EpisodeAssembler:
    """Joins the chunks of each episode (by id) until the episode is done.

    Args:
        max_pending: Unfinished episodes kept at most; the oldest is dropped beyond that
            (an env runner that died never finishes its episodes).

    """

    def __init__(self, max_pending: int = 1000) -> None:
        self.max_pending = max_pending
        self.pending: OrderedDict[str, TeamEpisode] = OrderedDict()
        self.dropped = 0

    def add(self, key: str, starts_episode: bool, chunk: TeamEpisode, done: bool) -> Any:
        """Adds one chunk; returns the whole episode when ``done``, else None.

        A continuation chunk of an episode whose start was never seen is dropped.
        """
        if starts_episode:
            self.pending[key] = chunk
        elif key in self.pending:
            self.pending[key].extend(chunk)
        else:
            self.dropped += 1
            return None
        if done:
            return self.pending.pop(key)
        while len(self.pending) > self.max_pending:
            self.pending.popitem(last=False)
            self.dropped += 1
        return None


class EpisodeReplay:
    """A FIFO buffer of finished team episodes with uniform sampling of rows.

    Args:
        capacity: Episodes kept; the oldest is evicted first.
        seed: Seed of the sampling generator.

    """

    def __init__(self, capacity: int, seed: int | None = None) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.episodes: deque[TeamEpisode] = deque(maxlen=capacity)
        self.rng = np.random.default_rng(seed)
        self.added_episodes = 0
        self.added_steps = 0
        self.steps = 0  # steps of the stored episodes, kept as episodes come and go

    def __len__(self) -> int:
        return len(self.episodes)

    def add(self, episode: TeamEpisode) -> None:
        """Stores a finished episode (empty ones are ignored)."""
        if len(episode) == 0:
            return
        if len(self.episodes) == self.episodes.maxlen:
            self.steps -= len(self.episodes[0])  # the append below evicts it
        self.episodes.append(episode)
        self.steps += len(episode)
        self.added_episodes += 1
        self.added_steps += len(episode)

    def sample(self, rows: int, seq_len: int | None = None, burn_in: int = 0) -> dict[str, Any]:
        """A padded batch of ``rows`` rows from episodes drawn uniformly with replacement.

        Args:
            rows: Batch size ``B``.
            seq_len: Steps per row that get a loss; None: whole episodes. With 1 (single
                transitions, MADDPG) episodes are drawn in proportion to their length, so
                every stored step is equally likely.
            burn_in: Steps before a window that only warm up the hidden state (no loss); a
                window near the episode start gets as many as there are.

        Returns:
            The batch described in the module docstring.

        """
        if not self.episodes:
            raise ValueError("cannot sample from an empty episode buffer")
        if seq_len == 1:  # single transitions: uniform over steps, not over episodes
            lengths = np.fromiter((len(e) for e in self.episodes), float, len(self.episodes))
            picks = self.rng.choice(len(self.episodes), size=rows, p=lengths / lengths.sum())
        else:
            picks = self.rng.integers(len(self.episodes), size=rows)
        windows = [self._window(self.episodes[i], seq_len, burn_in) for i in picks]
        return pad_rows(windows)

    def _window(self, episode: TeamEpisode, seq_len: int | None, burn_in: int) -> tuple:
        """(episode, first step, end step, burn-in steps) of one row."""
        if seq_len is None or len(episode) <= seq_len:
            return episode, 0, len(episode), 0
        start = int(self.rng.integers(len(episode) - seq_len + 1))
        warm = min(burn_in, start)
        return episode, start - warm, start + seq_len, warm


def pad_rows(windows: list[tuple[TeamEpisode, int, int, int]]) -> dict[str, Any]:
    """Rows ``(episode, begin, end, burn_in)`` as one batch padded to the longest row."""
    length = max(end - begin for _, begin, end, _ in windows)
    first = windows[0][0]
    batch: dict[str, Any] = {
        "obs": {k: _zeros(len(windows), length + 1, v) for k, v in first.obs.items()},
        ACTIONS: _zeros(len(windows), length, first.actions),
        REWARDS: np.zeros((len(windows), length), np.float32),
        TERMINATEDS: np.zeros((len(windows), length), np.float32),
        FILLED: np.zeros((len(windows), length), np.float32),
        LOSS_MASK: np.zeros((len(windows), length), np.float32),
    }
    own = first.member_rewards is not None
    if own:
        batch[MEMBER_REWARDS] = _zeros(len(windows), length, first.member_rewards)
    for row, (episode, begin, end, warm) in enumerate(windows):
        steps = end - begin
        for key, value in episode.obs.items():
            batch["obs"][key][row, : steps + 1] = value[begin : end + 1]
        batch[ACTIONS][row, :steps] = episode.actions[begin:end]
        batch[REWARDS][row, :steps] = episode.rewards[begin:end]
        if own:
            batch[MEMBER_REWARDS][row, :steps] = episode.member_rewards[begin:end]
        batch[TERMINATEDS][row, steps - 1] = float(episode.terminated and end == len(episode))
        batch[FILLED][row, :steps] = 1.0
        batch[LOSS_MASK][row, warm:steps] = 1.0
    return batch


def _zeros(rows: int, length: int, like: np.ndarray) -> np.ndarray:
    """Zeros ``[rows, length, *like.shape[1:]]`` in ``like``'s dtype."""
    return np.zeros((rows, length, *like.shape[1:]), dtype=like.dtype)
