"""TensorBoard event files in the run directory (``tensorboard --logdir runs/``), offline.

On by default (``reporting: {tensorboard: false}`` turns it off): every iteration's progress
columns (team and per-agent returns, env steps/s, ...) and every learner metric
(``learners/<module>/...``) are written as scalars against lifetime env steps, into
``RUN_DIR/tensorboard/``. Written with tensorboardX, which needs no TensorFlow.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

#: The run directory's subfolder of event files.
TENSORBOARD_DIR = "tensorboard"


class TensorBoardWriter:
    """Scalars of one run; a no-op when disabled."""

    def __init__(self, run_dir: Path, enabled: bool = True) -> None:
        self._writer = None
        if enabled:
            from tensorboardX import SummaryWriter

            self._writer = SummaryWriter(str(run_dir / TENSORBOARD_DIR))

    def write(self, row: dict[str, Any], scalars: dict[str, Any]) -> None:
        """The progress row and the learner metrics of one iteration, at its env steps."""
        if self._writer is None:
            return
        step = int(row.get("env_steps") or 0)
        values = {f"progress/{k}": v for k, v in row.items() if k != "env_steps"}
        values.update({k: v for k, v in scalars.items() if k.startswith("learners/")})
        for tag, value in values.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                if math.isfinite(value):
                    self._writer.add_scalar(tag, float(value), step)
        self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
