"""``training.sample_while_learning``: env runners sample the next round during the update.

RLlib 2.60's PPO and DQN loops sample, then learn, then send the new weights: while the
learner updates, the env runners sit idle, and while they sample, the learner does. In the
overlapped mode a round of samples is requested from the remote env runners *before* the
update, so they sample round ``k + 1`` while the learner trains on round ``k``:

1. take the round requested in the iteration before (the first iteration samples it now);
2. request the next round (acted with the weights the env runners hold: those from before
   this iteration's update);
3. update, and send the new weights (fire and forget: Ray runs an actor's calls in order, so
   the weights arrive after the round in flight and before the next request).

Acting therefore runs one update behind the learner (``staleness``, logged per iteration as
``sample_staleness``). ``AsyncRounds`` is the request/collect half, shared by the PPO family
(``policies.common.overlapped_ppo``) and by episode-replay training
(``policies.common.episode_training``: QMIX, VDN, IQL, MADDPG, where replay is off-policy
anyway). Without remote env runners (``num_env_runners: 0``, as the deterministic mode uses)
there is nothing to overlap and the loops are the sequential ones. A round that an env runner
does not return within ``sample_timeout_s`` (a failed or restarting runner) is left in flight
and collected later; the caller samples what is missing synchronously.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from ray.rllib.algorithms.algorithm_config import NotProvided
from ray.rllib.utils.metrics import NUM_AGENT_STEPS_SAMPLED, NUM_ENV_STEPS_SAMPLED

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


def overlaps(config: Any, env_runner_group: Any) -> bool:
    """Whether to sample while learning: the option is on and there are remote env runners."""
    return bool(getattr(config, "sample_while_learning", False)) and (
        env_runner_group.num_remote_env_runners() > 0
    )


def _sample_with_metrics(runner: Any) -> tuple[Any, dict[str, Any]]:
    return runner.sample(), runner.get_metrics()


class AsyncRounds:
    """One round of samples in flight on the remote env runners, and when it was asked for.

    ``updates_done`` counts the caller's learner updates; ``staleness`` of a collected round
    is the number of updates made since it was requested.
    """

    def __init__(self) -> None:
        self.updates_done = 0
        self._requested_at: int | None = None

    def request(self, group: Any) -> None:
        """Asks every healthy remote env runner for one sample call (unless one is in flight)."""
        if group.num_in_flight_async_reqs(REQUEST_TAG):
            return
        if group.foreach_env_runner_async(_sample_with_metrics, tag=REQUEST_TAG):
            self._requested_at = self.updates_done

    def collect(self, group: Any, timeout_s: float | None) -> tuple[list, list[dict], int]:
        """The round in flight: (episodes, env runner metrics, staleness); empty if none."""
        deadline = time.monotonic() + (timeout_s or 60.0)
        results: list[tuple[int, Any]] = []
        while group.num_in_flight_async_reqs(REQUEST_TAG) and time.monotonic() < deadline:
            wait = max(0.0, deadline - time.monotonic())
            results.extend(group.fetch_ready_async_reqs(tags=REQUEST_TAG, timeout_seconds=wait))
        lag = staleness(self.updates_done, self._requested_at if results else None)
        if not group.num_in_flight_async_reqs(REQUEST_TAG):
            self._requested_at = None
        episodes = [e for _, (sampled, _) in results for e in sampled]
        return episodes, [metrics for _, (_, metrics) in results], lag


class SampleWhileLearningConfig:
    """Config mixin: the ``training.sample_while_learning`` option (off by default)."""

    sample_while_learning: bool = False

    def training(self, *, sample_while_learning: bool = NotProvided, **kwargs: Any) -> Any:
        """``sample_while_learning``: request the next round before the update (see module)."""
        if sample_while_learning is not NotProvided:
            self.sample_while_learning = sample_while_learning
        return super().training(**kwargs)  # type: ignore[misc]

    def validate(self) -> None:
        super().validate()  # type: ignore[misc]
        if not isinstance(self.sample_while_learning, bool):
            raise ValueError("training.sample_while_learning must be true or false")
