"""CPU time spent by each kind of process on this machine between two snapshots, read from /proc.

A load run on a small machine asks "is it the product or the cores?": turns per second only scale with
processes while a core is free. Comparing the CPU a turn costs in each profile (and how busy the machine
was) answers that without a profiler. Processes are told apart by their command line; only the ones this
process started count as ours (another stack on the machine is "other"), besides the shared PostgreSQL
and Redis. A process that starts or ends between the two snapshots counts only for the time it was seen
in both; the machine's own figure counts everything.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
TICKS_PER_S = os.sysconf("SC_CLK_TCK")

# First match wins: the action server's command line also says "rasa".
KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("actions", ("bot.action_server", "rasa_sdk", "rasa run actions")),
    ("rasa", ("bin/rasa run",)),
    ("backend", ("backend.main:app",)),
    ("postgresql", ("postgres",)),
    ("redis", ("redis-server",)),
    ("nginx", ("nginx",)),
)


# Shared servers the run uses without having started them (the tests' PostgreSQL and Redis).
SHARED_KINDS = ("postgresql", "redis")


def kind_of(cmdline: str, pid: int, own_pid: int, descends: bool) -> str:
    """What a process is; a stack that someone else started on this machine is "other"."""
    if pid == own_pid:
        return "load generator"
    for kind, needles in KINDS:
        if any(needle in cmdline for needle in needles):
            return kind if descends or kind in SHARED_KINDS else "other"
    return "other"


def parse_ppid(stat: str) -> int:
    return int(stat[stat.rindex(")") + 2 :].split()[1])


def descends_from(pid: int, ancestor: int, parents: Mapping[int, int]) -> bool:
    seen = 0
    while pid > 1 and seen < 64:  # a bounded walk: pids may be reused between the reads
        if pid == ancestor:
            return True
        pid, seen = parents.get(pid, 0), seen + 1
    return False


def parse_cpu_ticks(stat: str) -> int:
    """utime + stime from /proc/PID/stat; the command name in parentheses may hold spaces."""
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])


def machine_ticks(stat: str) -> tuple[int, int]:
    """(busy, idle) ticks of all cores from /proc/stat's first line; iowait counts as idle."""
    values = [int(value) for value in stat.splitlines()[0].split()[1:8]]
    user, nice, system, idle, iowait, irq, softirq = values
    return user + nice + system + irq + softirq, idle + iowait


@dataclass(frozen=True)
class Snapshot:
    ticks: Mapping[int, int]  # pid -> CPU ticks so far
    kinds: Mapping[int, str]
    # Every core's busy ticks, whoever spent them (processes that came and went between the snapshots
    # included): a machine busy with something else shows here, not in `ticks`.
    machine_busy: int = 0


def snapshot(own_pid: int | None = None) -> Snapshot:
    own = os.getpid() if own_pid is None else own_pid
    ticks: dict[int, int] = {}
    parents: dict[int, int] = {}
    commands: dict[int, str] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone since the listing, or not ours to read
            continue
        ticks[pid] = parse_cpu_ticks(stat)
        parents[pid] = parse_ppid(stat)
        commands[pid] = cmdline
    kinds = {
        pid: kind_of(command, pid, own, descends_from(pid, own, parents)) for pid, command in commands.items()
    }
    busy, _ = machine_ticks((PROC / "stat").read_text())
    return Snapshot(ticks, kinds, busy)


def seconds_by_kind(before: Snapshot, after: Snapshot) -> dict[str, float]:
    """CPU seconds by kind of process, and under MACHINE what every core spent, whoever spent it."""
    spent: dict[str, float] = defaultdict(float)
    for pid, ticks in after.ticks.items():
        if pid in before.ticks:
            spent[after.kinds[pid]] += (ticks - before.ticks[pid]) / TICKS_PER_S
    by_kind = dict(sorted(spent.items(), key=lambda item: -item[1]))
    return {MACHINE: (after.machine_busy - before.machine_busy) / TICKS_PER_S, **by_kind}


MACHINE = "machine"


def describe(spent: Mapping[str, float], turns: int, wall_s: float) -> str:
    """'machine 1.95 of 2 cores busy, ours 1.80; per answered turn 103.4 ms (rasa 37.0 ms, ...)'."""
    cores = os.cpu_count() or 1
    processes = {kind: seconds for kind, seconds in spent.items() if kind != MACHINE}
    total = sum(processes.values())
    busy = total / wall_s if wall_s > 0 else 0.0
    machine = spent.get(MACHINE, 0.0) / wall_s if wall_s > 0 else 0.0
    head = f"machine {machine:.2f} of {cores} cores busy, the processes seen {busy:.2f}"
    if not turns:
        return f"{head}; no turn answered"
    per_turn = ", ".join(
        f"{kind} {seconds * 1000 / turns:.1f} ms" for kind, seconds in processes.items() if seconds >= 0.05
    )
    total_ms = total * 1000 / turns
    return f"{head}; CPU per answered turn {total_ms:.1f} ms ({per_turn or 'nothing measurable'})"
