"""The guard of issue 8 over the dialogue's own data: no story, rule or test conversation makes the bot
say one fixed reply three turns in a row (the replayed conversations are checked live in tests/e2e)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tools.stack import ROOT

FILES = sorted([*(ROOT / "bot" / "data").glob("*/*.yml"), *(ROOT / "tests" / "conversations").glob("*.yml")])
FILES = [path for path in FILES if path.parent.name != "nlu"]


def bot_turns(steps: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    """The actions of each bot turn, in order (a turn is everything between two user messages)."""
    turns: list[list[str]] = [[]]
    for step in steps:
        if "intent" in step or "user" in step:
            turns.append([])
        elif "action" in step and step["action"] != "action_listen":
            turns[-1].append(step["action"])
    return [tuple(turn) for turn in turns if turn]


def fixed_reply(turn: tuple[str, ...]) -> bool:
    """A turn that says the same words every time: only responses (utter_...), no custom action."""
    return all(action.startswith("utter_") for action in turn)


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.name}" for p in FILES])
def test_no_fixed_reply_three_turns_in_a_row(path: Path) -> None:
    data = yaml.safe_load(path.read_text()) or {}
    for entry in [*data.get("stories", []), *data.get("rules", [])]:
        turns = bot_turns(entry.get("steps", []))
        for first, second, third in zip(turns, turns[1:], turns[2:], strict=False):
            assert not (first == second == third and fixed_reply(first)), entry.get("story") or entry.get(
                "rule"
            )


def test_the_guard_sees_a_repeat() -> None:
    steps = [{"intent": "greet"}, {"action": "utter_greet"}] * 3
    turns = bot_turns(steps)
    assert turns == [("utter_greet",)] * 3 and fixed_reply(turns[0])
