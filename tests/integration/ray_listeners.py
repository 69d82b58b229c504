"""Run in a fresh interpreter: a local `marl train`; what listens during it, printed as JSON.

Usage: ``python ray_listeners.py SPEC RUNS_DIR OVERRIDE...``. Trains SPEC as `marl train`
does (``rl_apps.train.train``, no address: the local runtime of ``rl_apps.runtime``, with its
env runner actors and learner), and at its first iteration line lists every listening TCP
socket and every bound UDP socket of this process and of every process it started (GCS,
raylet, agents, workers, env runners), the modes of Ray's token file and its directory, and
where the session directory (logs, the raylet's and object store's sockets) is and who may
enter its parent, and the niceness of the env runner actors' processes.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import psutil

from rl_apps.local_ray import token_path
from rl_apps.train import TrainOptions, train


def listeners(root: psutil.Process) -> list[dict]:
    """``{pid, name, ip, port, kind}`` of every socket that accepts connections."""
    found = []
    for proc in [root, *root.children(recursive=True)]:
        try:
            name = proc.name()
            for conn in proc.net_connections(kind="inet"):
                udp_bound = conn.type == 2 and conn.laddr and not conn.raddr  # SOCK_DGRAM
                if conn.status == psutil.CONN_LISTEN or udp_bound:
                    kind = "udp" if udp_bound else "tcp"
                    found.append(
                        {
                            "pid": proc.pid,
                            "name": name,
                            "ip": conn.laddr.ip,
                            "port": conn.laddr.port,
                            "kind": kind,
                        }
                    )
        except psutil.NoSuchProcess:
            continue
    return found


def env_runner_niceness(root: psutil.Process) -> list[int]:
    """The niceness of every env runner actor's process started by this one."""
    from rl_apps.bench.profile import is_env_runner

    found = []
    for proc in root.children(recursive=True):
        try:
            if is_env_runner(" ".join(proc.cmdline())):
                found.append(proc.nice())
        except psutil.NoSuchProcess:
            continue
    return found


def snapshot() -> dict:
    """What listens now, and the modes of the token and the session directories."""
    import ray

    time.sleep(2)  # agents started in the background bind their ports
    token = token_path()
    session = Path(ray._private.worker._global_node.get_session_dir_path())
    private = session.parent.parent  # <private>/ray/session_*
    return {
        "listeners": listeners(psutil.Process()),
        "env_runner_niceness": env_runner_niceness(psutil.Process()),
        "token": oct(token.stat().st_mode & 0o777) if token.exists() else None,
        "token_dir": oct(token.parent.stat().st_mode & 0o777),
        "session_dir": str(session),
        "temp_dir_mode": oct(private.lstat().st_mode & 0o777),
        "temp_dir_owner_is_us": private.lstat().st_uid == os.getuid(),
    }


def main(spec: str, runs_dir: str, overrides: list[str]) -> None:
    found: dict = {}

    def probe(line: str) -> None:
        if not found and line.startswith("iter "):  # Ray, env runners and learner are up
            found.update(snapshot())

    summary = train(TrainOptions(Path(spec), overrides, runs_dir=Path(runs_dir), echo=probe))
    print(json.dumps({**found, "stopped_because": summary["stopped_because"]}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
