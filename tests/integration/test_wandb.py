"""`marl train` with a `wandb:` section, offline (no network): what lands in the run directory.

The offline run file (``run-*.wandb``) is read with a small reader of its format (LevelDB log
records holding wandb protobuf ``Record`` messages); wandb 0.31 ships no Python reader.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

from ..conftest import ENV_SENTINEL, QUICKSTART, SECRET_SENTINELS, TINY
from .helpers import expect, run_marl

FAKE_KEY = "89abcdef0123456789abcdef0123456789abcdef"  # the shape of a wandb API key
BLOCK, HEADER = 32768, 7  # LevelDB log: 32 KiB blocks, 7-byte record headers
FULL, LAST = 1, 4


def wandb_records(path: Path) -> list:
    """The protobuf records of an offline run file."""
    from wandb.proto import wandb_internal_pb2 as pb

    data = path.read_bytes()
    assert data[:4] == b":W&B"
    pos, chunks, records = HEADER, b"", []
    while pos + HEADER <= len(data):
        if BLOCK - pos % BLOCK < HEADER:  # a block's tail too short for a header is padding
            pos += BLOCK - pos % BLOCK
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + HEADER])
        chunks += data[pos + HEADER : pos + HEADER + length]
        pos += HEADER + length
        if kind in (FULL, LAST):
            record = pb.Record()
            record.ParseFromString(chunks)
            records.append(record)
            chunks = b""
    return records


def train(tmp_path: Path, *overrides: str):
    sample_in_the_driver = "env_runners.num_env_runners=0"  # no actor to start: wandb is tested
    args = [a for o in [*TINY, sample_in_the_driver, *overrides] for a in ("--set", o)]
    runs = tmp_path / "runs"
    proc = expect(
        run_marl("train", str(QUICKSTART), *args, "--runs-dir", str(runs), cwd=tmp_path), 0
    )
    (run_dir,) = list(runs.iterdir())
    (offline,) = sorted(run_dir.glob("wandb/offline-run-*"))
    return proc, run_dir, offline


def history(records: list) -> dict[int, dict]:
    """Logged values by step; keys of nested values (an image's fields) joined with '/'."""
    rows: dict[int, dict] = {}
    for record in records:
        if record.WhichOneof("record_type") == "history":
            step = record.history.step.num
            items = {i.key or "/".join(i.nested_key): i.value_json for i in record.history.item}
            rows.setdefault(step, {}).update(items)
    return rows


def test_online_without_key_logs_offline_into_the_run_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    proc, run_dir, offline = train(tmp_path, "wandb.project=test", "wandb.mode=online")
    assert "wandb: warning: mode online needs WANDB_API_KEY" in proc.stdout
    assert f"wandb sync {offline}" in proc.stdout
    assert "Tracking run" not in proc.stdout + proc.stderr  # wandb's own banner stays quiet
    assert "Problem finishing run" not in proc.stdout + proc.stderr  # a normal finish is quiet
    (run_file,) = offline.glob("run-*.wandb")
    records = wandb_records(run_file)
    run = next(r.run for r in records if r.WhichOneof("record_type") == "run")
    config = {i.key: json.loads(i.value_json) for i in run.config.update}
    assert config["name"] == "quickstart_ippo_simple_spread" and config["wandb"]["mode"] == "online"
    assert run.project == "test" and run.display_name == run_dir.name
    rows = history(records)
    assert [json.loads(rows[s]["iteration"]) for s in (1, 2)] == [1, 2]
    for key in (
        "env_steps",
        "team_return_mean",
        "return_agent_0",
        "env_runners/num_env_steps_sampled",
    ):
        assert key in rows[2], sorted(rows[2])
    assert json.loads(rows[2]["learning_curve/_type"]) == "image-file"
    assert list(offline.glob("files/media/images/learning_curve_*.png"))


#: Secret-named environment variables holding one sentinel of every detected format.
SECRET_ENVIRONMENT = {
    "WANDB_API_KEY": FAKE_KEY,
    "AWS_ACCESS_KEY_ID": SECRET_SENTINELS["aws-access-key-id"],
    "AWS_SECRET_ACCESS_KEY": SECRET_SENTINELS["aws-secret-key"],
    "GITHUB_TOKEN": SECRET_SENTINELS["github-classic"],
    "GH_FINE_GRAINED_TOKEN": SECRET_SENTINELS["github-fine-grained"],
    "OTHER_SERVICE_KEY": SECRET_SENTINELS["wandb-hex-in-text"],
    "MY_SERVICE_PASSWORD": ENV_SENTINEL,
}


def test_credentials_in_the_environment_reach_no_file(tmp_path, monkeypatch):
    for name, value in SECRET_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    proc, run_dir, _ = train(tmp_path, "wandb.mode=offline", "stop.training_iteration=1")
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    assert len(files) > 10
    for name, value in SECRET_ENVIRONMENT.items():
        assert value not in proc.stdout + proc.stderr, name
        assert [p for p in files if value.encode() in p.read_bytes()] == [], name
