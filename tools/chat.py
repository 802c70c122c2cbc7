"""`make chat`: talk to the bot in the terminal over Rasa's REST channel (for people without Telegram).

Uses the running stack when `make run` is up; otherwise starts one for the session and stops it after.
"""

from __future__ import annotations

import sys
import uuid

import httpx

from tools.stack import Stack, stack_from_environment


def healthy(stack: Stack) -> bool:
    try:
        return httpx.get(f"{stack.backend_url}/api/health", timeout=3).status_code == 200
    except httpx.HTTPError:
        return False


def converse(stack: Stack) -> None:
    sender = f"cli:{uuid.uuid4()}"
    print("Type a message and press Enter (Ctrl-D or /quit to leave).")
    while True:
        try:
            line = input("you> ")
        except EOFError:
            print()
            return
        if line.strip() == "/quit":
            return
        try:
            response = httpx.post(
                f"{stack.rasa_url}/webhooks/rest/webhook",
                json={"sender": sender, "message": line},
                headers=stack.rest_headers,
                timeout=60,
            )
            replies = response.json()
        except (httpx.HTTPError, ValueError) as error:
            print(f"(the bot did not answer: {error})")
            continue
        for reply in replies or [{"text": "(no reply: the conversation may be with a person now)"}]:
            print(f"bot> {reply.get('text', '')}")


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
