"""PPO's training step with ``training.sample_while_learning`` (MAPPO, IPPO, GMAC, A2C, COMA, PAC).

The overlapped mode (``policies.common.sample_while_learning``): take the round requested in
the iteration before, request the next one, update on the round taken (topped up by a
synchronous sample to the train batch size), send the weights. MAPPO, IPPO and GMAC compute
PPO's ratio against the behaviour log-probabilities stored in the batch, which corrects the
one-update lag (``clip_fraction`` shows how far apart the two policies are); the A2C family,
COMA and PAC have no ratio, so their gradient is then one update off-policy.
"""

from __future__ import annotations

from typing import Any

from ray.rllib.algorithms.ppo import PPO
from ray.rllib.execution.rollout_ops import synchronous_parallel_sample
from ray.rllib.utils.annotations import override
from ray.rllib.utils.metrics import (
    ALL_MODULES,
    ENV_RUNNER_RESULTS,
    ENV_RUNNER_SAMPLING_TIMER,
    LEARNER_RESULTS,
    LEARNER_UPDATE_TIMER,
    NUM_ENV_STEPS_SAMPLED_LIFETIME,
    NUM_MODULE_STEPS_TRAINED_LIFETIME,
    SYNCH_WORKER_WEIGHTS_TIMER,
    TIMERS,
)

from policies.common.sample_while_learning import (
    STALENESS_KEY,
    AsyncRounds,
    overlaps,
    sampled_steps,
)


class SampleWhileLearning(PPO):
    """PPO whose env runners sample the next batch while the learner trains on this one."""

    @override(PPO)
    def training_step(self) -> None:
        if not overlaps(self.config, self.env_runner_group):
            return super().training_step()
        rounds = self.__dict__.setdefault("_async_rounds", AsyncRounds())
        with self.metrics.log_time((TIMERS, ENV_RUNNER_SAMPLING_TIMER)):
            episodes, runner_metrics, lag = self._take_batch(rounds)
            rounds.request(self.env_runner_group)
            if not episodes:
                return None
            self.metrics.aggregate(runner_metrics, key=ENV_RUNNER_RESULTS)
        self.metrics.log_value(STALENESS_KEY, lag, window=1)
        with self.metrics.log_time((TIMERS, LEARNER_UPDATE_TIMER)):
            learner_results = self._update(episodes)
            rounds.updates_done += 1
            self.metrics.aggregate(learner_results, key=LEARNER_RESULTS)
        with self.metrics.log_time((TIMERS, SYNCH_WORKER_WEIGHTS_TIMER)):
            self.env_runner_group.sync_weights(
                from_worker_or_learner_group=self.learner_group,
                policies=set(learner_results[0]) - {ALL_MODULES},
                inference_only=True,
            )
        return None

    def _take_batch(self, rounds: AsyncRounds) -> tuple[list[Any], list[dict[str, Any]], int]:
        """The round in flight, topped up synchronously to the train batch size; its lag."""
        group, config = self.env_runner_group, self.config
        episodes, runner_metrics, lag = rounds.collect(group, config.sample_timeout_s)
        by_agents = config.count_steps_by == "agent_steps"
        missing = config.total_train_batch_size - sampled_steps(runner_metrics, by_agents)
        if missing > 0:
            more, more_metrics = synchronous_parallel_sample(
                worker_set=group,
                sample_timeout_s=config.sample_timeout_s,
                _uses_new_env_runners=True,
                _return_metrics=True,
                **{"max_agent_steps" if by_agents else "max_env_steps": missing},
            )
            episodes.extend(more)
            runner_metrics.extend(more_metrics)
        return episodes, runner_metrics, lag

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
