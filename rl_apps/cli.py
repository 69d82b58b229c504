"""The ``marl`` command line: parse arguments, call one function, map errors to exit codes.

Exit codes: 0 success, 1 a run failed, 2 bad input (spec, file, resources), 130 interrupted.
"""

from __future__ import annotations

import argparse
import glob
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rl_apps.bench import cli as bench_cli
from rl_apps.errors import MarlError

if TYPE_CHECKING:
    from rl_apps.train import TrainOptions

EPILOG = "Docs: README.md. Every subcommand has --help."


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train one experiment (the quickstart when no SPEC is given)",
        description="Train one experiment. Without SPEC, runs the packaged quickstart "
        "(IPPO on MPE simple_spread, 300k env steps; README.md gives its measured duration).",
    )
    _add_run_options(p, "YAML experiment spec", "run directories")
    p.add_argument(
        "--resume",
        type=Path,
        metavar="RUN_DIR",
        help="continue a run from its latest complete checkpoint",
    )
    p.add_argument(
        "--seeds",
        metavar="S,S,...",
        help="one run per seed (e.g. 0,1,2), in parallel Ray tasks as the resources allow, "
        "each in its own run directory under one group folder for marl plot/report",
    )
    _add_trust(p)


def _add_run_options(p: argparse.ArgumentParser, spec_help: str, made: str) -> None:
    """SPEC, --set, --address and --runs-dir (train and tune)."""
    p.add_argument("spec", nargs="?", type=Path, help=spec_help)
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="override a dotted spec path, e.g. --set training.lr=1e-4 (repeatable)",
    )
    p.add_argument("--address", help="connect to this Ray cluster instead of starting one")
    p.add_argument(
        "--runs-dir",
        type=Path,
        default=None,
        help=f"where {made} go (default: ./runs or $MARL_RUNS_DIR)",
    )


def _add_tune(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "tune",
        help="run the spec's Tune search (tune section)",
        description="Run a Ray Tune search over the spec's tune.search_space (dotted spec "
        "paths, as --set). Prints a live trial table, then the best trial's config, metric "
        "and checkpoint; writes best.json in the search directory.",
    )
    _add_run_options(p, "YAML experiment spec with a tune section", "search directories")
    p.add_argument(
        "--resume", type=Path, metavar="SEARCH_DIR", help="continue an interrupted search"
    )


def _add_cluster(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "cluster",
        help="start or stop a local multi-node Ray cluster",
        description="Start a real multi-node Ray cluster on this machine (a head and worker "
        "nodes, each with its own raylet), print its address, and stop exactly the "
        "processes it started.",
    )
    p.add_argument("action", choices=["up", "down", "status"])
    p.add_argument("--nodes", type=int, default=3, help="nodes including the head (default 3)")
    p.add_argument("--cpus-per-node", type=float, default=1.0, help="CPUs each node offers")
    p.add_argument(
        "--gpus-on-last-node",
        type=float,
        default=0.0,
        help="GPUs the last worker advertises (fake ones work for placement tests)",
    )
    p.add_argument(
        "--resources-on-last-node",
        default=None,
        metavar="JSON",
        help="custom resources of the last worker, e.g. '{\"learner_node\": 1}'",
    )


def _add_trust(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--trust-checkpoint",
        action="store_true",
        help="load the checkpoint even if its files do not match its SHA-256 manifest or its "
        "signature (MARL_CHECKPOINT_KEY); links are still refused (resume unpickles RLlib's "
        "state: only for checkpoints you know)",
    )


def _add_eval(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="evaluate a checkpoint's actors",
        description="Restore a checkpoint's actors and run episodes; prints JSON.",
    )
    p.add_argument(
        "checkpoint",
        type=Path,
        help="a checkpoint_NNNNNN directory, or a run directory (its latest)",
    )
    p.add_argument("--episodes", type=int, default=10, help="episodes to run (default 10)")
    p.add_argument(
        "--render", type=Path, metavar="OUT.gif", help="write the first episode as a GIF"
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--stochastic",
        dest="actions",
        action="store_const",
        const="stochastic",
        help="sample actions from the policy",
    )
    mode.add_argument(
        "--greedy",
        dest="actions",
        action="store_const",
        const="greedy",
        help="take the most likely action",
    )
    p.set_defaults(actions=None)
    p.add_argument("--seed", type=int, default=1_000_000, help="seed of the first episode")
    p.add_argument("--no-baseline", action="store_true", help="skip the random-policy baseline")
    p.add_argument("--out", type=Path, help="also write the JSON report to this file")
    p.add_argument(
        "--sub-policy",
        type=_sub_policy,
        default=None,
        metavar="K|all",
        help="policy ensembles: every agent acts with sub-policy K, or each in turn (all); "
        "default: drawn per episode as in training",
    )
    _add_trust(p)
    p.add_argument(
        "--q-table",
        action="store_true",
        help="old spelling of `marl inspect q-table CHECKPOINT` (kept for one release)",
    )
    p.add_argument(
        "--value-dist",
        type=Path,
        metavar="OUT.png",
        help="old spelling of `marl inspect value-dist CHECKPOINT OUT.png` (kept for one release)",
    )


