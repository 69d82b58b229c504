"""Credentials never reach a run directory or an error message: sentinel values of each format.

The sentinels are built at run time (no credential-looking literal in the repository).
"""

from __future__ import annotations

import json
import sys

import pytest

from rl_apps import cli, rundir
from rl_apps.spec.secrets import find_secrets, redact, secret_env_values, value_kind

from ..conftest import ENV_SENTINEL, SECRET_SENTINELS

BASE = "name: t\nalgo: ippo\nenv: {name: simple_spread}\nstop: {training_iteration: 1}\n"
SENTINELS = SECRET_SENTINELS


@pytest.fixture
def env_secret(monkeypatch):
    monkeypatch.setenv("MY_SERVICE_TOKEN", ENV_SENTINEL)
    return ENV_SENTINEL


def _all_sentinels(env_value: str) -> list[str]:
    return [*SENTINELS.values(), env_value]


def _validate(capsys, tmp_path, text: str, *sets: str) -> tuple[int, str]:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    code = cli.main(["validate", str(path), *[f"--set={s}" for s in sets]])
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.mark.parametrize("name", list(SENTINELS))
def test_each_format_is_found_inside_other_text(name):
    text = f"see {SENTINELS[name]} here"
    assert value_kind(text) is not None
    assert find_secrets({"wandb": {"notes": text}}) != []
    assert SENTINELS[name] not in redact(text) and "see " in redact(text)


def test_ordinary_values_are_not_credentials():
    ordinary = [
        "ippo_simple_spread_8x8",
        "experiments/benchmarks/qmix_lbf_8x8_2p_2f_coop.yaml",
        "f" * 39,
        "AKIA1234",
        "ghp_short",
        "REFERENCE.md, Table 3 (Papoudakis et al. 2021)",
        "x" * 40,
        "a" * 20 + "Z" * 20,  # no digit: not an AWS secret key
    ]
    assert [s for s in ordinary if value_kind(s)] == []


def test_secret_environment_values(monkeypatch, env_secret):
    monkeypatch.setenv("SHORT_KEY", "abc")  # too short to match anything safely
    monkeypatch.setenv("HOME_DIRECTORY", "not-a-secret-name")
    values = secret_env_values()
    assert env_secret in values and "abc" not in values and "not-a-secret-name" not in values


@pytest.mark.parametrize(
    "where",
    [
        "file",
        "set",
        "set-invalid-yaml",
        "set-no-equals",
        "key",
        "yaml-tag",
        "duplicate-key",
        "deep-below-key",
        "set-key",
    ],
)
def test_validate_refuses_and_never_echoes(capsys, tmp_path, env_secret, where):
    for secret in _all_sentinels(env_secret):
        if where == "file":
            code, text = _validate(capsys, tmp_path, BASE + f"wandb: {{notes: 'k {secret} k'}}\n")
        elif where == "set":
            code, text = _validate(capsys, tmp_path, BASE, f"wandb.notes=k {secret} k")
        elif where == "key":
            code, text = _validate(capsys, tmp_path, BASE + f"training: {{'{secret}': 1}}\n")
        elif where == "yaml-tag":
            if "/" in secret:
                continue  # not a valid tag
            code, text = _validate(capsys, tmp_path, BASE + f"x: !{secret} 1\n")
        elif where == "set-invalid-yaml":
            code, text = _validate(capsys, tmp_path, BASE, f"wandb.notes=[{secret}, ")
        elif where == "duplicate-key":  # the YAML reader's own check names the key's path
            code, text = _validate(capsys, tmp_path, BASE + f"'{secret}': 1\n'{secret}': 2\n")
        elif where == "deep-below-key":  # so does its depth bound, before any secret check
            deep = "[" * 40 + "1" + "]" * 40
            code, text = _validate(capsys, tmp_path, BASE + f"'{secret}': {deep}\n")
        elif where == "set-key":
            code, text = _validate(capsys, tmp_path, BASE, f"training.{secret}=1")
        else:
            code, text = _validate(capsys, tmp_path, BASE, secret)
        assert code == 2, text
        assert secret not in text
        assert "Traceback" not in text


def test_train_refuses_before_any_run_directory(capsys, tmp_path, env_secret):
    runs = tmp_path / "runs"
    path = tmp_path / "spec.yaml"
    path.write_text(BASE)
    for secret in _all_sentinels(env_secret):
        argv = ["train", str(path), "--runs-dir", str(runs), "--set", f"wandb.tags=[{secret}]"]
        assert cli.main(argv) == 2
        out = capsys.readouterr()
        assert secret not in out.out + out.err
    assert not runs.exists()


def test_meta_json_argv_never_holds_a_credential(tmp_path, monkeypatch, env_secret):
    secrets = _all_sentinels(env_secret)
    argv = ["marl", "train", "spec.yaml", *[f"--address=ray://u:{s}@host:10001" for s in secrets]]
    monkeypatch.setattr(sys, "argv", argv)
    rundir.write_metadata(tmp_path, {"name": "t"}, {})
    text = (tmp_path / rundir.META_FILE).read_text()
    assert [s for s in secrets if s in text] == []
    command = json.loads(text)["command"]
    assert command[:3] == ["marl", "train", "spec.yaml"] and "<redacted>" in command[3]
