"""Check modules that need Rasa run in .venv-rasa, one process each: loading Rasa takes most of the time.

A check module defines `check_<name>()` functions and ends with `sys.exit(run_checks(globals()))`; its
pytest side calls `assert_checks_pass("<module>")`, which reads the check names without importing it.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent


def run_checks(module_globals: Mapping[str, Any]) -> int:
    """Runs the module's checks (all, or those named on the command line), printing `ok <name>` each."""
    checks: dict[str, Callable[[], None]] = {
        name.removeprefix("check_"): function
        for name, function in sorted(module_globals.items())
        if name.startswith("check_") and callable(function)
    }
    for name in sys.argv[1:] or list(checks):
        checks[name]()
        print(f"ok {name}", flush=True)
    return 0


def check_names(module: str) -> list[str]:
    """The check functions of tests/rasa/<module>.py, read without importing it (it needs Rasa)."""
    tree = ast.parse((HERE / f"{module}.py").read_text())
    return [
        node.name.removeprefix("check_")
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("check_")
    ]


def run_in_rasa(module: str, env: Mapping[str, str] | None = None) -> tuple[set[str], str]:
    """Runs the check module `module` (a dotted name: tests.rasa.x, tests.bot.y) with .venv-rasa's
    Python; it must exit 0. Returns the names of the checks that reported ok, and its stderr."""
    from tools.stack import RASA_BIN, RASA_ENV, ROOT

    result = subprocess.run(
        [str(RASA_BIN / "python"), "-m", module],
        cwd=ROOT,
        env={**os.environ, **RASA_ENV, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    passed = {line.removeprefix("ok ") for line in result.stdout.splitlines() if line.startswith("ok ")}
    return passed, result.stderr


def assert_checks_pass(module: str, *, at_least: int) -> None:
    """Runs tests/rasa/<module>.py with .venv-rasa's Python; every check it defines must report ok."""
    passed, _ = run_in_rasa(f"tests.rasa.{module}")
    names = check_names(module)
    assert len(names) >= at_least
    assert set(names) <= passed, passed
