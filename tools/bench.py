"""Latency, throughput, memory and training time of our bot against Rasa's starter bot, in one run.

`make bench` (or `.venv/bin/python -m tools.bench --quick` for a smoke run). Both bots are measured in
the same run, their load rounds interleaved (ours, reference, reference, ours, ...), so the ratios
ours/reference stay meaningful on a noisy machine even when the absolute numbers move. Everything runs
on loopback: our stack on free ports with fresh SQLite databases, the reference with `rasa run`.
Writes results/bench.json and results/bench.md; logs and databases of the last run stay in
var/bench/last-run, Rasa's starter bot in var/bench/starter.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import json
import math
import os
import platform
import random
import secrets
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import websockets.client
import websockets.exceptions
from starlette.responses import Response

from backend.channels.telegram import SECRET_HEADER, WEBHOOK_PATH
from tests.fakes.telegram_api import FakeBotApi, text_update
from tools.stack import (
    DEFAULT_MODEL,
    RASA_BIN,
    RASA_ENV,
    RASA_STARTUP,
    ROOT,
    VAR,
    Stack,
    free_port,
    kill_group,
    run_timed,
)

RESULTS = ROOT / "results"
BENCH_VAR = VAR / "bench"
# Rasa's starter bot, kept between runs so that --skip-training and --quick need not train it again.
STARTER_DIR = BENCH_VAR / "starter"
OUR_MESSAGE = "where is EA100000025CN?"
# Runs the starter's rule "Say 'I am a bot' anytime the user challenges" (one intent, one response).
REFERENCE_MESSAGE = "are you a bot?"
# A complaint turn: the start of the complaint and the form's first question, in a new conversation.
COMPLAINT_MESSAGE = "I want to make a complaint"
BOTS = ("ours", "reference")
# Our channels besides REST, each through the backend's hub: (name, label).
HUB_CHANNELS = (("widget", "web widget WebSocket"), ("telegram", "Telegram webhook → Bot API sendMessage"))


# ---------------------------------------------------------------- pure helpers (tests/tools)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear between closest ranks (numpy's default method)."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} outside 0..100")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def ratio(ours: float | None, reference: float | None) -> float | None:
    """ours / reference, or None when either is missing or the reference is zero."""
    if ours is None or reference is None or reference == 0:
        return None
    return ours / reference


def format_ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def format_value(value: float | None, decimals: int = 1) -> str:
    return "–" if value is None else f"{value:,.{decimals}f}"


def parse_concurrency(text: str) -> list[int]:
    """'1,20' -> [1, 20]; each level a positive integer, no duplicates."""
    try:
        levels = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a list of integers: {text!r}") from error
    if not levels or any(level < 1 for level in levels) or len(set(levels)) != len(levels):
        raise argparse.ArgumentTypeError(f"concurrency levels must be distinct positive integers: {text!r}")
    return levels


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from error
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tools.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--turns", type=positive_int, help="turns per bot and concurrency level (200)")
    parser.add_argument(
        "--concurrency", type=parse_concurrency, help="comma-separated concurrent conversations (1,20)"
    )
    parser.add_argument(
        "--turns-per-conversation",
        type=positive_int,
        help="turns in each conversation (10); the same at every level, so trackers grow alike",
    )
    parser.add_argument("--warmup", type=positive_int, help="unmeasured turns per bot before the load (10)")
    parser.add_argument(
        "--rounds", type=positive_int, help="interleaved rounds per level, ours and reference alternating (2)"
    )
    parser.add_argument(
        "--level-timeout", type=float, default=300.0, help="seconds at most per bot and level (300)"
    )
    parser.add_argument(
        "--skip-training", action="store_true", help="skip the two training-time measurements"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 20 turns at 1,4 concurrent, 2 warm-up turns, 1 round; implies --skip-training",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="where bench.json and bench.md go")
    args = parser.parse_args(argv)
    defaults = (
        {"turns": 20, "concurrency": [1, 4], "turns_per_conversation": 5, "warmup": 2, "rounds": 1}
        if args.quick
        else {"turns": 200, "concurrency": [1, 20], "turns_per_conversation": 10, "warmup": 10, "rounds": 2}
    )
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.quick:
        args.skip_training = True
    return args


def split_turns(total: int, parts: int) -> list[int]:
    """total turns spread over parts as evenly as possible: split_turns(10, 3) == [4, 3, 3]."""
    base, extra = divmod(total, parts)
    return [base + (1 if index < extra else 0) for index in range(parts)]


def conversation_plan(turns: int, per_conversation: int) -> list[int]:
    """Turns of each conversation: full conversations, then the remainder in a last, shorter one."""
    full, rest = divmod(turns, per_conversation)
    return [per_conversation] * full + ([rest] if rest else [])


def parse_vmrss_kib(status: str) -> int:
    """VmRSS of a /proc/<pid>/status text in KiB (0 for a zombie or a kernel thread)."""
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def parse_ppid(stat: str) -> int:
    """The parent pid from /proc/<pid>/stat; the command name in parentheses may hold spaces."""
    return int(stat[stat.rindex(")") + 2 :].split()[1])


def parse_cpu_model(cpuinfo: str) -> str:
    for line in cpuinfo.splitlines():
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return "unknown"


def parse_mem_total_gib(meminfo: str) -> float:
    for line in meminfo.splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024**2
    return 0.0


@dataclass
class LevelResult:
    """One bot at one concurrency level, all its rounds together."""

    concurrency: int
    turns: int
    errors: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list, repr=False)

    @property
    def p50_ms(self) -> float | None:
        return percentile(self.latencies_ms, 50) if self.latencies_ms else None

    @property
    def p95_ms(self) -> float | None:
        return percentile(self.latencies_ms, 95) if self.latencies_ms else None

    @property
    def throughput(self) -> float | None:
        """Successful turns per second of wall time."""
        return self.turns / self.seconds if self.seconds > 0 else None

    def merge(self, other: LevelResult) -> LevelResult:
        return LevelResult(
            concurrency=self.concurrency,
            turns=self.turns + other.turns,
            errors=self.errors + other.errors,
            seconds=self.seconds + other.seconds,
            latencies_ms=self.latencies_ms + other.latencies_ms,
        )

    def summary(self) -> dict[str, float | int | None]:
        return {
            "concurrency": self.concurrency,
            "turns": self.turns,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
            "p50_ms": _round(self.p50_ms),
            "p95_ms": _round(self.p95_ms),
            "turns_per_s": _round(self.throughput, 2),
        }


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


@dataclass
class Row:
    """One figure of the report: ours, the reference, and whether lower is better."""

    label: str
    unit: str
    ours: float | None
    reference: float | None
    lower_is_better: bool = True
    decimals: int = 1

    @property
    def ratio(self) -> float | None:
        return ratio(self.ours, self.reference)


def _level_rows(table: object, kind: str) -> list[Row]:
    rows: list[Row] = []
    if not isinstance(table, dict):
        return rows
    for level in sorted(table, key=int):
        pair = table[level]
        ours, reference = pair.get("ours", {}), pair.get("reference", {})
        for key, label, unit, lower, decimals in (
            ("p50_ms", "p50", "ms", True, 1),
            ("p95_ms", "p95", "ms", True, 1),
            ("turns_per_s", "throughput", "turns/s", False, 2),
        ):
            rows.append(
                Row(
                    f"{kind} {label} @ {level} conc.",
                    unit,
                    ours.get(key),
                    reference.get(key),
                    lower,
                    decimals,
                )
            )
    return rows


def hub_overhead_ms(channels: dict[str, dict[str, float]], channel: str, key: str = "p50_ms") -> float | None:
    """What the hub adds to a turn: ours through `channel` minus ours over REST, same run, interleaved."""
    through, rest = channels.get(channel, {}).get(key), channels.get("rest", {}).get(key)
    return None if through is None or rest is None else round(through - rest, 1)


def build_rows(results: dict[str, object]) -> list[Row]:
    """The report's figures from the JSON-shaped results (so the tests need no server)."""
    rows: list[Row] = []
    training = results.get("training_s")
    if isinstance(training, dict):
        rows.append(
            Row("Training time (rasa train --force)", "s", training.get("ours"), training.get("reference"))
        )
    rows += _level_rows(results.get("load"), "Status turn")
    rows += _level_rows(results.get("complaint"), "Complaint turn")
    channels = results.get("channels")
    if isinstance(channels, dict):
        for name, label in HUB_CHANNELS:
            if name in channels:
                rows.append(
                    Row(f"Status turn p50 via {label}, 1 conv.", "ms", channels[name].get("p50_ms"), None)
                )
                rows.append(
                    Row(f"Hub overhead p50, {name} − REST", "ms", hub_overhead_ms(channels, name), None)
                )
                rows.append(
                    Row(
                        f"Hub overhead p95, {name} − REST",
                        "ms",
                        hub_overhead_ms(channels, name, "p95_ms"),
                        None,
                    )
                )
    calls = results.get("calls_per_turn")
    if isinstance(calls, dict):
        for kind in ("status", "complaint"):
            if kind in calls:
                rows.append(
                    Row(f"Remote action calls per {kind} turn", "calls", calls[kind], None, decimals=2)
                )
    memory = results.get("memory_mib")
    if isinstance(memory, dict):
        rows.append(
            Row("Rasa server RSS after load", "MiB", memory.get("ours_rasa"), memory.get("reference_rasa"))
        )
        for part in ("actions", "backend"):
            if part in memory or f"ours_{part}" in memory:
                rows.append(
                    Row(f"{part.capitalize()} server RSS after load", "MiB", memory.get(f"ours_{part}"), None)
                )
        rows.append(
            Row(
                "All processes RSS (ours: Rasa + actions + backend)",
                "MiB",
                memory.get("ours_all"),
                memory.get("reference_rasa"),
            )
        )
    return rows


