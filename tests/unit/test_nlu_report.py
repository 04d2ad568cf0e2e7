"""The held-out evaluation's pure parts (ops/evaluation.py): annotation parsing and metrics on
small hand-made cases with known answers, and the held-out file's own consistency."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from npq.vocabulary import PHASES, ROLES
from ops import evaluation, nlu_report
from ops.evaluation import (
    Confusion,
    Entity,
    Example,
    IntentError,
    Prf,
    best_intent,
    confusions,
    entity_metrics,
    evaluate,
    fallback_threshold,
    intent_metrics,
    load_examples,
    match_entities,
    parse_annotated,
)
from ops.nlu_report import format_report

ROOT = Path(__file__).resolve().parents[2]
PROGRAMMES = yaml.safe_load((ROOT / "data" / "catalogue" / "programmes.yaml").read_text())
CODES = {p["code"] for p in PROGRAMMES["programmes"]}


# --- annotations -------------------------------------------------------------------------------

def test_plain_text_has_no_entities() -> None:
    assert parse_annotated("when's the deadline?") == ("when's the deadline?", [])


def test_short_annotation_takes_the_text_as_value() -> None:
    text, entities = parse_annotated("is there a hub near [Keighley](location)?")
    assert text == "is there a hub near Keighley?"
    assert entities == [Entity("location", "Keighley", 20, 28)]
    assert text[20:28] == "Keighley"


def test_synonym_annotation_keeps_the_normalised_value_and_the_span_of_the_text() -> None:
    text, entities = parse_annotated(
        'I\'m a [DHT]{"entity": "role", "value": "deputy_head"} wanting '
        '[the headship one]{"entity": "npq", "value": "NPQH"} in [BD21 3DN](postcode)')
    assert text == "I'm a DHT wanting the headship one in BD21 3DN"
    assert entities == [Entity("role", "deputy_head", 6, 9), Entity("npq", "NPQH", 18, 34),
                        Entity("postcode", "BD21 3DN", 38, 46)]
    assert [text[e.start:e.end] for e in entities] == ["DHT", "the headship one", "BD21 3DN"]


def test_json_annotation_without_value_and_old_entity_value_syntax() -> None:
    leeds = Entity("location", "Leeds", 0, 5)
    assert parse_annotated('[Leeds]{"entity": "location"}')[1] == [leeds]
    assert parse_annotated("[heads](role:headteacher)")[1] == [Entity("role", "headteacher", 0, 5)]


def test_load_examples_reads_intents_only() -> None:
    source = """
version: "3.1"
nlu:
  - intent: find_hub
    examples: |
      - hub near [Leeds](location)
      - [NPQH](npq) in [LS6](postcode)?
  - synonym: NPQH
    examples: |
      - headship
  - intent: greet
    examples: |
      - hiya
