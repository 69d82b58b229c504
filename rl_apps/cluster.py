"""``marl cluster up|down|status``: a real multi-node Ray cluster on this machine.

Each node is a separate set of Ray processes (its own raylet and object store), started with
Ray's own ``ray.cluster_utils.Cluster``: a head and ``nodes - 1`` workers, each offering
``cpus_per_node`` CPUs, optionally fake GPUs or custom resources on the last worker (to try
GPU-learner placement without a GPU). The processes outlive the command; their PIDs (with
their start times, so a reused PID is never touched) go to a state file, and
``marl cluster down`` stops exactly those processes and their children, nothing else: a
``ray stop`` would also kill every other Ray instance on the machine.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rl_apps.errors import MarlError, SpecError

STATE_FILE = Path(
    os.environ.get("MARL_CLUSTER_STATE", Path.home() / ".cache" / "marl" / "cluster.json")
)


@dataclass
class ClusterState:
    """What ``up`` started: the address and every process (pid, start time)."""

    address: str
    nodes: list[dict[str, Any]]
    processes: list[tuple[int, float]]
    started: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _node_processes(node: Any) -> list[tuple[int, float]]:
    import psutil

    found = []
    for infos in node.all_processes.values():
        for info in infos:
            pid = info.process.pid
            try:
                found.append((pid, psutil.Process(pid).create_time()))
            except psutil.NoSuchProcess:
                continue
    return found


def read_state(path: Path = STATE_FILE) -> ClusterState | None:
    """The running cluster started by ``up``, or None."""
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    data["processes"] = [tuple(p) for p in data["processes"]]
    return ClusterState(**data)


def up(
    nodes: int,
    cpus_per_node: float,
    gpus_on_last: float = 0.0,
    resources_on_last: dict[str, float] | None = None,
    path: Path = STATE_FILE,
) -> ClusterState:
    """Starts a head and ``nodes - 1`` workers; returns (and writes) their state."""
    if nodes < 1 or cpus_per_node <= 0:
        raise SpecError("marl cluster up", [("", "--nodes must be >= 1, --cpus-per-node > 0")])
    running = read_state(path)
    if running is not None and alive(running):
        raise MarlError(
            f"a cluster started by marl is already up at {running.address}; "
            "stop it with marl cluster down"
        )
    from ray.cluster_utils import Cluster

    port = _free_port()
    head_args = {"num_cpus": cpus_per_node, "include_dashboard": False, "gcs_server_port": port}
    cluster = Cluster(initialize_head=True, head_node_args=head_args, shutdown_at_exit=False)
    specs: list[dict[str, Any]] = [{"role": "head", "num_cpus": cpus_per_node}]
    for index in range(1, nodes):
        last = index == nodes - 1
        extra = {"num_gpus": gpus_on_last, "resources": resources_on_last or {}} if last else {}
        cluster.add_node(num_cpus=cpus_per_node, **extra)
        specs.append({"role": "worker", "num_cpus": cpus_per_node, **extra})
    processes = []
    for node in [cluster.head_node, *cluster.worker_nodes]:
        processes += _node_processes(node)
    state = ClusterState(cluster.address, specs, processes, time.strftime("%Y-%m-%d %H:%M:%S"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(state), indent=1))
    return state


def _owned(state: ClusterState) -> list[Any]:
    """The live processes ``up`` started (same pid and start time) and their descendants."""
    import psutil

    owned = []
    for pid, created in state.processes:
        try:
            proc = psutil.Process(pid)
            if abs(proc.create_time() - created) < 1e-3:
                owned.append(proc)
                owned += proc.children(recursive=True)
        except psutil.NoSuchProcess:
            continue
    return owned


def alive(state: ClusterState) -> bool:
    """Whether any process ``up`` started is still running."""
    return bool(_owned(state))


def down(path: Path = STATE_FILE, grace_s: float = 10.0) -> int:
    """Stops what ``up`` started (SIGTERM, then SIGKILL); returns how many processes."""
    import psutil

    state = read_state(path)
    if state is None:
        raise MarlError(f"no cluster started by marl cluster up ({path} does not exist)")
    procs = _owned(state)
    for proc in procs:
        try:
            proc.send_signal(signal.SIGTERM)
        except psutil.NoSuchProcess:
            continue
    _, still = psutil.wait_procs(procs, timeout=grace_s)
    for proc in still:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            continue
    psutil.wait_procs(still, timeout=grace_s)
    path.unlink()
    return len(procs)


def describe(state: ClusterState, running: bool) -> str:
    """Human-readable summary of a cluster started by ``up``."""
    lines = [f"address : {state.address} ({'running' if running else 'not running'})"]
    for i, node in enumerate(state.nodes):
        extra = ", ".join(f"{k}={v}" for k, v in node.items() if k not in ("role",))
        lines.append(f"node {i}  : {node['role']} ({extra})")
    lines.append(f"started : {state.started}, {len(state.processes)} processes")
    return "\n".join(lines)
