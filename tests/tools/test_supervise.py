"""`make run`'s supervision: a dead child comes back after a growing back-off, the others go on, and
the shutdown is not cut short by a second signal."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tools.stack import ROOT
from tools.supervise import FIRST_BACKOFF_S, MAX_BACKOFF_S, STABLE_AFTER_S, Supervisor


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)


def killed(process: subprocess.Popen[bytes]) -> None:
    process.kill()
    process.wait()


@pytest.fixture
def supervised() -> tuple[Supervisor, Clock]:
    clock = Clock()
    supervisor = Supervisor(log=io.StringIO(), clock=clock)
    for name in ("rasa", "actions", "backend"):
        supervisor.add(name, sleeper, sleeper())
    yield supervisor, clock
    for _, process in supervisor.running():
        process.kill()
        process.wait()


def test_a_dead_child_is_started_again_after_its_backoff_and_the_others_are_untouched(
    supervised: tuple[Supervisor, Clock],
) -> None:
    supervisor, clock = supervised
    before = {name: process.pid for name, process in supervisor.running()}
    killed(supervisor.children["actions"].process)  # type: ignore[arg-type]
    assert supervisor.check() == []  # noted, waiting for its back-off
    assert "actions exited with -9" in supervisor.log.getvalue()  # type: ignore[attr-defined]
    clock.now += FIRST_BACKOFF_S
    assert supervisor.check() == ["actions"]
    after = {name: process.pid for name, process in supervisor.running()}
    assert after["actions"] != before["actions"] and supervisor.children["actions"].process.poll() is None  # type: ignore[union-attr]
    assert (after["rasa"], after["backend"]) == (before["rasa"], before["backend"])


def test_a_child_that_keeps_dying_waits_longer_each_time_and_a_stable_one_starts_over(
    supervised: tuple[Supervisor, Clock],
) -> None:
    supervisor, clock = supervised
    child = supervisor.children["rasa"]
    waits = []
    for _ in range(8):
        killed(child.process)  # type: ignore[arg-type]
        supervisor.check()
        assert child.due_at is not None
        waits.append(child.due_at - clock.now)
        clock.now = child.due_at
        assert supervisor.check() == ["rasa"]
    assert waits[:4] == [FIRST_BACKOFF_S, 2 * FIRST_BACKOFF_S, 4 * FIRST_BACKOFF_S, 8 * FIRST_BACKOFF_S]
    assert max(waits) == MAX_BACKOFF_S
    clock.now += STABLE_AFTER_S
    killed(child.process)  # type: ignore[arg-type]
    supervisor.check()
    assert child.due_at == clock.now + FIRST_BACKOFF_S


LAUNCHER = textwrap.dedent(
    """
    import signal, subprocess, sys, time
    from tools.stack import Stopped, _stop_on_signal, kill_group
    from tools.supervise import shielded_shutdown

    signal.signal(signal.SIGTERM, _stop_on_signal)
    # Children that take a while to stop, in their own sessions, like Rasa and the servers.
    # Each says so once its handler is in place: on a busy machine a SIGTERM that came earlier would
    # end it at once, the launcher would be exiting when the next signal lands, and die of it.
    slow = (
        "import signal, time; "
        "signal.signal(signal.SIGTERM, lambda *_: (time.sleep(2), exit(0))); print('ready', flush=True); "
        "time.sleep(60)"
    )
    children = [
        subprocess.Popen([sys.executable, "-c", slow], start_new_session=True, stdout=subprocess.PIPE)
        for _ in range(3)
    ]
    for child in children:
        child.stdout.readline()
    try:
        # Inside the try: the test's SIGTERM may land while this line is still finishing.
        print(" ".join(str(c.pid) for c in children), flush=True)
        while True:
            time.sleep(0.1)
    except Stopped:
        pass
    finally:
        with shielded_shutdown():
            for child in children:
                kill_group(child)
    """
)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"


def test_a_second_sigterm_during_the_shutdown_does_not_leave_children_running(tmp_path: Path) -> None:
    launcher = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert launcher.stdout is not None
    pids = [int(pid) for pid in launcher.stdout.readline().split()]
    assert len(pids) == 3
    os.killpg(launcher.pid, signal.SIGTERM)
    time.sleep(0.5)  # the shutdown is under way: each child takes 2 s to stop
    os.killpg(launcher.pid, signal.SIGTERM)
    os.killpg(launcher.pid, signal.SIGTERM)
    assert launcher.wait(timeout=30) == 0
    assert not [pid for pid in pids if alive(pid)]
