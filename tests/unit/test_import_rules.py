"""The import rules of DESIGN.md, checked by parsing every import of the source tree.

``rl_apps -> policies.registry -> (lazily) policies.<algo> -> policies.common ->
env_wrappers``; an algorithm builds on at most its declared parent; nothing below the
application imports it.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ALGO_PACKAGES = sorted(
    p.name
    for p in (ROOT / "policies").iterdir()
    if p.is_dir() and (p / "__init__.py").exists() and p.name != "common"
)
#: An algorithm package may build on these (its parent), never the reverse.
PARENTS = {"gmac": {"mappo"}, "a2c": {"mappo"}, "pac": {"coma"}}


def imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
    return found


def algo_of(module: str) -> str | None:
    parts = module.split(".")
    return (
        parts[1]
        if parts[0] == "policies" and len(parts) > 1 and parts[1] in ALGO_PACKAGES
        else None
    )


def violations(top: str, allowed) -> list[str]:
    bad = []
    for path in sorted((ROOT / top).rglob("*.py")):
        for module in imported_modules(path):
            reason = allowed(path, module)
            if reason:
                bad.append(f"{path.relative_to(ROOT)} imports {module}: {reason}")
    return bad


def test_the_algorithm_packages_are_found():
    assert {"mappo", "gmac", "qmix"} <= set(ALGO_PACKAGES)


def test_the_application_reaches_algorithms_only_through_the_registry():
    def rule(path, module):
        return "use policies.registry and the contract" if algo_of(module) else None

    assert violations("rl_apps", rule) == []


def test_common_imports_no_algorithm():
    def rule(path, module):
        return "policies/common must not import an algorithm" if algo_of(module) else None

    assert violations("policies/common", rule) == []


def test_algorithms_import_only_themselves_their_parent_and_common():
    def rule(path, module):
        own = path.relative_to(ROOT / "policies").parts[0]
        other = algo_of(module)
        if other is None or other == own or other in PARENTS.get(own, set()):
            return None
        return f"{own} may import {sorted(PARENTS.get(own, set())) or 'no other algorithm'}"

    assert violations("policies", rule) == []


def test_lower_layers_never_import_the_application():
    def rule(path, module):
        return "a lower layer reaching up" if module.split(".")[0] == "rl_apps" else None

    assert violations("policies", rule) + violations("env_wrappers", rule) == []

    def no_policies(path, module):
        return "env_wrappers holds no learning code" if module.startswith("policies") else None

    assert violations("env_wrappers", no_policies) == []


def test_the_registry_and_the_algorithm_table_import_no_algorithm_code():
    code = (
        "import sys\n"
        "import policies.registry\n"
        "assert 'ray' not in sys.modules, 'the registry imported Ray'\n"
        "from rl_apps.catalog import algo_table\n"
        "algo_table()\n"
        f"bad = [m for m in sys.modules if m.split('.')[:2][-1] in {ALGO_PACKAGES!r}]\n"
        "assert not bad, bad\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
