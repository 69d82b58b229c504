"""``marl bench COMMAND``: the argument parsers and command functions of the bench commands.

``run`` (the suite), ``envs``, ``table``, ``profile``, ``scaling``, ``learner-cost`` and
``throughput``, each with only its own options. Bad arguments (missing benchmark names,
``--steps`` below 100, ``--seconds`` below 5) are argparse usage errors: exit 2 with the usage
line, before any benchmark code is imported. The measuring modules are imported by the
command that runs them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

RESULTS_DIR = Path("benchmarks/results")
RUNS_DIR = Path("benchmarks/runs")


def at_least(minimum: int) -> Callable[[str], int]:
    """An argparse ``type``: an int of at least ``minimum``, otherwise a usage error."""

    def parse(text: str) -> int:
        value = int(text)  # a ValueError reads "invalid int value: 'TEXT'"
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum} (got {value})")
        return value

    parse.__name__ = "int"
    return parse


def _add_out(p: argparse.ArgumentParser, what: str = "output directory") -> None:
    p.add_argument("--out", type=Path, default=RESULTS_DIR, help=f"{what} (default {RESULTS_DIR})")


def _add_names(p: argparse.ArgumentParser, nargs: str, what: str) -> None:
    p.add_argument("names", nargs=nargs, metavar="NAME", help=what)


def _add_steps(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--steps", type=at_least(100), default=20_000, help=what)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Adds ``bench`` and its commands to the ``marl`` subcommands."""
    bench = sub.add_parser(
        "bench",
        help="run benchmarks and measurements; write benchmarks/results/",
        description="Benchmarks (experiments/benchmarks/NAME.yaml) and measurements of "
        "their parts. Every command has --help.",
    )
    commands = bench.add_subparsers(required=True)

    p = commands.add_parser(
        "run",
        help="train and evaluate benchmarks, every seed",
        description="Run the benchmark suite: train every seed of each benchmark "
        "(experiments/benchmarks/NAME.yaml), evaluate its final checkpoint and write "
        "NAME.json and NAME.png.",
    )
    _add_names(p, "*", "benchmarks to run (or --all)")
    p.add_argument(
        "--all", action="store_true", help="run the whole suite (hours of compute on 2 cores)"
    )
    _add_out(p)
    p.add_argument(
        "--runs-dir",
        type=Path,
        default=RUNS_DIR,
        help=f"run directories of the training runs (default {RUNS_DIR})",
    )
    p.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        metavar="SEED",
        help="train only these of each benchmark's seeds (results are written once every "
        "seed has one: collect them with --reuse)",
    )
    p.add_argument(
        "--reuse",
        action="store_true",
        help="evaluate a seed's finished run in --runs-dir (same spec, stop criterion "
        "reached) instead of training it again, or else take its record in OUT/seeds "
        "(same spec)",
    )
    p.set_defaults(bench=cmd_run)

    p = commands.add_parser(
        "envs",
        help="measure the env adapter's overhead",
        description="Measure raw env steps/s against steps/s through our RLlib adapter; "
        "writes env_overhead.json and env_overhead.md.",
    )
    p.add_argument(
        "--env",
        dest="env_names",
        action="append",
        metavar="NAME",
        help="only this env (repeatable; default: every fast env)",
    )
    _add_steps(p, "env steps per measurement, at least 100 (default 20000)")
    _add_out(p)
    p.set_defaults(bench=cmd_envs)

    p = commands.add_parser(
        "table",
        help="regenerate README.md's benchmark table from the results",
        description="Regenerate the benchmark table in ./README.md from the results "
        "directory's NAME.json files; runs nothing.",
    )
    _add_out(p, "results directory to read")
    p.set_defaults(bench=cmd_table)

    p = commands.add_parser(
        "profile",
        help="profile benchmarks' training with py-spy",
        description="Train each named benchmark and, after a few iterations, sample the "
        "driver and one env runner with py-spy; writes profile_NAME.json and .md "
        '(needs py-spy: pip install -e ".[profile]").',
    )
    _add_names(p, "+", "benchmarks to profile")
    p.add_argument(
        "--seconds",
        type=at_least(5),
        default=60,
        help="seconds to sample, at least 5 (default 60)",
    )
    _add_out(p)
    p.set_defaults(bench=cmd_profile)

    p = commands.add_parser(
        "scaling",
        help="measure sampling env steps/s with 1, 2 and 4 env runners",
        description="Start a local 4-node Ray cluster and measure sampling env steps/s "
        "with 1, 2 and 4 env runners; writes scaling.json and scaling.md.",
    )
    _add_steps(p, "env steps per env runner, at least 100 (default 20000)")
    _add_out(p)
    p.set_defaults(bench=cmd_scaling)

    p = commands.add_parser(
        "learner-cost",
        help="measure the learner update time of benchmarks",
        description="Time one learner update (all epochs) of each named benchmark on a "
        "fixed batch, sampling excluded; writes learner_cost.json and learner_cost.md.",
    )
    _add_names(p, "+", "benchmarks to measure")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="override a spec path of every named benchmark (repeatable)",
    )
    _add_out(p)
    p.set_defaults(bench=cmd_learner_cost)

    p = commands.add_parser(
        "throughput",
        help="env steps/s of a spec's parts as ratios to the raw env",
        description="For each spec (a file or a benchmark name): the raw env on one core, "
        "sampling alone, the learner alone (on-policy specs), whole iterations with RLlib's "
        "env runner bookkeeping (lean: false) and with ours, sampling while learning, and "
        "stock RLlib PPO with the same sizes (policy-gradient specs); writes "
        "throughput.json and throughput.md.",
    )
    _add_names(p, "+", "spec files or benchmark names")
    p.add_argument(
        "--seconds",
        type=at_least(5),
        default=30,
        help="seconds of each timed phase, at least 5 (default 30)",
    )
    _add_steps(p, "raw env steps timed, at least 100 (default 20000)")
    _add_out(p)
    p.set_defaults(bench=cmd_throughput)


