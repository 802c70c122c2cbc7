"""tools.cpu_time: the CPU a load run's processes spent, by kind, read from /proc."""

from __future__ import annotations

import subprocess
import sys
import time

from tools import cpu_time

BUSY_CHILD = "import time\nend = time.monotonic() + 1.5\nwhile time.monotonic() < end: pass\n"


def test_a_busy_child_counts_for_its_kind_and_the_machine() -> None:
    # The command line names what it pretends to be, as tools/stack.py's backend does.
    child = subprocess.Popen([sys.executable, "-c", BUSY_CHILD, "backend.main:app"])
    try:
        time.sleep(0.2)
        before = cpu_time.snapshot()
        time.sleep(0.8)
        after = cpu_time.snapshot()
    finally:
        child.kill()
        child.wait(timeout=30)
    spent = cpu_time.seconds_by_kind(before, after)
    assert spent["backend"] >= 0.3  # of 0.8 s spinning, on a machine that may be busy
    assert spent[cpu_time.MACHINE] >= spent["backend"] - 0.05  # the two are read a moment apart


def test_a_stack_someone_else_started_is_other() -> None:
    assert cpu_time.kind_of("python -m bot.action_server -p 5055", 42, 1, descends=True) == "actions"
    assert cpu_time.kind_of(".venv-rasa/bin/python .venv-rasa/bin/rasa run -p 5005", 42, 1, True) == "rasa"
    assert cpu_time.kind_of("uvicorn backend.main:app --port 1", 42, 1, descends=False) == "other"
    # The tests' shared servers are counted whoever started them.
    assert cpu_time.kind_of("/usr/lib/postgresql/15/bin/postgres -D x", 42, 1, False) == "postgresql"
    assert cpu_time.kind_of("anything", 1, 1, False) == "load generator"


def test_stat_lines_with_spaces_and_parentheses_in_the_name() -> None:
    stat = "123 (rasa (worker) 1) S 77 123 123 0 -1 4194560 1 0 0 0 250 30 0 0 20 0 3 0 1 1 1"
    assert cpu_time.parse_cpu_ticks(stat) == 280
    assert cpu_time.parse_ppid(stat) == 77
    assert cpu_time.descends_from(123, 77, {123: 77, 77: 1})
    assert not cpu_time.descends_from(123, 5, {123: 77, 77: 1})
    assert cpu_time.machine_ticks("cpu  100 5 20 300 7 1 2 0 0 0\ncpu0 1 1 1 1 1 1 1 0 0 0\n") == (128, 307)


def test_the_summary_says_how_busy_the_machine_was_and_what_a_turn_cost() -> None:
    spent = {cpu_time.MACHINE: 19.0, "rasa": 6.0, "backend": 4.0}
    line = cpu_time.describe(spent, turns=200, wall_s=10.0)
    assert line.startswith("machine 1.90 of ")
    assert "the processes seen 1.00" in line
    assert "CPU per answered turn 50.0 ms (rasa 30.0 ms, backend 20.0 ms)" in line
    assert cpu_time.describe(spent, turns=0, wall_s=10.0).endswith("no turn answered")
