"""Stop signals end a run the way Ctrl-C does.

``timeout``, SLURM time limits, ``docker stop`` and Kubernetes evictions send SIGTERM; a
closed terminal sends SIGHUP; and a process started in the background by a non-interactive
shell (``nohup marl train ... &`` in a script) inherits SIGINT as *ignored*. Inside
``stop_signals_interrupt()`` all three raise ``KeyboardInterrupt`` in the main thread, so the
caller's Ctrl-C path runs: a final checkpoint, the summary, and the printed ``--resume``
command. Ray's own SIGTERM handler in the driver is replaced for that time, then restored.
``stop_signals_to_tune()`` does the same for ``marl tune``, through Tune's own graceful stop.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: The signals that stop a run gracefully.
STOP_SIGNALS = tuple(
    s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None
)


def exit_code(signal_name: str | None) -> int:
    """The shell's code for a process stopped by a signal: 128 + its number.

    130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP.
    """
    if signal_name is None:
        return 130  # a KeyboardInterrupt raised without a signal
    return 128 + int(signal.Signals[signal_name])


def interrupt_exit_code(err: KeyboardInterrupt) -> int:
    """``exit_code`` of an interrupt raised by one of our handlers (named by its signal)."""
    name = str(err)
    return exit_code(name if name in signal.Signals.__members__ else None)


@contextmanager
def stop_signals_interrupt() -> Iterator[list[str]]:
    """Makes SIGINT, SIGTERM and SIGHUP raise ``KeyboardInterrupt``; yields the names received.

    Outside the main thread (where Python cannot install handlers) it changes nothing.
    """
    received: list[str] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def handler(signum: int, frame: Any) -> None:
        received.append(signal.Signals(signum).name)
        raise KeyboardInterrupt(received[-1])

    previous = {s: signal.signal(s, handler) for s in STOP_SIGNALS}
    try:
        yield received
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


#: The signal Ray Tune (2.60) stops a search on gracefully, besides SIGINT.
TUNE_STOP_SIGNAL = getattr(signal, "SIGUSR1", None)


@contextmanager
def stop_signals_to_tune() -> Iterator[list[str]]:
    """Makes SIGTERM and SIGHUP stop a Tune search the way Ctrl-C does; yields the names.

    ``Tuner.fit`` installs its graceful-stop handler (save the experiment state, stop the
    trials, return the results) for SIGINT and SIGUSR1 only. Here SIGTERM and SIGHUP call
    that handler while it is installed, and raise ``KeyboardInterrupt`` before it is (while
    Ray starts). SIGINT stays Tune's own.
    """
    received: list[str] = []
    if threading.current_thread() is not threading.main_thread() or TUNE_STOP_SIGNAL is None:
        yield received
        return

    def handler(signum: int, frame: Any) -> None:
        received.append(signal.Signals(signum).name)
        forward = signal.getsignal(TUNE_STOP_SIGNAL)
        if not callable(forward):
            raise KeyboardInterrupt(received[-1])
        forward(TUNE_STOP_SIGNAL, frame)

    others = [s for s in STOP_SIGNALS if s != signal.SIGINT]
    previous = {s: signal.signal(s, handler) for s in others}
    try:
        yield received
    finally:
        for s, old in previous.items():
            signal.signal(s, old)
