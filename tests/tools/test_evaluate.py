"""The pure parts of tools.evaluate: reading Rasa's NLU and story reports, the summaries."""

from __future__ import annotations

from typing import Any

import pytest

from tools.evaluate import (
    confusions_from_errors,
    confusions_from_report,
    count_failed_stories,
    parse_args,
    render_core_text,
    render_markdown,
    render_nlu_text,
    summarise_core,
    summarise_nlu,
)

# The shape of Rasa 3.6's intent_report.json: sklearn's report plus "confused_with".
INTENT_REPORT: dict[str, Any] = {
    "greet": {
        "precision": 1.0,
        "recall": 0.9,
        "f1-score": 0.947,
        "support": 10,
        "confused_with": {"thank": 1},
    },
    "track_shipment": {
        "precision": 0.8,
        "recall": 0.8,
        "f1-score": 0.8,
        "support": 20,
        "confused_with": {"provide_waybill": 3, "greet": 1},
    },
    "thank": {"precision": 0.9, "recall": 1.0, "f1-score": 0.947, "support": 9, "confused_with": {}},
    "accuracy": 0.87,
    "macro avg": {"precision": 0.9, "recall": 0.9, "f1-score": 0.898, "support": 39},
    "weighted avg": {"precision": 0.88, "recall": 0.87, "f1-score": 0.871, "support": 39},
}

INTENT_ERRORS: list[dict[str, Any]] = [
    {
        "text": "where",
        "intent": "track_shipment",
        "intent_prediction": {"name": "provide_waybill", "confidence": 0.5},
    },
    {
        "text": "ea1",
        "intent": "track_shipment",
        "intent_prediction": {"name": "provide_waybill", "confidence": 0.4},
    },
    {"text": "hey", "intent": "greet", "intent_prediction": {"name": "nlu_fallback", "confidence": 0.3}},
    {"text": "x", "intent": "track_shipment", "intent_prediction": {"name": "greet", "confidence": 0.6}},
]


def test_intents_sorted_worst_first_without_averages() -> None:
    summary = summarise_nlu(INTENT_REPORT, INTENT_ERRORS)
    assert [score.intent for score in summary.intents] == ["track_shipment", "greet", "thank"]
    assert summary.macro_f1 == pytest.approx(0.898)
    assert summary.weighted_f1 == pytest.approx(0.871)
    assert summary.accuracy == pytest.approx(0.87)


def test_confusions_from_errors_count_pairs() -> None:
    assert confusions_from_errors(INTENT_ERRORS) == [
        ("track_shipment", "provide_waybill", 2),
        ("greet", "nlu_fallback", 1),
        ("track_shipment", "greet", 1),
    ]
    assert confusions_from_errors(INTENT_ERRORS, top=1) == [("track_shipment", "provide_waybill", 2)]


def test_confusions_fall_back_to_confused_with() -> None:
    assert confusions_from_report(INTENT_REPORT) == [
        ("track_shipment", "provide_waybill", 3),
        ("greet", "thank", 1),
        ("track_shipment", "greet", 1),
    ]
    assert summarise_nlu(INTENT_REPORT, None).confusions[0] == ("track_shipment", "provide_waybill", 3)


def test_accuracy_from_micro_average_when_sklearn_writes_no_accuracy() -> None:
    report = {key: value for key, value in INTENT_REPORT.items() if key != "accuracy"}
    report["micro avg"] = {"precision": 0.86, "recall": 0.86, "f1-score": 0.86, "support": 39}
    assert summarise_nlu(report, []).accuracy == pytest.approx(0.86)


STORY_REPORT: dict[str, Any] = {
    "utter_greet": {"precision": 1.0, "recall": 1.0, "f1-score": 1.0, "support": 3},
    "action_answer_shipment": {"precision": 1.0, "recall": 0.75, "f1-score": 0.857, "support": 4},
    "accuracy": 0.9,
    "macro avg": {"precision": 1.0, "recall": 0.875, "f1-score": 0.93, "support": 20},
    "weighted avg": {"precision": 0.95, "recall": 0.9, "f1-score": 0.91, "support": 20},
    "conversation_accuracy": {"accuracy": 0.75, "correct": 3, "with_warnings": 0, "total": 4},
}


def test_summarise_core() -> None:
    summary = summarise_core(STORY_REPORT)
    assert (summary.stories_total, summary.stories_passed, summary.stories_failed) == (4, 3, 1)
    assert summary.action_accuracy == pytest.approx(0.9)
    assert summary.actions_total == 20
    assert render_core_text(summary) == (
        "test stories: 3 of 4 passed, 1 failed; "
        "action-level accuracy 0.900 over 20 actions (weighted F1 0.910)"
    )


def test_summarise_core_without_conversation_accuracy() -> None:
    summary = summarise_core({"weighted avg": {"f1-score": 1.0, "support": 5}})
    assert summary.stories_total is None and summary.stories_failed is None
    assert summary.action_accuracy is None


def test_count_failed_stories() -> None:
    text = 'version: "3.1"\nstories:\n- story: a (./tests/x.yml)\n  steps: []\n- story: b\n  steps: []\n'
    assert count_failed_stories(text) == 2
    assert count_failed_stories("# None of the test stories failed - all good!\n") == 0


def test_renderings() -> None:
    nlu = summarise_nlu(INTENT_REPORT, INTENT_ERRORS)
    text = render_nlu_text(nlu)
    assert text.splitlines()[1].startswith("track_shipment")
    assert "  track_shipment -> provide_waybill: 2" in text
    markdown = render_markdown(nlu, summarise_core(STORY_REPORT), folds=3, timings={"nlu": 200, "core": 30})
    assert "3-fold cross-validation" in markdown
    assert "| track_shipment | 0.800 | 0.800 | 0.800 | 20 |" in markdown
    assert "| track_shipment | provide_waybill | 2 |" in markdown
    assert "3 of 4 passed, 1 failed" in markdown


def test_parse_args() -> None:
    args = parse_args([])
    assert args.folds == 3 and args.top == 10
    with pytest.raises(SystemExit):
        parse_args(["--folds", "1"])
