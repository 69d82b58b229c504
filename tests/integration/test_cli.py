"""The `marl` command line through a subprocess: help, validation, errors, and a whole
train -> resume (new process) -> eval cycle."""

from __future__ import annotations

import csv
import json
import pickle
import shutil

import pytest

from rl_apps import checkpoints as ckpt
from rl_apps import cli

from ..conftest import QUICKSTART, ROOT, TINY
from .helpers import expect, marl_in_process, run_marl

SUBCOMMANDS = [
    "train",
    "eval",
    "crossplay",
    "inspect",
    "validate",
    "envs",
    "algos",
    "bench",
    "export",
    "plot",
    "report",
]
BENCH_COMMANDS = ["run", "envs", "table", "profile", "scaling", "learner-cost"]


def test_help_of_the_console_entry_point(tmp_path):
    out = expect(run_marl("--help", cwd=tmp_path), 0).stdout
    assert "usage: marl" in out and "inspect" in out


@pytest.mark.parametrize(
    "command", [*[[c] for c in SUBCOMMANDS], *[["bench", c] for c in BENCH_COMMANDS]]
)
def test_help(capsys, command):
    """Every subcommand's help, through ``rl_apps.cli.main`` in this process."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main([*command, "--help"])
    assert exit_info.value.code == 0
    assert f"usage: marl {' '.join(command)}" in capsys.readouterr().out


def test_envs_and_algos_tables(capsys):
    assert "simple_spread" in marl_in_process(["envs"], capsys).out
    assert "ippo" in marl_in_process(["algos"], capsys).out


def test_validate_every_committed_spec():
    proc = expect(
        run_marl("validate", "experiments/**/*.yaml", "rl_apps/specs/*.yaml", cwd=ROOT), 0
    )
    assert proc.stdout.count("ok ") >= 2


def test_validate_reports_bad_spec_with_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(QUICKSTART.read_text().replace("lr:", "lrr:"))
    out, err = marl_in_process(["validate", str(bad), str(QUICKSTART)], capsys, 2)
    assert "training.lrr: unknown key (did you mean 'lr'?)" in err and "ok " in out
    stderr = marl_in_process(["validate", str(QUICKSTART), "--set", "env.N=-3"], capsys, 2).err
    assert "env.N: must be an integer in [1, 100] (got -3)" in stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["missing.yaml"], "missing.yaml: no such spec file"),
        (
            [str(QUICKSTART), "--set", "training.lr=-1"],
            "training.lr: Input should be greater than 0",
        ),
        ([str(QUICKSTART), "--set", "algo=qmixx"], "valid algorithms: ippo"),
        ([str(QUICKSTART), "--set", "env_runners.num_env_runners=64"], "requests 64 CPUs"),
        ([str(QUICKSTART), "--set", "env.N=-3"], "env.N: must be an integer in [1, 100]"),
        ([str(QUICKSTART), "--set", "training.minibatch_size=8000"], "must be <= `train_batch"),
    ],
)
def test_train_bad_input_exits_2_and_leaves_no_run_dir(tmp_path, args, message, capsys):
    runs = str(tmp_path / "runs")
    assert message in marl_in_process(["train", *args, "--runs-dir", runs], capsys, 2).err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def read_rows(run_dir):
    with (run_dir / "progress.csv").open() as handle:
        return list(csv.DictReader(handle))


def test_train_resume_in_new_process_and_eval(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MARL_CHECKPOINT_KEY", "test key")  # every checkpoint is signed
    sets = [arg for item in TINY for arg in ("--set", item)]
    proc = expect(run_marl("train", str(QUICKSTART), *sets, "--runs-dir", "runs", cwd=tmp_path), 0)
    assert "iter    1 |" in proc.stdout and "iter    2 |" in proc.stdout
    # not a terminal: plain lines with the binding stop budget, its ETA and the losses
    first = next(line for line in proc.stdout.splitlines() if line.startswith("iter    1 |"))
    assert " 50% of 2 iterations, ETA " in first and "\r" not in proc.stdout
    assert "policy loss " in first and "critic loss " in first
    assert "Run finished" in proc.stdout
    assert "constructor arguments in the object store" not in proc.stderr  # rl_apps.quiet
    (run_dir,) = (tmp_path / "runs").iterdir()
    for name in (
        "spec.yaml",
        "rllib_config.json",
        "meta.json",
        "progress.csv",
        "result.jsonl",
        "learning_curve.png",
        "summary.json",
    ):
        assert (run_dir / name).is_file(), name
    assert json.loads((run_dir / "meta.json").read_text())["commit"]
    assert "test key" not in (run_dir / "meta.json").read_text()
    checkpoints = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    assert checkpoints == ["checkpoint_000001", "checkpoint_000002"]  # checkpoint.keep: 2

    resumed = run_marl(
        "train", "--resume", str(run_dir), "--set", "stop.training_iteration=3", cwd=tmp_path
    )
    expect(resumed, 0)
    assert "resumed from" in resumed.stdout and "iter    3 |" in resumed.stdout
    rows = read_rows(run_dir)
    assert [int(r["iteration"]) for r in rows] == [1, 2, 3]
    steps = [int(r["env_steps"]) for r in rows]
    assert steps[2] == steps[1] + int(rows[2]["env_steps_iter"]) > steps[1]
    assert float(rows[2]["elapsed_s"]) > float(rows[1]["elapsed_s"])

    gif = tmp_path / "episode.gif"
    checkpoint = (run_dir / "checkpoints" / "checkpoint_000003").relative_to(tmp_path)
    evaluated = expect(
        run_marl("eval", str(checkpoint), "--episodes", "2", "--render", str(gif), cwd=tmp_path), 0
    )
    report = json.loads(evaluated.stdout)
    assert report["episodes"] == 2 and report["actions"] == "stochastic"  # IPPO's default
    assert set(report["agent_returns"]) == {"agent_0", "agent_1", "agent_2"}
    assert report["team_return"]["mean"] == pytest.approx(
        sum(a["mean"] for a in report["agent_returns"].values())
    )
    assert "random_policy" in report
    assert gif.stat().st_size > 1000
    args = ["eval", str(checkpoint), "--episodes", "1", "--greedy", "--no-baseline"]
    greedy = json.loads(expect(run_marl(*args, cwd=tmp_path), 0).stdout)
    assert greedy["actions"] == "greedy" and "random_policy" not in greedy
    monkeypatch.chdir(tmp_path)  # the refusals run in this process, on the same relative paths
    tampered_checkpoint_is_refused(tmp_path, run_dir, checkpoint, capsys)
    forged_checkpoint_runs_no_code(tmp_path, run_dir, checkpoint, monkeypatch, capsys)


def tampered_checkpoint_is_refused(tmp_path, run_dir, checkpoint, capsys):
    """A changed file: eval, export and resume refuse it (exit 2) unless trusted."""
    state = next(p for p in (tmp_path / checkpoint).rglob("*.pkl"))
    state.write_bytes(state.read_bytes() + b"\0")
    name = str(state.relative_to(tmp_path / checkpoint))
    for args in (
        ["eval", str(checkpoint), "--episodes", "1"],
        ["export", str(checkpoint), "--out", "exported"],
        ["train", "--resume", str(run_dir), "--set", "stop.training_iteration=4"],
    ):
        stderr = marl_in_process(args, capsys, 2).err
        assert f"{name}: SHA-256 differs" in stderr and "--trust-checkpoint" in stderr
    assert not (tmp_path / "exported").exists()
    assert len(read_rows(run_dir)) == 3  # the refused resume did not touch the run
    trusted = ["eval", str(checkpoint), "--episodes", "1", "--no-baseline", "--trust-checkpoint"]
    marl_in_process(trusted, capsys)


class Forged:
    """A pickle that creates a marker file when it is loaded (a forger's code)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def forge(checkpoint, marker):
    """Every pickle replaced by ``Forged``, the manifest's hashes rewritten to match."""
    for path in checkpoint.rglob("*.pkl"):
        path.write_bytes(pickle.dumps(Forged(marker)))
    manifest = json.loads((checkpoint / ckpt.MANIFEST).read_text())
    manifest["files"] = ckpt.file_hashes(checkpoint)
    (checkpoint / ckpt.MANIFEST).write_text(json.dumps(manifest, indent=1))


def forged_checkpoint_runs_no_code(tmp_path, run_dir, checkpoint, monkeypatch, capsys):
    """A forger who rewrites the manifest: eval and export load no pickle; with the key,
    every command refuses the unsigned manifest; a link is refused."""
    marker = tmp_path / "forger_was_here"
    forge(tmp_path / checkpoint, marker)
    resume = ["train", "--resume", str(run_dir), "--set", "stop.training_iteration=5"]
    for args in (["eval", str(checkpoint), "--episodes", "1", "--no-baseline"], resume):
        stderr = marl_in_process(args, capsys, 2).err  # signed by a key the forger lacks
        assert "signature in manifest.sig does not match" in stderr
    monkeypatch.delenv("MARL_CHECKPOINT_KEY")  # unsigned: the manifest matches the files
    marl_in_process(["eval", str(checkpoint), "--episodes", "1", "--no-baseline"], capsys)
    marl_in_process(["export", str(checkpoint), "--out", "forged_export"], capsys)
    assert (tmp_path / "forged_export").is_dir()
    assert not marker.exists(), "eval or export unpickled the forged checkpoint"
    spec = tmp_path / checkpoint / ckpt.SPEC_COPY
    (tmp_path / "spec_copy.yaml").write_bytes(spec.read_bytes())
    spec.unlink()
    spec.symlink_to(tmp_path / "spec_copy.yaml")  # identical bytes, outside the checkpoint
    stderr = marl_in_process(["eval", str(checkpoint), "--episodes", "1"], capsys, 2).err
    assert "spec.yaml is a symbolic link" in stderr


def test_eval_rejects_non_checkpoint(tmp_path):
    proc = expect(run_marl("eval", str(tmp_path), cwd=tmp_path), 2)
    assert "not a complete checkpoint" in proc.stderr


def test_bench_envs_writes_table(tmp_path, capsys):
    args = ["bench", "envs", "--env", "linear_game", "--steps", "500", "--out", "out"]
    expect(run_marl(*args, cwd=tmp_path), 0)
    report = json.loads((tmp_path / "out" / "env_overhead.json").read_text())
    (row,) = report["results"]
    assert row["env"] == "linear_game" and row["raw_steps_per_s"] > 0
    assert "| linear_game |" in (tmp_path / "out" / "env_overhead.md").read_text()
    assert "valid envs" in marl_in_process(["bench", "envs", "--env", "nope"], capsys, 2).err


TINY_BENCH = """
name: tiny
algo: mappo
env: {name: simple_spread, max_cycles: 10}
stop: {training_iteration: 2}
checkpoint: {frequency: 0, keep: 1}
benchmark: {seeds: [3], target_team_return: -1000.0, random_team_return: -30.0, eval_episodes: 2,
  curves: [learners/__all_modules__/num_env_steps_trained_lifetime, learners/all/not_logged]}
env_runners: {num_env_runners: 0, num_envs_per_env_runner: 1}
training: {train_batch_size_per_learner: 200, minibatch_size: 200, num_epochs: 1}
rl_module: {model_config: {fcnet_hiddens: [8]}}
"""


def test_bench_suite_writes_results(tmp_path, capsys, monkeypatch):
    bench_dir = tmp_path / "experiments" / "benchmarks"
    bench_dir.mkdir(parents=True)
    (bench_dir / "tiny.yaml").write_text(TINY_BENCH)
    args = ["bench", "run", "tiny", "--out", "out", "--runs-dir", "runs"]
    proc = expect(run_marl(*args, cwd=tmp_path), 0)
    assert "tiny: eval return" in proc.stdout and "met: True" in proc.stdout
    report = json.loads((tmp_path / "out" / "tiny.json").read_text())
    (seed,) = report["seeds"]
    assert seed["seed"] == 3 and seed["env_steps"] == 400 and seed["eval_actions"] == "stochastic"
    assert seed["sampling_env_steps_per_s"] > 0 and seed["iteration_env_steps_per_s"] > 0
    assert report["summary"]["target_met"] is True and report["commit"]
    assert (tmp_path / "out" / "tiny.png").stat().st_size > 1000
    trained = seed["metric_curves"]["learners/__all_modules__/num_env_steps_trained_lifetime"]
    assert [steps for steps, _ in trained] == [200, 400] and trained[1][1] > trained[0][1]
    assert seed["metric_curves"]["learners/all/not_logged"] == []
    drawn = tmp_path / "out" / "tiny.learners___all_modules___num_env_steps_trained_lifetime.png"
    assert drawn.stat().st_size > 1000 and len(list((tmp_path / "out").glob("*.png"))) == 2
    assert "no iteration logged 'learners/all/not_logged'; not drawn" in proc.stdout
    args = ["bench", "run", "tiny", "--reuse", "--out", "again", "--runs-dir", "runs"]
    reused = expect(run_marl(*args, cwd=tmp_path), 0)  # evaluates the finished run, no training
    assert "[seed 3] reusing the finished run" in reused.stdout and "iter " not in reused.stdout
    again = json.loads((tmp_path / "again" / "tiny.json").read_text())
    assert (
        again["seeds"][0]["run_dir"] == seed["run_dir"]
        and len(list((tmp_path / "runs").iterdir())) == 1
    )
    record = json.loads((tmp_path / "out" / "seeds" / "tiny.seed3.json").read_text())
    assert record["result"] == seed and record["spec"]["seed"] == 3
    shutil.rmtree(tmp_path / "runs")  # another machine: only the committed records are left
    args = ["bench", "run", "tiny", "--reuse", "--out", "out", "--runs-dir", "runs"]
    recorded = expect(run_marl(*args, cwd=tmp_path), 0)
    assert "[seed 3] reusing the recorded result" in recorded.stdout, recorded.stdout
    assert "iter " not in recorded.stdout and not (tmp_path / "runs").exists()
    assert json.loads((tmp_path / "out" / "tiny.json").read_text())["seeds"] == [seed]
    monkeypatch.chdir(tmp_path)
    wrong = marl_in_process(["bench", "run", "tiny", "--seeds", "9"], capsys, 2).err
    assert "no seed(s) [9]; valid: [3]" in wrong
    unknown = marl_in_process(["bench", "run", "nope"], capsys, 2).err
    assert "unknown benchmark(s) ['nope']; valid: tiny" in unknown


def test_a_seed_record_is_reused_only_for_the_spec_it_ran(tmp_path):
    from rl_apps.bench.suite import recorded_seed, seed_record_path, write_seed_record

    spec_path = tmp_path / "tiny.yaml"
    spec_path.write_text(TINY_BENCH)
    result = {"seed": 3, "eval_return": {"mean": -20.0, "std": 1.0}}
    write_seed_record(tmp_path, spec_path, 3, result)
    assert recorded_seed(tmp_path, spec_path, 3) == result
    assert recorded_seed(tmp_path, spec_path, 4) is None  # no record of that seed
    spec_path.write_text(TINY_BENCH.replace("eval_episodes: 2", "eval_episodes: 3"))
    assert recorded_seed(tmp_path, spec_path, 3) is None  # the spec changed since
    spec_path.write_text(TINY_BENCH)
    seed_record_path(tmp_path, "tiny", 3).write_text('{"spec": ')  # torn by hand
    assert recorded_seed(tmp_path, spec_path, 3) is None
    assert list((tmp_path / "seeds").iterdir()) == [seed_record_path(tmp_path, "tiny", 3)]


def test_bench_profile_refuses_bad_requests_before_running(tmp_path, capsys, monkeypatch):
    (tmp_path / "experiments" / "benchmarks").mkdir(parents=True)
    (tmp_path / "experiments" / "benchmarks" / "tiny.yaml").write_text(TINY_BENCH)
    monkeypatch.chdir(tmp_path)
    unknown = marl_in_process(["bench", "profile", "nope"], capsys, 2).err
    assert "unknown benchmark(s) ['nope']; valid: tiny" in unknown
    nameless = marl_in_process(["bench", "profile"], capsys, 2).err
    assert "usage: marl bench profile" in nameless
    assert "the following arguments are required: NAME" in nameless
    short = marl_in_process(["bench", "profile", "tiny", "--seconds", "4"], capsys, 2).err
    assert "argument --seconds: must be at least 5 (got 4)" in short
    assert not (tmp_path / "benchmarks").exists()
