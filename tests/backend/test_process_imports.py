"""What each process loads: the action server and the backend keep out the packages they never use.

Every module a long-running process imports stays in its memory (the bench's RSS figure). These run in
a fresh interpreter each, so what another test imported does not hide a regression.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def loaded_after(statement: str, probes: list[str]) -> dict[str, bool]:
    """Which of `probes` are in sys.modules after `statement` runs in a new interpreter."""
    script = f"import json, sys\n{statement}\nprint(json.dumps({{p: p in sys.modules for p in {probes!r}}}))"
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_the_action_server_loads_no_web_stack_no_hub_and_no_holiday_tables() -> None:
    probes = ["fastapi", "starlette", "httpx", "backend.api", "backend.hub.hub", "holidays.countries"]
    assert loaded_after("import bot.actions", probes) == dict.fromkeys(probes, False)


def test_the_backend_loads_python_telegram_bot_without_cryptography_and_leaves_it_importable() -> None:
    statement = (
        "import backend.main\n"
        "before = 'cryptography' in sys.modules\n"
        "import cryptography\n"  # still importable by anything else in the process
        "from telegram._passport.credentials import CRYPTO_INSTALLED\n"
        "assert not before and not CRYPTO_INSTALLED, (before, CRYPTO_INSTALLED)"
    )
    assert loaded_after(statement, ["telegram", "cryptography"]) == {"telegram": True, "cryptography": True}


def test_reading_the_settings_does_not_load_every_countrys_holidays() -> None:
    statement = "from backend.config import Settings\nSettings(_env_file=None, holidays_country='cn')"
    assert loaded_after(statement, ["holidays.countries"]) == {"holidays.countries": False}
