"""The bilingual tokenizer of the NLU pipeline (bot/nlu/tokenizer.py), run in .venv-rasa."""

from __future__ import annotations

import ast
import os
import subprocess
from pathlib import Path

import pytest

from tools.stack import RASA_BIN, RASA_ENV, ROOT

pytestmark = pytest.mark.rasa

CHECKS_FILE = Path(__file__).with_name("tokenizer_checks.py")


def check_names() -> list[str]:
    """The check functions of tokenizer_checks.py, read without importing it (it needs Rasa)."""
    tree = ast.parse(CHECKS_FILE.read_text())
    return [
        node.name.removeprefix("check_")
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("check_")
    ]


def test_tokenizer_checks() -> None:
    """All checks in one process: loading Rasa takes most of the time."""
    result = subprocess.run(
        [str(RASA_BIN / "python"), "-m", "tests.rasa.tokenizer_checks"],
        cwd=ROOT,
        env={**os.environ, **RASA_ENV, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    passed = {line.removeprefix("ok ") for line in result.stdout.splitlines() if line.startswith("ok ")}
    assert len(check_names()) >= 8
    assert set(check_names()) <= passed, result.stdout
