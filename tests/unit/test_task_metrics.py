"""Task metrics from the MPE world: the speaker-listener success measure and its threshold."""

from __future__ import annotations

import numpy as np
import pytest

from env_wrappers import make_rllib_env
from env_wrappers.task_metrics import TaskMeter, _world


def _listener_and_goal(env):
    _, world = _world(env)
    speaker = world.agents[0]
    return speaker.goal_a, speaker.goal_b


@pytest.mark.parametrize("offset, on_goal", [(0.0, 1.0), (0.1, 1.0), (0.2, 0.0)])
def test_the_listener_is_on_the_goal_when_the_discs_overlap(offset, on_goal):
    env = make_rllib_env("simple_speaker_listener", max_cycles=5)
    env.reset(seed=3)
    listener, goal = _listener_and_goal(env)
    listener.state.p_pos = goal.state.p_pos + np.array([offset, 0.0])
    meter = TaskMeter(env)
    meter.step()
    result = meter.result()
    assert result["listener_goal_distance"] == pytest.approx(offset)
    assert result["listener_on_goal"] == on_goal
    assert listener.size + goal.size == pytest.approx(0.115)


def test_the_meter_keeps_the_last_step_and_resets():
    env = make_rllib_env("simple_speaker_listener", max_cycles=5)
    env.reset(seed=0)
    listener, goal = _listener_and_goal(env)
    meter = TaskMeter(env)
    listener.state.p_pos = goal.state.p_pos
    meter.step()
    listener.state.p_pos = goal.state.p_pos + np.array([0.0, 1.0])
    meter.step()
    assert meter.result() == {"listener_goal_distance": pytest.approx(1.0), "listener_on_goal": 0.0}
    meter.reset()
    assert meter.result() == {}


def test_tag_collisions_add_up_over_the_episode():
    env = make_rllib_env("simple_tag", max_cycles=5)  # 3 adversaries, 1 good agent
    env.reset(seed=0)
    _, world = _world(env)
    prey = next(a for a in world.agents if not a.adversary)
    hunters = [a for a in world.agents if a.adversary]
    meter = TaskMeter(env)
    for hunter, dx in zip(hunters, [0.0, 0.05, 5.0]):  # two touch the prey, one is far off
        hunter.state.p_pos = prey.state.p_pos + np.array([dx, 0.0])
    meter.step()
    assert meter.result() == {"collisions": 2.0}
    meter.step()  # the same positions again: the count is summed over steps
    assert meter.result() == {"collisions": 4.0}
    for hunter in hunters:
        hunter.state.p_pos = prey.state.p_pos + np.array([5.0, 5.0])
    meter.step()
    assert meter.result() == {"collisions": 4.0}


def test_adversary_distances_are_to_the_goal_at_the_last_step():
    env = make_rllib_env("simple_adversary", max_cycles=5)  # 1 adversary, 2 good agents
    env.reset(seed=0)
    _, world = _world(env)
    goal = world.agents[0].goal_a.state.p_pos
    adversary, first, second = world.agents
    adversary.state.p_pos = goal + np.array([0.3, 0.4])
    first.state.p_pos, second.state.p_pos = goal + np.array([0.0, 0.2]), goal + 1.0
    meter = TaskMeter(env)
    meter.step()
    result = meter.result()
    assert result["adversary_goal_distance"] == pytest.approx(0.5)
    assert result["agents_goal_distance"] == pytest.approx(0.2)  # the closest good agent


def test_an_env_without_a_metric_gives_nothing():
    env = make_rllib_env("simple_spread", max_cycles=5)
    env.reset(seed=0)
    meter = TaskMeter(env)
    meter.step()
    assert meter.result() == {}


def test_task_means_skip_episodes_without_the_key():
    from env_wrappers.task_metrics import mean_task

    assert mean_task([{"a": 1.0, "b": 2.0}, {"a": 0.0}, {}]) == {"a": 0.5, "b": 2.0}
    assert mean_task([{}, {}]) == {}


def test_the_bench_summary_has_each_task_metric_over_seeds():
    from rl_apps.bench.suite import _task_summary

    seeds = [
        {"eval_task": {"listener_on_goal": 0.8}, "random_policy_task": {"listener_on_goal": 0.0}},
        {"eval_task": {"listener_on_goal": 0.6}, "random_policy_task": {"listener_on_goal": 0.1}},
    ]
    summary = _task_summary(seeds)
    assert summary["eval_task_listener_on_goal_mean"] == pytest.approx(0.7)
    assert summary["eval_task_listener_on_goal_std"] == pytest.approx(0.1)
    assert summary["random_task_listener_on_goal_mean"] == pytest.approx(0.05)
    assert _task_summary([{"eval_task": {}}]) == {}
