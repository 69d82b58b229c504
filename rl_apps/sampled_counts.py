"""``SampledCounts``: the step counts RLlib logs per env step, counted in plain ints instead.

RLlib 2.60's ``MultiAgentEnvRunner._increase_sampled_metrics`` makes 2 + 4 x agents
``MetricsLogger.log_value`` calls for every sub-env step (and 2 more for each finished
episode). ``MarlEnvRunner``'s lean mode counts the same things here and logs each key once
per ``sample()`` call, with RLlib's keys and reduce methods:

- ``num_env_steps_sampled`` (sum) and ``num_env_steps_sampled_lifetime`` (lifetime_sum, with
  throughput);
- ``num_agent_steps_sampled[/_lifetime]/<agent id>`` and
  ``num_module_steps_sampled[/_lifetime]/<module id>`` (sum / lifetime_sum), one step for each
  agent with an observation in the step;
- ``num_episodes`` and ``num_episodes_lifetime`` (sum / lifetime_sum).

A sum of ``n`` ones logged at once equals ``n`` ones logged one by one (``SumStats`` keeps a
running sum, ``LifetimeSumStats`` a lifetime sum), so the reduced values are RLlib's. A key
is logged only when its count is positive, as RLlib logs nothing for a key without steps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ray.rllib.utils.metrics import (
    NUM_AGENT_STEPS_SAMPLED,
    NUM_AGENT_STEPS_SAMPLED_LIFETIME,
    NUM_ENV_STEPS_SAMPLED,
    NUM_ENV_STEPS_SAMPLED_LIFETIME,
    NUM_EPISODES,
    NUM_EPISODES_LIFETIME,
    NUM_MODULE_STEPS_SAMPLED,
    NUM_MODULE_STEPS_SAMPLED_LIFETIME,
)


class ValueLogger(Protocol):
    """The part of RLlib's ``MetricsLogger`` the counts are logged to."""

    def log_value(self, key: Any, value: Any, **kwargs: Any) -> None:
        """Logs ``value`` under ``key``."""


@dataclass
class SampledCounts:
    """Env, episode, agent and module step counts since the last ``log_to``."""

    env_steps: int = 0
    episodes: int = 0
    agent_steps: dict[str, int] = field(default_factory=dict)
    module_steps: dict[str, int] = field(default_factory=dict)

    def add_step(
        self,
        env_steps: int,
        agents: Iterable[Any],
        module_for: Callable[[Any], str],
        episode_done: bool,
    ) -> None:
        """``env_steps`` (1) env steps of one sub-env: ``agents`` had observations in it."""
        self.env_steps += env_steps
        if episode_done:
            self.episodes += 1
        agent_steps, module_steps = self.agent_steps, self.module_steps
        for agent in agents:
            key = str(agent)
            agent_steps[key] = agent_steps.get(key, 0) + 1
            module = module_for(agent)
            module_steps[module] = module_steps.get(module, 0) + 1

    def log_to(self, metrics: ValueLogger) -> None:
        """Logs every positive count under RLlib's keys, then starts counting from zero."""
        if self.env_steps:
            metrics.log_value(NUM_ENV_STEPS_SAMPLED, self.env_steps, reduce="sum")
            metrics.log_value(
                NUM_ENV_STEPS_SAMPLED_LIFETIME,
                self.env_steps,
                reduce="lifetime_sum",
                with_throughput=True,
            )
        agents, modules = self.agent_steps, self.module_steps
        _log_per_id(metrics, NUM_AGENT_STEPS_SAMPLED, NUM_AGENT_STEPS_SAMPLED_LIFETIME, agents)
        _log_per_id(metrics, NUM_MODULE_STEPS_SAMPLED, NUM_MODULE_STEPS_SAMPLED_LIFETIME, modules)
        if self.episodes:
            metrics.log_value(NUM_EPISODES, self.episodes, reduce="sum")
            metrics.log_value(NUM_EPISODES_LIFETIME, self.episodes, reduce="lifetime_sum")
        self.env_steps = self.episodes = 0
        self.agent_steps, self.module_steps = {}, {}


def _log_per_id(metrics: ValueLogger, key: str, lifetime_key: str, counts: dict) -> None:
    for name, count in counts.items():
        metrics.log_value((key, name), count, reduce="sum")
        metrics.log_value((lifetime_key, name), count, reduce="lifetime_sum")
