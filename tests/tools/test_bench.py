"""The pure parts of tools.bench: percentiles, ratios, argument parsing, /proc parsing, the report."""

from __future__ import annotations

import argparse

import pytest

from tools.bench import (
    LevelResult,
    breakdown,
    build_rows,
    conversation_plan,
    format_ratio,
    format_value,
    hub_breakdown,
    hub_overhead_ms,
    parse_args,
    parse_concurrency,
    parse_cpu_model,
    parse_mem_total_gib,
    parse_ppid,
    parse_vmrss_kib,
    percentile,
    ratio,
    render_breakdown,
    render_hub_breakdown,
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
    "complaint": {
        "1": {
            "ours": {"p50_ms": 60.0, "p95_ms": 90.0, "turns_per_s": 15.0},
            "reference": {"p50_ms": 30.0, "p95_ms": 45.0, "turns_per_s": 30.0},
        },
    },
    "channels": {
        "rest": {"p50_ms": 40.0, "p95_ms": 60.0},
        "widget": {"p50_ms": 43.5, "p95_ms": 70.0},
        "telegram": {"p50_ms": 52.0, "p95_ms": 61.0},
    },
    "calls_per_turn": {"status": 1.0, "complaint": 2.0},
    "memory_mib": {
        "ours_rasa": 600.0,
        "ours_actions": 200.0,
        "ours_backend": 100.0,
        "ours_all": 900.0,
        "reference_rasa": 800.0,
    },
    "breakdown_ms": {"rasa_turn": 30.0, "tracker_read": 1.0, "action_call": 12.0, "action_run": 8.0},
}


def test_build_rows_orders_levels_numerically_and_computes_ratios() -> None:
    rows = build_rows(RESULTS)
    labels = [row.label for row in rows]
    assert labels[0].startswith("Training time")
    assert labels.index("Status turn p50 @ 1 conc.") < labels.index("Status turn p50 @ 20 conc.")
    by_label = {row.label: row for row in rows}
    assert by_label["Training time (rasa train --force)"].ratio == pytest.approx(0.75)
    assert by_label["Status turn throughput @ 20 conc."].ratio == pytest.approx(0.5)
    assert not by_label["Status turn throughput @ 20 conc."].lower_is_better
    assert by_label["Complaint turn p50 @ 1 conc."].ratio == pytest.approx(2.0)
    assert by_label["Rasa server RSS after load"].ratio == pytest.approx(0.75)
    assert by_label["Actions server RSS after load"].ours == 200.0


def test_the_hub_overhead_is_ours_through_the_hub_minus_ours_over_rest() -> None:
    by_label = {row.label: row for row in build_rows(RESULTS)}
    assert by_label["Hub overhead p50, widget − REST"].ours == pytest.approx(3.5)
    assert by_label["Hub overhead p50, telegram − REST"].ours == pytest.approx(12.0)
    assert by_label["Hub overhead p95, telegram − REST"].ours == pytest.approx(1.0)
    assert by_label["Hub overhead p50, widget − REST"].ratio is None  # the starter has no hub
    assert hub_overhead_ms({"widget": {"p50_ms": 5.0}}, "widget") is None  # no REST run, no figure


def test_calls_per_turn_are_reported() -> None:
    by_label = {row.label: row for row in build_rows(RESULTS)}
    assert by_label["Remote action calls per status turn"].ours == 1.0
    assert by_label["Remote action calls per complaint turn"].ours == 2.0


def test_breakdown_of_one_turn_from_the_process_timings() -> None:
    before = {
        "ms": {"turn": 100.0, "tracker_read": 10.0, "action_call": 40.0, "action_run": 20.0},
        "count": {},
    }
    after = {
        "ms": {
            "turn": 400.0,
            "tracker_read": 25.0,
            "tracker_save": 30.0,
            "action_call": 190.0,
            "action_run": 120.0,
        },
        "count": {},
    }
    parts = breakdown(before, after, turns=10)
    assert parts["rasa_turn"] == pytest.approx(30.0)
    assert parts["tracker_read"] == pytest.approx(1.5)
    assert parts["tracker_save"] == pytest.approx(3.0)
    assert parts["action_call"] == pytest.approx(15.0)
    assert parts["action_transport"] == pytest.approx(5.0)
    assert parts["nlu_policies_other"] == pytest.approx(30.0 - 1.5 - 3.0 - 15.0)
    assert "tracker read" in render_breakdown(parts)


def test_build_rows_without_training() -> None:
    rows = build_rows({key: value for key, value in RESULTS.items() if key != "training_s"})
    assert not any(row.label.startswith("Training") for row in rows)


def test_render_text_and_markdown() -> None:
    rows = build_rows(RESULTS)
    text = render_text(rows)
    assert "Status turn p95 @ 20 conc." in text and "2.00×" in text
    assert len({len(line) for line in text.splitlines()[:2]}) == 1  # header and rule align
    machine = {"cpu": "X", "cores": 2, "ram_gib": 4.0, "python": "3.10.13", "rasa": "3.6.21"}
    markdown = render_markdown(rows, machine, {"turns": 200})
    assert markdown.startswith("| Figure | Ours | Rasa starter bot | Ours / starter |\n|---|")
    assert "| Status turn p50 @ 1 conc. (ms) | 40.0 | 20.0 | 2.00× |" in markdown
    assert "Rasa 3.6.21" in markdown


def test_hub_breakdown_of_a_turn_from_the_backends_timings() -> None:
    before = {"ms": {"turn": 100.0, "rasa_call": 60.0, "db_total": 20.0}, "count": {}}
    after = {
        "ms": {
            "turn": 600.0,
            "rasa_call": 410.0,
            "db_total": 70.0,
            "db_transaction": 40.0,
            "deliver": 30.0,
            "telegram_inbox_store": 20.0,
        },
        "count": {},
    }
    parts = hub_breakdown(before, after, turns=10)
    assert parts["turn"] == pytest.approx(50.0)
    assert parts["rasa_call"] == pytest.approx(35.0)
    assert parts["db_total"] == pytest.approx(5.0)
    assert parts["db_transaction"] == pytest.approx(4.0)
    assert parts["hub_other"] == pytest.approx(50.0 - 35.0 - 5.0 - 3.0)
    text = render_hub_breakdown({"widget": parts, "telegram": {**parts, "widget_send": 0.0}})
    assert "widget" in text.splitlines()[0] and "telegram" in text.splitlines()[0]
    assert "the call to Rasa" in text and "stored before the 200" in text
