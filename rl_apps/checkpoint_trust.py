"""What makes a checkpoint safe to load: its manifest, its files, its signature.

A checkpoint's ``manifest.json`` holds the training counters and the SHA-256 of every file.
Loading checks, in this order:

- **no links, no special files**: a symbolic link anywhere inside a checkpoint (to a file or
  a directory, even to an identical file) is refused, and so is a FIFO or a device: a link
  could be re-pointed between the check and the load;
- **the signature** (``manifest.sig``): when ``MARL_CHECKPOINT_KEY`` is set, the manifest must
  carry an HMAC-SHA256 of its exact bytes under that key; unsigned or wrongly signed
  checkpoints are refused. The manifest holds the counters and every file's hash, so the
  signature covers them all. Without the key, a signature is not checked;
- **the hashes**: every file must match the manifest (a changed, missing or added file is
  refused, naming it).

What is checked is what is loaded: ``read_verified`` reads each file once, through a
descriptor of the checkpoint directory that never follows a link, and returns the very bytes
it hashed; ``private_copy`` copies a checkpoint that RLlib must read by path into a fresh
0700 directory and verifies the copy, so swapping a file after the check changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rl_apps.errors import CheckpointError

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
#: The environment variable that holds the signing key (any string; never written to disk).
KEY_ENV = "MARL_CHECKPOINT_KEY"
#: Files of a checkpoint that its manifest does not list.
UNLISTED = frozenset({MANIFEST, SIGNATURE})
_NOFOLLOW = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def signing_key() -> bytes | None:
    """The key from ``MARL_CHECKPOINT_KEY``, or None when it is unset.

    Raises:
        CheckpointError: The variable is set but empty (an unset shell variable expanded
            into it, most likely): signing would silently be off.

    """
    key = os.environ.get(KEY_ENV)
    if key is None:
        return None
    if not key:
        raise CheckpointError(f"{KEY_ENV} is set but empty; set a key or unset it")
    return key.encode()


def signature_of(manifest: bytes, key: bytes) -> str:
    """The HMAC-SHA256 (hex) of a manifest's exact bytes."""
    return hmac.new(key, manifest, hashlib.sha256).hexdigest()


def checkpoint_files(root: Path) -> list[str]:
    """Every file under ``root`` (relative, sorted); refuses links and special files."""
    found: list[str] = []
    _collect(root, root, found)
    return sorted(found)


def _collect(root: Path, folder: Path, found: list[str]) -> None:
    with os.scandir(folder) as entries:
        for entry in entries:
            relative = str(Path(entry.path).relative_to(root))
            if entry.is_symlink():
                raise CheckpointError(
                    f"{root}: {relative} is a symbolic link; refusing to load a checkpoint "
                    "that contains links (copy the real files in instead)"
                )
            if entry.is_dir(follow_symlinks=False):
                _collect(root, Path(entry.path), found)
            elif entry.is_file(follow_symlinks=False):
                found.append(relative)
            else:
                raise CheckpointError(f"{root}: {relative} is not a regular file; refusing it")


