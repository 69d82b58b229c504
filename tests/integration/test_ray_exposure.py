"""A local run's Ray listens on loopback only; its auth token and session files are private.

A local `marl train` (no ``--address``; one env runner actor) runs in a fresh interpreter,
with ``HOME`` pointing at a temporary directory so the token written there is this test's own;
its sockets are listed while it trains.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from rl_apps.local_ray import is_loopback, private_temp_dir

from ..conftest import QUICKSTART, ROOT, TINY


def run_listeners(home: Path) -> dict:
    """What listened during a two-iteration local run of the shrunk quickstart."""
    env = {**os.environ, "HOME": str(home), "RAY_USAGE_STATS_ENABLED": "0"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env.pop("RAY_AUTH_TOKEN_PATH", None)
    script = Path(__file__).with_name("ray_listeners.py")
    proc = subprocess.run(
        [sys.executable, str(script), str(QUICKSTART), str(home / "runs"), *TINY],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_local_ray_listens_on_loopback_only_and_its_token_is_private(tmp_path):
    (tmp_path / ".ray").mkdir(mode=0o755)  # as an earlier plain ray.init() leaves it
    found = run_listeners(tmp_path)
    sockets = found["listeners"]
    names = {s["name"] for s in sockets}
    assert " reached " in found["stopped_because"], found  # the run trained to its end
    assert len(sockets) >= 5 and any("raylet" in n for n in names), sockets  # not vacuous
    exposed = [s for s in sockets if not is_loopback(s["ip"])]
    assert exposed == [], exposed
    assert found["token"] == "0o600" and found["token_dir"] == "0o700", found
    # Ray makes its session directories 0777; their parent is private to this user
    assert Path(found["session_dir"]).parent.parent == private_temp_dir(), found
    assert found["temp_dir_mode"] == "0o700" and found["temp_dir_owner_is_us"], found
    # env runners at the driver's niceness, not Ray's 15 (rl_apps.local_ray)
    assert found["env_runner_niceness"] and set(found["env_runner_niceness"]) == {0}, found


def test_loopback_addresses():
    for host in ("127.0.0.1", "::1", "::ffff:127.0.0.1", "127.0.0.2"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "::", "192.0.2.2", "::ffff:192.0.2.2", "localhost", ""):
        assert not is_loopback(host), host