def render_breakdown(parts: dict[str, float]) -> str:
    """One status turn inside our processes, ms per turn, from the timings they keep (bot.rasa_tuning)."""
    labels = (
        ("rasa_turn", "Rasa's whole turn (channel in to reply out)"),
        ("nlu_policies_other", "  NLU, policies, responses, events"),
        ("tracker_read", "  tracker read"),
        ("tracker_save", "  tracker save"),
        ("action_call", "  remote action calls, as Rasa waits"),
        ("action_run", "    of which the actions' own run"),
        ("action_transport", "    of which HTTP, JSON and validation"),
    )
    return "\n".join(f"{label:<46} {parts[key]:>8.1f} ms" for key, label in labels if key in parts)


# The hub's steps (backend.hub.timings), in the order a turn takes them; the hub's parts of a turn
# add up to `turn` with `hub_other`; the channel's own steps come before or after the turn.
HUB_PARTS = (
    ("turn", "the hub's turn (message in to answers delivered)"),
    ("rasa_call", "  the call to Rasa, as the hub waits"),
    ("db_total", "  database trips (2 a turn), as the hub waits"),
    ("db_transaction", "    of which the transactions themselves"),
    ("db_thread_wait", "    of which waiting for a worker thread"),
    ("publish", "    of which publishing to live views"),
    ("deliver", "  delivery on the channel (Telegram sendMessage)"),
    ("telegram_typing_wait", "    of which waiting for the typing request"),
    ("hub_other", "  the rest of the turn"),
    ("widget_send", "widget: the answer's WebSocket frame sent"),
    ("telegram_inbox_store", "Telegram: the update stored before the 200"),
    ("telegram_queue_wait", "Telegram: from the 200 to the handler"),
    ("telegram_typing", "Telegram: the typing request (beside the turn)"),
    ("telegram_mark_processed", "Telegram: the update marked processed (after)"),
)


