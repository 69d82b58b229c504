"""`marl bench COMMAND` argument parsing and dispatch, through rl_apps.cli.main (no Ray)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from rl_apps import cli

from .test_bench_table import report


def usage_error(capsys, argv):
    """Runs ``marl ARGV``, expects an argparse usage error, returns its stderr."""
    started = _ray_started()  # the integration tests' session may already run Ray
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: marl")
    assert _ray_started() == started  # refused before anything started
    return err


def _ray_started() -> bool:
    ray = sys.modules.get("ray")
    return ray is not None and ray.is_initialized()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["bench"], "the following arguments are required: {run,envs,table,profile,"),
        (["bench", "profile"], "the following arguments are required: NAME"),
        (["bench", "learner-cost"], "the following arguments are required: NAME"),
        (["bench", "profile", "a", "--seconds", "4"], "argument --seconds: must be at least 5"),
        (["bench", "envs", "--steps", "99"], "argument --steps: must be at least 100 (got 99)"),
        (["bench", "scaling", "--steps", "50"], "argument --steps: must be at least 100 (got 50)"),
        (["bench", "scaling", "--steps", "many"], "argument --steps: invalid int value: 'many'"),
        (["bench", "nope"], "argument {run,envs,table,profile,scaling,learner-cost,throughput}"),
        # each command has only its own options; the old flag spellings are gone
        (["bench", "run", "--seconds", "60"], "unrecognized arguments: --seconds"),
        (["bench", "table", "--steps", "500"], "unrecognized arguments: --steps 500"),
        (["bench", "envs", "--set", "seed=1"], "unrecognized arguments: --set seed=1"),
        (["bench", "run", "--envs"], "unrecognized arguments: --envs"),
        (["bench", "--table"], "the following arguments are required: {run,"),
    ],
)
def test_bad_bench_arguments_are_usage_errors(capsys, argv, message):
    assert message in usage_error(capsys, argv)


def test_bench_usage_names_the_command(capsys):
    err = usage_error(capsys, ["bench", "envs", "--steps", "10"])
    assert "usage: marl bench envs [-h] [--env NAME] [--steps STEPS] [--out OUT]" in err
    assert "marl bench envs: error:" in err


def record(monkeypatch, module, name):
    """Replaces ``module.name`` by a function that records its arguments."""
    calls = []
    monkeypatch.setattr(module, name, lambda *args, **kwargs: calls.append((args, kwargs)))
    return calls


def test_each_command_calls_its_function_with_its_options(monkeypatch, tmp_path, capsys):
    from rl_apps.bench import envs, learner_cost, profile, scaling

    out = tmp_path / "out"
    calls = record(monkeypatch, envs, "bench_envs")
    argv = ["bench", "envs", "--env", "linear_game", "--env", "climbing_game", "--steps", "500"]
    assert cli.main([*argv, "--out", str(out)]) == 0
    assert calls == [((out, ["linear_game", "climbing_game"], 500), {})]
    assert cli.main(["bench", "envs"]) == 0
    assert calls[1] == ((Path("benchmarks/results"), None, 20_000), {})

    calls = record(monkeypatch, profile, "bench_profile")
    assert cli.main(["bench", "profile", "a", "b", "--seconds", "5", "--out", str(out)]) == 0
    assert calls == [((out, ["a", "b"], 5), {})]

    calls = record(monkeypatch, scaling, "bench_scaling")
    assert cli.main(["bench", "scaling", "--steps", "100", "--out", str(out)]) == 0
    assert calls == [((out,), {"steps_per_runner": 100})]

    calls = record(monkeypatch, learner_cost, "bench_learner_cost")
    argv = ["bench", "learner-cost", "a", "--set", "training.lr=1e-3", "--set", "seed=2"]
    assert cli.main(argv) == 0
    assert calls == [((Path("benchmarks/results"), ["a"], ["training.lr=1e-3", "seed=2"]), {})]
    capsys.readouterr()


def test_unknown_env_exits_2_with_the_valid_names(capsys):
    assert cli.main(["bench", "envs", "--env", "nope"]) == 2
    assert "valid envs" in capsys.readouterr().err


def test_run_unknown_benchmark_exits_2(monkeypatch, tmp_path, capsys):
    (tmp_path / "experiments" / "benchmarks").mkdir(parents=True)
    (tmp_path / "experiments" / "benchmarks" / "tiny.yaml").write_text("name: tiny\n")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["bench", "run", "nope"]) == 2
    assert "unknown benchmark(s) ['nope']; valid: tiny" in capsys.readouterr().err


def test_table_rewrites_the_readme_table(monkeypatch, tmp_path, capsys):
    results = tmp_path / "results"
    results.mkdir()
    (results / "a.json").write_text(json.dumps(report("a", 0.95, True)))
    (tmp_path / "README.md").write_text(
        "intro\n<!-- bench-table:start -->\nold\n<!-- bench-table:end -->\n"
    )
    monkeypatch.chdir(tmp_path)
    assert cli.main(["bench", "table", "--out", "results"]) == 0
    readme = (tmp_path / "README.md").read_text()
    assert "| a | mappo | 2 | 0.950 ± 0.010 |" in readme and "old" not in readme
    assert "| a | mappo |" in capsys.readouterr().out


def test_bench_outside_the_repository_is_a_clear_error(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["bench", "run", "mappo_simple_spread"]) == 2
    assert "no experiments/benchmarks folder in" in capsys.readouterr().err
    assert cli.main(["bench", "table"]) == 2
    assert "no results folder benchmarks/results here" in capsys.readouterr().err
    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    (tmp_path / "README.md").write_text("someone else's readme\n")
    assert cli.main(["bench", "table"]) == 2
    assert "has no" in capsys.readouterr().err
    assert (tmp_path / "README.md").read_text() == "someone else's readme\n"


def test_the_whole_suite_needs_all(capsys):
    started = _ray_started()
    assert cli.main(["bench", "run"]) == 2
    assert "or pass --all for the whole suite" in capsys.readouterr().err
    assert _ray_started() == started


def test_an_interrupted_seed_stops_the_benchmark_and_writes_nothing(monkeypatch, tmp_path, capsys):
    from rl_apps.bench import suite

    spec = Path("experiments/benchmarks/pac_climbing_game.yaml").resolve()
    trained = []

    def interrupted_train(opts):
        trained.append(opts.overrides)
        return {"stopped_because": "interrupted", "signal": "SIGTERM", "run_dir": "runs/x"}

    monkeypatch.setattr(suite, "train", interrupted_train)
    monkeypatch.setattr(suite, "find_benchmarks", lambda names: [spec])
    out = tmp_path / "results"
    code = cli.main(["bench", "run", "pac_climbing_game", "--out", str(out)])
    assert code == 143  # 128 + SIGTERM
    assert trained == [["seed=0"]]  # the later seeds were not run
    assert not out.exists() or not any(out.iterdir())
    assert "seed 0 was interrupted (SIGTERM); no results written" in capsys.readouterr().err


def test_throughput_takes_spec_files_and_benchmark_names(monkeypatch, tmp_path, capsys):
    from rl_apps.bench import throughput

    calls = record(monkeypatch, throughput, "bench_throughput")
    spec = tmp_path / "mine.yaml"
    spec.write_text("name: mine\n")
    argv = ["bench", "throughput", str(spec), "mappo_simple_spread", "--seconds", "5"]
    assert cli.main([*argv, "--steps", "300", "--out", str(tmp_path)]) == 0
    (out, specs, seconds, steps), _ = calls[0]
    assert (out, seconds, steps) == (tmp_path, 5.0, 300)
    assert specs[0] == spec and specs[1].name == "mappo_simple_spread.yaml"
    assert "--seconds: must be at least 5" in usage_error(
        capsys, ["bench", "throughput", "x", "--seconds", "1"]
    )


def test_throughput_ratios_and_table():
    from rl_apps.bench.throughput import markdown_table, ratios

    rates = {"sampling": 500.0, "learner": None, "iterations": 250.0, "overlapped": 400.0}
    rates.update(stock_runner=200.0, stock_ppo=100.0)
    assert ratios(rates, 1000.0) == {
        "sampling": 0.5,
        "learner": None,
        "iterations": 0.25,
        "overlapped": 0.4,
        "stock_runner": 0.2,
        "stock_ppo": 0.1,
    }
    assert ratios({"sampling": 5.0}, 0.0) == {"sampling": None}
    row = {"spec": "s.yaml", "algo": "qmix", "raw": 1000.0, "rates": rates}
    row["ratios"] = ratios(rates, 1000.0)
    line = markdown_table([row]).splitlines()[-1]
    expected = (
        "| s.yaml | qmix | 1,000 | 500 (0.50x) | n/a | 200 (0.20x) | 250 (0.25x) | 400 (0.40x) "
        "| 100 (0.10x) |"
    )
    assert line == expected


def test_bench_run_writes_the_summary_only_once_every_seed_has_a_result(monkeypatch, tmp_path):
    from rl_apps.bench import suite

    spec_path = tmp_path / "two.yaml"
    spec_path.write_text(
        "name: two\nalgo: ippo\nenv: {name: simple_spread}\nstop: {training_iteration: 1}\n"
        "benchmark: {seeds: [0, 1]}\n"
    )
    trained, reused = [], []
    monkeypatch.setattr(
        suite,
        "run_seed",
        lambda p, s, seed, r, e: trained.append(seed) or {"seed": seed, "curve": []},
    )
    done = {1: (tmp_path / "run1", {"checkpoint": "c"})}
    monkeypatch.setattr(suite, "finished_run", lambda p, s, seed, r: done.get(seed))
    monkeypatch.setattr(
        suite,
        "seed_result",
        lambda s, seed, d, m: reused.append(seed) or {"seed": seed, "curve": []},
    )
    lines = []
    out = tmp_path / "out"
    assert suite.bench_spec(spec_path, out, tmp_path, lines.append, seeds=[0]) is None
    assert trained == [0] and reused == []
    assert not (out / "two.json").exists() and not (out / "two.png").exists()
    assert (out / "seeds" / "two.seed0.json").is_file()
    assert not (out / "seeds" / "two.seed1.json").exists()
    assert "seed(s) [1] not run yet; only the finished seeds' records" in lines[-1]
    monkeypatch.setattr(suite, "_aggregate", lambda s, r: {})
    monkeypatch.setattr(suite, "plot_seed_curves", lambda *a, **k: None)
    trained.clear()
    assert suite.bench_spec(spec_path, out, tmp_path, lines.append, reuse=True) is not None
    # seed 0 comes from its record of the first call, seed 1 from its finished run
    assert trained == [] and reused == [1]
    assert (out / "two.json").is_file()
