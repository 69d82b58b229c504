"""Crash-safe checkpoints in a run directory.

A checkpoint is written into a hidden ``.partial-*`` directory, completed by a
``manifest.json`` (training counters and the SHA-256 of every file), and only then renamed to
``checkpoint_NNNNNN``: a rename is atomic, so a crash mid-save leaves a partial directory that
is never mistaken for a checkpoint (it is removed at the next save). ``keep`` bounds how many
complete checkpoints stay; older ones are deleted only after a newer one is complete.

Checkpoints hold pickles, and loading a pickle runs code. ``verify_checkpoint`` refuses a
checkpoint whose files differ from its manifest (a changed, missing or added file) before
anything is unpickled; ``--trust-checkpoint`` skips the check. The manifest proves integrity
(corruption, a swapped or injected file), not authorship: whoever can rewrite the files can
rewrite the manifest too, so only load checkpoints from places you control.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rl_apps.errors import CheckpointError

MANIFEST = "manifest.json"
PREFIX = "checkpoint_"
PARTIAL = ".partial-"
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


def sha256_of(path: Path) -> str:
    """The SHA-256 hex digest of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _file_hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): sha256_of(p)
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }


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
    remove_partials(root)
    partial = root / f"{PARTIAL}{final.name}"
    write(partial)
    (partial / SPEC_COPY).write_text(spec_text)
    manifest = {**asdict(counters), "files": _file_hashes(partial)}
    (partial / MANIFEST).write_text(json.dumps(manifest, indent=1))
    _fsync_tree(partial)
    if final.exists():  # an incomplete leftover from a crashed run with the same name
        shutil.rmtree(final)
    os.rename(partial, final)
    prune(root, keep)
    return final


def remove_partials(root: Path) -> None:
    """Deletes partial checkpoints left by a crash."""
    for leftover in root.glob(f"{PARTIAL}*"):
        shutil.rmtree(leftover, ignore_errors=True)


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
        shutil.rmtree(old, ignore_errors=True)


#: A manifest is a few KB; anything larger is not one of ours.
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
_SHA256 = re.compile(r"[0-9a-f]{64}")


def _manifest_problems(data: Any) -> list[str]:
    """What makes ``data`` not a manifest of ours (empty: it is one)."""
    if not isinstance(data, dict):
        return ["must be a JSON object"]
    problems = [
        f"{key}: must be a whole number >= 0"
        for key in ("iteration", "env_steps")
        if type(data.get(key)) is not int or not 0 <= data[key] <= 10**15
    ]
    elapsed = data.get("elapsed_s")
    if type(elapsed) not in (int, float) or not 0 <= elapsed < float("inf"):
        problems.append("elapsed_s: must be a finite number >= 0")
    files = data.get("files")
    if not isinstance(files, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and _SHA256.fullmatch(v) for k, v in files.items()
    ):
        problems.append("files: must map file names to SHA-256 hex digests")
    return problems


def read_manifest(checkpoint: Path) -> dict[str, Any]:
    """The manifest of a complete checkpoint; CheckpointError if it is not a valid one."""
    path = checkpoint / MANIFEST
    try:
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            raise ValueError(f"larger than {MAX_MANIFEST_BYTES >> 20} MiB")
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError) as err:  # JSONDecodeError and UnicodeDecodeError too
        reason = (
            f"invalid JSON at line {err.lineno}, column {err.colno}"
            if isinstance(err, json.JSONDecodeError)
            else str(err)[:200]
        )
        raise CheckpointError(
            f"{path}: not a readable manifest ({reason}); refusing to load it"
        ) from None
    problems = _manifest_problems(data)
    if problems:
        raise CheckpointError(
            f"{path}: not a valid manifest; refusing to load it: " + "; ".join(problems)
        )
    return data


def read_counters(checkpoint: Path) -> Counters:
    """The training counters stored in a checkpoint's manifest."""
    data = read_manifest(checkpoint)
    return Counters(data["iteration"], data["env_steps"], data["elapsed_s"])


def module_dir(checkpoint: Path) -> Path:
    """The MultiRLModule inside an algorithm checkpoint."""
    return checkpoint / "learner_group" / "learner" / "rl_module"


def manifest_mismatches(checkpoint: Path) -> list[str]:
    """Problems between a checkpoint's files and its manifest (empty: they match)."""
    expected: dict[str, str] = read_manifest(checkpoint).get("files", {})
    actual = _file_hashes(checkpoint)
    problems = [f"{name}: missing" for name in sorted(set(expected) - set(actual))]
    problems += [f"{name}: not in the manifest" for name in sorted(set(actual) - set(expected))]
    problems += [
        f"{name}: SHA-256 differs from the manifest"
        for name in sorted(set(expected) & set(actual))
        if expected[name] != actual[name]
    ]
    return problems


def verify_checkpoint(checkpoint: Path, trust: bool = False) -> None:
    """Raises CheckpointError unless every file matches the manifest (or ``trust``).

    Args:
        checkpoint: A complete checkpoint directory.
        trust: Skip the check (``--trust-checkpoint``).

    """
    if trust:
        return
    if not (checkpoint / MANIFEST).is_file():
        raise CheckpointError(f"{checkpoint}: no {MANIFEST}; refusing to load it")
    problems = manifest_mismatches(checkpoint)
    if problems:
        shown = "\n  ".join(problems[:10])
        more = f"\n  ... and {len(problems) - 10} more" if len(problems) > 10 else ""
        raise CheckpointError(
            f"{checkpoint}: files do not match {MANIFEST}; refusing to load it (checkpoints "
            f"contain pickles that run code when loaded):\n  {shown}{more}\n"
            "If you know where this checkpoint came from, pass --trust-checkpoint."
        )
