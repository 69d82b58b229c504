"""Hostile and malformed specs through the real CLI: exit 2, a path named, no traceback, fast.

Each case is a spec file (bytes) plus ``--set`` overrides, generated here; ``marl validate``
runs in-process through ``rl_apps.cli.main`` (a few cases also as a subprocess). The time
bound per input is generous (the machine is shared): it catches hangs, not slowness.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rl_apps import cli

#: A hostile input used to hang: each test fails by pytest-timeout if it takes this long
#: (a guard against hangs, not a timing assertion; a refusal takes well under a second).
pytestmark = pytest.mark.timeout(60)
BASE = "name: t\nalgo: ippo\nenv: {name: simple_spread}\nstop: {training_iteration: 1}\n"
LAUGHS = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10)
)


def _spec(**sections: str) -> str:
    """BASE with top-level keys replaced or added (values are YAML flow text)."""
    lines = dict(line.split(": ", 1) for line in BASE.strip().splitlines())
    lines.update(sections)
    return "".join(f"{key}: {value}\n" for key, value in lines.items())


def _nested(depth: int) -> str:
    return BASE + "env_runners:\n" + "".join("  " * i + f"k{i}:\n" for i in range(depth)) + "  1\n"


#: (id, file bytes, --set overrides, text the message must contain)
FILE_CASES: list[tuple[str, bytes, list[str], str]] = [
    ("billion-laughs", (BASE + LAUGHS).encode(), [], "aliases"),
    ("alias", (BASE + "x: &v 1\ny: *v\n").encode(), [], "aliases"),
    ("merge-alias", (BASE + "d: &d {lr: 1}\ntraining: {<<: *d}\n").encode(), [], "aliases"),
    ("50MB-list", BASE.encode() + b"big:\n" + b"- 1\n" * 12_500_000, [], "larger than"),
    ("300KB-file", (BASE + "wandb: {notes: '" + "x" * 300_000 + "'}\n").encode(), [], "KiB"),
    ("million-tags", (BASE + "wandb:\n  tags:\n" + "  - t\n" * 1_000_000).encode(), [], "KiB"),
    (
        "100-tags",
        (BASE + "wandb: {tags: [" + ", ".join(["t"] * 100) + "]}\n").encode(),
        [],
        "wandb.tags",
    ),
    ("not-utf8", BASE.encode() + b"notes: \xff\xfe\xfa\n", [], "not UTF-8"),
    ("utf16", BASE.encode("utf-16"), [], "not UTF-8"),
    ("nul-byte", BASE.encode() + b"x: a\x00b\n", [], "invalid YAML"),
    ("control-char", BASE.encode() + b"x: a\x07b\n", [], "invalid YAML"),
    ("deep-flow-list", (BASE + "x: " + "[" * 20_000 + "]" * 20_000 + "\n").encode(), [], "levels"),
    (
        "deep-flow-map",
        (BASE + "x: " + "{a: " * 5_000 + "1" + "}" * 5_000 + "\n").encode(),
        [],
        "levels",
    ),
    ("deep-block-map", _nested(60).encode(), [], "levels"),
    ("duplicate-top", (BASE + "algo: mappo\n").encode(), [], "appears twice"),
    ("duplicate-nested", (BASE + "training: {lr: 0.1, lr: 0.2}\n").encode(), [], "appears twice"),
    (
        "python-tag",
        (BASE + "x: !!python/object/apply:os.system [true]\n").encode(),
        [],
        "invalid YAML",
    ),
    ("unhashable-key", (BASE + "? [a, b]\n: 1\n").encode(), [], "invalid YAML"),
    ("int-key", (BASE + "training: {1: 2}\n").encode(), [], "training.1: keys must be strings"),
    ("null-key", (BASE + "~: 2\n").encode(), [], "keys must be strings"),
    ("long-key", (BASE + "training: {" + "k" * 500 + ": 1}\n").encode(), [], "longer than"),
    ("top-list", b"- a\n- b\n", [], "must be a YAML mapping"),
    ("top-scalar", b"42\n", [], "must be a YAML mapping"),
    ("empty", b"", [], "must be a YAML mapping"),
    ("algo-list", _spec(algo="[ippo]").encode(), [], "algo"),
    ("algo-map", _spec(algo="{a: 1}").encode(), [], "algo"),
    ("env-list", _spec(env="[simple_spread]").encode(), [], "env"),
    ("env-name-list", _spec(env="{name: [x]}").encode(), [], "env.name"),
    ("name-list", _spec(name="[x]").encode(), [], "name"),
    ("stop-list", _spec(stop="[1]").encode(), [], "stop"),
    ("training-list", (BASE + "training: [1, 2]\n").encode(), [], "training"),
    ("seed-1e40", _spec(seed="1.0e+40").encode(), [], "seed: "),
    ("seed-1e40-string", _spec(seed="1e40").encode(), [], "seed"),
    ("seed-bigint", _spec(seed="9" * 60).encode(), [], "seed"),
    ("seed-nan", _spec(seed=".nan").encode(), [], "seed"),
    ("lr-inf", (BASE + "training: {lr: .inf}\n").encode(), [], "training.lr: must be a finite"),
    ("lr-minus-inf", (BASE + "training: {lr: -.inf}\n").encode(), [], "training.lr"),
    ("lr-nan-string", (BASE + "training: {lr: nan}\n").encode(), [], "training.lr"),
    ("gamma-nan", (BASE + "training: {gamma: .nan}\n").encode(), [], "training.gamma"),
    (
        "max-cycles-nan",
        _spec(env="{name: simple_spread, max_cycles: .nan}").encode(),
        [],
        "env.max_cycles",
    ),
    (
        "hex-huge",
        (BASE + "training: {num_epochs: 0x7fffffffffffffffffffffff}\n").encode(),
        [],
        "training.num_epochs",
    ),
]
#: (id, --set overrides, text the message must contain); on top of BASE.
SET_CASES: list[tuple[str, list[str], str]] = [
    ("env-N-1e9", ["env.N=1000000000"], "env.N: 1_000_000_000 is outside"),
    ("env-N-1e9-float", ["env.N=1.0e9"], "env.N"),
    ("env-N-1e9-string", ["env.N=1e9"], "env.N"),
    ("env-N-negative", ["env.N=-5"], "env.N: must be an integer in [1, 100] (got -5)"),
    ("env-max-cycles-huge", ["env.max_cycles=10000000000"], "env.max_cycles"),
    (
        "env-wrapper-stack",
        ["env.wrappers=[{frame_stack_v1: {stack_size: 100000000}}]"],
        "stack_size",
    ),
    ("hidden-negative", ["rl_module.model_config.fcnet_hiddens=[-1]"], "fcnet_hiddens.0"),
    ("hidden-million", ["rl_module.model_config.fcnet_hiddens=[1000000]"], "fcnet_hiddens.0"),
    (
        "hidden-1000-layers",
        ["rl_module.model_config.fcnet_hiddens=[" + ", ".join(["8"] * 1000) + "]"],
        "fcnet_hiddens: list longer",
    ),
    (
        "envs-per-runner-1e9",
        ["env_runners.num_envs_per_env_runner=1000000000"],
        "env_runners.num_envs_per_env_runner",
    ),
    ("runners-1e9", ["env_runners.num_env_runners=1000000000"], "env_runners.num_env_runners"),
    (
        "batch-1e30-string",
        ["training.train_batch_size_per_learner=1e30"],
        "training.train_batch_size_per_learner",
    ),
    (
        "batch-1e30-float",
        ["training.train_batch_size_per_learner=1.0e+30"],
        "training.train_batch_size_per_learner",
    ),
    ("epochs-1e12", ["training.num_epochs=1000000000000"], "training.num_epochs"),
    ("minibatch-inf", ["training.minibatch_size=.inf"], "training.minibatch_size"),
    (
        "fragment-1e12",
        ["env_runners.rollout_fragment_length=1000000000000"],
        "rollout_fragment_length",
    ),
    (
        "eval-duration-1e12",
        ["evaluation.evaluation_duration=1000000000000"],
        "evaluation.evaluation_duration",
    ),
    ("iterations-1e12", ["stop.training_iteration=1000000000000"], "stop.training_iteration"),
    ("time-inf", ["stop.time_total_s=.inf"], "stop.time_total_s"),
    ("every-s-nan", ["checkpoint.every_s=.nan"], "checkpoint.every_s"),
    ("bench-seed-huge", ["benchmark.seeds=[1.0e+40]"], "benchmark.seeds.0"),
    ("resources-runners", ["resources.env_runners=1000000000"], "env_runners"),
    (
        "tune-grid-100k",
        ["tune.search_space={training.lr: {grid: [" + ", ".join(["0.1"] * 1200) + "]}}"],
        "grid: list longer",
    ),
    (
        "tune-product-100k",
        [
            "tune.search_space={"
            + ", ".join(
                f"training.x{i}: {{grid: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}}" for i in range(5)
            )
            + "}"
        ],
        "100_000 trials",
    ),
    ("tune-samples-1e9", ["tune.num_samples=1000000000"], "1_000_000_000 trials"),
    ("tune-grid-inf", ["tune.search_space={training.lr: {grid: [.inf]}}"], "training.lr"),
    ("set-20KB", ["wandb.notes=" + "x" * 20_000], "wandb.notes: value longer"),
    ("set-too-many", ["training.lr=0.1"] * 300, "more than 256"),
    ("set-alias", ["training.lr=*a"], "aliases"),
    ("set-bomb", ["x={a: &a [1, 1], b: [*a, *a]}"], "aliases"),
    ("set-duplicate", ["training={lr: 1, lr: 2}"], "appears twice"),
    ("set-deep", ["x=" + "[" * 5_000 + "]" * 5_000], "levels"),
    ("set-no-equals", ["training.lr"], "expected DOTTED.PATH=VALUE"),
    ("set-not-mapping", ["name.sub=1"], "name is not a mapping"),
    ("set-invalid-yaml", ["wandb.notes=[unclosed"], "wandb.notes: value is not valid YAML"),
    ("set-huge-string", ["wandb.notes=" + "y" * 12_000], "longer than 10_000"),
]


def _run(capsys, argv: list[str]) -> tuple[int, str]:
    code = cli.main(argv)
    out = capsys.readouterr()
    return code, out.out + out.err


def _assert_refused(code: int, text: str, expected: str) -> None:
    assert code == 2, text[-2000:]
    assert "Traceback" not in text
    assert expected in text, text[-2000:]
    assert len(text) < 20_000  # a message never quotes a huge input


def test_there_are_at_least_50_cases():
    assert len(FILE_CASES) + len(SET_CASES) >= 50


@pytest.mark.parametrize("case", FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_hostile_file_is_refused(tmp_path, capsys, case):
    _, data, overrides, expected = case
    path = tmp_path / "spec.yaml"
    path.write_bytes(data)
    sets = [f"--set={o}" for o in overrides]
    _assert_refused(*_run(capsys, ["validate", str(path), *sets]), expected)


@pytest.mark.parametrize("case", SET_CASES, ids=[c[0] for c in SET_CASES])
def test_hostile_override_is_refused(tmp_path, capsys, case):
    _, overrides, expected = case
    path = tmp_path / "spec.yaml"
    path.write_text(BASE)
    sets = [f"--set={o}" for o in overrides]
    _assert_refused(*_run(capsys, ["validate", str(path), *sets]), expected)


def test_train_refuses_before_making_a_run_directory(tmp_path, capsys):
    path = tmp_path / "spec.yaml"
    path.write_text(_spec(seed="1.0e+40"))
    runs = tmp_path / "runs"
    code, text = _run(capsys, ["train", str(path), "--runs-dir", str(runs)])
    assert code == 2 and "seed" in text and "Traceback" not in text
    assert not runs.exists()


@pytest.mark.parametrize("name", ["billion-laughs", "not-utf8", "deep-flow-list"])
def test_hostile_file_via_subprocess(tmp_path, name):
    data = next(c[1] for c in FILE_CASES if c[0] == name)
    path = tmp_path / "spec.yaml"
    path.write_bytes(data)
    out = subprocess.run(
        [sys.executable, "-m", "rl_apps.cli", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=55,  # a hang guard: starting Python and the CLI takes a few seconds
        cwd=Path(__file__).resolve().parents[2],
    )
    assert out.returncode == 2, out.stderr[-2000:]
    assert "Traceback" not in out.stdout + out.stderr


MANIFESTS = {
    "truncated": '{"iteration": 1, "env_steps": 10, "elapsed_s": 1.0, "files": {',
    "not-json": "\xff\xfe garbage",
    "a-list": "[1, 2, 3]",
    "iteration-string": '{"iteration": "1", "env_steps": 10, "elapsed_s": 1.0, "files": {}}',
    "env-steps-negative": '{"iteration": 1, "env_steps": -10, "elapsed_s": 1.0, "files": {}}',
    "elapsed-nan": '{"iteration": 1, "env_steps": 10, "elapsed_s": NaN, "files": {}}',
    "files-list": '{"iteration": 1, "env_steps": 10, "elapsed_s": 1.0, "files": ["a"]}',
    "huge-int": '{"iteration": ' + "9" * 5000 + ', "env_steps": 1, "elapsed_s": 1, "files": {}}',
    "missing-keys": "{}",
}


def _run_dir_with_manifest(root: Path, manifest: str) -> Path:
    run_dir = root / "run"
    checkpoint = run_dir / "checkpoints" / "checkpoint_000001"
    (checkpoint / "learner_group" / "learner" / "rl_module").mkdir(parents=True)
    (run_dir / "spec.yaml").write_text(BASE)
    (checkpoint / "spec.yaml").write_text(BASE)
    (checkpoint / "manifest.json").write_text(manifest)
    return run_dir


@pytest.mark.parametrize("name", list(MANIFESTS))
@pytest.mark.parametrize("command", ["eval", "train --resume", "export"])
def test_bad_manifest_is_refused(tmp_path, capsys, name, command):
    run_dir = _run_dir_with_manifest(tmp_path, MANIFESTS[name])
    words = command.split()
    extra = ["--out", str(tmp_path / "out")] if command == "export" else []
    code, text = _run(capsys, [*words, str(run_dir), *extra])
    _assert_refused(code, text, "manifest.json: not a")


def test_docs_list_every_bound():
    from rl_apps.spec.limits import limits_table

    doc = (Path(__file__).resolve().parents[2] / "docs" / "spec-limits.md").read_text()
    for table in limits_table().strip().split("\n\n"):
        assert table in doc, "regenerate docs/spec-limits.md from limits_table()"
