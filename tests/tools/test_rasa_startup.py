"""The Rasa server's process starts without jax: TensorFlow's optional import of it is refused at start-up."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tools.stack import RASA_BIN, ROOT, Stack

# What Rasa's policies import (rasa.core.policies.policy → ... → tensorflow), then what was loaded.
PROBE = """
import json, sys
import rasa.core.policies.policy
tflite_util = sys.modules["tensorflow.lite.python.util"]
print(json.dumps({
    "jax": "jax" in sys.modules and sys.modules["jax"] is not None,
    "jaxlib": "jaxlib" in sys.modules,
    "tensorflow": "tensorflow" in sys.modules,
    "xla_computation": tflite_util._xla_computation is not None,
}))
"""


def probe(env: dict[str, str]) -> dict[str, bool]:
    result = subprocess.run(
        [str(RASA_BIN / "python"), "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_the_rasa_process_loads_tensorflow_without_jax(tmp_path: Path) -> None:
    stack = Stack.throwaway(tmp_path)
    loaded = probe(stack.process_env("rasa"))
    assert loaded == {"jax": False, "jaxlib": False, "tensorflow": True, "xla_computation": False}


def test_without_the_hook_tensorflow_imports_jax(tmp_path: Path) -> None:
    # The installed TensorFlow still imports jax when it can: otherwise the test above proves nothing.
    stack = Stack.throwaway(tmp_path)
    loaded = probe(stack.env())
    assert loaded["jax"] and loaded["jaxlib"] and loaded["xla_computation"]


def test_only_rasa_gets_the_hook(tmp_path: Path) -> None:
    stack = Stack.throwaway(tmp_path)
    assert stack.process_env("actions")["PYTHONPATH"] == str(ROOT)
    assert stack.process_env("backend")["PYTHONPATH"] == str(ROOT)
    assert stack.process_env("rasa")["PYTHONPATH"].split(":")[0] == str(ROOT / "bot" / "startup")
