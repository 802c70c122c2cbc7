"""`make run` as a user starts it: everything comes up, a process that dies comes back, and SIGTERM (or
Ctrl-C, even twice) stops all three processes."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.fakes.server import free_port
from tools.stack import DEFAULT_MODEL, ROOT

pytestmark = pytest.mark.e2e


def server_pid(*argv_parts: str) -> int | None:
    """The process whose command line holds every one of `argv_parts` (they are our own children)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        words = [part.decode(errors="replace") for part in argv]
        if all(part in words for part in argv_parts):
            return int(entry.name)
    return None


def _terminal_signals() -> None:
    """In the child before exec: SIGINT and SIGQUIT as an interactive shell leaves them to a job."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)


def healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=5).json()["status"] == "ok"
    except (httpx.HTTPError, ValueError, KeyError):
        return False


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_make_run_starts_everything_and_a_signal_stops_it_all(tmp_path: Path, stop_signal: int) -> None:
    if not DEFAULT_MODEL.exists():
        pytest.fail("no trained model: make test trains it first")
    ports = {"BACKEND_PORT": free_port(), "RASA_PORT": free_port(), "ACTIONS_PORT": free_port()}
    env = {
        **os.environ,
        **{k: str(v) for k, v in ports.items()},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 'tracker.db'}",
    }
    make = subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # Its own process group, like a job in a terminal: Ctrl-C goes to the whole group.
        start_new_session=True,
        # And Ctrl-C handled as in a terminal: a test run started in the background (`make test &`,
        # nohup) inherits SIGINT ignored, and so would make and the launcher, which then never stop.
        preexec_fn=_terminal_signals,
    )
    banner = ""
    try:
        deadline = time.monotonic() + 300
        assert make.stdout is not None
        while "Ctrl-C stops everything" not in banner:
            line = make.stdout.readline()
            assert line or make.poll() is None, f"make run ended early:\n{banner}"
            banner += line
            assert time.monotonic() < deadline, banner
        assert f"http://127.0.0.1:{ports['BACKEND_PORT']}/" in banner  # the widget's URL
        # The console's URL, and where the demo logins' passwords are.
        assert f"agent console    http://127.0.0.1:{ports['BACKEND_PORT']}/console\n" in banner
        assert re.search(r"log in as demo +password in var/demo_agent_password\n", banner), banner
        assert re.search(r"log in as demo-supervisor +password in var/demo_supervisor_password\n", banner)
        assert (ROOT / "var" / "demo_supervisor_password").read_text().strip()
        if stop_signal == signal.SIGTERM:
            # `make chat` beside it: the bot's buttons show as the README shows them, and pressing one works.
            chat = subprocess.run(
                [str(ROOT / ".venv" / "bin" / "python"), "-m", "tools.chat"],
                cwd=ROOT,
                env={**env, "PYTHONPATH": str(ROOT)},
                input="where is ea 1000 0003 4 cn\n1\n",
                capture_output=True,
                text=True,
                timeout=180,
            )
            said = chat.stdout
            assert "EA100000034CN" in said, said
            assert "\n     [Yes, please] [No, thanks]\n" in said, said
            after = said.split("[Yes, please] [No, thanks]", 1)[1]
            assert "bot> " in after and "did not answer" not in after and "no reply" not in after, said
        assert healthy(ports["BACKEND_PORT"])
        if stop_signal == signal.SIGINT:
            # The action server dies: it is started again, and the backend serves on meanwhile.
            actions = server_pid("bot.action_server", str(ports["ACTIONS_PORT"]))
            backend = server_pid("backend.main:app", str(ports["BACKEND_PORT"]))
            assert actions and backend
            os.kill(actions, signal.SIGKILL)
            deadline = time.monotonic() + 120
            while not healthy(ports["BACKEND_PORT"]) or server_pid(
                "bot.action_server", str(ports["ACTIONS_PORT"])
            ) in (None, actions):
                assert time.monotonic() < deadline, "the action server did not come back"
                time.sleep(1)
            assert server_pid("backend.main:app", str(ports["BACKEND_PORT"])) == backend
            os.killpg(make.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the whole job
            time.sleep(0.3)
            os.killpg(make.pid, signal.SIGINT)  # and again, impatiently: the stop still finishes
        else:
            make.send_signal(signal.SIGTERM)  # `kill <pid of make>`, or a service manager
        make.wait(timeout=90)
    finally:
        if make.poll() is None:
            make.kill()
    deadline = time.monotonic() + 30
    while any(listening(port) for port in ports.values()) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not [name for name, port in ports.items() if listening(port)], "processes left running"
