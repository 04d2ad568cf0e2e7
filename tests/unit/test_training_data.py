"""What staff labelled, written into the training data (ops/training_data.py), and the terminal
reviewer (ops/review.py)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from npq.db import session_scope
from npq.db.models import MessageLog
from npq.message_log import NOT_RELEVANT, SKIP
from npq.review_queue import Labelled, label, review_queue
from ops.evaluation import HELDOUT, HELDOUT_FILES, load_examples, parse_annotated
from ops.review import decide, review_in_terminal
from ops.training_data import (
    DataInvalid,
    dedup_key,
    example_line,
    export_reviewed,
    known_intents,
    plan_export,
    read_reviewed,
    render_reviewed,
)
from tests.support.logged_turns import HOSTILE, NOW, turn

ROOT = Path(__file__).resolve().parents[2]


# --- training examples (pure) -------------------------------------------------------------------

def test_hostile_text_gives_one_clean_example_each() -> None:
    lines = [example_line(text) for text in HOSTILE]
    for text, line in zip(HOSTILE, lines, strict=True):
        plain, entities = parse_annotated(line)
        assert entities == [], text
        assert "\n" not in line and line == line.strip() and line, text
        assert dedup_key(plain) == dedup_key(line), text
    document = render_reviewed({"out_of_scope": lines, "find_hub": lines[:3]})
    assert yaml.safe_load(document)["version"] == "3.1"
    examples = load_examples(document)
    assert [e.text for e in examples if e.intent == "out_of_scope"] == lines
    assert [e.intent for e in examples].count("find_hub") == 3
    assert all(e.entities == [] for e in examples)
    assert read_reviewed(document) == {"find_hub": lines[:3], "out_of_scope": lines}


def test_example_line_annotates_the_entities_found() -> None:
    text = "any hub near  Leeds doing the headship one?"
    entities = [{"entity": "location", "value": "Leeds", "start": 14, "end": 19},
                {"entity": "location", "value": "Leeds", "start": 14, "end": 19},  # regex too
                {"entity": "npq", "value": "NPQH", "start": 30, "end": 38},
                {"entity": "bogus", "value": "x}", "start": 0, "end": 3},
                {"entity": "npq", "value": "NPQH", "start": 90, "end": 99}]  # out of range
    line = example_line(text, entities)
    assert line == ('any hub near [Leeds](location) doing the [headship]'
                    '{"entity": "npq", "value": "NPQH"} one?')
    plain, found = parse_annotated(line)
    assert plain == "any hub near Leeds doing the headship one?"
    assert [(e.entity, e.value) for e in found] == [("location", "Leeds"), ("npq", "NPQH")]


def test_empty_reviewed_file_is_valid_yaml() -> None:
    document = render_reviewed({})
    assert yaml.safe_load(document)["nlu"] == [] and load_examples(document) == []


def labelled(text: str, intent: str, n: int = 1) -> Labelled:
    return Labelled(text, intent, (), n)


def test_plan_export_deduplicates_against_everything() -> None:
    known = {dedup_key("where is my nearest hub"): ("find_hub", "find_hub.yml"),
             dedup_key("hello"): ("greet", "greet.yml")}
    current = {"find_hub": ["is there parking at the venue"]}
    heldout = {dedup_key("any hubs in the north east")}
    merged, export = plan_export([
        labelled("Where is my nearest hub?!", "find_hub"),       # in nlu_data, same intent
        labelled("HELLO", "programme_info"),                      # in nlu_data, other intent
        labelled("is there parking at the venue", "find_hub"),   # already reviewed
        labelled("Any hubs in the North East?", "find_hub"),     # held out
        labelled("call me on 0113 496 0000", "talk_to_human"),   # personal data
        labelled("write to jo@example.org", "talk_to_human"),
        labelled("gimme the lowdown on headship", "programme_info"),
        labelled("GIMME the lowdown on headship!!", "programme_info"),  # the same, shouted
        labelled("   \x00\x07  ", "greet"),                       # nothing left
        labelled("can I bring my dog", "made_up"),                # not in domain.yml
        labelled("i'm a TA, anything for me", "recommend_npq"),
    ], current, known, heldout, intents=["find_hub", "greet", "programme_info", "recommend_npq",
                                         "talk_to_human"])
    assert merged == {"find_hub": ["is there parking at the venue"],
                      "programme_info": ["gimme the lowdown on headship"],
                      "recommend_npq": ["i'm a TA, anything for me"]}
    assert [intent for _, intent in export.added] == ["programme_info", "recommend_npq"]
    reasons = dict(export.skipped)
    assert reasons["Where is my nearest hub?!"] == "already in find_hub.yml"
    assert reasons["HELLO"] == "already in greet.yml as greet, not programme_info"
    assert reasons["is there parking at the venue"] == "already in reviewed.yml"
    assert reasons["Any hubs in the North East?"].startswith("held-out")
    assert reasons["call me on 0113 496 0000"] == reasons["write to jo@example.org"] \
        == "holds an e-mail address or phone number"
    assert reasons["GIMME the lowdown on headship!!"] == "already in reviewed.yml"
    assert reasons["can I bring my dog"].startswith("not an intent of domain.yml")
    assert len(export.skipped) == 9


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of what Rasa reads (nlu_data, config, domain): tests never touch the real one."""
    for name in ("config.yml", "domain.yml"):
        shutil.copyfile(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "nlu_data", tmp_path / "nlu_data")
    (tmp_path / "nlu_data" / "nlu" / "reviewed.yml").unlink(missing_ok=True)
    return tmp_path


