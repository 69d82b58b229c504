"""Crash-safe checkpoints in a run directory.

A checkpoint is written into a hidden ``.partial-*`` directory, completed by a
``manifest.json`` (training counters and the SHA-256 of every file; signed when
``MARL_CHECKPOINT_KEY`` is set, see ``rl_apps.checkpoint_trust``), and only then renamed to
``checkpoint_NNNNNN``: a rename is atomic, so a crash mid-save leaves a partial directory that
is never mistaken for a checkpoint. ``keep`` bounds how many complete checkpoints stay; older
ones are deleted only after a newer one is complete, and are first renamed to
``.deleting-*``, so a kill during the deletion never leaves a half-deleted directory that
looks like a checkpoint. ``remove_leftovers`` (at the start of a resume and before every
save) removes both kinds of leftover.

Checkpoints hold pickles (RLlib's state), and loading a pickle runs code. Besides them, each
checkpoint holds the actors' weights as safetensors and the spec as YAML: ``eval``,
``export`` and ``inspect`` read only those (``rl_apps.actor_weights``) and never unpickle.
``train --resume`` needs RLlib's whole state: it restores from a verified private copy
(``checkpoint_trust.private_copy``). ``--trust-checkpoint`` skips the hash and signature
checks, never the refusal of links.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rl_apps import checkpoint_trust as trust_checks
from rl_apps.checkpoint_trust import MANIFEST, file_hashes, write_manifest
from rl_apps.checkpoint_trust import sha256_of as sha256_of  # re-exported
from rl_apps.errors import CheckpointError

PREFIX = "checkpoint_"
PARTIAL = ".partial-"
#: An old checkpoint being deleted (renamed first, so it never looks complete).
DELETING = ".deleting-"
SPEC_COPY = "spec.yaml"


@dataclass(frozen=True)
class Counters:
    """Training counters stored with a checkpoint (also used to resume the metrics files)."""

    iteration: int
    env_steps: int
    elapsed_s: float


def checkpoint_dir(run_dir: Path) -> Path:
    """Where a run keeps its checkpoints."""
    return run_dir / "checkpoints"


def _fsync_tree(root: Path) -> None:
    for path in [*root.rglob("*"), root]:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def save_checkpoint(
    run_dir: Path,
    counters: Counters,
    write: Callable[[Path], Any],
    spec_text: str,
    keep: int,
) -> Path:
    """Writes a complete checkpoint atomically; returns its final path.

    Args:
        run_dir: The run directory.
        counters: Iteration, lifetime env steps and elapsed time at this checkpoint.
        write: Writes the algorithm's state into the directory it is given.
        spec_text: The resolved spec, copied in so the checkpoint is self-contained.
        keep: How many complete checkpoints to keep.

    """
    root = checkpoint_dir(run_dir)
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"{PREFIX}{counters.iteration:06d}"
    if (final / MANIFEST).is_file():
        return final
    remove_leftovers(run_dir)
    partial = root / f"{PARTIAL}{final.name}"
    write(partial)
    (partial / SPEC_COPY).write_text(spec_text)
    write_manifest(partial, {**asdict(counters), "files": file_hashes(partial)})
    _fsync_tree(partial)
    if final.exists():  # an incomplete leftover from a crashed run with the same name
        shutil.rmtree(final)
    os.rename(partial, final)
    prune(root, keep)
    return final


def remove_leftovers(run_dir: Path) -> list[Path]:
    """Deletes what a crash or kill left in a run's checkpoints; returns what it removed.

    Partial checkpoints (a crash mid-save), checkpoints renamed for deletion (a kill during
    pruning), and ``checkpoint_*`` directories without a manifest (a kill while an older
    version deleted a checkpoint in place).
    """
    root = checkpoint_dir(run_dir)
    if not root.is_dir():
        return []
    doomed = [*root.glob(f"{PARTIAL}*"), *root.glob(f"{DELETING}*")]
    doomed += [p for p in root.glob(f"{PREFIX}*") if p.is_dir() and not (p / MANIFEST).exists()]
    for leftover in doomed:
        shutil.rmtree(leftover, ignore_errors=True)
    return doomed


def complete_checkpoints(run_dir: Path) -> list[Path]:
    """Complete checkpoints of a run, oldest first."""
    root = checkpoint_dir(run_dir)
    if not root.is_dir():
        return []
    found = [p for p in root.glob(f"{PREFIX}*") if (p / MANIFEST).is_file()]
    return sorted(found, key=lambda p: p.name)


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The newest complete checkpoint of a run, or None."""
    found = complete_checkpoints(run_dir)
    return found[-1] if found else None


