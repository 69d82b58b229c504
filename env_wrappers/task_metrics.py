"""Task metrics of MPE games beyond the return (the MADDPG paper's measures), from the world.

- ``simple_adversary`` (physical deception): at the episode's last step, the adversaries'
  distance to the goal landmark (``adversary_goal_distance``, mean over adversaries) and the
  closest good agent's (``agents_goal_distance``).
- ``simple_tag`` (predator-prey): adversary-agent collisions summed over the episode's steps
  (``collisions``, the scenario's own ``benchmark_data``).
- ``simple_speaker_listener`` (cooperative communication): at the episode's last step, the
  listener's distance to the goal landmark (``listener_goal_distance``) and whether it is on
  it (``listener_on_goal``, 1 or 0: the listener's disc overlaps the landmark's, the distance
  is below the sum of their radii, 0.075 + 0.04 = 0.115 in mpe2), the paper's success measure.

``TaskMeter(env)`` reads the MPE world behind any of our wrappers; an env without a known
metric gives an empty dict.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _world(env: Any) -> tuple[Any, Any] | None:
    """(scenario, world) of the MPE env behind our wrappers, or None."""
    base = getattr(env, "env", env)  # the team view wraps the per-agent adapter
    par_env = getattr(base, "par_env", None)
    raw = getattr(par_env, "unwrapped", None)
    if raw is None or not hasattr(raw, "world") or not hasattr(raw, "scenario"):
        return None
    return raw.scenario, raw.world


def _kind(scenario: Any) -> str:
    module = type(scenario).__module__
    for name in ("simple_adversary", "simple_tag", "simple_speaker_listener"):
        if module.endswith(name):
            return name
    return ""


def mean_task(results: list[dict[str, float]]) -> dict[str, float]:
    """Each task metric's mean over the results that report it (empty: the env has none)."""
    keys = sorted({key for result in results for key in result})
    return {k: float(np.mean([r[k] for r in results if k in r])) for k in keys}


def on_target_radius(agent: Any, landmark: Any) -> float:
    """The distance below which an agent is on a landmark: their discs overlap."""
    return float(agent.size + landmark.size)


class TaskMeter:
    """Accumulates one episode's task metric; ``step()`` after every env step."""

    def __init__(self, env: Any) -> None:
        self.env = env
        self.values: dict[str, float] = {}

    def reset(self) -> None:
        self.values = {}

    def step(self) -> None:
        found = _world(self.env)
        if found is None:
            return
        scenario, world = found
        kind = _kind(scenario)
        if kind == "simple_tag":
            hits = sum(scenario.benchmark_data(a, world) for a in world.agents if a.adversary)
            self.values["collisions"] = self.values.get("collisions", 0.0) + float(hits)
        elif kind == "simple_speaker_listener":
            self._speaker_listener(world)
        elif kind == "simple_adversary":
            goal = world.agents[0].goal_a.state.p_pos

            def distance(agent: Any) -> float:
                return float(np.linalg.norm(agent.state.p_pos - goal))

            self.values["adversary_goal_distance"] = float(
                np.mean([distance(a) for a in world.agents if a.adversary])
            )
            self.values["agents_goal_distance"] = min(
                distance(a) for a in world.agents if not a.adversary
            )

    def _speaker_listener(self, world: Any) -> None:
        speaker = world.agents[0]
        listener, goal = speaker.goal_a, speaker.goal_b
        distance = float(np.linalg.norm(listener.state.p_pos - goal.state.p_pos))
        self.values["listener_goal_distance"] = distance
        self.values["listener_on_goal"] = float(distance < on_target_radius(listener, goal))

    def result(self) -> dict[str, float]:
        return dict(self.values)
