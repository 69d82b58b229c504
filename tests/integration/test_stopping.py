"""Stopping ends within a bounded time: a hung ``algo.stop()`` gets its actors killed."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
import ray

from rl_apps.stopping import stop_algorithm

pytestmark = pytest.mark.usefixtures("ray_session")


@ray.remote(num_cpus=0)
class Stuck:
    """An env runner stuck in a call that never returns (a sample that never finishes)."""

    def hang(self) -> None:
        while True:
            time.sleep(1)


class HungAlgo:
    """``stop()`` waits on the stuck actor, as RLlib's EnvRunnerGroup.stop() waits."""

    def __init__(self) -> None:
        self.actor = Stuck.remote()
        manager = SimpleNamespace(actors=lambda: {1: self.actor})
        self.env_runner_group = SimpleNamespace(_worker_manager=manager)

    def stop(self) -> None:
        ray.get(self.actor.hang.remote())


@pytest.mark.timeout(120)  # a hang guard: without the kill, stop() never returns
def test_a_hung_stop_returns_after_its_actors_are_killed():
    said = []
    assert stop_algorithm(HungAlgo(), timeout_s=1.0, echo=said.append)
    assert said and "killed its 1 actor(s)" in said[0]
