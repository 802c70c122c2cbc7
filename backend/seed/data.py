"""The small loader of the demo data file (demo.yaml): YAML with `!N_` marking msgids, and their extractor."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import IO, Any

import yaml

from backend.i18n import N_

DATA_FILE = Path(__file__).with_name("demo.yaml")
MSGID_TAG = "!N_"


class _Loader(yaml.SafeLoader):
    """SafeLoader that reads `!N_ "text"` as the msgid itself, as N_("text") does in Python."""


_Loader.add_constructor(MSGID_TAG, lambda loader, node: N_(loader.construct_scalar(node)))


@cache
def demo_data() -> dict[str, Any]:
    """The parsed data file, read once on first use (never at import time)."""
    with DATA_FILE.open(encoding="utf-8") as stream:
        data: dict[str, Any] = yaml.load(stream, Loader=_Loader)  # _Loader is a SafeLoader
    return data


def extract_msgids(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any
) -> Iterator[tuple[int, str, str, list[str]]]:
    """Babel extraction method (`backend.seed.data:extract_msgids`): every `!N_` scalar as an N_ call."""
    if "N_" not in keywords:
        return
    stack = [yaml.compose(fileobj, Loader=_Loader)]
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.ScalarNode):
            if node.tag == MSGID_TAG:
                yield node.start_mark.line + 1, "N_", node.value, []
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(reversed(node.value))
        elif isinstance(node, yaml.MappingNode):
            stack.extend(value for pair in reversed(node.value) for value in reversed(pair))
