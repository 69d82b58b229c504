"""The command line's parser is built from registry data: `marl --help` and argument errors
answer without importing Ray, torch or the envs (a fresh interpreter, so nothing is loaded)."""

from __future__ import annotations

import subprocess
import sys

from ..conftest import ROOT

PROBE = (
    "import sys\n"
    "from rl_apps.cli import build_parser\n"
    "build_parser()\n"
    "print(sorted(m for m in ('ray', 'torch', 'pettingzoo') if m in sys.modules))\n"
)


def test_building_the_parser_imports_no_heavy_package():
    proc = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_inspect_choices_come_from_the_registry():
    from policies.registry import inspector_names

    assert inspector_names() == ["q-table", "value-dist"]
