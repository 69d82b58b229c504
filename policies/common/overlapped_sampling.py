"""Sample while learning (``training.sample_while_learning``) for PPO-family algorithms.

RLlib 2.60's PPO samples, then learns, then sends the new weights: while the learner updates,
the env runners sit idle, and while they sample, the learner does. In the overlapped mode the
next batch is requested from the remote env runners *before* the update, so the env runners
sample batch ``k + 1`` while the learner trains on batch ``k``:

1. take the batch requested in the iteration before (the first iteration samples it now);
2. request the next batch (acted with the weights the env runners hold: those from before
   this iteration's update);
3. update the learner on the batch of step 1, and send the new weights (fire and forget:
   Ray runs an actor's calls in order, so the weights arrive after the sample in flight and
   before the next request).

Acting therefore runs one update behind the learner (staleness 1, logged per iteration as
``sample_staleness``); PPO's importance ratio is computed against the behaviour policy's
log-probabilities stored in the batch, which corrects for that lag, and the clipped-ratio
statistics (``clip_fraction``) show how far the behaviour policy is from the learner's.

Without remote env runners (``num_env_runners: 0``, as the deterministic mode uses) there is
nothing to overlap and the loop is PPO's own. A sample that an env runner does not return in
``sample_timeout_s`` (a failed or restarted runner) is replaced by a synchronous one.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ray.rllib.algorithms.algorithm_config import NotProvided
from ray.rllib.algorithms.ppo import PPO
from ray.rllib.execution.rollout_ops import synchronous_parallel_sample
from ray.rllib.utils.annotations import override
from ray.rllib.utils.metrics import (
    ALL_MODULES,
    ENV_RUNNER_RESULTS,
    ENV_RUNNER_SAMPLING_TIMER,
    LEARNER_RESULTS,
    LEARNER_UPDATE_TIMER,
    NUM_AGENT_STEPS_SAMPLED,
    NUM_ENV_STEPS_SAMPLED,
    NUM_ENV_STEPS_SAMPLED_LIFETIME,
    NUM_MODULE_STEPS_TRAINED_LIFETIME,
    SYNCH_WORKER_WEIGHTS_TIMER,
    TIMERS,
)

#: The tag of the overlapped sample requests (RLlib's actor manager counts them per tag).
REQUEST_TAG = "marl_sample_while_learning"
#: Logged per iteration: learner updates between the acting weights and the learner's.
STALENESS_KEY = "sample_staleness"


def sampled_steps(runner_metrics: Iterable[dict[str, Any]], by_agent_steps: bool) -> int:
    """Env (or agent) steps the env runners report having sampled in one call each."""
    if by_agent_steps:
        return sum(
            int(v) for m in runner_metrics for v in m.get(NUM_AGENT_STEPS_SAMPLED, {}).values()
        )
    return sum(int(m.get(NUM_ENV_STEPS_SAMPLED, 0)) for m in runner_metrics)


def staleness(updates_done: int, updates_when_requested: int | None) -> int:
    """Learner updates made since the weights that acted (0: sampled with the current ones)."""
    return 0 if updates_when_requested is None else updates_done - updates_when_requested


def _sample_with_metrics(runner: Any) -> tuple[Any, dict[str, Any]]:
    return runner.sample(), runner.get_metrics()


@dataclass
class PendingSample:
    """The sample in flight: when it was requested, in learner updates."""

    updates_when_requested: int | None = None


class SampleWhileLearningConfig:
    """Config mixin: the ``training.sample_while_learning`` option (off by default)."""

    sample_while_learning: bool = False

    def training(self, *, sample_while_learning: bool = NotProvided, **kwargs: Any) -> Any:
        """``sample_while_learning``: request the next batch before the update (see module)."""
        if sample_while_learning is not NotProvided:
            self.sample_while_learning = sample_while_learning
        return super().training(**kwargs)  # type: ignore[misc]

    def validate(self) -> None:
        super().validate()  # type: ignore[misc]
        if not isinstance(self.sample_while_learning, bool):
            raise ValueError("training.sample_while_learning must be true or false")


class SampleWhileLearning(PPO):
    """PPO whose env runners sample the next batch while the learner trains on this one."""

    def _overlaps(self) -> bool:
        return bool(self.config.sample_while_learning) and (
            self.env_runner_group.num_remote_env_runners() > 0
        )

    @override(PPO)
    def training_step(self) -> None:
        if not self._overlaps():
            return super().training_step()
        with self.metrics.log_time((TIMERS, ENV_RUNNER_SAMPLING_TIMER)):
            episodes, runner_metrics, lag = self._take_batch()
            self._request_batch()
            if not episodes:
                return None
            self.metrics.aggregate(runner_metrics, key=ENV_RUNNER_RESULTS)
        self.metrics.log_value(STALENESS_KEY, lag, window=1)
        with self.metrics.log_time((TIMERS, LEARNER_UPDATE_TIMER)):
            learner_results = self._update(episodes)
            self._updates_done = getattr(self, "_updates_done", 0) + 1
            self.metrics.aggregate(learner_results, key=LEARNER_RESULTS)
        with self.metrics.log_time((TIMERS, SYNCH_WORKER_WEIGHTS_TIMER)):
            self.env_runner_group.sync_weights(
                from_worker_or_learner_group=self.learner_group,
                policies=set(learner_results[0]) - {ALL_MODULES},
                inference_only=True,
            )
        return None

    def _request_batch(self) -> None:
        group = self.env_runner_group
        if group.num_in_flight_async_reqs(REQUEST_TAG):
            return
        if group.foreach_env_runner_async(_sample_with_metrics, tag=REQUEST_TAG):
            self._pending = PendingSample(getattr(self, "_updates_done", 0))

    def _take_batch(self) -> tuple[list[Any], list[dict[str, Any]], int]:
        """The batch in flight (topped up synchronously to the train batch size), its lag."""
        episodes: list[Any] = []
        runner_metrics: list[dict[str, Any]] = []
        in_flight = self._collect_in_flight()
        for _, (sampled, metrics) in in_flight:
            episodes.extend(sampled)
            runner_metrics.append(metrics)
        requested = getattr(self, "_pending", PendingSample()).updates_when_requested
        if not self.env_runner_group.num_in_flight_async_reqs(REQUEST_TAG):
            self._pending = PendingSample()
        by_agents = self.config.count_steps_by == "agent_steps"
        missing = self.config.total_train_batch_size - sampled_steps(runner_metrics, by_agents)
        if missing > 0:
            steps = {"max_agent_steps" if by_agents else "max_env_steps": missing}
            more, more_metrics = synchronous_parallel_sample(
                worker_set=self.env_runner_group,
                sample_timeout_s=self.config.sample_timeout_s,
                _uses_new_env_runners=True,
                _return_metrics=True,
                **steps,
            )
            episodes.extend(more)
            runner_metrics.extend(more_metrics)
        lag = staleness(getattr(self, "_updates_done", 0), requested if in_flight else None)
        return episodes, runner_metrics, lag

    def _collect_in_flight(self) -> list[tuple[int, Any]]:
        group = self.env_runner_group
        deadline = time.monotonic() + (self.config.sample_timeout_s or 60.0)
        results: list[tuple[int, Any]] = []
        while group.num_in_flight_async_reqs(REQUEST_TAG) and time.monotonic() < deadline:
            results.extend(
                group.fetch_ready_async_reqs(
                    tags=REQUEST_TAG, timeout_seconds=max(0.0, deadline - time.monotonic())
                )
            )
        return results

    def _update(self, episodes: list[Any]) -> Any:
        """PPO's learner update on ``episodes`` with the run's counters."""
        return self.learner_group.update(
            episodes=episodes,
            timesteps={
                NUM_ENV_STEPS_SAMPLED_LIFETIME: self.metrics.peek(
                    (ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED_LIFETIME)
                ),
                NUM_MODULE_STEPS_TRAINED_LIFETIME: self.metrics.peek(
                    (LEARNER_RESULTS, ALL_MODULES, NUM_MODULE_STEPS_TRAINED_LIFETIME), default=0
                ),
            },
            num_epochs=self.config.num_epochs,
            minibatch_size=self.config.minibatch_size,
            shuffle_batch_per_epoch=self.config.shuffle_batch_per_epoch,
        )
