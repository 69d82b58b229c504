"""Errors the application reports to users, each with the exit code the CLI returns."""

from __future__ import annotations

from collections.abc import Iterable


class MarlError(Exception):
    """A problem the user can fix; the CLI prints the message and exits with ``exit_code``."""

    exit_code = 1


class SpecError(MarlError):
    """An invalid experiment spec (or input file): exit code 2, nothing has started.

    Every part of the message is masked where it looks like a credential (a key of a spec
    named like a token, a value quoted back): an error never echoes one, whichever check
    found the problem (``rl_apps.spec.secrets.redact``).

    Args:
        source: The file (or ``<--set>``) the problem comes from.
        problems: ``(dotted_path, message)`` pairs; an empty path means the whole file.

    """

    exit_code = 2

    def __init__(self, source: str, problems: Iterable[tuple[str, str]]) -> None:
        from rl_apps.spec.secrets import redact, secret_env_values

        known = secret_env_values()
        self.source = redact(source, known)
        self.problems = [(redact(path, known), redact(msg, known)) for path, msg in problems]
        lines = [
            f"{self.source}: {path}: {msg}" if path else f"{self.source}: {msg}"
            for path, msg in self.problems
        ]
        super().__init__("\n".join(lines))


class ResourceError(MarlError):
    """A resource request the Ray cluster can never satisfy (exit code 2)."""

    exit_code = 2


class RunError(MarlError):
    """A failure during a run (a stalled sampler, a missing checkpoint): exit code 1."""


class CheckpointError(MarlError):
    """A checkpoint whose files do not match its manifest (exit code 2, nothing loaded)."""

    exit_code = 2
