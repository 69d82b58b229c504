"""SIGTERM and SIGHUP reach Tune's graceful stop (its SIGUSR1 handler) in `marl tune` (no Ray)."""

from __future__ import annotations

import os
import signal

import pytest

from rl_apps.signals import interrupt_exit_code, stop_signals_to_tune


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_stop_signal_calls_tunes_handler_while_it_is_installed(sig):
    called: list[int] = []
    old = signal.signal(signal.SIGUSR1, lambda signum, frame: called.append(signum))
    try:
        with stop_signals_to_tune() as received:
            os.kill(os.getpid(), sig)
        assert received == [signal.Signals(sig).name] and called == [signal.SIGUSR1]
    finally:
        signal.signal(signal.SIGUSR1, old)
    assert signal.getsignal(sig) is not None  # restored


def test_before_tune_starts_a_stop_signal_interrupts_with_its_exit_code():
    old = signal.signal(signal.SIGUSR1, signal.SIG_DFL)
    try:
        with pytest.raises(KeyboardInterrupt) as err, stop_signals_to_tune():
            os.kill(os.getpid(), signal.SIGTERM)
        assert interrupt_exit_code(err.value) == 143
    finally:
        signal.signal(signal.SIGUSR1, old)
    assert interrupt_exit_code(KeyboardInterrupt()) == 130
