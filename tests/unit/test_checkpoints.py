"""Crash-safe checkpoints: a failed save never looks complete and never replaces a good one."""

from __future__ import annotations

import json

import pytest

from rl_apps import checkpoints as ckpt
from rl_apps.errors import CheckpointError


def writer(payload: str = "weights"):
    def write(path):
        path.mkdir(parents=True)
        (path / "state.pkl").write_text(payload)
        (path / "sub").mkdir()
        (path / "sub" / "module.pt").write_text(payload * 2)

    return write


def save(run_dir, iteration, keep=3, write=None):
    counters = ckpt.Counters(iteration, iteration * 100, float(iteration))
    return ckpt.save_checkpoint(run_dir, counters, write or writer(), "name: t\n", keep)


def test_save_writes_manifest_with_hashes_and_counters(tmp_path):
    path = save(tmp_path, 5)
    assert path.name == "checkpoint_000005"
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["iteration"] == 5 and manifest["env_steps"] == 500
    assert set(manifest["files"]) == {"state.pkl", "sub/module.pt", "spec.yaml"}
    assert manifest["files"]["state.pkl"] == ckpt.sha256_of(path / "state.pkl")
    assert ckpt.read_counters(path) == ckpt.Counters(5, 500, 5.0)


def test_crash_during_save_keeps_previous_checkpoint(tmp_path):
    good = save(tmp_path, 1)

    def crashing(path):
        path.mkdir(parents=True)
        (path / "state.pkl").write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        save(tmp_path, 2, write=crashing)
    assert ckpt.latest_checkpoint(tmp_path) == good
    assert ckpt.complete_checkpoints(tmp_path) == [good]
    assert not (tmp_path / "checkpoints" / "checkpoint_000002").exists()
    save(tmp_path, 3)  # the next save cleans up the partial directory
    assert not list((tmp_path / "checkpoints").glob(".partial-*"))


def test_directory_without_manifest_is_not_a_checkpoint(tmp_path):
    save(tmp_path, 1)
    fake = tmp_path / "checkpoints" / "checkpoint_000009"
    fake.mkdir()
    assert ckpt.latest_checkpoint(tmp_path).name == "checkpoint_000001"


def test_keep_bounds_checkpoints(tmp_path):
    for iteration in range(1, 6):
        save(tmp_path, iteration, keep=2)
    names = [p.name for p in ckpt.complete_checkpoints(tmp_path)]
    assert names == ["checkpoint_000004", "checkpoint_000005"]


def test_saving_same_iteration_twice_is_a_no_op(tmp_path):
    first = save(tmp_path, 4)
    stamp = (first / "manifest.json").stat().st_mtime_ns
    assert save(tmp_path, 4) == first
    assert (first / "manifest.json").stat().st_mtime_ns == stamp


def test_untouched_checkpoint_verifies(tmp_path):
    ckpt.verify_checkpoint(save(tmp_path, 1))  # no exception


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        (lambda p: (p / "sub" / "module.pt").write_text("evil"), "sub/module.pt: SHA-256 differs"),
        (lambda p: (p / "state.pkl").unlink(), "state.pkl: missing"),
        (lambda p: (p / "extra.pkl").write_text("x"), "extra.pkl: not in the manifest"),
    ],
)
def test_tampered_checkpoint_is_refused_naming_the_file(tmp_path, tamper, expected):
    path = save(tmp_path, 1)
    tamper(path)
    with pytest.raises(CheckpointError, match=expected) as err:
        ckpt.verify_checkpoint(path)
    assert "--trust-checkpoint" in str(err.value)
    assert err.value.exit_code == 2
    ckpt.verify_checkpoint(path, trust=True)  # the user's explicit override


def test_checkpoint_without_manifest_is_refused(tmp_path):
    (tmp_path / "c").mkdir()
    with pytest.raises(CheckpointError, match="no manifest.json"):
        ckpt.verify_checkpoint(tmp_path / "c")


def test_a_run_directory_resolves_to_its_latest_complete_checkpoint(tmp_path, capsys):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    with pytest.raises(CheckpointError, match="no complete checkpoint"):
        ckpt.resolve_checkpoint(run)
    for n in (3, 12):
        (run / "checkpoints" / f"checkpoint_{n:06d}").mkdir()
        (run / "checkpoints" / f"checkpoint_{n:06d}" / ckpt.MANIFEST).write_text("{}")
    (run / "checkpoints" / "checkpoint_000020").mkdir()  # incomplete: no manifest
    latest = run / "checkpoints" / "checkpoint_000012"
    assert ckpt.resolve_checkpoint(run) == latest
    assert "latest checkpoint" in capsys.readouterr().err
    assert ckpt.resolve_checkpoint(latest) == latest
