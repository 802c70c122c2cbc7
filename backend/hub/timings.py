"""Where this process's hub turns spend their time, summed per step, for `make bench`'s hub breakdown.

The sums only: the route that serves them is backend/api/hub_stats.py. This module is imported wherever
the hub is, the action server included (through the services), so it must not pull in FastAPI.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import defaultdict
from collections.abc import Iterator

# Steps run in worker threads too (run_db): the sums are locked.
_lock = threading.Lock()
_ms: defaultdict[str, float] = defaultdict(float)
_count: defaultdict[str, int] = defaultdict(int)


def add(part: str, seconds: float) -> None:
    """`seconds` more spent in `part` (one more occurrence of it)."""
    with _lock:
        _ms[part] += seconds * 1000
        _count[part] += 1


@contextlib.contextmanager
def timed(part: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        add(part, time.perf_counter() - started)


def timings() -> dict[str, dict[str, float]]:
    """Milliseconds and occurrences per step since the process started (read twice and subtracted)."""
    with _lock:
        return {"ms": {k: round(v, 3) for k, v in _ms.items()}, "count": dict(_count)}
