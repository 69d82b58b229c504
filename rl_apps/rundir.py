"""Run directories: a new directory per run, its metadata and its per-iteration metrics.

Layout::

    runs/<name>_<YYYYmmdd-HHMMSS>_<id>/
      spec.yaml           the resolved spec (after --set overrides and validation)
      rllib_config.json   RLlib's own dump of the AlgorithmConfig
      meta.json           git commit, command line (credentials masked), versions, host,
                          start time
      progress.csv        one row per iteration (the headline numbers)
      result.jsonl        one JSON object per iteration (every scalar metric)
      checkpoints/        see rl_apps.checkpoints
      learning_curve.png  written at the end
      summary.json        written at the end
"""

from __future__ import annotations

import csv
import json
import os
import platform
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

PROGRESS_CSV = "progress.csv"
RESULT_JSONL = "result.jsonl"
SPEC_FILE = "spec.yaml"
META_FILE = "meta.json"
DEFAULT_RUNS_DIR = Path(os.environ.get("MARL_RUNS_DIR", "runs"))


def new_run_dir(base: Path, name: str) -> Path:
    """Creates a fresh run directory (an absolute path); never reuses an existing one."""
    base = base.resolve()
    base.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for _ in range(100):
        path = base / f"{name}_{stamp}_{secrets.token_hex(2)}"
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise RuntimeError(f"could not create a new run directory under {base}")


def git_commit() -> dict[str, Any]:
    """The commit of the code that runs (and whether the work tree had changes)."""
    here = Path(__file__).resolve().parent

    def git(*args: str) -> str:
        out = subprocess.run(["git", *args], cwd=here, capture_output=True, text=True, timeout=10)
        return out.stdout.strip() if out.returncode == 0 else ""

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        commit, dirty = "", False
    return {"commit": commit or "unknown", "dirty": dirty}


def redacted_argv(argv: list[str]) -> list[str]:
    """The command line with every credential-like part masked (for meta.json)."""
    from rl_apps.spec.secrets import redact, secret_env_values

    known = secret_env_values()
    return [redact(arg, known) for arg in argv]


def write_metadata(run_dir: Path, spec: dict[str, Any], rllib_config: dict[str, Any]) -> None:
    """Writes the resolved spec, RLlib's config dump and meta.json."""
    import ray
    import torch

    (run_dir / SPEC_FILE).write_text(yaml.safe_dump(spec, sort_keys=False))
    (run_dir / "rllib_config.json").write_text(json.dumps(rllib_config, indent=1, default=repr))
    meta = {
        **git_commit(),
        "command": redacted_argv(sys.argv),
        "python": platform.python_version(),
        "ray": ray.__version__,
        "torch": torch.__version__,
        "host": platform.node(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    (run_dir / META_FILE).write_text(json.dumps(meta, indent=1))


class MetricsWriter:
    """Appends one row per iteration to progress.csv and result.jsonl."""

    def __init__(self, run_dir: Path, columns: list[str]) -> None:
        self.csv_path = run_dir / PROGRESS_CSV
        self.jsonl_path = run_dir / RESULT_JSONL
        self.columns = columns
        if self.csv_path.exists() and self.csv_path.stat().st_size:
            # A resumed run keeps its header (an older marl may have chosen other columns).
            with self.csv_path.open(newline="") as handle:
                self.columns = next(csv.reader(handle), columns)
        else:
            with self.csv_path.open("w", newline="") as handle:
                csv.writer(handle).writerow(columns)

    def append(self, row: dict[str, Any], full: dict[str, Any]) -> None:
        """Adds an iteration: ``row`` has the CSV columns, ``full`` every scalar metric."""
        with self.csv_path.open("a", newline="") as handle:
            csv.writer(handle).writerow([_fmt(row.get(c)) for c in self.columns])
        with self.jsonl_path.open("a") as handle:
            handle.write(json.dumps(full, default=float) + "\n")


def _fmt(value: Any) -> Any:
    return "" if value is None else value


def truncate_metrics(run_dir: Path, last_iteration: int) -> int:
    """Drops rows after ``last_iteration`` (a resume repeats them); returns how many.

    The dropped rows are kept in ``*.discarded`` files, never deleted.
    """
    dropped = 0
    for name, key in ((PROGRESS_CSV, None), (RESULT_JSONL, "training_iteration")):
        path = run_dir / name
        if not path.exists():
            continue
        lines = path.read_text().splitlines(keepends=True)
        keep, drop = _split_rows(lines, last_iteration, is_csv=key is None)
        if drop:
            with (run_dir / f"{name}.discarded").open("a") as handle:
                handle.writelines(drop)
            tmp = path.with_suffix(path.suffix + ".tmp")
            tmp.write_text("".join(keep))
            os.replace(tmp, path)
            dropped = max(dropped, len(drop))
    return dropped


def _split_rows(lines: list[str], last: int, *, is_csv: bool) -> tuple[list[str], list[str]]:
    keep, drop = [], []
    for index, line in enumerate(lines):
        if is_csv and index == 0:
            keep.append(line)
            continue
        iteration = int(line.split(",", 1)[0]) if is_csv else json.loads(line)["training_iteration"]
        (keep if iteration <= last else drop).append(line)
    return keep, drop


def read_progress(run_dir: Path) -> list[dict[str, str]]:
    """The rows of progress.csv."""
    path = run_dir / PROGRESS_CSV
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))
