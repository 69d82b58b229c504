"""Stopping an Algorithm within a bounded time, whatever state its actors are in.

``Algorithm.stop()`` asks every env runner to stop and waits for the answer without a
timeout. An env runner's calls run one at a time, so a runner still busy in a ``sample()``
that the driver gave up on (``sample_timeout_s``), or one that hangs in its env, keeps the
driver waiting forever: the process never exits and no summary is written. Here
``algo.stop()`` runs in a daemon thread; when it has not returned after ``timeout_s``,
every actor the algorithm owns (env runners, evaluation env runners, remote learners) is
killed, which makes the pending calls fail and ``stop()`` return.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import ray

logger = logging.getLogger(__name__)

#: How long ``algo.stop()`` may take before the algorithm's actors are killed.
STOP_TIMEOUT_S = 20.0
#: How long to wait for ``algo.stop()`` to return after the kill.
AFTER_KILL_S = 10.0


def stop_algorithm(
    algo: Any, timeout_s: float = STOP_TIMEOUT_S, echo: Callable[[str], None] | None = None
) -> bool:
    """Stops ``algo``; kills its actors when that takes over ``timeout_s``.

    Returns:
        True when ``algo.stop()`` returned (on its own or after the kill), False when it
        was still blocked after the kill (the thread is a daemon: the process can exit).

    """
    thread = threading.Thread(target=_stop, args=(algo,), name="marl-algo-stop", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if not thread.is_alive():
        return True
    killed = kill_actors(algo)
    if echo is not None:
        echo(f"stopping the algorithm took over {timeout_s:.0f}s: killed its {killed} actor(s)")
    thread.join(AFTER_KILL_S)
    return not thread.is_alive()


def _stop(algo: Any) -> None:
    try:
        algo.stop()
    except Exception:  # noqa: BLE001 - stopping is best effort; the run is over
        logger.warning("algo.stop() failed", exc_info=True)


def kill_actors(algo: Any) -> int:
    """Kills the algorithm's env runner and remote learner actors; returns how many."""
    actors = []
    for name in ("env_runner_group", "eval_env_runner_group", "learner_group"):
        manager = getattr(getattr(algo, name, None), "_worker_manager", None)
        if manager is not None:
            actors += list(manager.actors().values())
    for actor in actors:
        try:
            ray.kill(actor, no_restart=True)
        except Exception:  # noqa: BLE001 - already dead
            pass
    return len(actors)
