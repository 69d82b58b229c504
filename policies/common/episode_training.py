"""A training step with episode replay for team algorithms (RLlib glue only).

QMIX uses it for GRU agents and TD(lambda); any off-policy algorithm on the team view whose
learner takes padded episode rows can replace its ``training_step`` with
``EpisodeTrainer.training_step``. Each call samples one round from the env runners, joins the
team agents' episode chunks into whole episodes (``EpisodeAssembler``), stores the finished
ones in one ``EpisodeReplay`` per team module and runs ``updates_per_episode`` gradient
updates per finished episode (and ``updates_per_env_step`` per env step of those episodes,
when the config has it: MADDPG's one update every 100 env steps), each on
``episode_batch_size`` replayed rows (a padded
``[B, T]`` batch, ``policies.common.episode_replay``, passed to the learners as a batch:
RLlib's learner connectors are not involved). Target networks are the learner's business
(QMIX: DQN's ``target_network_update_freq`` in env steps, as with transitions).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np
from ray.rllib.execution.rollout_ops import synchronous_parallel_sample
from ray.rllib.policy.sample_batch import MultiAgentBatch, SampleBatch
from ray.rllib.utils.metrics import (
    ALL_MODULES,
    ENV_RUNNER_RESULTS,
    ENV_RUNNER_SAMPLING_TIMER,
    LEARNER_RESULTS,
    LEARNER_UPDATE_TIMER,
    NUM_AGENT_STEPS_SAMPLED_LIFETIME,
    NUM_ENV_STEPS_SAMPLED_LIFETIME,
    TIMERS,
)

from policies.common.episode_replay import FILLED, EpisodeAssembler, EpisodeReplay, TeamEpisode
from policies.common.sample_while_learning import (
    REQUEST_TAG,
    STALENESS_KEY,
    AsyncRounds,
    overlaps,
)
from policies.common.terminal import ended_in_terminal_state

#: Metrics key of the replay statistics.
EPISODE_REPLAY = "episode_replay"


def team_chunks(episodes: list[Any]) -> Iterator[tuple[str, str, bool, TeamEpisode, bool]]:
    """(module id, chunk key, starts the episode, chunk, episode done) of every team agent."""
    for episode in episodes:
        for agent_id, agent_episode in episode.agent_episodes.items():
            if len(agent_episode) == 0:
                continue
            observations = agent_episode.get_observations()  # dict of [L + 1, ...]
            chunk = TeamEpisode(
                obs={k: np.asarray(v) for k, v in observations.items()},
                actions=np.asarray(agent_episode.get_actions()),  # [L, n]
                rewards=np.asarray(agent_episode.get_rewards(), dtype=np.float32),  # [L]
                terminated=ended_in_terminal_state(agent_episode),
                member_rewards=_member_rewards(agent_episode.get_infos()),  # [L, n] or None
            )
            yield (
                episode.module_for(agent_id),
                f"{episode.id_}/{agent_id}",
                agent_episode.t_started == 0,
                chunk,
                agent_episode.is_done,
            )


def _member_rewards(infos: list[dict]) -> np.ndarray | None:
    """Each member's reward of every step from the team view's infos, or None.

    ``infos[t + 1]`` came with step ``t``; None when the env does not report them.
    """
    rows = [info.get("member_rewards") for info in infos[1:]]
    if not rows or any(row is None for row in rows):
        return None
    return np.asarray(rows, dtype=np.float32)


class EpisodeReplayConfig(Protocol):
    """The algorithm config attributes ``EpisodeTrainer`` reads (QMIXConfig has them all)."""

    seed: int | None
    sample_timeout_s: float | None
    num_steps_sampled_before_learning_starts: int
    episode_buffer_size: int  # episodes kept per team module (FIFO)
    episode_batch_size: int  # rows per update
    sequence_length: int | None  # steps per row with a loss; None: whole episodes
    burn_in: int  # steps before a window that only warm up a recurrent state
    updates_per_episode: float  # gradient updates per finished episode collected
    # optional: updates_per_env_step, gradient updates per env step of finished episodes


class EpisodeTrainer:
    """The episode-replay state of one algorithm and its training step.

    Args:
        config: The algorithm's config (``EpisodeReplayConfig``'s attributes).

    """

    def __init__(self, config: EpisodeReplayConfig) -> None:
        self.config = config
        self.assembler = EpisodeAssembler()
        self.buffers: dict[str, EpisodeReplay] = {}
        self.update_credit = 0.0
        self.stored_steps = 0
        self.rounds = AsyncRounds()

    def store(self, episodes: list[Any]) -> int:
        """Adds the finished episodes among the sampled chunks; returns how many."""
        finished = 0
        self.stored_steps = 0
        for module_id, key, starts, chunk, done in team_chunks(episodes):
            whole = self.assembler.add(key, starts, chunk, done)
            if whole is None:
                continue
            if module_id not in self.buffers:
                seed = None if self.config.seed is None else self.config.seed + len(self.buffers)
                self.buffers[module_id] = EpisodeReplay(self.config.episode_buffer_size, seed)
            self.buffers[module_id].add(whole)
            self.stored_steps += len(whole)
            finished += 1
        return finished

    def train_batch(self) -> MultiAgentBatch:
        """One padded batch of replayed rows for every team module."""
        c = self.config
        batches = {
            module_id: buffer.sample(c.episode_batch_size, c.sequence_length, c.burn_in)
            for module_id, buffer in self.buffers.items()
        }
        steps = sum(int(b[FILLED].sum()) for b in batches.values())
        return MultiAgentBatch({m: SampleBatch(b) for m, b in batches.items()}, env_steps=steps)

    def training_step(self, algo: Any) -> None:
        """Sample a round, store finished episodes, update, sync weights to the env runners.

        With ``training.sample_while_learning`` (``policies.common.sample_while_learning``)
        the round used is the one requested in the call before, and the next round is
        requested before the updates, so the env runners sample while the learner updates.
        """
        with algo.metrics.log_time((TIMERS, ENV_RUNNER_SAMPLING_TIMER)):
            episodes, runner_results = self._sample_round(algo)
        algo.metrics.aggregate(runner_results, key=ENV_RUNNER_RESULTS)
        finished = self.store(episodes)
        per_step = getattr(self.config, "updates_per_env_step", 0.0)
        self.update_credit += finished * self.config.updates_per_episode
        self.update_credit += self.stored_steps * per_step
        self._log_replay(algo)
        if not self._ready(algo):
            return
        updates, self.update_credit = int(self.update_credit), self.update_credit % 1.0
        results = None
        self.rounds.updates_done += updates
        for _ in range(updates):
            with algo.metrics.log_time((TIMERS, LEARNER_UPDATE_TIMER)):
                results = algo.learner_group.update(
                    batch=self.train_batch(), timesteps=self._timesteps(algo)
                )
            algo.metrics.aggregate(results, key=LEARNER_RESULTS)
        if results:
            algo.env_runner_group.sync_weights(
                from_worker_or_learner_group=algo.learner_group,
                policies=set(results[0]) - {ALL_MODULES},
                inference_only=True,
            )

    def _sample_round(self, algo: Any) -> tuple[list[Any], list[dict[str, Any]]]:
        """One round of episodes: the one in flight, or one sampled now.

        In overlapped mode the next round is requested before returning. Chunks must reach
        the assembler in each env runner's order, so nothing is sampled synchronously while
        a round is still in flight.
        """
        group = algo.env_runner_group
        if not overlaps(self.config, group):
            return self._sample_now(group)
        episodes, runner_results, lag = self.rounds.collect(group, self.config.sample_timeout_s)
        if not runner_results and not group.num_in_flight_async_reqs(REQUEST_TAG):
            (episodes, runner_results), lag = self._sample_now(group), 0
        self.rounds.request(group)
        algo.metrics.log_value(STALENESS_KEY, lag, window=1)
        return episodes, runner_results

    def _sample_now(self, group: Any) -> tuple[list[Any], list[dict[str, Any]]]:
        return synchronous_parallel_sample(
            worker_set=group,
            concat=True,
            sample_timeout_s=self.config.sample_timeout_s,
            _uses_new_env_runners=True,
            _return_metrics=True,
        )

    def _ready(self, algo: Any) -> bool:
        """Enough env steps sampled and at least one batch of episodes in every buffer."""
        sampled = algo.metrics.peek((ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED_LIFETIME), default=0)
        enough = sampled >= self.config.num_steps_sampled_before_learning_starts
        full = bool(self.buffers) and all(
            self._stored(b) >= min(self.config.episode_batch_size, self.config.episode_buffer_size)
            for b in self.buffers.values()
        )
        if not (enough and full):
            self.update_credit = 0.0  # no backlog of updates from before learning starts
        return enough and full

    def _stored(self, buffer: EpisodeReplay) -> int:
        """Rows the buffer can give: episodes, or steps when rows are single transitions."""
        return buffer.steps if self.config.sequence_length == 1 else len(buffer)

    def _timesteps(self, algo: Any) -> dict[str, Any]:
        peek = algo.metrics.peek
        env_steps = peek((ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED_LIFETIME))
        return {
            NUM_ENV_STEPS_SAMPLED_LIFETIME: env_steps,
            NUM_AGENT_STEPS_SAMPLED_LIFETIME: peek(
                (ENV_RUNNER_RESULTS, NUM_AGENT_STEPS_SAMPLED_LIFETIME), default={}
            ),
        }

    def _log_replay(self, algo: Any) -> None:
        episodes = sum(len(b) for b in self.buffers.values())
        algo.metrics.log_value((EPISODE_REPLAY, "episodes"), episodes, window=1)
        algo.metrics.log_value((EPISODE_REPLAY, "dropped_chunks"), self.assembler.dropped, window=1)
