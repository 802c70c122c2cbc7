"""What `make chat` and `make run` show a newcomer: the bot's buttons, pressing one, where everything is."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.chat import pressed, show
from tools.stack import ROOT, Stack, start_banner

BUTTONS = [{"title": "Yes, please", "payload": "/affirm"}, {"title": "No, thanks", "payload": "/deny"}]


def test_a_reply_shows_its_text_then_its_buttons_under_it() -> None:
    reply = {"text": "I'm sorry about this.\nWould you like me to register a complaint?", "buttons": BUTTONS}
    assert show(reply) == (
        "bot> I'm sorry about this.\n"
        "     Would you like me to register a complaint?\n"
        "     [Yes, please] [No, thanks]"
    )
    assert show({"text": "Hello"}) == "bot> Hello"
    assert show({"image": "http://x/p.png"}) == "bot> \n     (photo: http://x/p.png)"


@pytest.mark.parametrize(
    ("typed", "payload"),
    [
        ("1", "/affirm"),
        ("2", "/deny"),
        ("yes, please", "/affirm"),
        ("[No, thanks]", "/deny"),
        (" 2 ", "/deny"),
    ],
)
def test_typing_a_buttons_text_or_number_presses_it(typed: str, payload: str) -> None:
    assert pressed(typed, BUTTONS) == payload


@pytest.mark.parametrize("typed", ["3", "0", "yes", "yes, and nobody even told me!!", ""])
def test_anything_else_is_sent_as_typed(typed: str) -> None:
    assert pressed(typed, BUTTONS) is None
    assert pressed("1", []) is None


def stack_in(workdir: Path) -> Stack:
    return Stack(
        database_url="sqlite://", tracker_url="sqlite://", api_token="a", rasa_token="r", workdir=workdir
    )


def test_make_run_prints_the_console_and_the_demo_logins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APP_ENV", raising=False)
    banner = start_banner(stack_in(ROOT / "var"))
    assert "  agent console    http://127.0.0.1:8000/console\n" in banner
    assert "agent      log in as demo             password in var/demo_agent_password\n" in banner
    assert "supervisor log in as demo-supervisor  password in var/demo_supervisor_password\n" in banner
    assert "  web widget       http://127.0.0.1:8000/  (the demo carrier page with the chat)\n" in banner


def test_production_has_no_demo_logins_to_print(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    banner = start_banner(stack_in(tmp_path))
    assert "/console" in banner and "log in as" not in banner and "password" not in banner
