"""Known, harmless console noise from Ray's C++ core worker, kept off the terminal.

Every ``marl train`` with remote env runners printed, on the driver's stderr::

    [... E ...] core_worker.cc:2465: Actor with class name: 'MultiAgentEnvRunner' and ID: '...'
    has constructor arguments in the object store and max_restarts > 0. ...

RLlib 2.60 puts the env runners' config in the object store (``ray.put`` in
``EnvRunnerGroup``), and marl restarts failed env runners (``max_restarts > 0``), so Ray's
core worker logs this at ERROR level for every env runner it creates. The config object is
owned by the driver and lives as long as the run, so a restarted env runner finds it; the
line only matters if the driver's node is lost, which ends the run anyway.

The line comes from C++, not Python's logging, so ``filtered_stderr`` reads file descriptor
2 through a pipe for the duration of a block (building the algorithm, where the actors are
created) and drops the lines ``is_noise`` matches; every other byte is passed through, in
order, when the block ends or sooner. ``--verbose`` (Ray's loggers at INFO) shows everything.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: Lines of Ray's C++ logging known to be harmless in marl's runs (see the module docstring).
NOISE = (
    re.compile(
        r"core_worker\.cc:\d+: Actor with class name: '\w+' and ID: '\w+' has constructor "
        r"arguments in the object store and max_restarts > 0"
    ),
)


def is_noise(line: str) -> bool:
    """Whether ``line`` is one of the known harmless lines (``NOISE``)."""
    return any(pattern.search(line) for pattern in NOISE)


def _pump(read_fd: int, write_fd: int) -> None:
    """Copies lines from ``read_fd`` to ``write_fd``, dropping noise, until end of file."""
    with os.fdopen(read_fd, "rb", closefd=True) as source:
        for raw in source:
            if not is_noise(raw.decode("utf-8", "replace")):
                os.write(write_fd, raw)


def _verbose() -> bool:
    return logging.getLogger("ray").getEffectiveLevel() <= logging.INFO


@contextmanager
def filtered_stderr() -> Iterator[None]:
    """Drops the known noise lines written to file descriptor 2 inside the block."""
    if _verbose():
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    read_fd, write_fd = os.pipe()
    pump = threading.Thread(target=_pump, args=(read_fd, saved), daemon=True)
    pump.start()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)  # closes the pipe's last write end: the pump drains and stops
        pump.join(timeout=10)
        if not pump.is_alive():  # else a child process still holds the pipe: leave it be
            os.close(saved)