def sha256_of(path: Path) -> str:
    """The SHA-256 hex digest of a regular file, opened without following a link."""
    digest = hashlib.sha256()
    fd = os.open(path, _NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_hashes(root: Path) -> dict[str, str]:
    """``{relative path: SHA-256}`` of every file the manifest lists."""
    return {name: sha256_of(root / name) for name in checkpoint_files(root) if name not in UNLISTED}


def write_manifest(root: Path, content: dict[str, Any]) -> None:
    """Writes ``manifest.json`` and, when a key is set, its signature."""
    data = json.dumps(content, indent=1).encode()
    (root / MANIFEST).write_bytes(data)
    key = signing_key()
    if key is not None:
        (root / SIGNATURE).write_text(signature_of(data, key) + "\n")


def _read_at(dir_fd: int, name: str, root: Path) -> bytes:
    """A regular file's bytes, opened relative to ``dir_fd`` without following a link."""
    try:
        fd = os.open(name, _NOFOLLOW, dir_fd=dir_fd)
    except FileNotFoundError:
        raise CheckpointError(f"{root}: no {name}; refusing to load it") from None
    except OSError as err:  # ELOOP: the name is a link
        raise CheckpointError(f"{root}: cannot open {name} ({err.strerror}); refusing it") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise CheckpointError(f"{root}: {name} is not a regular file; refusing it")
        return handle.read()


#: A manifest is a few KB; anything larger is not one of ours.
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
_SHA256 = re.compile(r"[0-9a-f]{64}")


def manifest_problems(data: Any) -> list[str]:
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


def parse_manifest(data: bytes, root: Path) -> dict[str, Any]:
    """A manifest's content; CheckpointError naming the problem when it is not a valid one."""
    path = root / MANIFEST
    if len(data) > MAX_MANIFEST_BYTES:
        raise CheckpointError(f"{path}: not a readable manifest (too large); refusing it")
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as err:  # JSONDecodeError is a ValueError
        reason = (
            f"invalid JSON at line {err.lineno}, column {err.colno}"
            if isinstance(err, json.JSONDecodeError)
            else str(err)[:200]
        )
        raise CheckpointError(
            f"{path}: not a readable manifest ({reason}); refusing to load it"
        ) from None
    problems = manifest_problems(manifest)
    if problems:
        raise CheckpointError(
            f"{path}: not a valid manifest; refusing to load it: " + "; ".join(problems)
        )
    return manifest


def check_signature(root: Path, manifest: bytes, signature: bytes | None) -> None:
    """Refuses an unsigned or wrongly signed manifest when a key is set."""
    key = signing_key()
    if key is None:
        if signature is not None:
            print(f"note: {root} is signed but {KEY_ENV} is not set: not checked", file=sys.stderr)
        return
    if signature is None:
        raise CheckpointError(
            f"{root}: the checkpoint is not signed ({SIGNATURE} is missing) and {KEY_ENV} is "
            "set; refusing to load it"
        )
    given = signature.decode(errors="replace").strip()
    if not hmac.compare_digest(given, signature_of(manifest, key)):
        raise CheckpointError(
            f"{root}: the signature in {SIGNATURE} does not match {MANIFEST} under the key in "
            f"{KEY_ENV} (a different key, or a changed manifest); refusing to load it"
        )


def _read_signature(dir_fd: int, root: Path) -> bytes | None:
    try:
        return _read_at(dir_fd, SIGNATURE, root)
    except CheckpointError:
        if os.path.lexists(root / SIGNATURE):
            raise
        return None


def mismatches(root: Path, expected: dict[str, str]) -> list[str]:
    """Problems between a checkpoint's files and the manifest's hashes (empty: they match)."""
    actual = file_hashes(root)
    problems = [f"{name}: missing" for name in sorted(set(expected) - set(actual))]
    problems += [f"{name}: not in the manifest" for name in sorted(set(actual) - set(expected))]
    problems += [
        f"{name}: SHA-256 differs from the manifest"
        for name in sorted(set(expected) & set(actual))
        if expected[name] != actual[name]
    ]
    return problems


def _refuse(root: Path, problems: list[str]) -> None:
    shown = "\n  ".join(problems[:10])
    more = f"\n  ... and {len(problems) - 10} more" if len(problems) > 10 else ""
    raise CheckpointError(
        f"{root}: files do not match {MANIFEST}; refusing to load it (checkpoints "
        f"contain pickles that run code when loaded):\n  {shown}{more}\n"
        "If you know where this checkpoint came from, pass --trust-checkpoint."
    )


def read_verified(root: Path, names: list[str], trust: bool = False) -> dict[str, bytes]:
    """The bytes of ``names`` (top-level files of a checkpoint), checked and read once.

    Refuses links and special files always; unless ``trust``, also a missing or bad
    signature (when a key is set), any file that differs from the manifest, and any of
    ``names`` whose bytes as read differ from the manifest's hash.

    Returns:
        ``{name: bytes}`` as read, after the checks.

    """
    return _checked(root, names, trust)[1]


def verify(root: Path, trust: bool = False) -> dict[str, Any]:
    """Checks a whole checkpoint (see ``read_verified``); returns its manifest."""
    return _checked(root, [], trust)[0]


def _checked(root: Path, names: list[str], trust: bool) -> tuple[dict[str, Any], dict]:
    checkpoint_files(root)  # links and special files: never
    dir_fd = os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | os.O_NOFOLLOW)
    try:
        manifest_bytes = _read_at(dir_fd, MANIFEST, root)
        manifest = parse_manifest(manifest_bytes, root)
        if not trust:
            check_signature(root, manifest_bytes, _read_signature(dir_fd, root))
            problems = mismatches(root, manifest.get("files", {}))
            if problems:
                _refuse(root, problems)
        read = {name: _read_at(dir_fd, name, root) for name in names}
    finally:
        os.close(dir_fd)
    expected = manifest.get("files", {})
    changed = [
        f"{name}: SHA-256 differs from the manifest (changed while it was read)"
        for name, data in read.items()
        if hashlib.sha256(data).hexdigest() != expected.get(name)
    ]
    if changed and not trust:
        _refuse(root, changed)
    return manifest, read


def _copy_tree(source: Path, target: Path) -> None:
    for name in checkpoint_files(source):  # refuses links and special files
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(source / name, _NOFOLLOW)
        with os.fdopen(fd, "rb") as src, open(target / name, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)


@contextmanager
def private_copy(checkpoint: Path, trust: bool = False) -> Iterator[tuple[Path, dict[str, Any]]]:
    """A verified copy of ``checkpoint`` in a new 0700 directory, and the copy's manifest.

    For loaders that read a checkpoint by path (RLlib's ``restore_from_path``): the copy is
    checked after it is written, so no change to the original after the check reaches the
    loader. The copy is removed on exit.
    """
    with tempfile.TemporaryDirectory(prefix="marl-restore-") as tmp:
        copy = Path(tmp) / checkpoint.name
        copy.mkdir()
        _copy_tree(checkpoint, copy)
        yield copy, verify(copy, trust)
