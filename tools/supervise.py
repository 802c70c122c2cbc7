"""Keeps `make run`'s processes up: a child that dies is started again after a back-off, the others go on.

What a service manager (systemd's `Restart=on-failure` with `RestartSec`, a container's restart
policy) does in production, for one machine without one. A child that keeps dying waits longer each
time (1 s, 2 s, 4 s ... up to a minute); one that stayed up for a while starts from the short wait
again. The shutdown is shielded: once it begins, further SIGTERM, SIGINT or SIGHUP (a service manager
that signals twice, Ctrl-C pressed again, a `kill` to the whole process group) no longer interrupt it,
so no child is left running.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TextIO

FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 60.0
# Up this long, a child counts as healthy again: its next crash waits the first back-off only.
STABLE_AFTER_S = 60.0
SHUTDOWN_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
# Starts a child (again) and returns its process.
Starter = Callable[[], "subprocess.Popen[bytes]"]


@dataclass
class Child:
    """One supervised process: how to start it, and its restart history."""

    name: str
    start: Starter
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    backoff_s: float = FIRST_BACKOFF_S
    due_at: float | None = None  # when a dead child is started again


@dataclass
class Supervisor:
    """Starts the children, restarts the ones that die (with a back-off), and stops them all once."""

    children: dict[str, Child] = field(default_factory=dict)
    log: TextIO = sys.stderr
    clock: Callable[[], float] = time.monotonic

    def add(self, name: str, start: Starter, process: subprocess.Popen[bytes]) -> None:
        """Supervise a child that is already running, started by `start` (which starts it again)."""
        self.children[name] = Child(name, start, process, started_at=self.clock())

    def check(self) -> list[str]:
        """One round: notes the children that died, starts again those whose back-off is over.

        Returns the names started again in this round."""
        now = self.clock()
        restarted = []
        for child in self.children.values():
            if child.process is not None and child.process.poll() is not None:
                code = child.process.returncode
                if now - child.started_at >= STABLE_AFTER_S:
                    child.backoff_s = FIRST_BACKOFF_S
                child.due_at = now + child.backoff_s
                print(
                    f"{child.name} exited with {code}; starting it again in {child.backoff_s:.0f} s "
                    f"(see its log); the other processes keep serving",
                    file=self.log,
                    flush=True,
                )
                child.process = None
                child.backoff_s = min(child.backoff_s * 2, MAX_BACKOFF_S)
            if child.process is None and child.due_at is not None and now >= child.due_at:
                child.process = child.start()
                child.started_at, child.due_at = now, None
                child.restarts += 1
                restarted.append(child.name)
                print(f"{child.name} started again (restart {child.restarts})", file=self.log, flush=True)
        return restarted

    def running(self) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
        for child in self.children.values():
            if child.process is not None:
                yield child.name, child.process


@contextmanager
def shielded_shutdown() -> Iterator[None]:
    """While the block runs, a further stop signal is ignored instead of interrupting it."""
    previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in SHUTDOWN_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def watching(supervisor: Supervisor, every_s: float = 0.2) -> Iterator[Supervisor]:
    """Runs `supervisor.check()` in a background thread while the block runs (the end-to-end tests keep
    a throwaway production up the way `make run-prod`'s foreground loop does)."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every_s):
            supervisor.check()

    thread = threading.Thread(target=loop, name="supervisor", daemon=True)
    thread.start()
    try:
        yield supervisor
    finally:
        stop.set()
        thread.join(timeout=10)
