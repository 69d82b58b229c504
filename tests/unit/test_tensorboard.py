"""TensorBoard event files: the progress row and learner metrics as scalars (no Ray)."""

from __future__ import annotations

import struct

from tensorboardX.proto import event_pb2

from rl_apps.tensorboard import TENSORBOARD_DIR, TensorBoardWriter


def _scalars(run_dir) -> dict[str, list[tuple[int, float]]]:

    found: dict[str, list[tuple[int, float]]] = {}
    for path in (run_dir / TENSORBOARD_DIR).iterdir():
        data = path.read_bytes()
        offset = 0
        while offset < len(data):
            (length,) = struct.unpack("Q", data[offset : offset + 8])
            event = event_pb2.Event.FromString(data[offset + 12 : offset + 12 + length])
            offset += 12 + length + 4
            for value in event.summary.value:
                found.setdefault(value.tag, []).append((event.step, value.simple_value))
    return found


def test_progress_and_learner_metrics_become_scalars_at_env_steps(tmp_path):
    writer = TensorBoardWriter(tmp_path)
    row = {"iteration": 1, "env_steps": 400, "team_return_mean": -3.5, "return_agent": None}
    writer.write(
        row, {"learners/agent/vf_loss": 0.25, "timers/x": 9.0, "learners/a/nan": float("nan")}
    )
    writer.write({**row, "env_steps": 800, "team_return_mean": -2.0}, {})
    writer.close()
    found = _scalars(tmp_path)
    assert found["progress/team_return_mean"] == [(400, -3.5), (800, -2.0)]
    assert found["learners/agent/vf_loss"] == [(400, 0.25)]
    assert "timers/x" not in found and "learners/a/nan" not in found
    assert "progress/return_agent" not in found


def test_disabled_writes_nothing(tmp_path):
    writer = TensorBoardWriter(tmp_path, enabled=False)
    writer.write({"env_steps": 1, "team_return_mean": 1.0}, {})
    writer.close()
    assert not (tmp_path / TENSORBOARD_DIR).exists()
