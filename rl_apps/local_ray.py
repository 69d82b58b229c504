"""A local Ray instance that listens on loopback only, and a private auth token.

Measured with Ray 2.60 on Linux: a plain ``ray.init()`` opens 7 TCP listeners (GCS, raylet
x2, the driver's and each worker's core-worker gRPC server, the runtime-env agent), 6 of them
on all interfaces (``::``) and the runtime-env agent on the machine's address. Reading Ray's
source: the C++ gRPC servers listen on 127.0.0.1 exactly when the node's IP is 127.0.0.1, and
the agents bind to the node's IP. But ``ray.init(_node_ip_address="127.0.0.1")`` is not
enough: ``services.resolve_ip_for_localhost`` turns a loopback address into the machine's
routable one, unless ``ray_constants.ENABLE_RAY_CLUSTER`` is false (Ray's own setting on
macOS and Windows, where a local instance always runs on loopback). ``start_local_ray``
therefore clears that flag for the duration of ``ray.init`` only (it is read at call time,
in ``services.get_node_ip_address``; the env var ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER`` is read
once, at import, and would also change how a cluster driver finds its address), and checks
afterwards that the node really is on loopback. The dashboard stays off (its default host is
loopback anyway). Cluster runs (``--address``) are untouched: they need routable addresses
and rely on Ray's token auth.

``ray.init()`` writes its token to ``~/.ray/auth_token`` world-readable (0644, in a 0755
directory). ``restrict_token`` makes the directory 0700 before Ray starts (so the file is
never readable by others, even for the moment it is 0644) and the file 0600 after.

Ray's session directories (``/tmp/ray/session_*``: logs, and the raylet's and object store's
Unix sockets, through which a process can submit work to the instance) are made 0777, and
``/tmp/ray`` itself is world-writable (Ray makes its temp dir 0777, whatever it is). A local
instance therefore keeps its temp dir inside a private one: ``_temp_dir`` is
``private_temp_dir() / "ray"``, where ``private_temp_dir()`` is ``$TMPDIR/marl-ray-<uid>``,
0700, owned by this user, not a link: other local users cannot enter it, whatever modes Ray
gives the directories inside. ``RAY_TMPDIR`` or an explicit ``_temp_dir`` still win.

Ray starts its worker processes at niceness 15 (its ``worker_niceness`` setting), so that they
yield to Ray's own processes. For a training run that makes the env runners, and the seeds
of ``marl train --seeds``, yield to every other busy process of the user: on this 2-core
machine, beside two other training processes, one remote env runner at niceness 15 did not
finish a 4,000-step LBF sample in 3 minutes, and at niceness 0 it took 3-4 s. A local instance
therefore starts its workers at niceness 0, the driver's (``worker_niceness_config``);
``RAY_worker_niceness`` or an explicit ``_system_config`` entry still win.
"""

from __future__ import annotations

import ipaddress
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

from rl_apps.errors import RunError

LOOPBACK = "127.0.0.1"


def token_path() -> Path:
    """Where Ray keeps its auth token (``RAY_AUTH_TOKEN_PATH``, else ``~/.ray/auth_token``)."""
    custom = os.environ.get("RAY_AUTH_TOKEN_PATH")
    return Path(custom) if custom else Path.home() / ".ray" / "auth_token"


def restrict_token() -> None:
    """The token's directory 0700 (created if missing) and the token file 0600."""
    path = token_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    if path.is_file() and not path.is_symlink():
        os.chmod(path, 0o600)


def private_temp_dir() -> Path:
    """``$TMPDIR/marl-ray-<uid>``, created 0700; refused if it is a link or not ours.

    Raises:
        RunError: The path exists as a link, a file, or a directory of another user.

    """
    path = Path(tempfile.gettempdir()) / f"marl-ray-{os.getuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise RunError(
            f"{path} is not a directory of this user (a link, a file, or another user's): "
            "remove it, or set RAY_TMPDIR to a private directory"
        )
    os.chmod(path, 0o700)
    return path


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an IP, possibly IPv4-mapped IPv6) is a loopback address."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def worker_niceness_config(system_config: dict[str, Any] | None) -> dict[str, Any]:
    """Ray's ``_system_config`` with workers at niceness 0, unless the user set it."""
    config = dict(system_config or {})
    if "RAY_worker_niceness" not in os.environ:
        config.setdefault("worker_niceness", 0)
    return config


def start_local_ray(**kwargs: Any) -> None:
    """``ray.init(address="local", ...)`` with every Ray listener on loopback.

    Raises:
        RunError: The started instance is not on loopback (a Ray version that changed how
            it picks the node's address); it is shut down first.

    """
    import ray
    from ray._private import ray_constants

    restrict_token()
    if "_temp_dir" not in kwargs and not os.environ.get("RAY_TMPDIR"):
        kwargs["_temp_dir"] = str(private_temp_dir() / "ray")
    kwargs["_system_config"] = worker_niceness_config(kwargs.get("_system_config"))
    enabled = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = False  # keeps 127.0.0.1 from being "resolved"
    try:
        ray.init(address="local", _node_ip_address=LOOPBACK, **kwargs)
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = enabled
    restrict_token()
    node_ip = ray.util.get_node_ip_address()
    if not is_loopback(node_ip):
        ray.shutdown()
        raise RunError(
            f"the local Ray instance runs on {node_ip}, not on loopback; refusing to train "
            "with Ray listening on the network (start a cluster and pass --address instead)"
        )
