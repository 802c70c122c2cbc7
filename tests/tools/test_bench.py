"""The pure parts of tools.bench: percentiles, ratios, argument parsing, /proc parsing, the report."""

from __future__ import annotations

import argparse

import pytest

from tools.bench import (
    LevelResult,
    build_rows,
    conversation_plan,
    format_ratio,
    format_value,
    parse_args,
    parse_concurrency,
    parse_cpu_model,
    parse_mem_total_gib,
    parse_ppid,
    parse_vmrss_kib,
    percentile,
    ratio,
    render_markdown,
    render_text,
    split_turns,
)


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([5.0], 50, 5.0),
        ([5.0], 95, 5.0),
        ([1.0, 2.0, 3.0, 4.0], 50, 2.5),
        ([4.0, 1.0, 3.0, 2.0], 50, 2.5),  # unsorted input
        ([1.0, 2.0, 3.0, 4.0], 0, 1.0),
        ([1.0, 2.0, 3.0, 4.0], 100, 4.0),
        (list(map(float, range(1, 101))), 95, 95.05),  # numpy.percentile(range(1, 101), 95)
        ([10.0, 20.0], 95, 19.5),
    ],
)
def test_percentile_interpolates_like_numpy(values: list[float], q: float, expected: float) -> None:
    assert percentile(values, q) == pytest.approx(expected)


@pytest.mark.parametrize(("values", "q"), [([], 50), ([1.0], -1), ([1.0], 101)])
def test_percentile_rejects_bad_input(values: list[float], q: float) -> None:
    with pytest.raises(ValueError):
        percentile(values, q)


@pytest.mark.parametrize(
    ("ours", "reference", "expected"),
    [(3.0, 1.5, 2.0), (1.0, 4.0, 0.25), (None, 1.0, None), (1.0, None, None), (1.0, 0.0, None)],
)
def test_ratio(ours: float | None, reference: float | None, expected: float | None) -> None:
    assert ratio(ours, reference) == expected


@pytest.mark.parametrize(("value", "text"), [(2.0, "2.00×"), (0.456, "0.46×"), (None, "–")])
def test_format_ratio(value: float | None, text: str) -> None:
    assert format_ratio(value) == text


def test_format_value_groups_thousands_and_marks_missing() -> None:
    assert format_value(1234.56) == "1,234.6"
    assert format_value(3.14159, 2) == "3.14"
    assert format_value(None) == "–"


@pytest.mark.parametrize(("text", "levels"), [("1,20", [1, 20]), ("4", [4]), ("1, 5,10", [1, 5, 10])])
def test_parse_concurrency(text: str, levels: list[int]) -> None:
    assert parse_concurrency(text) == levels


@pytest.mark.parametrize("text", ["", "0", "1,x", "-1", "2,2"])
def test_parse_concurrency_rejects(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_concurrency(text)


def test_parse_args_defaults() -> None:
    args = parse_args([])
    assert (args.turns, args.concurrency, args.turns_per_conversation, args.warmup, args.rounds) == (
        200,
        [1, 20],
        10,
        10,
        2,
    )
    assert not args.skip_training and not args.quick


def test_parse_args_quick_uses_small_numbers_and_skips_training() -> None:
    args = parse_args(["--quick"])
    assert args.turns == 20 and args.concurrency == [1, 4] and args.skip_training


def test_parse_args_explicit_values_win_over_quick() -> None:
    args = parse_args(["--quick", "--turns", "50", "--concurrency", "2,8"])
    assert args.turns == 50 and args.concurrency == [2, 8]


def test_parse_args_rejects_zero_turns() -> None:
    with pytest.raises(SystemExit):
        parse_args(["--turns", "0"])


def test_split_turns_and_conversation_plan() -> None:
    assert split_turns(10, 3) == [4, 3, 3]
    assert split_turns(200, 2) == [100, 100]
    assert conversation_plan(25, 10) == [10, 10, 5]
    assert conversation_plan(20, 10) == [10, 10]


def test_parse_proc_files() -> None:
    assert parse_vmrss_kib("Name:\trasa\nVmPeak:\t 900 kB\nVmRSS:\t  524288 kB\n") == 524288
    assert parse_vmrss_kib("Name:\tkthreadd\nState:\tS\n") == 0
    assert parse_ppid("1234 (python3 -m x) S 77 1234 1234 0 -1") == 77
    assert parse_ppid("99 (a) b) R 5 99 99") == 5
    assert parse_cpu_model("processor\t: 0\nmodel name\t: AMD EPYC 7B13\n") == "AMD EPYC 7B13"
    assert parse_mem_total_gib("MemTotal:       2097152 kB\n") == pytest.approx(2.0)


def test_level_result_merges_rounds() -> None:
    first = LevelResult(concurrency=20, turns=2, errors=0, seconds=1.0, latencies_ms=[10.0, 30.0])
    second = LevelResult(concurrency=20, turns=2, errors=1, seconds=1.0, latencies_ms=[20.0, 40.0])
    merged = first.merge(second)
    assert merged.turns == 4 and merged.errors == 1 and merged.throughput == pytest.approx(2.0)
    assert merged.p50_ms == pytest.approx(25.0)
    assert merged.summary()["p95_ms"] == pytest.approx(38.5)


RESULTS: dict[str, object] = {
    "training_s": {"ours": 90.0, "reference": 120.0},
    "load": {
        "20": {
            "ours": {"p50_ms": 400.0, "p95_ms": 800.0, "turns_per_s": 10.0},
            "reference": {"p50_ms": 200.0, "p95_ms": 400.0, "turns_per_s": 20.0},
        },
        "1": {
            "ours": {"p50_ms": 40.0, "p95_ms": 60.0, "turns_per_s": 25.0},
            "reference": {"p50_ms": 20.0, "p95_ms": 30.0, "turns_per_s": 50.0},
        },
    },
    "memory_mib": {"ours_rasa": 600.0, "ours_all": 900.0, "reference_rasa": 800.0},
}


def test_build_rows_orders_levels_numerically_and_computes_ratios() -> None:
    rows = build_rows(RESULTS)
    labels = [row.label for row in rows]
    assert labels[0].startswith("Training time")
    assert labels.index("Latency p50 @ 1 conc.") < labels.index("Latency p50 @ 20 conc.")
    by_label = {row.label: row for row in rows}
    assert by_label["Training time (rasa train --force)"].ratio == pytest.approx(0.75)
    assert by_label["Throughput @ 20 conc."].ratio == pytest.approx(0.5)
    assert not by_label["Throughput @ 20 conc."].lower_is_better
    assert by_label["Rasa server RSS after load"].ratio == pytest.approx(0.75)


def test_build_rows_without_training() -> None:
    rows = build_rows({key: value for key, value in RESULTS.items() if key != "training_s"})
    assert not any(row.label.startswith("Training") for row in rows)


def test_render_text_and_markdown() -> None:
    rows = build_rows(RESULTS)
    text = render_text(rows)
    assert "Latency p95 @ 20 conc." in text and "2.00×" in text
    assert len({len(line) for line in text.splitlines()[:2]}) == 1  # header and rule align
    machine = {"cpu": "X", "cores": 2, "ram_gib": 4.0, "python": "3.10.13", "rasa": "3.6.21"}
    markdown = render_markdown(rows, machine, {"turns": 200})
    assert markdown.startswith("| Figure | Ours | Rasa starter bot | Ours / starter |\n|---|")
    assert "| Latency p50 @ 1 conc. (ms) | 40.0 | 20.0 | 2.00× |" in markdown
    assert "Rasa 3.6.21" in markdown