def cmd_bench(args: argparse.Namespace) -> int:
    """Runs the bench command that parsed ``args``."""
    return args.bench(args)


def cmd_run(args: argparse.Namespace) -> int:
    from rl_apps.bench.suite import BenchmarkInterrupted, bench_spec, find_benchmarks
    from rl_apps.errors import SpecError
    from rl_apps.signals import exit_code

    paths = find_benchmarks(args.names)
    if not args.names and not args.all:
        raise SpecError(
            "marl bench run",
            [("", f"name the benchmarks to run, or pass --all for the whole suite ({len(paths)})")],
        )
    for path in paths:
        try:
            report = bench_spec(path, args.out, args.runs_dir, seeds=args.seeds, reuse=args.reuse)
        except BenchmarkInterrupted as stopped:
            print(f"marl bench run: {stopped}", file=sys.stderr)
            return exit_code(stopped.signal_name)
        if report is None:
            continue
        summary = report["summary"]
        print(
            f"{report['name']}: eval return {summary['eval_return_mean']:.3f} "
            f"+- {summary['eval_return_std']:.3f} over {len(report['seeds'])} seeds "
            f"(target {summary['target_team_return']}, met: {summary['target_met']}); "
            f"wrote {args.out / (report['name'] + '.json')}"
        )
    return 0


def cmd_envs(args: argparse.Namespace) -> int:
    from env_wrappers.registry import get_entry
    from rl_apps.bench.envs import bench_envs

    for name in args.env_names or []:
        get_entry(name)  # an unknown name is an EnvError: exit 2 with the valid names
    bench_envs(args.out, args.env_names, args.steps)
    print(f"wrote {args.out / 'env_overhead.json'} and {args.out / 'env_overhead.md'}")
    return 0


def cmd_table(args: argparse.Namespace) -> int:
    from rl_apps.bench.table import results_table, update_readme
    from rl_apps.errors import SpecError

    if not args.out.is_dir():
        raise SpecError("marl bench table", [("", f"no results folder {args.out} here")])
    table = results_table(args.out)
    update_readme(Path("README.md"), table)  # this project's README only; refused without it
    print(table)
    return 0


def cmd_profile(args: argparse.Namespace) -> int:
    from rl_apps.bench.profile import bench_profile

    bench_profile(args.out, args.names, args.seconds)
    return 0


def cmd_scaling(args: argparse.Namespace) -> int:
    from rl_apps.bench.scaling import bench_scaling

    bench_scaling(args.out, steps_per_runner=args.steps)
    print(f"wrote {args.out / 'scaling.json'} and {args.out / 'scaling.md'}")
    return 0


def cmd_learner_cost(args: argparse.Namespace) -> int:
    from rl_apps.bench.learner_cost import bench_learner_cost

    bench_learner_cost(args.out, args.names, args.overrides)
    return 0


def cmd_throughput(args: argparse.Namespace) -> int:
    from rl_apps.bench.suite import find_benchmarks
    from rl_apps.bench.throughput import bench_throughput

    files = [Path(n) for n in args.names if Path(n).is_file()]
    names = [n for n in args.names if not Path(n).is_file()]
    specs = files + (find_benchmarks(names) if names else [])
    bench_throughput(args.out, specs, float(args.seconds), args.steps)
    print(f"wrote {args.out / 'throughput.json'} and {args.out / 'throughput.md'}")
    return 0
