"""``SampledCounts`` logs what RLlib's per-step ``_increase_sampled_metrics`` logs."""

from __future__ import annotations

from ray.rllib.utils.metrics.metrics_logger import MetricsLogger

from env_wrappers.registry import returns_fresh_observations
from rl_apps.sampled_counts import SampledCounts

MODULES = {"a": "m0", "b": "m0", "c": "m1"}

#: (agents with an observation, episode done) for each sub-env step of one sample.
STEPS = [(["a", "b", "c"], False), (["a", "c"], False), (["b"], True), (["a", "b", "c"], True)]


def _rllib_per_step(metrics: MetricsLogger) -> None:
    """What RLlib 2.60's MultiAgentEnvRunner logs, one step at a time."""
    for agents, done in STEPS:
        metrics.log_value("num_env_steps_sampled", 1, reduce="sum")
        metrics.log_value(
            "num_env_steps_sampled_lifetime", 1, reduce="lifetime_sum", with_throughput=True
        )
        if done:
            metrics.log_value("num_episodes", 1, reduce="sum")
            metrics.log_value("num_episodes_lifetime", 1, reduce="lifetime_sum")
        for agent in agents:
            metrics.log_value(("num_agent_steps_sampled", agent), 1, reduce="sum")
            metrics.log_value(("num_agent_steps_sampled_lifetime", agent), 1, reduce="lifetime_sum")
            module = MODULES[agent]
            metrics.log_value(("num_module_steps_sampled", module), 1, reduce="sum")
            metrics.log_value(
                ("num_module_steps_sampled_lifetime", module), 1, reduce="lifetime_sum"
            )


def _counted(metrics: MetricsLogger) -> None:
    counts = SampledCounts()
    for agents, done in STEPS:
        counts.add_step(1, agents, MODULES.__getitem__, done)
    counts.log_to(metrics)


def _reduced_twice(log) -> list[dict]:
    """Two samples, each merged into a root logger as the algorithm does."""
    runner, root, results = MetricsLogger(root=False), MetricsLogger(root=True), []
    for _ in range(2):
        log(runner)
        root.aggregate([runner.reduce()])
        results.append(root.reduce(compile=True))
    return results


def test_counts_reduce_to_rllib_values():
    assert _reduced_twice(_counted) == _reduced_twice(_rllib_per_step)
    result = _reduced_twice(_counted)[-1]
    assert result["num_env_steps_sampled"] == 4
    assert result["num_env_steps_sampled_lifetime"] == 8
    assert result["num_agent_steps_sampled"] == {"a": 3, "b": 3, "c": 3}
    assert result["num_module_steps_sampled_lifetime"] == {"m0": 12, "m1": 6}
    assert result["num_episodes_lifetime"] == 4


def test_log_to_starts_from_zero_and_logs_no_empty_key():
    counts = SampledCounts()
    counts.add_step(1, ["a"], MODULES.__getitem__, False)
    metrics = MetricsLogger(root=False)
    counts.log_to(metrics)
    assert counts == SampledCounts()
    assert "num_episodes" not in metrics.reduce()  # no episode ended: no key


def test_fresh_observations_only_for_marked_envs_without_wrappers():
    assert returns_fresh_observations({"name": "simple_spread", "N": 3})
    assert returns_fresh_observations({"name": "lbf"})
    assert not returns_fresh_observations({"name": "pistonball"})
    assert not returns_fresh_observations({"name": "lbf", "wrappers": [{"dtype_v0": {}}]})
    assert not returns_fresh_observations({"name": "simple_spread", "pad": True})
    assert not returns_fresh_observations({})
