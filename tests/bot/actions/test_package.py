"""The action server builds the complaint text pipeline when it loads the actions, not at a complaint."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

# What `python -m rasa_sdk --actions bot.actions` does before it serves, in a fresh interpreter.
LOAD_LIKE_THE_ACTION_SERVER = """
from backend.complaints.signals import pipeline
assert pipeline._pipeline_instance is None, "built before the actions were imported"
from rasa_sdk.executor import ActionExecutor
executor = ActionExecutor()
executor.register_package("bot.actions")
assert "action_answer_shipment" in executor.actions
print("built" if pipeline._pipeline_instance is not None else "not built")
"""


def test_loading_the_actions_package_builds_the_pipeline() -> None:
    done = subprocess.run(
        [sys.executable, "-c", LOAD_LIKE_THE_ACTION_SERVER],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "built"