def hub_breakdown(
    before: dict[str, dict[str, float]], after: dict[str, dict[str, float]], turns: int
) -> dict[str, float]:
    """Milliseconds per turn of each of the hub's steps between two readings of /api/hub/stats."""
    per_turn = {
        part: (after["ms"].get(part, 0.0) - before["ms"].get(part, 0.0)) / turns
        for part in {*after["ms"], *before["ms"]}
    }
    parts = {part: round(per_turn.get(part, 0.0), 2) for part, _ in HUB_PARTS if part != "hub_other"}
    parts["hub_other"] = round(
        per_turn.get("turn", 0.0)
        - per_turn.get("rasa_call", 0.0)
        - per_turn.get("db_total", 0.0)
        - per_turn.get("deliver", 0.0),
        2,
    )
    return parts


def render_hub_breakdown(channels: dict[str, dict[str, float]]) -> str:
    """The hub's steps per channel, ms per turn (a step a channel never takes is left out)."""
    names = list(channels)
    lines = [f"{'':<50}" + "".join(f"{name:>10}" for name in names)]
    for key, label in HUB_PARTS:
        values = [channels[name].get(key) for name in names]
        if not any(values):
            continue
        cells = "".join(f"{value:>10.1f}" if value else f"{'–':>10}" for value in values)
        lines.append(f"{label:<50}{cells}")
    return "\n".join(lines)


