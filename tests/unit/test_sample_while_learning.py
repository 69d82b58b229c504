"""Sample while learning: the step count of a round of samples and the acting lag."""

from __future__ import annotations

from ray.rllib.utils.metrics import NUM_AGENT_STEPS_SAMPLED, NUM_ENV_STEPS_SAMPLED

from policies.common.sample_while_learning import sampled_steps, staleness


def test_sampled_steps_counts_env_or_agent_steps_of_every_runner():
    metrics = [
        {NUM_ENV_STEPS_SAMPLED: 100, NUM_AGENT_STEPS_SAMPLED: {"a": 100, "b": 90}},
        {NUM_ENV_STEPS_SAMPLED: 50, NUM_AGENT_STEPS_SAMPLED: {"a": 50}},
    ]
    assert sampled_steps(metrics, by_agent_steps=False) == 150
    assert sampled_steps(metrics, by_agent_steps=True) == 240
    assert sampled_steps([], by_agent_steps=False) == 0


def test_staleness_is_the_updates_since_the_request():
    assert staleness(5, None) == 0  # sampled now, with the current weights
    assert staleness(5, 4) == 1
    assert staleness(7, 4) == 3
