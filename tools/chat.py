"""`make chat`: talk to the bot in the terminal over Rasa's REST channel (for people without Telegram).

Uses the running stack when `make run` is up; otherwise starts one for the session and stops it after.
The bot's buttons are shown as `[Yes, please] [No, thanks]`; typing a button's text or its number
presses it. The conversation is `cli:<uuid>`: a practice channel, which the monthly report leaves out.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Sequence
from typing import Any

import httpx

from tools.stack import Stack, stack_from_environment

PROMPT = "you> "
BOT = "bot> "
# Continuation lines line up under the text after "bot> ".
INDENT = " " * len(BOT)
PRACTICE_CHANNEL = "cli"


def healthy(stack: Stack) -> bool:
    try:
        return httpx.get(f"{stack.backend_url}/api/health", timeout=3).status_code == 200
    except httpx.HTTPError:
        return False


def show(reply: dict[str, Any]) -> str:
    """One answer of the bot as the terminal shows it: its text, then its buttons on their own line."""
    lines = str(reply.get("text") or "").splitlines() or [""]
    if reply.get("image"):
        lines.append(f"(photo: {reply['image']})")
    buttons = [b for b in reply.get("buttons") or [] if b.get("title")]
    if buttons:
        lines.append(" ".join(f"[{b['title']}]" for b in buttons))
    return "\n".join(BOT + line if n == 0 else INDENT + line for n, line in enumerate(lines))


def pressed(line: str, buttons: Sequence[dict[str, Any]]) -> str | None:
    """The payload of the button the person typed (its text, or its number counting from 1), if any."""
    typed = line.strip().strip("[]").strip()
    if typed.isdigit() and 1 <= int(typed) <= len(buttons):
        return str(buttons[int(typed) - 1].get("payload") or buttons[int(typed) - 1].get("title"))
    for button in buttons:
        if typed.casefold() == str(button.get("title", "")).strip().casefold():
            return str(button.get("payload") or button.get("title"))
    return None


def converse(stack: Stack) -> None:
    sender = f"{PRACTICE_CHANNEL}:{uuid.uuid4()}"
    print(
        "Type a message and press Enter (Ctrl-D or /quit to leave);"
        " type a [button]'s text or number to press it."
    )
    offered: list[dict[str, Any]] = []
    while True:
        try:
            line = input(PROMPT)
        except EOFError:
            print()
            return
        if line.strip() == "/quit":
            return
        message = pressed(line, offered) or line
        try:
            response = httpx.post(
                f"{stack.rasa_url}/webhooks/rest/webhook",
                json={"sender": sender, "message": message},
                headers=stack.rest_headers,
                timeout=60,
            )
            replies = response.json()
        except (httpx.HTTPError, ValueError) as error:
            print(f"(the bot did not answer: {error})")
            continue
        offered = [b for reply in replies or [] for b in reply.get("buttons") or []]
        for reply in replies or [{"text": "(no reply: the conversation may be with a person now)"}]:
            print(show(reply), flush=True)


def main() -> int:
    stack = stack_from_environment()
    if healthy(stack):
        converse(stack)
        return 0
    print("Starting the bot for this chat (about half a minute)...", flush=True)
    stack.prepare_database()
    stack.start()
    try:
        stack.wait_healthy()
        converse(stack)
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
