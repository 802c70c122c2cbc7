"""The pure parts of tools.evaluate: reading Rasa's NLU and story reports, the summaries, the held-out set."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tools.evaluate import (
    GOAL_MACRO_F1,
    HELDOUT,
    HELDOUT_FILES,
    HELDOUT_ZH,
    NLU_DATA,
    RULES,
    LanguageScore,
    Prediction,
    behaviours_from_rules,
    confusions_from_errors,
    confusions_from_report,
    count_failed_stories,
    goal_lines,
    language_of,
    language_scores,
    macro_f1,
    meets_goals,
    nlu_examples,
    normalise_text,
    parse_args,
    predictions_from_results,
    read_nlu_examples,
    render_core_text,
    render_heldout_text,
    render_markdown,
    render_nlu_text,
    summarise_core,
    summarise_heldout,
    summarise_nlu,
    training_overlap,
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
    assert args.folds == 5 and args.top == 10 and args.heldout == list(HELDOUT_FILES)
    assert HELDOUT in args.heldout and HELDOUT_ZH in args.heldout
    assert parse_args(["--heldout", "a.yml", "b.yml"]).heldout == [Path("a.yml"), Path("b.yml")]
    assert not (args.skip_nlu or args.skip_heldout or args.skip_core)
    with pytest.raises(SystemExit):
        parse_args(["--folds", "1"])


NLU_DOCUMENT: dict[str, Any] = {
    "version": "3.1",
    "nlu": [
        {"intent": "greet", "examples": "- hi\n- Hello there!\n"},
        {"regex": "waybill_pattern", "examples": "- \\b[A-Z]{2}\\d{9}[A-Z]{2}\\b\n"},
        {"intent": "track_shipment", "examples": "- where is EA100000017CN\n"},
    ],
}


def test_nlu_examples_skip_regexes() -> None:
    assert nlu_examples(NLU_DOCUMENT) == [
        ("greet", "hi"),
        ("greet", "Hello there!"),
        ("track_shipment", "where is EA100000017CN"),
    ]
    assert nlu_examples(None) == []


def test_training_overlap_ignores_case_and_punctuation() -> None:
    assert normalise_text("  Hello,   there!! ") == "hello there"
    heldout = [("greet", "hello there"), ("greet", "good morning")]
    assert training_overlap(heldout, nlu_examples(NLU_DOCUMENT)) == ["hello there"]


RULES_DOCUMENT: dict[str, Any] = {
    "rules": [
        {"rule": "greet", "steps": [{"intent": "greet"}, {"action": "utter_greet"}]},
        {
            "rule": "question inside the form",
            "condition": [{"active_loop": "complaint_form"}],
            "steps": [{"intent": "track_shipment"}, {"action": "action_answer_shipment"}],
        },
        {
            "rule": "a stray yes",
            "condition": [{"slot_was_set": [{"awaiting": None}]}],
            "steps": [{"intent": "affirm"}, {"action": "utter_anything_else"}],
        },
        {"rule": "status", "steps": [{"intent": "track_shipment"}, {"action": "action_answer_shipment"}]},
        {"rule": "eta", "steps": [{"intent": "ask_eta"}, {"action": "action_answer_shipment"}]},
        {"rule": "form done", "steps": [{"action": "complaint_form"}, {"active_loop": None}]},
        {"rule": "greet again", "steps": [{"intent": "greet"}, {"action": "utter_other"}]},
    ]
}


def test_behaviours_from_rules_first_action_outside_forms() -> None:
    assert behaviours_from_rules([RULES_DOCUMENT, None]) == {
        "greet": "utter_greet",
        "affirm": "utter_anything_else",
        "track_shipment": "action_answer_shipment",
        "ask_eta": "action_answer_shipment",
    }


def prediction(intent: str, predicted: str) -> Prediction:
    return Prediction(text=f"{intent}->{predicted}", intent=intent, predicted=predicted, confidence=0.9)


def test_summarise_heldout() -> None:
    behaviours = behaviours_from_rules([RULES_DOCUMENT])
    predictions = [
        prediction("greet", "greet"),
        prediction("track_shipment", "track_shipment"),
        prediction("track_shipment", "ask_eta"),  # wrong intent, same behaviour
        prediction("ask_eta", "greet"),
        prediction("out_of_scope", "out_of_scope"),
        prediction("out_of_scope", "nlu_fallback"),  # asks to rephrase: not accepted
        prediction("out_of_scope", "track_shipment"),
        prediction("out_of_scope", "greet"),
    ]
    summary = summarise_heldout(predictions, INTENT_REPORT, behaviours, top=2)
    assert summary.total == 8 and summary.accuracy == pytest.approx(3 / 8)
    assert summary.macro_f1 == pytest.approx(0.898)
    assert (summary.oos_total, summary.oos_accepted) == (4, 2)
    assert summary.oos_accepted_rate == pytest.approx(0.5)
    assert (summary.in_scope_total, summary.in_scope_routed) == (4, 3)
    assert summary.confusions == [("ask_eta", "greet", 1), ("out_of_scope", "greet", 1)]
    text = render_heldout_text(summary)
    assert "accuracy 0.375" in text and "accepted as an in-scope intent: 2 of 4 (50.0%)" in text
    assert "right behaviour: 3 of 4 (75.0%)" in text
    markdown = render_markdown(None, None, folds=5, timings={"heldout": 12}, heldout=summary)
    assert "8 utterances never trained on" in markdown and "| ask_eta | greet | 1 |" in markdown


def test_predictions_from_rasa_results() -> None:
    assert predictions_from_results(INTENT_ERRORS[:1]) == [
        Prediction(text="where", intent="track_shipment", predicted="provide_waybill", confidence=0.5)
    ]
    assert predictions_from_results([{"text": "x", "intent": "greet", "intent_prediction": None}]) == [
        Prediction(text="x", intent="greet", predicted="None", confidence=0.0)
    ]


# ---------------------------------------------------------------- the project's own held-out file


def test_heldout_file_is_large_labelled_with_its_source_and_never_trained_on() -> None:
    text = HELDOUT.read_text()
    header = text.split("version:")[0].lower()
    assert "source:" in header and "licence:" in header
    examples = read_nlu_examples([HELDOUT])
    assert len(examples) >= 300
    assert sum(intent == "out_of_scope" for intent, _ in examples) >= 50
    assert training_overlap(examples, read_nlu_examples(sorted(NLU_DATA.glob("*.yml")))) == []
    domain_intents = set(yaml.safe_load((NLU_DATA.parents[2] / "domain.yml").read_text())["intents"])
    assert {intent for intent, _ in examples} <= domain_intents


def test_every_intent_of_the_project_has_a_behaviour() -> None:
    behaviours = behaviours_from_rules(
        [yaml.safe_load(path.read_text()) for path in sorted(RULES.glob("*.yml"))]
    )
    domain_intents = set(yaml.safe_load((NLU_DATA.parents[2] / "domain.yml").read_text())["intents"])
    assert domain_intents - {"out_of_scope"} <= set(behaviours) | {"out_of_scope"}
    assert behaviours["track_shipment"] == behaviours["ask_eta"] == "action_answer_shipment"
    assert behaviours["request_human"] == "action_escalate"


# ---------------------------------------------------------------- per language


def test_language_of_a_text() -> None:
    assert language_of("where is my parcel") == "en"
    assert language_of("EA100000025CN") == "en"
    assert language_of("EA100000025CN到哪了") == "zh"
    assert language_of("i want 人工") == "zh"
    assert language_of("ＥＡ１０００ 查一下") == "zh"


def test_macro_f1_averages_over_true_and_predicted_labels() -> None:
    assert macro_f1([]) is None
    assert macro_f1([("a", "a"), ("b", "b")]) == pytest.approx(1.0)
    # a: P 1/2 R 1 F1 2/3; b: P 0 R 0 F1 0 -> 1/3 (b is only a true label)
    assert macro_f1([("a", "a"), ("b", "a")]) == pytest.approx(1 / 3)
    # c is only predicted: it counts, as in sklearn's report
    assert macro_f1([("a", "a"), ("a", "c")]) == pytest.approx((2 / 3 + 0) / 2)


def test_language_scores_split_the_predictions() -> None:
    predictions = [
        Prediction("hello", "greet", "greet", 0.9),
        Prediction("where is it", "track_shipment", "greet", 0.6),
        Prediction("你好", "greet", "greet", 0.9),
        Prediction("EA100000025CN到哪了", "track_shipment", "track_shipment", 0.8),
    ]
    english, chinese = language_scores(predictions)
    assert english == LanguageScore("en", 2, pytest.approx((2 / 3 + 0) / 2), 0.5)
    assert chinese == LanguageScore("zh", 2, 1.0, 1.0)
    assert [score.language for score in language_scores(predictions[:2])] == ["en"]


def test_summarise_nlu_with_successes_reports_each_language() -> None:
    successes = [
        {"text": "hi", "intent": "greet", "intent_prediction": {"name": "greet", "confidence": 0.9}},
        {"text": "你好", "intent": "greet", "intent_prediction": {"name": "greet", "confidence": 0.9}},
    ]
    errors = [
        {
            "text": "咋还没到",
            "intent": "ask_delay_reason",
            "intent_prediction": {"name": "ask_eta", "confidence": 0.5},
        }
    ]
    summary = summarise_nlu(INTENT_REPORT, errors, successes=successes)
    assert [(s.language, s.examples) for s in summary.languages] == [("en", 1), ("zh", 2)]
    assert summary.languages[1].accuracy == pytest.approx(0.5)
    text = render_nlu_text(summary)
    assert "  en: 1 examples, macro F1 1.000, accuracy 1.000 (goal met" in text
    assert "  zh: 2 examples" in text and "BELOW GOAL" in text
    markdown = render_markdown(summary, None, folds=5, timings={"nlu": 100})
    assert "| Language | Examples | Macro F1 | Accuracy |" in markdown and "| zh | 2 |" in markdown
    assert summarise_nlu(INTENT_REPORT, errors).languages == []


def test_heldout_goals_and_several_files() -> None:
    behaviours = behaviours_from_rules([RULES_DOCUMENT])
    good = summarise_heldout(
        [prediction("greet", "greet")] * 9 + [prediction("out_of_scope", "nlu_fallback")],
        {"macro avg": {"f1-score": 0.95}},
        behaviours,
    )
    assert meets_goals(good) and GOAL_MACRO_F1 == 0.92
    too_accepting = summarise_heldout(
        [prediction("out_of_scope", "greet"), prediction("out_of_scope", "out_of_scope")] * 5,
        {"macro avg": {"f1-score": 0.95}},
        behaviours,
    )
    assert not meets_goals(too_accepting)
    assert not meets_goals(summarise_heldout([prediction("greet", "greet")], {}, behaviours))
    assert "goal met (macro F1 >= 0.92, out of scope accepted <= 10%)" in render_heldout_text(good, "zh")
    assert render_heldout_text(too_accepting, "tests/nlu/heldout_zh.yml").startswith(
        "tests/nlu/heldout_zh.yml:"
    )
    markdown = render_markdown(
        None,
        None,
        folds=5,
        timings={"heldout:tests/nlu/heldout.yml": 12, "heldout:tests/nlu/heldout_zh.yml": 9},
        heldout={"tests/nlu/heldout.yml": good, "tests/nlu/heldout_zh.yml": too_accepting},
    )
    assert "`tests/nlu/heldout.yml`, 10 utterances never trained on, 12 s" in markdown
    assert "`tests/nlu/heldout_zh.yml`, 10 utterances never trained on, 9 s" in markdown
    assert "BELOW GOAL" in markdown and "goal met" in markdown
    # The goals of both issues, listed first: accuracy 0.9, macro F1 0.95, out of scope accepted 0.5.
    assert "- met: tests/nlu/heldout.yml macro F1 0.950 (goal ≥ 0.92)" in markdown
    assert "- NOT met: tests/nlu/heldout.yml accuracy 0.900 (goal ≥ 0.92)" in markdown
    assert "- NOT met: tests/nlu/heldout_zh.yml out of scope accepted 0.500 (goal ≤ 0.10)" in markdown
    assert goal_lines(None, {}) == []


CJK_TEXT = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def test_chinese_heldout_file_is_large_chinese_labelled_and_never_trained_on() -> None:
    header = HELDOUT_ZH.read_text().split("version:")[0].lower()
    assert "source:" in header and "licence:" in header
    examples = read_nlu_examples([HELDOUT_ZH])
    assert len(examples) >= 200
    assert sum(intent == "out_of_scope" for intent, _ in examples) >= 20
    # Chinese, apart from bare numbers and the like ("EA100000039CN", "88")
    assert sum(bool(CJK_TEXT.search(text)) for _, text in examples) >= 0.9 * len(examples)
    assert training_overlap(examples, read_nlu_examples(sorted(NLU_DATA.glob("*.yml")))) == []
    domain_intents = set(yaml.safe_load((NLU_DATA.parents[2] / "domain.yml").read_text())["intents"])
    assert {intent for intent, _ in examples} == domain_intents


def test_every_heldout_file_is_never_trained_on() -> None:
    training = read_nlu_examples(sorted(NLU_DATA.glob("*.yml")))
    for path in HELDOUT_FILES:
        assert training_overlap(read_nlu_examples([path]), training) == [], path


def test_chinese_training_data_covers_every_intent() -> None:
    domain_intents = set(yaml.safe_load((NLU_DATA.parents[2] / "domain.yml").read_text())["intents"])
    chinese = [
        (intent, text)
        for intent, text in read_nlu_examples(sorted(NLU_DATA.glob("zh_*.yml")))
        if CJK_TEXT.search(text) or intent in {"track_shipment", "find_by_phone"}
    ]
    counts = {intent: sum(label == intent for label, _ in chinese) for intent in domain_intents}
    assert min(counts.values()) >= 25, counts
    english = read_nlu_examples(sorted(p for p in NLU_DATA.glob("*.yml") if not p.name.startswith("zh_")))
    assert not [text for _, text in english if CJK_TEXT.search(text)]


def test_issue_15_public_style_files_are_scored_and_large_enough() -> None:
    """Issue 15: at least 200 public-style messages per language, scored by default, every intent."""
    domain_intents = set(yaml.safe_load((NLU_DATA.parents[2] / "domain.yml").read_text())["intents"])
    for name, chinese in (("heldout_public_style2_en.yml", False), ("heldout_public_style2_zh.yml", True)):
        path = NLU_DATA.parents[2] / "tests" / "nlu" / name
        assert path in HELDOUT_FILES
        examples = read_nlu_examples([path])
        assert len(examples) >= 200, name
        assert {intent for intent, _ in examples} == domain_intents, name
        assert all(bool(CJK_TEXT.search(text)) == chinese for _, text in examples), name