def render_text(rows: Sequence[Row]) -> str:
    """A fixed-width table for the terminal."""
    header = ("figure", "unit", "ours", "reference", "ours/ref")
    body = [
        (
            row.label,
            row.unit,
            format_value(row.ours, row.decimals),
            format_value(row.reference, row.decimals),
            format_ratio(row.ratio),
        )
        for row in rows
    ]
    widths = [max(len(line[column]) for line in (header, *body)) for column in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        first, unit, *numbers = cells
        return "  ".join(
            [first.ljust(widths[0]), unit.ljust(widths[1])]
            + [cell.rjust(width) for cell, width in zip(numbers, widths[2:], strict=True)]
        )

    return "\n".join(
        [line(header), "  ".join("-" * width for width in widths), *(line(cells) for cells in body)]
    )


def render_markdown(
    rows: Sequence[Row],
    machine: dict[str, object],
    settings: dict[str, object],
    breakdown_ms: dict[str, float] | None = None,
    hub_ms: dict[str, dict[str, float]] | None = None,
) -> str:
    lines = [
        "| Figure | Ours | Rasa starter bot | Ours / starter |",
        "|---|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row.label} ({row.unit}) | {format_value(row.ours, row.decimals)} "
            f"| {format_value(row.reference, row.decimals)} | {format_ratio(row.ratio)} |"
        )
    if breakdown_ms:
        lines += [
            "",
            "One status turn (1 conversation, REST), ms per turn:",
            "```",
            render_breakdown(breakdown_ms),
            "```",
        ]
    if hub_ms:
        lines += ["", "The hub's share of a status turn (1 conversation), ms per turn:", "```"]
        lines += [render_hub_breakdown(hub_ms), "```"]
    lines.append("")
    lines.append(f"Machine: {describe_machine(machine)}.")
    lines.append(f"Load: {describe_settings(settings)}.")
    return "\n".join(lines) + "\n"


def describe_machine(machine: dict[str, object]) -> str:
    text = (
        f"{machine.get('cpu')}, {machine.get('cores')} cores, {machine.get('ram_gib')} GiB RAM, "
        f"Python {machine.get('python')}, Rasa {machine.get('rasa')}, "
        f"load average {machine.get('loadavg_start')} at start"
    )
    return text + (f", {machine['loadavg_end']} at end" if machine.get("loadavg_end") else "")


def describe_settings(settings: dict[str, object]) -> str:
    return (
        f"{settings.get('turns')} turns per bot and level in conversations of "
        f"{settings.get('turns_per_conversation')} turns, {settings.get('rounds')} interleaved round(s), "
        f"{settings.get('warmup')} warm-up turns; ours: {settings.get('our_message')!r} "
        f"(Rasa → action server → backend → SQLite, SQL tracker store) and, in new conversations, "
        f"{settings.get('complaint_message')!r}; reference: "
        f"{settings.get('reference_message')!r} (a rule and a static response, in-memory tracker store)"
    )


# ---------------------------------------------------------------- processes and measurements


def rasa_env(**extra: str) -> dict[str, str]:
    return {**os.environ, **RASA_ENV, **extra}


def process_tree(pid: int) -> list[int]:
    """pid and all its descendants, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = parse_ppid((entry / "stat").read_text())
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    tree, stack = [], [pid]
    while stack:
        current = stack.pop()
        tree.append(current)
        stack.extend(children.get(current, []))
    return tree


def rss_mib(pid: int) -> float:
    """Summed VmRSS of a process tree (shared pages counted once per process, as `ps` does)."""
    total = 0
    for member in process_tree(pid):
        try:
            total += parse_vmrss_kib(Path(f"/proc/{member}/status").read_text())
        except OSError:
            continue
    return total / 1024


def train_ours(workdir: Path) -> float:
    """Full training of our model into a temporary folder, with an empty training cache."""
    out = workdir / "ours-model"
    return run_timed(
        [
            str(RASA_BIN / "rasa"), "train", "--force", "--config", "config.yml", "--domain", "domain.yml",
            "--data", "bot/data", "--out", str(out), "--fixed-model-name", "carrier",
        ],
        cwd=ROOT,
        # As `make train` runs it: the start-up hook (no jax in TensorFlow), the project's modules and
        # Rasa's training cache off (bot/nlu/training_cache.py).
        env=rasa_env(
            RASA_CACHE_DIRECTORY=str(workdir / "cache-ours"),
            RASA_MAX_CACHE_SIZE="0",
            PYTHONPATH=os.pathsep.join((str(RASA_STARTUP), str(ROOT))),
        ),
        log=workdir / "train-ours.log",
        timeout=3600,
    )  # fmt: skip


def starter_model() -> Path | None:
    models = sorted((STARTER_DIR / "models").glob("*.tar.gz"))
    return models[-1] if models else None


def create_starter(workdir: Path) -> float:
    """`rasa init --no-prompt`: copies the template and trains it at once (no prompt means yes).

    Its training is `rasa.train(domain, config, data, models)`, the same as `rasa train`, here with an
    empty cache, so the wall time of the command is the starter's full training time.
    """
    if STARTER_DIR.exists():
        shutil.rmtree(STARTER_DIR)
    # With --no-prompt, rasa init wants the folder to exist already.
    STARTER_DIR.mkdir(parents=True)
    seconds = run_timed(
        [str(RASA_BIN / "rasa"), "init", "--no-prompt", "--init-dir", str(STARTER_DIR)],
        cwd=STARTER_DIR.parent,
        env=rasa_env(RASA_CACHE_DIRECTORY=str(workdir / "cache-starter")),
        log=workdir / "init-starter.log",
        timeout=3600,
    )
    if starter_model() is None:
        raise RuntimeError(f"rasa init made no model in {STARTER_DIR / 'models'}")
    return seconds


@contextmanager
def our_stack(workdir: Path, telegram: FakeBotApi) -> Iterator[Stack]:
    # Hex tokens: Stack passes `--auth-token <token>`, and a urlsafe token starting with "-" would be
    # read by Rasa's argument parser as an option (rasa run exits with 2).
    stack = Stack(
        database_url=f"sqlite:///{workdir / 'app.db'}",
        tracker_url=f"sqlite:///{workdir / 'tracker.db'}",
        api_token=secrets.token_hex(16),
        rasa_token=secrets.token_hex(16),
        model=DEFAULT_MODEL,
        backend_port=free_port(),
        rasa_port=free_port(),
        actions_port=free_port(),
        workdir=workdir / "stack",
        # Telegram by webhook, its Bot API the fake one in this process (tests/fakes/telegram_api.py).
        extra_env={
            "TELEGRAM_MODE": "webhook",
            "TELEGRAM_BOT_TOKEN": telegram.token,
            "TELEGRAM_API_BASE_URL": telegram.base_url,
            "TELEGRAM_WEBHOOK_SECRET": secrets.token_hex(16),
            "TELEGRAM_WEBHOOK_URL": "https://care.example.com/telegram/webhook",
            "UPLOAD_DIR": str(workdir / "uploads"),
        },
    )
    stack.workdir.mkdir(parents=True, exist_ok=True)
    try:
        stack.prepare_database()
        stack.start()
        yield stack
    finally:
        stack.stop()


@contextmanager
def reference_server(workdir: Path, model: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    log = open(workdir / "reference-rasa.log", "wb")  # noqa: SIM115 - the child writes to it until stopped
    process = subprocess.Popen(
        [
            str(RASA_BIN / "rasa"), "run", "--enable-api", "-i", "127.0.0.1", "-p", str(port),
            "-m", str(model), "--endpoints", "endpoints.yml", "--credentials", "credentials.yml",
        ],
        cwd=STARTER_DIR,
        env=rasa_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        yield f"http://127.0.0.1:{port}", process
    finally:
        kill_group(process)
        log.close()


def wait_reference(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 300) -> None:
    """Waits until the reference Rasa has its model loaded (/status answers 200)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the reference Rasa exited with {process.returncode}; see {log}")
        try:
            if httpx.get(f"{url}/status", timeout=3).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise TimeoutError(f"the reference Rasa did not load its model in {timeout:.0f} s; see {log}")


Say = Callable[[str], Awaitable[bool]]
# Opens one conversation (its unique tag given) on a shared HTTP client; yields how to say one message
# and wait for the bot's answer (True when it came).
Opener = Callable[[httpx.AsyncClient, str], AbstractAsyncContextManager[Say]]


def rest_opener(url: str) -> Opener:
    """A conversation over Rasa's REST channel: the answer is the HTTP response."""

    @asynccontextmanager
    async def conversation(client: httpx.AsyncClient, tag: str) -> AsyncIterator[Say]:
        sender = f"rest:bench-{tag}"

        async def say(text: str) -> bool:
            try:
                response = await client.post(
                    f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": text}
                )
                return response.status_code == 200 and bool(response.json())
            except (httpx.HTTPError, ValueError):
                return False

        yield say

    return conversation


def widget_opener(backend_url: str) -> Opener:
    """A conversation over the web widget's WebSocket: the answer is the bot's first message frame."""
    ws_url = backend_url.replace("http", "ws", 1) + "/widget/ws"

    @asynccontextmanager
    async def conversation(client: httpx.AsyncClient, tag: str) -> AsyncIterator[Say]:
        session = (await client.post(f"{backend_url}/widget/session", json={})).json()["session"]
        async with websockets.client.connect(ws_url) as socket:
            await socket.send(json.dumps({"type": "hello", "session": session, "after": 0}))
            while json.loads(await asyncio.wait_for(socket.recv(), 30)).get("type") != "ready":
                pass

            async def say(text: str) -> bool:
                await socket.send(json.dumps({"type": "text", "text": text, "client_id": uuid.uuid4().hex}))
                while True:
                    frame = json.loads(await asyncio.wait_for(socket.recv(), 60))
                    if frame.get("type") == "failed":
                        return False
                    if frame.get("type") == "message" and frame["message"].get("role") != "user":
                        return True

            yield say

    return conversation


class NotifyingBotApi(FakeBotApi):
    """The fake Bot API, waking the bench the moment a sendMessage reaches it.

    The opener used to poll the list of calls every 2 ms: up to 2 ms late, and each look scanned every
    call so far under the fake's lock, in the process (and under the GIL) that also serves the fake's
    HTTP. That was part of the Telegram figure, not of our product."""

    def __init__(self) -> None:
        super().__init__()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    def __enter__(self) -> NotifyingBotApi:
        self.start()
        return self

    def _record(self, method: str, params: dict[str, Any], response: Response) -> Response:
        recorded = super()._record(method, params, response)
        if method == "sendMessage":
            for loop, event in list(self._waiters):
                with contextlib.suppress(RuntimeError):  # the waiter's loop has closed
                    loop.call_soon_threadsafe(event.set)
        return recorded

    @contextmanager
    def waiter(self) -> Iterator[asyncio.Event]:
        """An event set at every sendMessage while the context is open (on the caller's loop)."""
        entry = (asyncio.get_running_loop(), asyncio.Event())
        self._waiters.append(entry)
        try:
            yield entry[1]
        finally:
            self._waiters.remove(entry)


def telegram_opener(backend_url: str, secret: str, api: NotifyingBotApi) -> Opener:
    """A Telegram chat by webhook: the answer is the backend's first sendMessage to the fake Bot API."""

    @asynccontextmanager
    async def conversation(client: httpx.AsyncClient, tag: str) -> AsyncIterator[Say]:
        chat_id = random.randint(10**9, 8 * 10**9)

        async def say(text: str) -> bool:
            before = len(api.sent(chat_id))
            with api.waiter() as sent:
                response = await client.post(
                    backend_url + WEBHOOK_PATH,
                    json=text_update(chat_id, text),
                    headers={SECRET_HEADER: secret},
                )
                if response.status_code != 200:
                    return False
                deadline = time.monotonic() + 60
                while len(api.sent(chat_id)) <= before:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    sent.clear()
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(sent.wait(), remaining)
            return True

        yield say

    return conversation


async def run_load(
    opener: Opener,
    message: str,
    *,
    concurrency: int,
    turns: int,
    per_conversation: int,
    timeout: float,
    tag: str,
    headers: dict[str, str] | None = None,
) -> LevelResult:
    """`turns` turns in conversations of `per_conversation`, `concurrency` conversations at a time."""
    plan = conversation_plan(turns, per_conversation)
    pending = list(enumerate(plan))
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + timeout
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def conversation_worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while pending and time.monotonic() < deadline:
            index, count = pending.pop(0)
            try:
                async with opener(client, f"{tag}-{index}-{uuid.uuid4().hex[:8]}") as say:
                    for _ in range(count):
                        if time.monotonic() >= deadline:
                            return
                        started = time.perf_counter()
                        if await say(message):
                            latencies.append((time.perf_counter() - started) * 1000)
                        else:
                            errors += 1
            except (
                httpx.HTTPError,
                OSError,
                ValueError,
                KeyError,
                asyncio.TimeoutError,
                websockets.exceptions.WebSocketException,
            ):
                errors += 1

    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=60, limits=limits, headers=headers) as client:
        await asyncio.gather(*(conversation_worker(client) for _ in range(concurrency)))
    return LevelResult(concurrency, len(latencies), errors, time.perf_counter() - started, latencies)