def _sub_policy(text: str) -> int | str:
    if text == "all":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a sub-policy index or 'all', got {text!r}"
        ) from None


def _add_crossplay(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "crossplay",
        help="play one side's policies from one checkpoint against the others' from another",
        description="Cross-play: the agents named by each --side prefix act with that side's "
        "checkpoint; every combination of the sides' checkpoints plays --episodes episodes "
        "in the first checkpoint's env. Prints JSON: each side's return and the task metric "
        "per matchup, and a matrix when there are two sides. Checkpoints whose spaces do not "
        "match the env are refused (exit 2).",
    )
    p.add_argument(
        "--side",
        dest="sides",
        action="append",
        required=True,
        metavar="PREFIX=CKPT[,CKPT...]",
        help="agents whose names start with PREFIX act with these checkpoints (repeat per side)",
    )
    p.add_argument("--episodes", type=int, default=10, help="episodes per matchup (default 10)")
    p.add_argument("--seed", type=int, default=1_000_000, help="seed of the first episode")
    mode = p.add_mutually_exclusive_group()
    for flag, const in (("--stochastic", "stochastic"), ("--greedy", "greedy")):
        mode.add_argument(flag, dest="actions", action="store_const", const=const)
    p.set_defaults(actions=None)
    p.add_argument("--out", type=Path, help="also write the JSON report to this file")
    p.add_argument(
        "--plot", type=Path, metavar="OUT.png", help="draw each side's return matrix (two sides)"
    )
    _add_trust(p)


