"""The hub's own cost per turn: widget-like turns against an instant fake Rasa, by step and in CPU time.

`make bench` measures the hub as "widget minus REST" on a whole stack, which a busy machine blurs. This
runs N turns through `backend.hub.Hub` alone (a migrated SQLite file, the widget's kind of message: a
client message id, no files) and prints the hub's timings per turn (backend.hub.timings) and the CPU
time this process spent per turn. The fake Rasa answers at once, in a process of its own (`--rasa
http`, the default: the hop over real HTTP is part of the hub's cost, Rasa's work is not) or inside
the gateway (`--rasa inline`: no HTTP at all). CPU time is the fair figure on a shared machine.

`--against DIR` alternates rounds between this checkout and the tree DIR (e.g. `git archive main`
unpacked), each round in a fresh process, and prints both: before and after, interleaved.

    .venv/bin/python -m tools.hub_cost --turns 400
    .venv/bin/python -m tools.hub_cost --against /tmp/main-tree --rounds 4
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SECRET = "hub-cost-secret"
STATUS_TEXT = "where is EA100000025CN"
# A status answer with a button, as the bot's status turn gives it.
REPLIES = [{"text": "EA100000025CN is in transit: last scanned in Shanghai today at 09:12."}]
TURNS_PER_CONVERSATION = 10


def _fake_rasa_app() -> Any:
    """Rasa's hub channel answering every message at once."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def hub_webhook(request: Request) -> JSONResponse:
        payload = await request.json()
        return JSONResponse([{"recipient_id": payload["sender"], **r} for r in REPLIES])

    return Starlette(routes=[Route("/webhooks/hub/webhook", hub_webhook, methods=["POST"])])


def _serve_fake_rasa(port: int) -> None:
    import uvicorn

    uvicorn.run(_fake_rasa_app(), host="127.0.0.1", port=port, log_level="warning")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, timeout_s: float = 15.0) -> None:
    import socket

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("the fake Rasa did not start")


async def _run_turns(
    database_url: str, rasa_url: str | None, turns: int, warmup: int, upload_dir: Path
) -> dict[str, Any]:
    import httpx

    from backend.db import make_engine, make_session_factory
    from backend.hub import Hub, Inbound, timings
    from backend.hub.broker import Broker
    from backend.hub.rasa import BotReply, RasaGateway, parse_replies

    class InlineRasa(RasaGateway):
        """The gateway without HTTP: Rasa's answer is there at once."""

        async def send(
            self,
            sender_id: str,
            text: str,
            metadata: dict[str, Any] | None = None,
            *,
            message_id: str | None = None,
        ) -> list[BotReply]:
            return parse_replies([{"recipient_id": sender_id, **r} for r in REPLIES])

    engine = make_engine(database_url)
    async with httpx.AsyncClient() as client:
        kind = RasaGateway if rasa_url else InlineRasa
        gateway = kind(client, base_url=rasa_url or "http://unused", channel_secret=SECRET, api_token=None)
        hub = Hub(make_session_factory(engine), gateway, Broker(), upload_dir=upload_dir)
        conversation = ""

        async def turn(number: int) -> None:
            nonlocal conversation
            if number % TURNS_PER_CONVERSATION == 0:
                conversation = uuid.uuid4().hex
            inbound = Inbound(
                channel="web", external_id=conversation, text=STATUS_TEXT, channel_message_id=uuid.uuid4().hex
            )
            result = await hub.receive(inbound)
            assert not result.duplicate and len(result.replies) == len(REPLIES), result

        for number in range(warmup):
            await turn(number)
        before = timings.timings()
        wall: list[float] = []
        cpu_started, wall_started = time.process_time(), time.perf_counter()
        for number in range(turns):
            started = time.perf_counter()
            await turn(number)
            wall.append((time.perf_counter() - started) * 1000)
        cpu_ms = (time.process_time() - cpu_started) * 1000 / turns
        total_ms = (time.perf_counter() - wall_started) * 1000 / turns
        after = timings.timings()
    engine.dispose()
    steps = {
        part: round((ms - before["ms"].get(part, 0.0)) / turns, 3)
        for part, ms in after["ms"].items()
        if ms - before["ms"].get(part, 0.0) > 0
    }
    return {
        "turns": turns,
        "cpu_ms_per_turn": round(cpu_ms, 3),
        "wall_ms_per_turn": round(total_ms, 3),
        "p50_ms": round(statistics.median(wall), 3),
        "p95_ms": round(sorted(wall)[int(len(wall) * 0.95) - 1], 3),
        "steps_ms_per_turn": steps,
    }


def measure(turns: int, warmup: int, rasa: str) -> dict[str, Any]:
    """One round in this process: a fresh migrated SQLite file, the fake Rasa, N turns."""
    from backend.migrate import upgrade

    with tempfile.TemporaryDirectory(prefix="hub-cost-") as folder:
        url = f"sqlite:///{Path(folder) / 'app.db'}"
        upgrade(url)
        if rasa == "inline":
            return asyncio.run(_run_turns(url, None, turns, warmup, Path(folder)))
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--serve-fake-rasa", str(port)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        try:
            _wait_for_port(port)
            return asyncio.run(_run_turns(url, f"http://127.0.0.1:{port}", turns, warmup, Path(folder)))
        finally:
            server.terminate()
            server.wait(timeout=10)


def _round_in(tree: Path, args: argparse.Namespace) -> dict[str, Any]:
    """One round in a fresh process whose `backend` is the one in `tree`."""
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--json",
        f"--turns={args.turns}",
        f"--warmup={args.warmup}",
        f"--rasa={args.rasa}",
    ]
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(command, cwd=tree, env=env, stdout=subprocess.PIPE, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _print(label: str, rounds: list[dict[str, Any]]) -> None:
    def med(key: str) -> float:
        return round(statistics.median(r[key] for r in rounds), 2)

    print(
        f"{label}: CPU {med('cpu_ms_per_turn')} ms/turn, wall {med('wall_ms_per_turn')} ms/turn "
        f"(p50 {med('p50_ms')}, p95 {med('p95_ms')}), median of {len(rounds)} round(s) of "
        f"{rounds[0]['turns']} turns"
    )
    parts = sorted({p for r in rounds for p in r["steps_ms_per_turn"]})
    for part in parts:
        value = statistics.median(r["steps_ms_per_turn"].get(part, 0.0) for r in rounds)
        print(f"    {part:<16} {value:8.3f} ms/turn")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--rasa", choices=("http", "inline"), default="http")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--against", type=Path, help="another source tree, measured in alternate rounds")
    parser.add_argument("--json", action="store_true", help="one round, printed as JSON")
    parser.add_argument("--serve-fake-rasa", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_fake_rasa:
        _serve_fake_rasa(args.serve_fake_rasa)
        return 0
    if args.json:
        print(json.dumps(measure(args.turns, args.warmup, args.rasa)))
        return 0
    ours: list[dict[str, Any]] = []
    theirs: list[dict[str, Any]] = []
    for _ in range(args.rounds):
        if args.against is not None:
            theirs.append(_round_in(args.against.resolve(), args))
        ours.append(_round_in(ROOT, args))
    if theirs:
        _print(f"against ({args.against})", theirs)
    _print(f"this checkout ({ROOT})", ours)
    return 0


if __name__ == "__main__":
    sys.exit(main())