def sample_reply(url: str, message: str, headers: dict[str, str] | None = None) -> list[str]:
    response = httpx.post(
        f"{url}/webhooks/rest/webhook",
        json={"sender": f"rest:bench-sample-{uuid.uuid4().hex[:8]}", "message": message},
        headers=headers,
        timeout=60,
    )
    response.raise_for_status()
    return [str(reply.get("text", "")) for reply in response.json()]


def machine_info() -> dict[str, object]:
    site = next((RASA_BIN.parent / "lib").glob("python3*/site-packages"), None)
    rasa_version = "unknown"
    if site is not None:
        for distribution in importlib.metadata.distributions(path=[str(site)]):
            if distribution.metadata["Name"] == "rasa":
                rasa_version = distribution.version
    rasa_python = "unknown"
    pyvenv = RASA_BIN.parent / "pyvenv.cfg"
    if pyvenv.exists():
        for line in pyvenv.read_text().splitlines():
            if line.startswith("version"):
                rasa_python = line.partition("=")[2].strip()
    return {
        "cpu": parse_cpu_model(Path("/proc/cpuinfo").read_text()),
        "cores": os.cpu_count(),
        "ram_gib": round(parse_mem_total_gib(Path("/proc/meminfo").read_text()), 1),
        "python": platform.python_version(),
        "rasa_python": rasa_python,
        "rasa": rasa_version,
        "kernel": platform.release(),
        "loadavg_start": _loadavg(),
    }


