"""Ray's harmless core-worker line is dropped from file descriptor 2; everything else passes."""

from __future__ import annotations

import os

from rl_apps.quiet import filtered_stderr, is_noise

LINE = (
    "[2026-12-02 03:28:09,907 E 15407 15407] core_worker.cc:2465: Actor with class name: "
    "'MultiAgentEnvRunner' and ID: '1eb7540cc8866e2d5cdbf12901000000' has constructor "
    "arguments in the object store and max_restarts > 0. If the arguments in the object store "
    "go out of scope or are lost, the actor restart will fail.\n"
)


def test_the_known_line_is_noise_and_other_errors_are_not():
    assert is_noise(LINE)
    assert not is_noise("[... E ...] core_worker.cc:100: Failed to connect to the GCS\n")
    assert not is_noise("Traceback (most recent call last):\n")


def test_the_filter_drops_only_the_noise_written_to_fd_2(capfd):
    with filtered_stderr():
        os.write(2, LINE.encode())
        os.write(2, b"a real error\n")
        os.write(2, b"no newline at the end")
    assert capfd.readouterr().err == "a real error\nno newline at the end"
    os.write(2, LINE.encode())  # outside the block: untouched
    assert capfd.readouterr().err == LINE
