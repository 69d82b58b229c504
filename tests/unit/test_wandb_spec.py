"""The ``wandb:`` spec section, the credential guard of the spec loader, and the wandb mode.

No Ray and no wandb here: wandb itself is faked or never reached.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from rl_apps import wandb_logging
from rl_apps.errors import SpecError
from rl_apps.spec import find_secrets, load_spec
from rl_apps.wandb_logging import WandbRun, resolve_mode

from ..conftest import ROOT

BASE = """
name: t
algo: ippo
env: {name: simple_spread}
stop: {training_iteration: 1}
"""
FAKE_KEY = "0123456789abcdef0123456789abcdef01234567"  # the shape of a wandb API key


def errors_of(path, overrides=()):
    with pytest.raises(SpecError) as info:
        load_spec(path, list(overrides))
    assert info.value.exit_code == 2
    return str(info.value)


def test_wandb_section_validates(write_spec):
    text = BASE + "wandb: {project: p, entity: e, group: g, tags: [a, b], notes: n, mode: offline}"
    spec = load_spec(write_spec(text))
    assert spec.wandb.project == "p" and spec.wandb.tags == ["a", "b"]
    assert spec.wandb.mode == "offline"
    assert spec.to_dict()["wandb"]["group"] == "g"


def test_no_section_means_no_wandb(write_spec):
    spec = load_spec(write_spec(BASE))
    assert spec.wandb is None and "wandb" not in spec.to_dict()


def test_set_creates_the_section_with_defaults(write_spec):
    spec = load_spec(write_spec(BASE), ["wandb.project=test"])
    assert spec.wandb.project == "test" and spec.wandb.mode is None and spec.wandb.tags == []


@pytest.mark.parametrize(
    "override, message",
    [
        ("wandb.projct=x", "wandb.projct: unknown key (did you mean 'project'?)"),
        ("wandb.mode=onlin", "wandb.mode: Input should be 'online', 'offline' or 'disabled'"),
        ("wandb.tags=[" + "x" * 65 + "]", "wandb.tags.0: String should have at most 64"),
        ("wandb.project=", "wandb.project: Input should be a valid string"),
    ],
)
def test_bad_wandb_values(write_spec, override, message):
    assert message in errors_of(write_spec(BASE), [override])


@pytest.mark.parametrize(
    "override, path",
    [
        ("env.api_key=abc", "env.api_key"),
        ("wandb.token=abc", "wandb.token"),
        ("training.Password=abc", "training.Password"),
        ("wandb.WANDB-API-KEY=abc", "wandb.WANDB-API-KEY"),
        ("env.wrappers=[{x: {client_secret: 1}}]", "env.wrappers.0.x.client_secret"),
        (f"wandb.notes={FAKE_KEY}", "wandb.notes"),
        (f"env.wrappers=[{FAKE_KEY.upper()}]", "env.wrappers.0"),
        ("wandb.project=local-0123456789abcdef", "wandb.project"),
    ],
)
def test_secret_looking_keys_and_values_are_rejected(write_spec, override, path):
    msg = errors_of(write_spec(BASE), [override, "training.lrr=1"])
    assert f"spec.yaml: {path}: " in msg
    assert FAKE_KEY not in msg.lower() and "0123456789abcdef" not in msg  # never echoed
    assert "lrr" not in msg  # reported alone: other messages may quote values


def test_value_containing_the_environment_key_is_rejected(write_spec, monkeypatch):
    secret = "Zq9" * 10
    monkeypatch.setenv("WANDB_API_KEY", secret)
    msg = errors_of(write_spec(BASE), [f"wandb.notes=key {secret} here"])
    assert "wandb.notes: value looks like an API key" in msg and secret not in msg


def test_find_secrets_is_quiet_on_ordinary_specs():
    spec = {"name": "x" * 40, "env": {"name": "lbf", "size": 8}, "tags": ["abc", "f" * 39]}
    assert find_secrets({**spec, "training": {"lr": 1e-4, "model": [{"a": None}]}}) == []
    assert find_secrets(spec, known=("",)) == []  # an empty WANDB_API_KEY matches nothing


@pytest.mark.parametrize(
    "requested, environ, mode, warns",
    [
        (None, {}, "offline", False),
        (None, {"WANDB_API_KEY": FAKE_KEY}, "online", False),
        (None, {"WANDB_API_KEY": "  "}, "offline", False),
        ("online", {}, "offline", True),
        ("online", {"WANDB_API_KEY": FAKE_KEY}, "online", False),
        ("offline", {"WANDB_API_KEY": FAKE_KEY}, "offline", False),
        ("disabled", {}, "disabled", False),
        ("disabled", {"WANDB_API_KEY": FAKE_KEY}, "disabled", False),
        (None, {"WANDB_MODE": "disabled"}, "disabled", False),
        (None, {"WANDB_MODE": "online"}, "offline", True),
        (None, {"WANDB_MODE": "offline", "WANDB_API_KEY": FAKE_KEY}, "offline", False),
        (None, {"WANDB_MODE": "bogus", "WANDB_API_KEY": FAKE_KEY}, "online", False),
        ("online", {"WANDB_MODE": "offline", "WANDB_API_KEY": FAKE_KEY}, "online", False),
    ],
)
def test_resolve_mode(requested, environ, mode, warns):
    resolved, warning = resolve_mode(requested, environ)
    assert resolved == mode
    assert (warning is not None) == warns
    if warns:
        assert "WANDB_API_KEY" in warning and "offline" in warning


class FakeRun:
    def __init__(self, fail_on=()):
        self.fail_on, self.logged, self.summary, self.finished = fail_on, [], {}, []

    def log(self, data, step=None):
        if "log" in self.fail_on:
            raise RuntimeError("disk full")
        self.logged.append((step, data))

    def finish(self, exit_code=0):
        self.finished.append(exit_code)


def test_wandb_run_logs_rows_and_scalars():
    fake, lines = FakeRun(), []
    run = WandbRun(fake, lines.append)
    run.log({"iteration": 3, "team_return_mean": None, "env_steps": 9}, {"a/b": 1.0})
    assert fake.logged == [(3, {"a/b": 1.0, "iteration": 3, "env_steps": 9})]
    run.log_final({"stopped_because": "interrupted", "run_dir": "/x", "iterations": 3}, ROOT)
    assert fake.summary == {"stopped_because": "interrupted", "iterations": 3}
    run.finish()
    run.finish()
    assert fake.finished == [130] and not run.active and lines == []


def test_wandb_failure_warns_once_and_training_goes_on():
    fake, lines = FakeRun(fail_on=("log",)), []
    run = WandbRun(fake, lines.append)
    for iteration in (1, 2, 3):
        run.log({"iteration": iteration}, {})
    run.finish()
    assert len(lines) == 1 and "logging failed (RuntimeError: disk full)" in lines[0]
    assert "continues without wandb" in lines[0]
    assert fake.finished == [1] and not run.active


def test_init_failure_warns_and_returns_an_inactive_run(write_spec, tmp_path, monkeypatch):
    def broken_init(*args):
        raise OSError("no wandb-core")

    monkeypatch.setattr(wandb_logging, "_init", broken_init)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    lines = []
    spec = load_spec(write_spec(BASE), ["wandb.mode=online"])
    run = wandb_logging.start(spec, tmp_path, lines.append)
    assert not run.active
    assert "logging offline instead" in lines[0] and "could not start a run" in lines[1]


def test_wandb_is_not_imported_without_a_section_or_when_disabled(write_spec):
    spec_file = write_spec(BASE)
    code = (
        "import sys, pathlib\n"
        "from rl_apps.spec import load_spec\n"
        "from rl_apps import wandb_logging\n"
        f"p = pathlib.Path({str(spec_file)!r})\n"
        "for overrides in ([], ['wandb.mode=disabled']):\n"
        "    run = wandb_logging.start(load_spec(p, overrides), p.parent, print)\n"
        "    assert not run.active\n"
        "print('wandb' in sys.modules)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["wandb: disabled (mode: disabled)", "False"]
