"""``marl bench profile NAME...``: where a benchmark's training time goes, measured with py-spy.

Starts ``marl train`` on the benchmark spec in a subprocess, waits until it has finished a few
iterations, then samples two processes at once for ``seconds``: the driver, which holds the
local learner, and one env runner. The collapsed stacks are classified by
:mod:`rl_apps.bench.profile_stacks`; ``profile_<name>.json`` and ``profile_<name>.md`` report each
category's share of wall time, the iteration rate while profiling, and the machine's load
average (other work on the machine changes the split between sampling and waiting).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rl_apps.bench.profile_stacks import DRIVER_RULES, RUNNER_RULES, parse_collapsed, time_shares
from rl_apps.bench.suite import find_benchmarks
from rl_apps.errors import SpecError
from rl_apps.rundir import git_commit

ITERATION_LINE = re.compile(r"iter\s+(\d+) .*?([\d,]+) steps/s")


def _py_spy() -> str:
    found = shutil.which("py-spy")
    if not found:
        raise SpecError("--profile", [("", "needs py-spy: pip install py-spy")])
    return found


def _wait_for_iterations(log: Path, proc: subprocess.Popen, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"training exited with code {proc.returncode}; see {log}")
        if len(ITERATION_LINE.findall(log.read_text())) >= count:
            return
        time.sleep(1.0)
    raise RuntimeError(f"no {count} iterations within {timeout:.0f} s; see {log}")


def is_env_runner(cmdline: str) -> bool:
    """True for a Ray env runner actor's process (``ray::MarlEnvRunner.sample()`` and the like).

    Ray names an actor's process after its class: ours is ``MarlEnvRunner`` (or
    ``StockSamplingEnvRunner``), RLlib's ``MultiAgentEnvRunner``.
    """
    return cmdline.startswith("ray::") and "EnvRunner" in cmdline.split()[0]


def _env_runner_pid(driver_pid: int) -> int:
    import psutil

    for child in psutil.Process(driver_pid).children(recursive=True):
        if is_env_runner(" ".join(child.cmdline())):
            return child.pid
    raise RuntimeError("no env runner process found (profile specs with num_env_runners >= 1)")


def _record(py_spy: str, pid: int, seconds: int, out: Path) -> subprocess.Popen:
    cmd = [py_spy, "record", "--idle", "--threads", "--rate", "50", "--duration", str(seconds)]
    cmd += ["--format", "raw", "--output", str(out), "--pid", str(pid)]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _rates_between(log_text: str, first_iteration: int) -> list[int]:
    return [
        int(rate.replace(",", ""))
        for it, rate in ITERATION_LINE.findall(log_text)
        if int(it) > first_iteration
    ]


def profile_benchmark(spec: Path, seconds: int, warmup_iterations: int = 3) -> dict[str, Any]:
    """Profiles the training of benchmark spec ``spec`` for ``seconds``; returns the report."""
    name = spec.stem
    py_spy = _py_spy()
    with tempfile.TemporaryDirectory(prefix="marl-profile-") as tmp:
        log = Path(tmp) / "train.log"
        cmd = [sys.executable, "-m", "rl_apps.cli", "train", str(spec), "--runs-dir", tmp]
        cmd += ["--set", "stop.num_env_steps_sampled_lifetime=1000000000"]
        with log.open("w") as sink:
            proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT)
        try:
            _wait_for_iterations(log, proc, warmup_iterations, timeout=600)
            done = len(ITERATION_LINE.findall(log.read_text()))
            load = os.getloadavg()[0]
            print(f"profiling {name} for {seconds} s (driver and one env runner)", flush=True)
            pids = {"driver": proc.pid, "env_runner": _env_runner_pid(proc.pid)}
            outs = {role: Path(tmp) / f"{role}.txt" for role in pids}
            spies = {role: _record(py_spy, pid, seconds, outs[role]) for role, pid in pids.items()}
            for role, spy in spies.items():
                if spy.wait() != 0:
                    raise RuntimeError(f"py-spy failed on the {role}: {spy.stderr.read()}")
        finally:
            _stop(proc)
        rates = _rates_between(log.read_text(), done)
        stacks = {role: parse_collapsed(outs[role].read_text().splitlines()) for role in outs}
    return {
        "benchmark": name,
        **git_commit(),
        "seconds": seconds,
        "load_average_1min": round(load, 2),
        "cpus": os.cpu_count(),
        "env_steps_per_s_while_profiling": rates,
        "driver": time_shares(stacks["driver"], DRIVER_RULES),
        "env_runner": time_shares(stacks["env_runner"], RUNNER_RULES),
        "samples": {role: sum(count for _, count in rows) for role, rows in stacks.items()},
    }


def profile_markdown(report: dict[str, Any]) -> str:
    """The report as a markdown page."""
    rates = report["env_steps_per_s_while_profiling"]
    rate = f"{sum(rates) / len(rates):,.0f}" if rates else "n/a"
    lines = [
        f"# Where the time goes: {report['benchmark']}",
        "",
        f"`marl bench profile {report['benchmark']} --seconds {report['seconds']}` "
        f"(commit {report.get('commit', '?')}): py-spy on the driver (local learner) and one "
        f"env runner for {report['seconds']} s, idle time included. Whole-iteration rate "
        f"while profiling: {rate} env steps/s; 1-minute load average {report['load_average_1min']}"
        f" on {report['cpus']} CPUs.",
        "",
    ]
    for role, title in (("driver", "Driver (learner)"), ("env_runner", "One env runner")):
        lines += [f"| {title} | share of wall time |", "|---|---|"]
        lines += [f"| {label} | {share:.1%} |" for label, share in report[role].items()]
        lines.append("")
    return "\n".join(lines)


def bench_profile(out: Path, names: list[str], seconds: int) -> None:
    """Profiles every named benchmark and writes its JSON and markdown under ``out``."""
    specs = find_benchmarks(names)  # an unknown name fails here, before anything runs
    _py_spy()
    out.mkdir(parents=True, exist_ok=True)
    for spec in specs:
        name = spec.stem
        report = profile_benchmark(spec, seconds)
        (out / f"profile_{name}.json").write_text(json.dumps(report, indent=1))
        (out / f"profile_{name}.md").write_text(profile_markdown(report))
        print(profile_markdown(report), flush=True)
