"""Where a run's actors landed: the node (and GPUs) of each env runner and learner.

Printed when a run starts and written to ``placement.json`` in the run directory, so a user
(and the multi-node tests) can see that env runners spread over CPU nodes and the learner sits
on the node the spec's ``resources`` asked for.
"""

from __future__ import annotations

from typing import Any


def _where() -> dict[str, Any]:
    import ray

    context = ray.get_runtime_context()
    return {"node_id": context.get_node_id(), "gpu_ids": [str(g) for g in ray.get_gpu_ids()]}


def placement(algo: Any) -> dict[str, Any]:
    """Node ids of the driver, the remote env runners and the learners of ``algo``.

    ``nodes`` maps each live node id to the resources it offers (CPU, GPU, custom ones).
    """
    runners = []
    if algo.env_runner_group is not None and algo.env_runner_group.num_remote_env_runners():
        runners = algo.env_runner_group.foreach_env_runner(
            lambda _runner: _where(), local_env_runner=False
        )
    learners = algo.learner_group.foreach_learner(lambda _learner: _where())
    learners = [r.get() if hasattr(r, "get") else r for r in learners]
    import ray

    nodes = {n["NodeID"]: n["Resources"] for n in ray.nodes() if n.get("Alive")}
    return {"driver": _where(), "env_runners": runners, "learners": learners, "nodes": nodes}


def describe(where: dict[str, Any]) -> str:
    """One line: how many env runners on how many nodes, and where each learner is."""
    nodes = {r["node_id"] for r in where["env_runners"]}
    learners = ", ".join(
        f"node {r['node_id'][:8]}" + (f" GPU {','.join(r['gpu_ids'])}" if r["gpu_ids"] else "")
        for r in where["learners"]
    )
    driver = where["driver"]["node_id"][:8]
    return (
        f"placement: {len(where['env_runners'])} env runner(s) on {len(nodes)} node(s); "
        f"learner(s) on {learners}; driver on node {driver}"
    )
