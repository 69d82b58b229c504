"""The per-iteration console line: budget done and ETA, returns, the main losses, epsilon.

Pure parts (no Ray, no terminal):

- ``budgets``: for each budget criterion of ``stop`` (iterations, env steps, wall time) how
  much is done and when it will be reached at this session's rate; ``binding`` picks the one
  reached first, which ends the run (``stop.team_return`` is a target, not a budget: no ETA);
- ``learner_summary``: the mean policy (actor) loss, critic (value, Q) loss and epsilon over
  the modules of an RLlib result, found by metric-name patterns (``LOSS_NAMES``), never by
  asking which algorithm runs; a quantity no module logs is left out;
- ``format_progress``: the line itself.

``ProgressConsole`` prints the lines: plain lines when stdout is not a terminal (logs stay
readable), one line updated in place, with a bar, when it is.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TextIO

#: Console name -> the learner metric names (the last part of ``learners/<module>/<name>``).
LOSS_NAMES: dict[str, tuple[str, ...]] = {
    "policy loss": ("policy_loss", "actor_loss", "pi_loss"),
    "critic loss": ("vf_loss", "critic_loss", "qf_loss", "value_loss", "q_loss", "td_loss"),
    "epsilon": ("epsilon", "cur_epsilon"),
}
#: RLlib's aggregate entry in ``learners`` (not a module).
ALL_MODULES = "__all_modules__"
BAR_WIDTH = 20


@dataclass(frozen=True)
class Budget:
    """One budget criterion of ``stop``: how much is done and when it will be reached."""

    name: str
    done: float
    total: float
    eta_s: float | None  # None: no rate measured yet

    @property
    def fraction(self) -> float:
        """The part done, in [0, 1]."""
        return min(max(self.done / self.total, 0.0), 1.0) if self.total > 0 else 1.0

    def text(self) -> str:
        """``48% of 100,000 env steps, ETA 2m10s``."""
        total = f"{self.total:,.0f}" if self.name != "s" else format_duration(self.total)
        unit = "" if self.name == "s" else f" {self.name}"
        eta = format_duration(self.eta_s) if self.eta_s is not None else "n/a"
        return f"{self.fraction:4.0%} of {total}{unit}, ETA {eta}"


#: stop key -> (budget name, progress row key).
_BUDGET_KEYS = {
    "training_iteration": ("iterations", "iteration"),
    "num_env_steps_sampled_lifetime": ("env steps", "env_steps"),
    "time_total_s": ("s", "elapsed_s"),
}


def budgets(
    stop: Mapping[str, float], row: Mapping[str, Any], start: Mapping[str, float]
) -> list[Budget]:
    """The budget criteria of ``stop`` at ``row``; rates measured since ``start``.

    Args:
        stop: The spec's stop criteria (``StopSpec.model_dump(exclude_none=True)``).
        row: This iteration's progress row (``iteration``, ``env_steps``, ``elapsed_s``).
        start: The same keys when this session started (a resume starts from the
            checkpoint's counters, so its rate is this session's).

    """
    found = []
    spent = float(row["elapsed_s"]) - float(start.get("elapsed_s", 0.0))
    for key, (name, column) in _BUDGET_KEYS.items():
        if key not in stop:
            continue
        done, total = float(row[column]), float(stop[key])
        gained = done - float(start.get(column, 0.0))
        if column == "elapsed_s":
            eta: float | None = max(total - done, 0.0)
        elif gained > 0 and spent > 0:
            eta = max(total - done, 0.0) * spent / gained
        else:
            eta = None
        found.append(Budget(name, done, total, eta))
    return found


def binding(found: list[Budget]) -> Budget | None:
    """The budget reached first (the one that will stop the run); None without any."""
    if not found:
        return None
    timed = [b for b in found if b.eta_s is not None]
    if timed:
        return min(timed, key=lambda b: b.eta_s)
    return max(found, key=lambda b: b.fraction)


def format_duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``2h07m``, ``3d04h``."""
    seconds = max(int(round(seconds)), 0)
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def learner_summary(result: Mapping[str, Any]) -> dict[str, float]:
    """The mean of each ``LOSS_NAMES`` quantity over the modules that log it."""
    learners = result.get("learners") or {}
    values: dict[str, list[float]] = {}
    for module, metrics in learners.items():
        if module == ALL_MODULES or not isinstance(metrics, Mapping):
            continue
        for label, names in LOSS_NAMES.items():
            found = next((_finite(metrics.get(n)) for n in names if n in metrics), None)
            if found is not None:
                values.setdefault(label, []).append(found)
    return {label: sum(v) / len(v) for label, v in values.items()}


def _number(value: float | None) -> str:
    return f"{value:9.2f}" if value is not None else "      n/a"


def _returns_text(row: Mapping[str, Any]) -> str:
    side_keys = [k for k in row if k.startswith("team_return_") and k != "team_return_mean"]
    if not side_keys:
        return f"team return {_number(row['team_return_mean'])}"
    parts = (f"{k[len('team_return_') :]} {_number(row[k]).strip()}" for k in side_keys)
    return "returns " + " ".join(parts)


def _learner_text(summary: Mapping[str, float]) -> str:
    return "  ".join(f"{label} {value:.3g}" for label, value in summary.items())


def format_progress(
    row: Mapping[str, Any],
    budget: Budget | None = None,
    learner: Mapping[str, float] | None = None,
    bar: bool = False,
) -> str:
    """One progress line (each side's return in competitive games; budget and losses)."""
    rate = row["steps_per_s"] or 0.0
    parts = [f"iter {row['iteration']:4d}", f"env steps {row['env_steps']:>10,}"]
    if budget is not None:
        shown = budget.text()
        if bar:
            filled = int(round(budget.fraction * BAR_WIDTH))
            shown = f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {shown}"
        parts.append(shown)
    parts.append(_returns_text(row))
    if learner:
        parts.append(_learner_text(learner))
    parts.append(f"{rate:7,.0f} steps/s")
    parts.append(f"elapsed {format_duration(row['elapsed_s']):>6}")
    return " | ".join(parts)


class ProgressConsole:
    """Prints progress lines and messages; in a terminal the progress line updates in place.

    Args:
        echo: Where messages (and, outside a terminal, progress lines) go.
        stream: The terminal written to in place (only when ``interactive``).
        interactive: Whether to update one line in place; default: ``echo`` is ``print``
            and stdout is a terminal.

    """

    def __init__(
        self,
        echo: Callable[[str], None] = print,
        stream: TextIO | None = None,
        interactive: bool | None = None,
    ) -> None:
        self._echo = echo
        self._stream = stream or sys.stdout
        if interactive is None:
            interactive = echo is print and self._stream.isatty()
        self.interactive = interactive
        self._open = False  # a progress line is on screen without its newline

    def progress(self, line: str) -> None:
        """Shows one iteration's line (replacing the last one in a terminal)."""
        if not self.interactive:
            self._echo(line)
            return
        self._stream.write("\r\x1b[2K" + line)
        self._stream.flush()
        self._open = True

    def echo(self, message: str) -> None:
        """Prints a message on its own line (after the progress line, which stays)."""
        self.close()
        self._echo(message)

    def close(self) -> None:
        """Ends an open progress line with its newline."""
        if self._open:
            self._stream.write("\n")
            self._stream.flush()
            self._open = False