def _add_inspect(sub: argparse._SubParsersAction) -> None:
    from policies.registry import ALGORITHMS, inspector_names

    names = inspector_names()
    offered = "; ".join(
        f"{name}: {', '.join(a for a, e in ALGORITHMS.items() if name in e.inspectors)}"
        for name in names
    )
    p = sub.add_parser(
        "inspect",
        help="an algorithm's training-time view of a checkpoint (" + ", ".join(names) + ")",
        description="Run one of the checkpoint's algorithm's inspectors (the views its package "
        f"offers; {offered}); prints JSON, and draws into OUT where the view is a plot.",
    )
    p.add_argument("name", choices=names, help="the inspector")
    p.add_argument(
        "checkpoint",
        type=Path,
        help="a checkpoint_NNNNNN directory, or a run directory (its latest)",
    )
    p.add_argument("out", nargs="?", type=Path, help="output file of inspectors that draw")
    p.add_argument("--seed", type=int, default=1_000_000, help="seed of the episode")
    p.add_argument("--json", type=Path, metavar="OUT.json", help="also write the report here")
    _add_trust(p)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``marl``."""
    parser = argparse.ArgumentParser(
        prog="marl", description="Multi-agent RL on Ray RLlib (new API stack).", epilog=EPILOG
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show Ray's own log lines")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_train(sub)
    _add_tune(sub)
    _add_cluster(sub)
    _add_eval(sub)
    _add_crossplay(sub)
    _add_inspect(sub)
    p = sub.add_parser(
        "validate",
        help="validate experiment specs without running them",
        description="Validate specs: schema, names, env option values (the env is built "
        "once) and RLlib's own checks. Globs like 'experiments/**/*.yaml' work.",
    )
    p.add_argument("specs", nargs="+", help="spec files or glob patterns")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE")
    p = sub.add_parser(
        "envs",
        help="list the environment catalog, or one env's options",
        description="List the envs; with NAME, that env's options and their defaults.",
    )
    p.add_argument("name", nargs="?", help="an env of the catalog")
    bench_cli.add_parser(sub)
    p = sub.add_parser(
        "plot",
        help="several runs' learning curves on one figure",
        description="Draw the learning curves of run directories (or folders of them, or "
        "marl bench result JSONs); runs of one spec with different seeds become a mean "
        "curve with a 95%% bootstrap band.",
    )
    p.add_argument("runs", nargs="+", type=Path, help="run directories, folders, bench JSONs")
    p.add_argument("--out", type=Path, default=Path("curves.png"), help="figure (curves.png)")
    p = sub.add_parser(
        "report",
        help="final and best returns of runs: IQM and 95%% CIs over seeds",
        description="Print a Markdown table of each group of runs' final and best team "
        "return: the interquartile mean over seeds with a 95%% stratified bootstrap interval.",
    )
    p.add_argument("runs", nargs="+", type=Path, help="run directories, folders, bench JSONs")
    sub.add_parser("algos", help="list the algorithms", description="List the algorithms.")
    p = sub.add_parser(
        "export",
        help="export per-policy actors that run with torch alone",
        description="Write <policy>.pt (TorchScript) and <policy>.json per "
        "policy of a checkpoint: decentralized actors, no Ray needed.",
    )
    p.add_argument(
        "checkpoint",
        type=Path,
        help="a checkpoint_NNNNNN directory, or a run directory (its latest)",
    )
    p.add_argument("--out", type=Path, required=True, help="output directory")
    _add_trust(p)
    return parser


def cmd_train(args: argparse.Namespace) -> int:
    from rl_apps.rundir import DEFAULT_RUNS_DIR
    from rl_apps.train import TrainOptions, train

    if args.resume and args.spec:
        raise SystemExit("marl train: give either SPEC or --resume RUN_DIR, not both")
    opts = TrainOptions(
        spec_path=args.spec,
        overrides=args.overrides,
        address=args.address,
        runs_dir=args.runs_dir or DEFAULT_RUNS_DIR,
        resume=args.resume,
        trust_checkpoint=args.trust_checkpoint,
        restart_process=True,
    )
    if args.seeds is not None:
        return _train_seeds(opts, args.seeds)
    summary = train(opts)
    if summary["stopped_because"] != "interrupted":
        return 0
    from rl_apps.signals import exit_code

    return exit_code(summary.get("signal"))


def _train_seeds(opts: TrainOptions, text: str) -> int:
    from rl_apps.errors import SpecError
    from rl_apps.seeds import parse_seeds, train_seeds
    from rl_apps.signals import exit_code

    if opts.resume is not None:
        raise SpecError("--seeds", [("--seeds", "resume each seed's run directory on its own")])
    report = train_seeds(opts, parse_seeds(text))
    if report.get("signal"):
        return exit_code(report["signal"])
    return 1 if any("error" in s for s in report["seeds"].values()) else 0


def cmd_tune(args: argparse.Namespace) -> int:
    from rl_apps.rundir import DEFAULT_RUNS_DIR
    from rl_apps.tune import TuneOptions, tune

    if args.resume and (args.spec or args.overrides):
        raise SystemExit("marl tune: give either SPEC (and --set) or --resume SEARCH_DIR")
    if not args.resume and not args.spec:
        raise SystemExit("marl tune: give a SPEC with a tune section, or --resume SEARCH_DIR")
    opts = TuneOptions(
        spec_path=args.spec,
        overrides=args.overrides,
        address=args.address,
        runs_dir=args.runs_dir or DEFAULT_RUNS_DIR,
        resume=args.resume,
    )
    report = tune(opts)
    if report.get("signal"):
        from rl_apps.signals import exit_code

        return exit_code(report["signal"])
    return 130 if report["unfinished_trials"] else 0


def cmd_cluster(args: argparse.Namespace) -> int:
    import json

    from rl_apps import cluster
    from rl_apps.errors import SpecError

    if args.action == "down":
        stopped = cluster.down()
        print(f"stopped {stopped} processes of the cluster started by marl cluster up")
        return 0
    if args.action == "status":
        state = cluster.read_state()
        if state is None:
            print("no cluster started by marl cluster up")
            return 1
        print(cluster.describe(state, cluster.alive(state)))
        return 0
    try:
        extra = json.loads(args.resources_on_last_node) if args.resources_on_last_node else None
    except json.JSONDecodeError as err:
        raise SpecError("--resources-on-last-node", [("", f"not JSON: {err}")]) from None
    state = cluster.up(args.nodes, args.cpus_per_node, args.gpus_on_last_node, extra)
    print(cluster.describe(state, True))
    print(f"use it  : marl train SPEC --address {state.address}")
    print("stop it : marl cluster down")
    return 0


def _eval_inspector(args: argparse.Namespace) -> tuple[str, Path | None] | None:
    """The old ``--q-table`` / ``--value-dist`` flags as an inspector request."""
    if args.q_table and args.value_dist is not None:
        raise SystemExit("marl eval: give --q-table or --value-dist, not both")
    if args.q_table:
        return ("q-table", None)
    if args.value_dist is not None:
        return ("value-dist", args.value_dist)
    return None


def cmd_eval(args: argparse.Namespace) -> int:
    from rl_apps.evaluate import EvalOptions, evaluate, format_report

    inspect = _eval_inspector(args)
    if inspect is not None:
        print(f"note: use `marl inspect {inspect[0]} CHECKPOINT` instead", file=sys.stderr)
    report = evaluate(
        EvalOptions(
            checkpoint=args.checkpoint,
            episodes=args.episodes,
            render=args.render,
            actions=args.actions,
            seed=args.seed,
            baseline=not args.no_baseline,
            trust_checkpoint=args.trust_checkpoint,
            inspect=inspect,
            sub_policy=args.sub_policy,
        )
    )
    _show_report(format_report(report), args.out)
    return 0


def _show_report(text: str, out: Path | None) -> None:
    """Prints an eval or cross-play report, and writes it to ``out`` when given."""
    print(text)
    if out:
        out.write_text(text + "\n")


def cmd_crossplay(args: argparse.Namespace) -> int:
    from rl_apps.crossplay import CrossplayOptions, crossplay
    from rl_apps.errors import SpecError
    from rl_apps.evaluate import format_report

    sides: dict[str, list[Path]] = {}
    for given in args.sides:
        prefix, _, paths = given.partition("=")
        if not prefix or not paths or prefix in sides:
            raise SpecError(
                "--side", [("", f"expected PREFIX=CKPT[,CKPT...] once per side: {given!r}")]
            )
        sides[prefix] = [Path(p) for p in paths.split(",") if p]
    if args.plot and len(sides) != 2:
        raise SpecError("--plot", [("", f"draws a matrix of two sides; got {len(sides)}")])
    report = crossplay(
        CrossplayOptions(
            sides=sides,
            episodes=args.episodes,
            seed=args.seed,
            actions=args.actions,
            trust_checkpoint=args.trust_checkpoint,
        )
    )
    _show_report(format_report(report), args.out)
    if args.plot:
        from rl_apps.plots import plot_crossplay

        title = f"cross-play on {report['env']}, {report['episodes']} episodes per matchup"
        drawn = plot_crossplay(report["matrix"], report["sides"], args.plot, title)
        print(f"wrote {drawn}", file=sys.stderr)
    return 0


def expand_globs(patterns: list[str]) -> list[str]:
    """Expands glob patterns (recursively for ``**``); keeps non-matching names as given."""
    files: list[str] = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern, recursive=True))
        files += matches or [pattern]
    return files


def cmd_validate(args: argparse.Namespace) -> int:
    from rl_apps.build import plan
    from rl_apps.errors import SpecError
    from rl_apps.spec import load_spec

    failed = 0
    for path in expand_globs(args.specs):
        try:
            spec = load_spec(Path(path), args.overrides)
            plan(spec)  # env options' values, the algorithm's and RLlib's checks
            if spec.tune is not None:
                from rl_apps.tune import preflight

                preflight(spec.to_dict(), str(path), spec.tune)  # every edge of the space
            print(f"ok      {path} ({spec.algo} on {spec.env.name})")
        except SpecError as err:
            failed += 1
            print(f"INVALID {err}", file=sys.stderr)
    return 2 if failed else 0


def cmd_envs(args: argparse.Namespace) -> int:
    from rl_apps.catalog import env_options_table, env_table

    print(env_options_table(args.name) if args.name else env_table())
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from rl_apps.compare import plot

    print(f"wrote {plot(args.runs, args.out)}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from rl_apps.compare import report

    print(report(args.runs))
    return 0


def cmd_algos(args: argparse.Namespace) -> int:
    from rl_apps.catalog import algo_table

    print(algo_table())
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from rl_apps.evaluate import format_report
    from rl_apps.inspection import inspect_checkpoint

    report, text = inspect_checkpoint(
        args.name, args.checkpoint, args.out, args.seed, args.trust_checkpoint
    )
    if text:
        print(text, file=sys.stderr)
    output = format_report(report)
    print(output)
    if args.json:
        args.json.write_text(output + "\n")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from rl_apps.export import describe, export_checkpoint

    print(describe(export_checkpoint(args.checkpoint, args.out, args.trust_checkpoint)))
    return 0


COMMANDS = {
    "train": cmd_train,
    "tune": cmd_tune,
    "cluster": cmd_cluster,
    "eval": cmd_eval,
    "crossplay": cmd_crossplay,
    "inspect": cmd_inspect,
    "validate": cmd_validate,
    "envs": cmd_envs,
    "algos": cmd_algos,
    "plot": cmd_plot,
    "report": cmd_report,
    "bench": bench_cli.cmd_bench,
    "export": cmd_export,
}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``marl`` console script."""
    args = build_parser().parse_args(argv)
    if args.command in ("train", "tune", "eval", "crossplay", "inspect", "validate", "export"):
        from rl_apps.runtime import quiet_ray_logs

        quiet_ray_logs(args.verbose)
    try:
        return COMMANDS[args.command](args)
    except MarlError as err:
        print(f"marl {args.command}: error: {err}", file=sys.stderr)
        return err.exit_code
    except ValueError as err:
        from env_wrappers.registry import EnvError

        if not isinstance(err, EnvError):
            raise
        print(f"marl {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:
        from rl_apps.signals import interrupt_exit_code

        print(f"marl {args.command}: interrupted", file=sys.stderr)
        return interrupt_exit_code(err)


if __name__ == "__main__":
    sys.exit(main())
