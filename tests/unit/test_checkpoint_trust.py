"""Checkpoints a forger prepared: links, swaps after the check, signatures, killed pruning."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from rl_apps import checkpoint_trust as trust
from rl_apps import checkpoints as ckpt
from rl_apps.errors import CheckpointError

from .test_checkpoints import save


@pytest.fixture(autouse=True)
def no_key(monkeypatch):
    """Each test decides whether a signing key is set."""
    monkeypatch.delenv(trust.KEY_ENV, raising=False)


def test_a_file_replaced_by_a_link_to_an_identical_file_is_refused(tmp_path):
    path = save(tmp_path / "run", 1)
    outside = tmp_path / "outside.pkl"
    shutil.copy(path / "state.pkl", outside)
    (path / "state.pkl").unlink()
    (path / "state.pkl").symlink_to(outside)  # same bytes: the hashes still match
    for trusted in (False, True):
        with pytest.raises(CheckpointError, match="state.pkl is a symbolic link"):
            ckpt.verify_checkpoint(path, trust=trusted)


def test_a_directory_replaced_by_a_link_is_refused(tmp_path):
    path = save(tmp_path / "run", 1)
    shutil.copytree(path / "sub", tmp_path / "sub_copy")
    shutil.rmtree(path / "sub")
    (path / "sub").symlink_to(tmp_path / "sub_copy", target_is_directory=True)
    with pytest.raises(CheckpointError, match="sub is a symbolic link"):
        ckpt.verify_checkpoint(path)


def test_a_fifo_is_refused(tmp_path):
    path = save(tmp_path / "run", 1)
    os.mkfifo(path / "pipe")
    with pytest.raises(CheckpointError, match="pipe is not a regular file"):
        ckpt.verify_checkpoint(path)


def test_read_verified_returns_the_bytes_it_hashed(tmp_path, monkeypatch):
    path = save(tmp_path / "run", 1)
    assert trust.read_verified(path, ["state.pkl"]) == {"state.pkl": b"weights"}
    checked = trust.mismatches

    def swap_after_check(root, expected):
        problems = checked(root, expected)
        (root / "state.pkl").write_text("evil")  # after the hash check, before the read
        return problems

    monkeypatch.setattr(trust, "mismatches", swap_after_check)
    with pytest.raises(CheckpointError, match="changed while it was read"):
        trust.read_verified(path, ["state.pkl"])


def test_a_link_swapped_in_after_the_check_is_not_followed(tmp_path, monkeypatch):
    path = save(tmp_path / "run", 1)
    (tmp_path / "evil.pkl").write_text("weights")  # identical bytes, outside
    checked = trust.mismatches

    def link_after_check(root, expected):
        problems = checked(root, expected)
        (root / "state.pkl").unlink()
        (root / "state.pkl").symlink_to(tmp_path / "evil.pkl")
        return problems

    monkeypatch.setattr(trust, "mismatches", link_after_check)
    with pytest.raises(CheckpointError, match="cannot open state.pkl"):
        trust.read_verified(path, ["state.pkl"])


def test_private_copy_is_verified_and_isolated_from_the_original(tmp_path, monkeypatch):
    path = save(tmp_path / "run", 2)
    with trust.private_copy(path) as (copy, manifest):
        assert manifest["iteration"] == 2 and copy != path
        assert oct(copy.parent.stat().st_mode & 0o777) == "0o700"
        (path / "state.pkl").write_text("evil")  # too late: the loader reads the copy
        assert (copy / "state.pkl").read_text() == "weights"
    assert not copy.exists()
    (path / "state.pkl").write_text("weights")
    real_copy = shutil.copyfileobj

    def tampering_copy(src, dst, length=0):
        real_copy(src, dst, length)
        if dst.name.endswith("state.pkl"):
            dst.write(b"evil")  # a file changed while it was copied

    monkeypatch.setattr(shutil, "copyfileobj", tampering_copy)
    with pytest.raises(CheckpointError, match="SHA-256 differs"):
        with trust.private_copy(path):
            pass


def test_signed_checkpoint_loads_with_its_key_only(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(trust.KEY_ENV, "right key")
    path = save(tmp_path / "run", 1)
    assert (path / trust.SIGNATURE).is_file()
    ckpt.verify_checkpoint(path)  # the right key
    monkeypatch.setenv(trust.KEY_ENV, "wrong key")
    with pytest.raises(CheckpointError, match="signature in manifest.sig does not match"):
        ckpt.verify_checkpoint(path)
    monkeypatch.delenv(trust.KEY_ENV)
    ckpt.verify_checkpoint(path)  # no key: the signature cannot be checked, and says so
    assert "is signed but MARL_CHECKPOINT_KEY is not set" in capsys.readouterr().err


def test_with_a_key_an_unsigned_checkpoint_is_refused(tmp_path, monkeypatch):
    path = save(tmp_path / "run", 1)
    monkeypatch.setenv(trust.KEY_ENV, "k")
    with pytest.raises(CheckpointError, match="not signed"):
        ckpt.verify_checkpoint(path)


def test_the_signature_covers_the_counters(tmp_path, monkeypatch):
    monkeypatch.setenv(trust.KEY_ENV, "k")
    path = save(tmp_path / "run", 1)
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["iteration"] = 999  # hashes untouched: only the counters change
    (path / "manifest.json").write_text(json.dumps(manifest, indent=1))
    with pytest.raises(CheckpointError, match="does not match"):
        ckpt.verify_checkpoint(path)


def test_an_empty_key_is_an_error_not_silently_unsigned(tmp_path, monkeypatch):
    monkeypatch.setenv(trust.KEY_ENV, "")
    with pytest.raises(CheckpointError, match="set but empty"):
        save(tmp_path / "run", 1)


def test_a_kill_during_pruning_leaves_no_half_deleted_checkpoint(tmp_path, monkeypatch):
    run = tmp_path / "run"
    for iteration in (1, 2):
        save(run, iteration, keep=2)

    def killed_rmtree(path, ignore_errors=False):
        next(p for p in sorted(path.rglob("*")) if p.name == "state.pkl").unlink()
        raise KeyboardInterrupt  # the process dies half-way through the deletion

    monkeypatch.setattr(ckpt.shutil, "rmtree", killed_rmtree)
    with pytest.raises(KeyboardInterrupt):
        save(run, 3, keep=2)
    monkeypatch.undo()
    for found in ckpt.complete_checkpoints(run):
        ckpt.verify_checkpoint(found)  # every checkpoint that looks complete is complete
    (run / "checkpoints" / "checkpoint_000007").mkdir()  # an older version's leftover
    removed = ckpt.remove_leftovers(run)  # what the next start does
    assert sorted(p.name for p in removed) == [".deleting-checkpoint_000001", "checkpoint_000007"]
    names = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert names == ["checkpoint_000002", "checkpoint_000003"]
