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
import importlib.metadata
import json
import math
import os
import platform
import secrets
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import httpx

from tools.stack import DEFAULT_MODEL, RASA_BIN, RASA_ENV, ROOT, VAR, Stack, free_port, kill_group, run_timed

RESULTS = ROOT / "results"
BENCH_VAR = VAR / "bench"
# Rasa's starter bot, kept between runs so that --skip-training and --quick need not train it again.
STARTER_DIR = BENCH_VAR / "starter"
OUR_MESSAGE = "where is EA100000025CN?"
# Runs the starter's rule "Say 'I am a bot' anytime the user challenges" (one intent, one response).
REFERENCE_MESSAGE = "are you a bot?"
BOTS = ("ours", "reference")


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


def build_rows(results: dict[str, object]) -> list[Row]:
    """The report's figures from the JSON-shaped results (so the tests need no server)."""
    rows: list[Row] = []
    training = results.get("training_s")
    if isinstance(training, dict):
        rows.append(
            Row("Training time (rasa train --force)", "s", training.get("ours"), training.get("reference"))
        )
    load = results.get("load")
    if isinstance(load, dict):
        for level in sorted(load, key=int):
            pair = load[level]
            ours, reference = pair.get("ours", {}), pair.get("reference", {})
            for key, label, unit, lower, decimals in (
                ("p50_ms", "Latency p50", "ms", True, 1),
                ("p95_ms", "Latency p95", "ms", True, 1),
                ("turns_per_s", "Throughput", "turns/s", False, 2),
            ):
                rows.append(
                    Row(f"{label} @ {level} conc.", unit, ours.get(key), reference.get(key), lower, decimals)
                )
    memory = results.get("memory_mib")
    if isinstance(memory, dict):
        rows.append(
            Row("Rasa server RSS after load", "MiB", memory.get("ours_rasa"), memory.get("reference_rasa"))
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


def render_markdown(rows: Sequence[Row], machine: dict[str, object], settings: dict[str, object]) -> str:
    lines = [
        "| Figure | Ours | Rasa starter bot | Ours / starter |",
        "|---|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row.label} ({row.unit}) | {format_value(row.ours, row.decimals)} "
            f"| {format_value(row.reference, row.decimals)} | {format_ratio(row.ratio)} |"
        )
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
        f"(Rasa → action server → backend → SQLite, SQL tracker store), reference: "
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
        env=rasa_env(RASA_CACHE_DIRECTORY=str(workdir / "cache-ours")),
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
def our_stack(workdir: Path) -> Iterator[Stack]:
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


async def run_load(
    url: str,
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
            sender = f"rest:bench-{tag}-{index}-{uuid.uuid4().hex[:8]}"
            for _ in range(count):
                if time.monotonic() >= deadline:
                    return
                started = time.perf_counter()
                try:
                    response = await client.post(
                        f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": message}
                    )
                    ok = response.status_code == 200 and bool(response.json())
                except (httpx.HTTPError, ValueError):
                    ok = False
                if ok:
                    latencies.append((time.perf_counter() - started) * 1000)
                else:
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

    log("starting our stack and the reference Rasa ...")
    with our_stack(workdir) as stack, reference_server(workdir, model) as (reference_url, reference_process):
        stack.wait_healthy(timeout=300)
        wait_reference(reference_url, reference_process, workdir / "reference-rasa.log")
        urls = {"ours": stack.rasa_url, "reference": reference_url}
        messages = {"ours": OUR_MESSAGE, "reference": REFERENCE_MESSAGE}
        # Our REST channel asks for the channel secret; the starter bot's plain one takes no header.
        headers = {"ours": stack.rest_headers, "reference": {}}
        for bot in BOTS:
            reply = sample_reply(urls[bot], messages[bot], headers[bot])
            log(f"{bot} answers {messages[bot]!r} with {reply!r}")
        log(f"warm-up: {args.warmup} turns each ...")
        for bot in BOTS:
            asyncio.run(
                run_load(
                    urls[bot], messages[bot], concurrency=1, turns=args.warmup,
                    per_conversation=args.turns_per_conversation, timeout=args.level_timeout, tag="warmup",
                    headers=headers[bot],
                )
            )  # fmt: skip

        load: dict[str, dict[str, dict[str, float | int | None]]] = {}
        for level in args.concurrency:
            merged: dict[str, LevelResult] = {}
            for round_index, round_turns in enumerate(split_turns(args.turns, args.rounds)):
                # ABBA order: each bot goes first in every other round, so drift in the machine's load
                # falls on both alike.
                order = BOTS if round_index % 2 == 0 else BOTS[::-1]
                for bot in order:
                    result = asyncio.run(
                        run_load(
                            urls[bot],
                            messages[bot],
                            concurrency=level,
                            turns=round_turns,
                            per_conversation=args.turns_per_conversation,
                            timeout=args.level_timeout / args.rounds,
                            tag=f"c{level}-r{round_index}",
                            headers=headers[bot],
                        )
                    )
                    merged[bot] = merged[bot].merge(result) if bot in merged else result
            load[str(level)] = {bot: merged[bot].summary() for bot in BOTS}
            for bot, result in merged.items():
                if result.turns + result.errors < args.turns:
                    log(f"{bot} at {level} concurrent: stopped by --level-timeout after {result.turns} turns")
            log(
                f"{level} concurrent: "
                + "; ".join(
                    f"{bot} p50 {format_value(result.p50_ms)} ms, p95 {format_value(result.p95_ms)} ms, "
                    f"{format_value(result.throughput, 2)} turns/s, {result.errors} errors"
                    for bot, result in merged.items()
                )
            )
        results["load"] = load
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
    print(f"\nMachine: {describe_machine(machine)}.")
    print(f"Load: {describe_settings(settings)}.")
    print(f"Wall time {results['wall_s']} s.")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "bench.md").write_text(render_markdown(rows, machine, settings))
    print(f"Wrote {args.out / 'bench.json'} and {args.out / 'bench.md'}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