def _loadavg() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def log(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", flush=True)


@dataclass
class Run:
    """One kind of load: who answers, over what, with which message, in conversations of how many turns."""

    opener: Opener
    message: str
    per_conversation: int
    headers: dict[str, str] = field(default_factory=dict)


def action_server_calls(stack: Stack) -> int:
    """Remote action calls the action server has answered since it started (bot/action_server.py)."""
    return int(httpx.get(f"{stack.actions_url}/stats", timeout=10).json()["total_calls"])


def hub_timings(stack: Stack) -> dict[str, dict[str, float]]:
    """Where the backend's hub turns spent their time since it started (backend.hub.timings)."""
    headers = {"Authorization": f"Bearer {stack.api_token}"}
    return dict(httpx.get(f"{stack.backend_url}/api/hub/stats", headers=headers, timeout=10).json())


def process_timings(stack: Stack) -> dict[str, dict[str, float]]:
    """Where our processes' time went since they started: Rasa's (bot.rasa_tuning) and the actions'."""
    rasa = httpx.get(f"{stack.rasa_url}/webhooks/rest/stats", headers=stack.rest_headers, timeout=10).json()
    actions = httpx.get(f"{stack.actions_url}/stats", timeout=10).json()
    return {
        "ms": {**rasa["ms"], "action_run": sum(actions["ms"].values())},
        "count": {**rasa["count"], "action_run": actions["total_calls"]},
    }


def breakdown(
    before: dict[str, dict[str, float]], after: dict[str, dict[str, float]], turns: int
) -> dict[str, float]:
    """Milliseconds per turn of each part between two readings of process_timings."""

    def per_turn(part: str) -> float:
        return (after["ms"].get(part, 0.0) - before["ms"].get(part, 0.0)) / turns

    parts = {
        part: per_turn(part) for part in ("turn", "tracker_read", "tracker_save", "action_call", "action_run")
    }
    return {
        "rasa_turn": round(parts["turn"], 2),
        "tracker_read": round(parts["tracker_read"], 2),
        "tracker_save": round(parts["tracker_save"], 2),
        "action_call": round(parts["action_call"], 2),
        "action_run": round(parts["action_run"], 2),
        # The call as Rasa waits for it, less the action's own run: HTTP, JSON both ways, validation.
        "action_transport": round(parts["action_call"] - parts["action_run"], 2),
        # The rest of Rasa's handling of the turn: NLU, policies, responses, events.
        "nlu_policies_other": round(
            parts["turn"] - parts["tracker_read"] - parts["tracker_save"] - parts["action_call"], 2
        ),
    }


def interleave(
    runs: dict[str, Run],
    *,
    level: int,
    turns: int,
    rounds: int,
    timeout: float,
    tag: str,
    stack: Stack,
    hub_ms: dict[str, dict[str, float]] | None = None,
) -> tuple[dict[str, LevelResult], dict[str, float]]:
    """Each run `turns` turns at `level` concurrent conversations, their rounds in ABBA order; returns the
    results and our action server's remote calls per answered turn of each of our runs. With `hub_ms`,
    it is filled with the hub's steps, ms per turn, of each run (hub_breakdown)."""
    merged: dict[str, LevelResult] = {}
    calls: dict[str, int] = {}
    hub_sums: dict[str, dict[str, dict[str, float]]] = {}
    names = list(runs)
    for round_index, round_turns in enumerate(split_turns(turns, rounds)):
        # Each run goes first in every other round, so drift in the machine's load falls on all alike.
        for name in names if round_index % 2 == 0 else names[::-1]:
            run = runs[name]
            before = action_server_calls(stack)
            hub_before = hub_timings(stack) if hub_ms is not None else None
            result = asyncio.run(
                run_load(
                    run.opener, run.message, concurrency=level, turns=round_turns,
                    per_conversation=run.per_conversation, timeout=timeout / rounds,
                    tag=f"{tag}-{name}-r{round_index}", headers=run.headers,
                )
            )  # fmt: skip
            calls[name] = calls.get(name, 0) + action_server_calls(stack) - before
            if hub_before is not None:
                hub_after = hub_timings(stack)
                ran = hub_sums.setdefault(name, {"ms": {}})["ms"]
                for part, ms in hub_after["ms"].items():
                    ran[part] = ran.get(part, 0.0) + ms - hub_before["ms"].get(part, 0.0)
            merged[name] = merged[name].merge(result) if name in merged else result
    per_turn = {name: round(calls[name] / merged[name].turns, 2) for name in names if merged[name].turns}
    if hub_ms is not None:
        for name, spent in hub_sums.items():
            if merged[name].turns and spent["ms"].get("turn"):
                hub_ms[name] = hub_breakdown({"ms": {}}, spent, merged[name].turns)
    return merged, per_turn


def describe(results: dict[str, LevelResult]) -> str:
    return "; ".join(
        f"{name} p50 {format_value(r.p50_ms)} ms, p95 {format_value(r.p95_ms)} ms, "
        f"{format_value(r.throughput, 2)} turns/s, {r.errors} errors"
        for name, r in results.items()
    )


def measure(args: argparse.Namespace) -> dict[str, object]:
    if not DEFAULT_MODEL.exists():
        raise RuntimeError(f"no trained model at {DEFAULT_MODEL}: run `make train`")
    workdir = BENCH_VAR / "last-run"
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    results: dict[str, object] = {"machine": machine_info()}
    log(f"machine: {describe_machine(results['machine'])}  (logs in {workdir})")  # type: ignore[arg-type]

    if not args.skip_training:
        log("training our model (rasa train --force, empty cache) ...")
        ours_s = train_ours(workdir)
        log(f"  {ours_s:.1f} s; the starter bot (rasa init --no-prompt, which trains it) ...")
        reference_s = create_starter(workdir)
        log(f"  {reference_s:.1f} s")
        results["training_s"] = {"ours": round(ours_s, 1), "reference": round(reference_s, 1)}
    elif starter_model() is None:
        log("no starter bot yet: rasa init --no-prompt (trains it; not reported with --skip-training) ...")
        create_starter(workdir)
    model = starter_model()
    assert model is not None

    log("starting our stack (Telegram by webhook to a fake Bot API) and the reference Rasa ...")
    with (
        NotifyingBotApi() as telegram,
        our_stack(workdir, telegram) as stack,
        reference_server(workdir, model) as (reference_url, reference_process),
    ):
        stack.wait_healthy(timeout=300)
        wait_reference(reference_url, reference_process, workdir / "reference-rasa.log")
        secret = stack.extra_env["TELEGRAM_WEBHOOK_SECRET"]
        rest = {"ours": rest_opener(stack.rasa_url), "reference": rest_opener(reference_url)}
        # Our REST channel asks for the channel secret; the starter bot's plain one takes no header.
        headers = {"ours": stack.rest_headers, "reference": {}}
        per = args.turns_per_conversation
        status = {
            "ours": Run(rest["ours"], OUR_MESSAGE, per, headers["ours"]),
            "reference": Run(rest["reference"], REFERENCE_MESSAGE, per),
        }
        complaint = {
            "ours": Run(rest["ours"], COMPLAINT_MESSAGE, 1, headers["ours"]),
            "reference": Run(rest["reference"], REFERENCE_MESSAGE, 1),
        }
        channels = {
            "rest": status["ours"],
            "widget": Run(widget_opener(stack.backend_url), OUR_MESSAGE, per),
            "telegram": Run(telegram_opener(stack.backend_url, secret, telegram), OUR_MESSAGE, per),
        }
        for bot, message in (
            ("ours", OUR_MESSAGE),
            ("ours", COMPLAINT_MESSAGE),
            ("reference", REFERENCE_MESSAGE),
        ):
            url = stack.rasa_url if bot == "ours" else reference_url
            log(f"{bot} answers {message!r} with {sample_reply(url, message, headers[bot])!r}")
        log(f"warm-up: {args.warmup} turns of each kind ...")
        for name, run in (*status.items(), ("complaint", complaint["ours"]), *channels.items()):
            asyncio.run(
                run_load(
                    run.opener, run.message, concurrency=1, turns=args.warmup,
                    per_conversation=run.per_conversation, timeout=args.level_timeout, tag=f"warmup-{name}",
                    headers=run.headers,
                )
            )  # fmt: skip

        common = {"turns": args.turns, "rounds": args.rounds, "timeout": args.level_timeout, "stack": stack}
        load: dict[str, dict[str, dict[str, float | int | None]]] = {}
        complaints: dict[str, dict[str, dict[str, float | int | None]]] = {}
        calls_per_turn: dict[str, float] = {}
        for level in args.concurrency:
            before = process_timings(stack)
            merged, calls = interleave(status, level=level, tag=f"status-c{level}", **common)
            if level == min(args.concurrency):
                results["breakdown_ms"] = breakdown(before, process_timings(stack), merged["ours"].turns)
                calls_per_turn["status"] = calls["ours"]
            load[str(level)] = {bot: merged[bot].summary() for bot in BOTS}
            log(f"status turn, {level} concurrent: {describe(merged)}")
            merged, calls = interleave(complaint, level=level, tag=f"complaint-c{level}", **common)
            calls_per_turn.setdefault("complaint", calls["ours"])
            complaints[str(level)] = {bot: merged[bot].summary() for bot in BOTS}
            log(f"complaint turn, {level} concurrent: {describe(merged)}")
        results["load"] = load
        results["complaint"] = complaints
        # The hub's own cost: one conversation at a time, ours over REST interleaved with the hub's doors.
        hub_ms: dict[str, dict[str, float]] = {}
        merged, calls = interleave(channels, level=1, tag="channels", hub_ms=hub_ms, **common)
        results["hub_breakdown_ms"] = hub_ms
        log(f"status turn by channel, 1 conversation: {describe(merged)}")
        results["channels"] = {name: result.summary() for name, result in merged.items()}
        results["calls_per_turn"] = {**calls_per_turn, **{f"status_{k}": v for k, v in calls.items()}}
        log(f"remote action calls per turn: {results['calls_per_turn']}")
        log(f"one status turn in Rasa, ms: {results.get('breakdown_ms')}")
        results["memory_mib"] = {
            "ours_rasa": round(rss_mib(stack.processes["rasa"].pid), 1),
            "ours_actions": round(rss_mib(stack.processes["actions"].pid), 1),
            "ours_backend": round(rss_mib(stack.processes["backend"].pid), 1),
            "reference_rasa": round(rss_mib(reference_process.pid), 1),
        }
        memory = results["memory_mib"]
        assert isinstance(memory, dict)
        memory["ours_all"] = round(memory["ours_rasa"] + memory["ours_actions"] + memory["ours_backend"], 1)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    settings: dict[str, object] = {
        "turns": args.turns,
        "concurrency": args.concurrency,
        "turns_per_conversation": args.turns_per_conversation,
        "warmup": args.warmup,
        "rounds": args.rounds,
        "quick": args.quick,
        "skip_training": args.skip_training,
        "our_message": OUR_MESSAGE,
        "complaint_message": COMPLAINT_MESSAGE,
        "reference_message": REFERENCE_MESSAGE,
    }
    try:
        results = measure(args)
    except (RuntimeError, TimeoutError, httpx.HTTPError) as error:
        print(f"bench failed: {error}", file=sys.stderr)
        return 1
    machine = results["machine"]
    assert isinstance(machine, dict)
    machine["loadavg_end"] = _loadavg()
    results["settings"] = settings
    results["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    results["wall_s"] = round(time.monotonic() - started, 1)
    rows = build_rows(results)
    results["rows"] = [{**asdict(row), "ratio": _round(row.ratio, 3)} for row in rows]

    print()
    print(render_text(rows))
    if isinstance(results.get("breakdown_ms"), dict):
        print("\nOne status turn (1 conversation, REST), ms per turn:")
        print(render_breakdown(results["breakdown_ms"]))  # type: ignore[arg-type]
    hub_ms = results.get("hub_breakdown_ms")
    if isinstance(hub_ms, dict) and hub_ms:
        print("\nThe hub's share of a status turn (1 conversation), ms per turn:")
        print(render_hub_breakdown(hub_ms))
    print(f"\nMachine: {describe_machine(machine)}.")
    print(f"Load: {describe_settings(settings)}.")
    print(f"Wall time {results['wall_s']} s.")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench.json").write_text(json.dumps(results, indent=2) + "\n")
    breakdown_ms = results.get("breakdown_ms")
    (args.out / "bench.md").write_text(
        render_markdown(
            rows,
            machine,
            settings,
            breakdown_ms if isinstance(breakdown_ms, dict) else None,
            hub_ms if isinstance(hub_ms, dict) else None,
        )
    )
    print(f"Wrote {args.out / 'bench.json'} and {args.out / 'bench.md'}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
