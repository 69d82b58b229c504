"""Run in a fresh interpreter: start Ray as `marl train` does, list what listens, print JSON.

Starts the local runtime through ``rl_apps.runtime.ray_runtime`` (no address), runs a task
and an actor so that worker processes exist too, then lists every listening TCP socket and
every bound UDP socket of this process and of every process it started (GCS, raylet, agents,
workers), the modes of Ray's token file and its directory, and where the session directory
(logs, the raylet's and object store's sockets) is and who may enter its parent.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import psutil

from rl_apps.local_ray import token_path
from rl_apps.runtime import ray_runtime


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


def main() -> None:
    with ray_runtime(None):
        import ray

        @ray.remote
        def ping() -> int:
            return 1

        @ray.remote
        class Echo:
            def echo(self, value: int) -> int:
                return value

        assert ray.get(ping.remote()) == 1
        actor = Echo.remote()
        assert ray.get(actor.echo.remote(2)) == 2
        time.sleep(2)  # agents started in the background bind their ports
        found = listeners(psutil.Process())
        token = token_path()
        session = Path(ray._private.worker._global_node.get_session_dir_path())
        private = session.parent.parent  # <private>/ray/session_*
        modes = {
            "token": oct(token.stat().st_mode & 0o777) if token.exists() else None,
            "token_dir": oct(token.parent.stat().st_mode & 0o777),
            "session_dir": str(session),
            "temp_dir_mode": oct(private.lstat().st_mode & 0o777),
            "temp_dir_owner_is_us": private.lstat().st_uid == os.getuid(),
        }
    print(json.dumps({"listeners": found, **modes}))


if __name__ == "__main__":
    main()