"""
    examples = load_examples(source)
    assert [(e.intent, e.text) for e in examples] == [
        ("find_hub", "hub near Leeds"), ("find_hub", "NPQH in LS6?"), ("greet", "hiya")]
    assert examples[1].entities == [Entity("npq", "NPQH", 0, 4), Entity("postcode", "LS6", 8, 11)]


def test_fallback_threshold_from_config() -> None:
    config = ("pipeline:\n  - name: WhitespaceTokenizer\n"
              "  - name: FallbackClassifier\n    threshold: 0.6\n")
    assert fallback_threshold(config) == 0.6
    assert fallback_threshold("pipeline:\n  - name: FallbackClassifier\n") == 0.3  # Rasa's default
    assert fallback_threshold("pipeline:\n  - name: WhitespaceTokenizer\n") == 0.0


# --- intent metrics ----------------------------------------------------------------------------

def test_intent_metrics_equal_supports() -> None:
    result = intent_metrics(["a", "a", "b", "b"], ["a", "b", "b", "b"])
    assert result.accuracy == 0.75
    a, b = result.per_intent["a"], result.per_intent["b"]
    assert (a.precision, a.recall, a.support) == (1.0, 0.5, 2)
    assert a.f1 == pytest.approx(2 / 3)
    assert (b.precision, b.recall) == (pytest.approx(2 / 3), 1.0)
    assert b.f1 == pytest.approx(0.8)
    assert result.macro_f1 == pytest.approx((2 / 3 + 0.8) / 2)


def test_weighted_f1_weights_by_support_and_macro_does_not() -> None:
    result = intent_metrics(["a", "a", "a", "b"], ["a", "a", "b", "b"])
    assert result.per_intent["a"].f1 == pytest.approx(0.8)
    assert result.per_intent["b"].f1 == pytest.approx(2 / 3)
    assert result.macro_f1 == pytest.approx((0.8 + 2 / 3) / 2)
    assert result.weighted_f1 == pytest.approx((0.8 * 3 + 2 / 3) / 4)


def test_an_intent_only_ever_predicted_counts_in_macro_f1() -> None:
    result = intent_metrics(["a", "a"], ["a", "c"])
    assert result.per_intent["c"] == Prf(precision=0.0, recall=0.0, f1=0.0, support=0)
    assert result.macro_f1 == pytest.approx((2 / 3 + 0.0) / 2)


def test_best_intent_skips_nlu_fallback() -> None:
    parse = {"intent": {"name": "nlu_fallback", "confidence": 0.5},
             "intent_ranking": [{"name": "nlu_fallback", "confidence": 0.5},
                                {"name": "find_hub", "confidence": 0.31},
                                {"name": "inform", "confidence": 0.29}]}
    assert best_intent(parse) == ("find_hub", 0.31)
    assert best_intent({"intent": {"name": "greet", "confidence": 0.9}}) == ("greet", 0.9)


def test_confusions_matrix_and_worst_first_with_an_example() -> None:
    true = ["inform", "inform", "inform", "find_hub"]
    pred = ["find_hub", "find_hub", "inform", "greet"]
    result = confusions(true, pred, ["Leeds", "LS6", "deputy head", "hub near Leeds"])
    assert result.labels == ["find_hub", "greet", "inform"]
    assert result.counts == [[0, 1, 0], [0, 0, 0], [2, 0, 1]]
    assert result.worst == [
        Confusion(true="inform", predicted="find_hub", count=2, example="Leeds"),
        Confusion(true="find_hub", predicted="greet", count=1, example="hub near Leeds")]


# --- entity matching ---------------------------------------------------------------------------

LEEDS = Entity("location", "Leeds", 9, 14)


@pytest.mark.parametrize(("predicted", "correct"), [
    (Entity("location", "Leeds", 9, 14), True),
    (Entity("location", "leeds ", 9, 15), True),       # case and spacing of the value ignored
    (Entity("location", "Leeds", 5, 10), True),        # spans overlap by one character
    (Entity("location", "Leeds", 14, 20), False),      # adjacent, not overlapping
    (Entity("postcode", "Leeds", 9, 14), False),       # wrong type
    (Entity("location", "Leeds city", 9, 14), False),  # wrong value
])
def test_match_rule(predicted: Entity, correct: bool) -> None:
    found, missed, spurious = match_entities([LEEDS], [predicted])
    assert (found, missed, spurious) == (([LEEDS], [], []) if correct
                                         else ([], [LEEDS], [predicted]))


def test_duplicate_predictions_count_once_and_each_annotation_matches_one() -> None:
    crf, regex = Entity("postcode", "LS6 1AA", 3, 10), Entity("postcode", "ls6 1aa", 3, 10)
    assert match_entities([Entity("postcode", "LS6 1AA", 3, 10)], [crf, regex]) == (
        [Entity("postcode", "LS6 1AA", 3, 10)], [], [])
    two = [Entity("npq", "NPQH", 0, 4), Entity("npq", "NPQH", 9, 17)]
    found, missed, spurious = match_entities(two, [Entity("npq", "NPQH", 0, 4)])
    assert (found, missed, spurious) == ([two[0]], [two[1]], [])


def test_entity_metrics_overall_and_per_type() -> None:
    gold = [[Entity("location", "Leeds", 0, 5), Entity("role", "deputy_head", 10, 13)],
            [Entity("npq", "NPQH", 0, 4)],
            []]
    pred = [[Entity("location", "Leeds", 0, 5), Entity("role", "DHT", 10, 13)],  # unmapped synonym
            [Entity("npq", "NPQH", 0, 4)],
            [Entity("location", "Carrot", 0, 6)]]
    result, mistakes = entity_metrics(gold, pred)
    assert (result.precision, result.support) == (0.5, 3)  # 2 of 4 predictions right
    assert result.recall == pytest.approx(2 / 3)               # 2 of 3 annotations found
    assert result.f1 == pytest.approx(4 / 7)
    location = result.per_entity["location"]
    assert (location.precision, location.recall, location.support) == (0.5, 1.0, 1)
    assert location.f1 == pytest.approx(2 / 3)
    assert result.per_entity["role"] == Prf(precision=0.0, recall=0.0, f1=0.0, support=1)
    assert result.per_entity["npq"].f1 == 1.0
    assert [index for index, _, _ in mistakes] == [0, 2]


# --- the whole report --------------------------------------------------------------------------

def parse(intent: str, confidence: float, entities: list[Entity] = ()) -> dict:
    return {"intent": {"name": intent, "confidence": confidence},
            "intent_ranking": [{"name": intent, "confidence": confidence}],
            "entities": [{"entity": e.entity, "value": e.value, "start": e.start, "end": e.end}
                         for e in entities]}


def test_evaluate_counts_low_confidence_and_checks_targets() -> None:
    examples = [Example("Leeds", "inform", [Entity("location", "Leeds", 0, 5)]),
                Example("hiya", "greet"), Example("bye", "goodbye")]
    parses = [parse("inform", 0.9, [Entity("location", "Leeds", 0, 5)]),
              parse("greet", 0.4), parse("thank", 0.7)]
    report = evaluate(examples, parses, threshold=0.5)
    assert report.examples == 3
    assert report.intent.accuracy == pytest.approx(2 / 3)
    assert report.below_threshold == 1
    assert report.confident_wrong == 1  # "bye" read as thank at 0.7
    assert report.met == {"intent_accuracy": False, "macro_f1": False, "entity_recall": True}
    assert report.intent_errors == [
        IntentError(text="bye", true="goodbye", predicted="thank", confidence=0.7)]
    assert report.entity_errors == []
    assert "errors" not in report.as_json()["entities"] and "parse_ms" not in report.as_json()


def test_the_test_log_version_of_the_report_shows_no_held_out_message() -> None:
    examples = [Example("hiya", "greet"), Example("see you around", "goodbye")]
    report = evaluate(examples, [parse("greet", 0.9), parse("thank", 0.7)], threshold=0.5)
    assert "goodbye -> thank  1" in format_report(report, examples=False)
    assert "see you around" not in format_report(report, examples=False)
    assert '"see you around"' in format_report(report)  # make nlu-report shows it


def test_check_exits_non_zero_only_when_a_target_is_missed(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    leeds = [Entity("location", "Leeds", 0, 5)]
    examples = [Example("hiya", "greet"), Example("Leeds", "inform", leeds)]
    monkeypatch.setattr(nlu_report, "OUT_DIR", tmp_path)
    good = evaluate(examples, [parse("greet", 0.9), parse("inform", 0.9, leeds)], 0.5)
    bad = evaluate(examples, [parse("greet", 0.9), parse("greet", 0.9, leeds)], 0.5)
    phone = evaluation.HELDOUT_PHONE
    monkeypatch.setattr(nlu_report, "evaluate_files",
                        lambda model, files: {evaluation.HELDOUT: good, phone: good})
    assert nlu_report.main(["--check"]) == 0
    monkeypatch.setattr(nlu_report, "evaluate_files",
                        lambda model, files: {evaluation.HELDOUT: good, phone: bad})
    assert nlu_report.main([]) == 0
    assert nlu_report.main(["--check"]) == 1
    for out in (tmp_path, tmp_path / phone.stem):  # one report per held-out file
        assert (out / "confusion_matrix.png").stat().st_size > 0
        assert "intent_errors" in (out / "report.json").read_text()


def test_files_measures_the_files_named_and_writes_each_report_under_its_stem(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    tuning = tmp_path / "my_tuning.yml"
    tuning.write_text('version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - hiya\n')
    asked: list[tuple[Path, ...]] = []

    def fake(model: Path | None, files: tuple[Path, ...]) -> dict[Path, evaluation.Report]:
        asked.append(files)  # (the held-out files are neither read nor reported here)
        return {path: evaluate(load_examples(path.read_text()), [parse("greet", 0.9)], 0.5)
                for path in files if path == tuning.resolve()}
    monkeypatch.setattr(nlu_report, "OUT_DIR", tmp_path / "out")
    monkeypatch.setattr(nlu_report, "evaluate_files", fake)
    assert nlu_report.main(["--files", str(tuning)]) == 0
    assert asked == [(tuning.resolve(),)]
    assert "intent accuracy   1.000" in capsys.readouterr().out
    assert '"accuracy": 1.0' in (tmp_path / "out" / "my_tuning" / "report.json").read_text()
    nlu_report.main([])  # without --files: the held-out files
    assert asked[-1] == evaluation.HELDOUT_FILES
    with pytest.raises(SystemExit):
        nlu_report.main(["--files", str(tmp_path / "missing.yml")])


# --- the held-out files themselves -------------------------------------------------------------

# Each file covers every intent of domain.yml: the first with ten examples at least, the phone-style
# one (real traffic's proportions, so rare intents are few) with six.
FEWEST_PER_INTENT = {evaluation.HELDOUT: 10, evaluation.HELDOUT_PHONE: 6}
EACH_FILE = pytest.mark.parametrize("path", evaluation.HELDOUT_FILES, ids=lambda path: path.name)


def heldout(path: Path) -> list[Example]:
    return load_examples(path.read_text())


@EACH_FILE
def test_heldout_covers_every_domain_intent(path: Path) -> None:
    intents = yaml.safe_load((ROOT / "domain.yml").read_text())["intents"]
    examples = heldout(path)
    counts = {intent: sum(e.intent == intent for e in examples) for intent in intents}
    assert {intent for intent, n in counts.items() if n < FEWEST_PER_INTENT[path]} == set()
    assert {e.intent for e in examples} <= set(intents)


@EACH_FILE
def test_heldout_entity_values_are_the_fixed_vocabulary(path: Path) -> None:
    allowed = {"npq": CODES, "role": set(ROLES), "phase": set(PHASES)}
    wrong = [(e.text, x) for e in heldout(path) for x in e.entities
             if x.entity not in {"npq", "role", "phase", "location", "postcode"}
             or (x.entity in allowed and x.value not in allowed[x.entity])]
    assert wrong == []


@EACH_FILE
def test_heldout_annotations_are_all_well_formed(path: Path) -> None:
    """A mistyped annotation would be left in the text as brackets and not counted."""
    assert [e.text for e in heldout(path) if set(e.text) & set("[]{}")] == []


@EACH_FILE
def test_heldout_has_no_duplicates_and_stays_out_of_the_training_folder(path: Path) -> None:
    texts = [e.text.casefold() for e in heldout(path)]
    assert len(texts) == len(set(texts))
    assert ROOT / "nlu_data" not in path.parents