def real_reviewed() -> str | None:
    path = ROOT / "nlu_data" / "nlu" / "reviewed.yml"
    return path.read_text() if path.exists() else None


def test_export_writes_labelled_messages_once(session: Session, project: Path) -> None:
    real_before = real_reviewed()
    for text in ("Is there parking at the venue?", HOSTILE[5], HOSTILE[8], "find my nearest hub"):
        turn(session, text)
    session.commit()
    for item in review_queue(session):
        label(session, item, intent="find_hub", staff_id="s", now=NOW)
    session.commit()
    checked: list[Path] = []

    def validate(root: Path) -> list[str]:
        checked.append(root)
        return []

    first = export_reviewed(session, root=project, validate=validate)
    second = export_reviewed(session, root=project, validate=validate)
    assert len(first.added) == 3 and [why for _, why in first.skipped] == [
        "already in find_hub.yml"]
    assert second.added == [] and len(second.skipped) == 4  # all already there now
    assert checked == [project]  # nothing new: no second validation
    written = load_examples((project / "nlu_data" / "nlu" / "reviewed.yml").read_text())
    assert {e.text for e in written} == {"Is there parking at the venue?",
                                         "is there a hub near (Leeds)(location)",
                                         "line one line two line three four five six seven eight"}
    assert real_reviewed() == real_before  # the repository's own file is never touched


def test_export_puts_the_file_back_when_rasa_finds_errors(session: Session, project: Path) -> None:
    target = project / "nlu_data" / "nlu" / "reviewed.yml"
    target.write_text(render_reviewed({"greet": ["howdy partner"]}))
    before = target.read_text()
    turn(session, "is there parking at the venue")
    session.commit()
    label(session, review_queue(session)[0], intent="find_hub", staff_id="s", now=NOW)
    session.commit()
    with pytest.raises(DataInvalid, match="broken"):
        export_reviewed(session, root=project, validate=lambda root: ["ERROR broken"])
    assert target.read_text() == before


def test_export_never_writes_a_message_of_either_heldout_file(session: Session,
                                                               project: Path) -> None:
    """Whichever held-out file the caller measures with, no held-out message is trained on."""
    held = {path.name: next(e for e in load_examples(path.read_text()) if len(e.text.split()) > 5)
            for path in HELDOUT_FILES}
    for example in held.values():
        turn(session, example.text)
    session.commit()
    intents = {example.text: example.intent for example in held.values()}
    for item in review_queue(session):
        label(session, item, intent=intents[item.text], staff_id="s", now=NOW)
    session.commit()
    export = export_reviewed(session, root=project, heldout=HELDOUT, validate=lambda root: [])
    assert len(held) == 2 and export.added == []
    assert sorted(export.skipped) == sorted(
        (example.text, "held-out message (never trained on)") for example in held.values())
    assert not (project / "nlu_data" / "nlu" / "reviewed.yml").exists()


# --- the terminal -------------------------------------------------------------------------------

def test_decide_reads_numbers_names_and_letters(session: Session) -> None:
    turn(session, "x", ranking=(("find_hub", 0.3), ("inform", 0.2)))
    session.commit()
    item = review_queue(session)[0]
    intents = ["find_hub", "inform", "greet"]
    assert [decide(a, item, intents) for a in ("1", " 2 ", "3", "greet", "n", "s", "", "q", "?",
                                               "nope")] == [
        "find_hub", "inform", None, "greet", NOT_RELEVANT, SKIP, SKIP, "quit", "list", None]


def test_terminal_review_labels_one_item_at_a_time(
        session_factory: sessionmaker[Session]) -> None:
    with session_scope(session_factory) as session:
        for n, text in enumerate(("is there parking", "is there parking", "asdf", "later",
                                  "hmm")):
            turn(session, text, ranking=(("find_hub", 0.3),), at=NOW - dt.timedelta(minutes=n))
    answers = iter(["wat", "find_hubb", "?", "1", "n", "s", "q"])
    said: list[str] = []
    count = review_in_terminal(session_factory, staff_id="terminal:jo",
                               intents=["find_hub", "greet"], limit=10,
                               ask=lambda prompt: next(answers), say=said.append,
                               clock=lambda: NOW)
    assert count == 1
    assert any("Did you mean find_hub" in line for line in said)
    assert any(line.strip() == "find_hub, greet" for line in said)
    with session_scope(session_factory) as session:
        labels = dict(session.execute(select(MessageLog.text, MessageLog.review_label)).all())
        assert labels == {"is there parking": "find_hub", "asdf": NOT_RELEVANT, "later": SKIP,
                          "hmm": None}
        assert [i.text for i in review_queue(session)] == ["hmm", "later"]


def test_known_intents_are_those_of_the_domain() -> None:
    intents = known_intents(ROOT)
    assert "find_hub" in intents and "out_of_scope" in intents and len(intents) == len(set(intents))