def resolve_checkpoint(path: Path) -> Path:
    """``path`` itself, or, for a run directory, its newest complete checkpoint.

    ``marl eval RUN_DIR`` (and ``export``, ``inspect``) then take the run's latest checkpoint;
    a note on stderr names it.
    """
    if (path / MANIFEST).is_file() or not (path / "checkpoints").is_dir():
        return path
    latest = latest_checkpoint(path)
    if latest is None:
        raise CheckpointError(f"{path}: this run directory has no complete checkpoint yet")
    print(f"note: using the run's latest checkpoint {latest}", file=sys.stderr)
    return latest


def prune(root: Path, keep: int) -> None:
    """Deletes all but the ``keep`` newest complete checkpoints."""
    found = complete_checkpoints(root.parent)
    for old in found[:-keep] if keep > 0 else []:
        doomed = root / f"{DELETING}{old.name}"
        os.rename(old, doomed)  # atomic: never a half-deleted checkpoint_* directory
        shutil.rmtree(doomed, ignore_errors=True)


def read_manifest(checkpoint: Path) -> dict[str, Any]:
    """The manifest of a complete checkpoint (not verified: see ``verify_checkpoint``)."""
    path = checkpoint / MANIFEST
    try:
        if path.stat().st_size > trust_checks.MAX_MANIFEST_BYTES:
            raise CheckpointError(f"{path}: not a readable manifest (too large); refusing it")
        data = path.read_bytes()
    except OSError as err:
        raise CheckpointError(f"{path}: not a readable manifest ({err.strerror})") from None
    return trust_checks.parse_manifest(data, checkpoint)


def counters_of(manifest: dict[str, Any], checkpoint: Path) -> Counters:
    """The training counters in a manifest; CheckpointError if they are missing or bad."""
    try:
        counters = Counters(
            int(manifest["iteration"]), int(manifest["env_steps"]), float(manifest["elapsed_s"])
        )
    except (KeyError, TypeError, ValueError):
        counters = None
    if counters is None or counters.iteration < 0 or counters.env_steps < 0:
        raise CheckpointError(f"{checkpoint}: {MANIFEST} has no valid training counters")
    return counters


def read_counters(checkpoint: Path) -> Counters:
    """The training counters stored in a checkpoint's manifest."""
    return counters_of(read_manifest(checkpoint), checkpoint)


def module_dir(checkpoint: Path) -> Path:
    """The MultiRLModule inside an algorithm checkpoint (RLlib's pickles)."""
    return checkpoint / "learner_group" / "learner" / "rl_module"


def manifest_mismatches(checkpoint: Path) -> list[str]:
    """Problems between a checkpoint's files and its manifest (empty: they match)."""
    return trust_checks.mismatches(checkpoint, read_manifest(checkpoint).get("files", {}))


def verify_checkpoint(checkpoint: Path, trust: bool = False) -> None:
    """Raises CheckpointError unless the checkpoint may be loaded.

    Links and special files are always refused; unless ``trust`` (``--trust-checkpoint``),
    so are a missing manifest, a missing or bad signature when ``MARL_CHECKPOINT_KEY`` is
    set, and any file that differs from the manifest.
    """
    trust_checks.verify(checkpoint, trust)
