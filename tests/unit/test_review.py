"""Messages kept for review (npq/review.py) and written into the training data (ops/review.py),
on SQLite and (with TEST_DATABASE_URL) PostgreSQL; catalogue uploads (npq/uploads.py)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
import yaml
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from npq.db import make_engine, session_scope
from npq.db.models import Base, Hub, MessageLog
from npq.review import (
    NOT_RELEVANT,
    SKIP,
    Labelled,
    known_scores,
    label,
    labelled_examples,
    log_model_action,
    model_actions,
    purge_expired,
    queue_item,
    queue_size,
    record_feedback,
    record_turn,
    retention_days,
    review_queue,
    review_reason,
    top_intents,
)
from npq.uploads import format_upload, import_upload
from ops.evaluation import load_examples, parse_annotated
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

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 11, 22, 9, 15, tzinfo=dt.timezone.utc)
THRESHOLD = 0.4


def parse(name: str, confidence: float, *ranking: tuple[str, float],
          entities: list[dict] | None = None, text: str = "") -> dict:
    """A Rasa parse (the tracker's latest_message) as the front end gets it."""
    return {"text": text, "intent": {"name": name, "confidence": confidence},
            "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking]
            or [{"name": name, "confidence": confidence}],
            "entities": entities or []}


def turn(session: Session, text: str, name: str = "nlu_fallback", confidence: float = 0.4, *,
         chat: str = "chat-1", at: dt.datetime = NOW, ranking: tuple = ()) -> MessageLog:
    return record_turn(session, chat_id=chat, text=text, reply="a reply", now=at,
                       threshold=THRESHOLD, parse=parse(name, confidence, *ranking))


# --- needs review -------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "confidence", "reason"), [
    ("nlu_fallback", 0.4, "fallback"),
    ("out_of_scope", 0.97, "out_of_scope"),
    ("find_hub", 0.39, "low_confidence"),
    ("find_hub", 0.4, None),
    ("greet", 1.0, None),
    (None, None, "low_confidence"),
])
def test_review_reason(name: str | None, confidence: float | None, reason: str | None) -> None:
    message = {"intent": {"name": name, "confidence": confidence}} if name else {}
    assert review_reason(message, THRESHOLD) == reason


def test_top_intents_leave_out_the_fallback_and_are_best_first() -> None:
    message = parse("nlu_fallback", 0.4, ("nlu_fallback", 0.4), ("partner_benefits", 0.27),
                    ("find_hub", 0.34))
    assert top_intents(message) == [{"name": "find_hub", "confidence": 0.34},
                                     {"name": "partner_benefits", "confidence": 0.27}]


def test_record_turn_keeps_the_parse_and_decides_review(session: Session) -> None:
    entities = [{"entity": "location", "value": "Leeds", "start": 20, "end": 25,
                 "extractor": "CRFEntityExtractor", "confidence_entity": 0.99}]
    unsure = record_turn(session, chat_id=42, text="is there a hub near Leeds", reply="Hubs...",
                         now=NOW, threshold=THRESHOLD,
                         parse=parse("nlu_fallback", 0.4, ("nlu_fallback", 0.4),
                                     ("find_hub", 0.38), ("inform", 0.31), entities=entities))
    sure = turn(session, "hello", "greet", 0.99)
    session.commit()
    session.expire_all()
    row = session.get(MessageLog, unsure.id)
    assert row is not None and row.needs_review and row.chat_id == "42"
    assert (row.intent, row.confidence, row.reply) == ("nlu_fallback", 0.4, "Hubs...")
    assert row.ranking == [{"name": "find_hub", "confidence": 0.38},
                           {"name": "inform", "confidence": 0.31}]
    assert row.entities == [{"entity": "location", "value": "Leeds", "start": 20, "end": 25}]
    assert row.created_at.replace(tzinfo=dt.timezone.utc) == NOW
    assert not session.get(MessageLog, sure.id).needs_review  # type: ignore[union-attr]


def test_record_turn_cuts_very_long_text(session: Session) -> None:
    row = turn(session, "x" * 10_000)
    assert len(row.text or "") == 4096


def test_record_turn_stores_any_text(session: Session) -> None:
    for text in HOSTILE:
        turn(session, text, chat="hostile")
    session.commit()
    session.expire_all()
    stored = session.scalars(select(MessageLog.text).where(MessageLog.chat_id == "hostile")
                             .order_by(MessageLog.id)).all()
    assert len(stored) == len(HOSTILE)
    assert stored[HOSTILE.index("\ud800 lone surrogate")] == "? lone surrogate"
    assert stored[HOSTILE.index("emoji 😀 👩‍🏫 🫠 🇬🇧 and a BOM \ufeff here")] == HOSTILE[11]
    assert not any("\x00" in text for text in stored)  # PostgreSQL refuses NUL


# --- retention ----------------------------------------------------------------------------------

def test_purge_removes_what_people_wrote_after_the_retention_period(session: Session) -> None:
    old = turn(session, "my email is jo@example.org", at=NOW - dt.timedelta(days=91))
    edge = turn(session, "still kept", at=NOW - dt.timedelta(days=89, hours=23))
    recent = turn(session, "hello there", "greet", 0.99, at=NOW - dt.timedelta(days=1))
    session.commit()

    assert purge_expired(session, now=NOW, days=90) == 1
    session.commit()
    purged, kept, fresh = (session.get(MessageLog, r.id) for r in (old, edge, recent))
    assert purged is not None and kept is not None and fresh is not None
    assert (purged.text, purged.reply, purged.entities, purged.chat_id) == (None, None, [], "")
    assert not purged.needs_review and purged.intent == "nlu_fallback"  # counted in /stats
    assert (kept.text, kept.chat_id, fresh.text) == ("still kept", "chat-1", "hello there")
    assert purge_expired(session, now=NOW, days=90) == 0  # nothing left to purge
    assert [item.text for item in review_queue(session)] == ["still kept"]


def test_purge_compares_in_utc_whatever_zone_now_is_in(session: Session) -> None:
    turn(session, "old", at=NOW - dt.timedelta(days=30, minutes=1))
    session.commit()
    london_now = NOW.astimezone(dt.timezone(dt.timedelta(hours=1)))
    assert purge_expired(session, now=london_now, days=30) == 1


@pytest.mark.parametrize(("value", "days"), [("", 90), ("30", 30), ("365", 365)])
def test_retention_days_setting(value: str, days: int) -> None:
    assert retention_days({"MESSAGE_RETENTION_DAYS": value}) == days


@pytest.mark.parametrize("value", ["0", "-5", "ninety", "1.5"])
def test_retention_days_refuses_nonsense(value: str) -> None:
    with pytest.raises(ValueError, match="MESSAGE_RETENTION_DAYS"):
        retention_days({"MESSAGE_RETENTION_DAYS": value})


# --- feedback -----------------------------------------------------------------------------------

def test_thumbs_down_queues_the_message_and_thumbs_up_does_not(session: Session) -> None:
    liked = turn(session, "where is my nearest hub", "find_hub", 0.95)
    disliked = turn(session, "gimme the lowdown on headship", "inform", 0.52)
    session.commit()
    assert record_feedback(session, liked.id, "chat-1", up=True)
    assert record_feedback(session, disliked.id, "chat-1", up=False)
    session.commit()
    assert (liked.feedback, liked.needs_review) == ("up", False)
    assert (disliked.feedback, disliked.needs_review) == ("down", True)
    [item] = review_queue(session)
    assert item.text == "gimme the lowdown on headship" and item.reasons == ("unhelpful",)


def test_feedback_only_from_the_chat_that_sent_it(session: Session) -> None:
    row = turn(session, "hello", "greet", 0.99)
    session.commit()
    assert not record_feedback(session, row.id, "someone-else", up=False)
    assert not record_feedback(session, row.id + 1000, "chat-1", up=False)
    assert row.feedback is None and not row.needs_review


# --- the queue ----------------------------------------------------------------------------------

def test_queue_groups_the_same_text_ignoring_case_and_spacing(session: Session) -> None:
    first = turn(session, "Is there parking?", at=NOW - dt.timedelta(hours=3),
                 ranking=(("find_hub", 0.3),))
    turn(session, "is  there   PARKING?", chat="chat-2", at=NOW - dt.timedelta(hours=2))
    last = turn(session, " is there parking? ", chat="chat-3", at=NOW - dt.timedelta(hours=1),
                ranking=(("find_hub", 0.34), ("partner_benefits", 0.27)))
    turn(session, "can I bring my dog", at=NOW)
    turn(session, "hello", "greet", 0.99)  # understood: not queued
    session.commit()

    parking, dog = review_queue(session)
    assert (parking.count, parking.text, parking.key) == (3, " is there parking? ",
                                                          "is there parking?")
    assert parking.ids[0] == last.id and parking.ids[-1] == first.id and len(parking.ids) == 3
    assert parking.top_intents == (("find_hub", 0.34), ("partner_benefits", 0.27))
    assert parking.reasons == ("fallback",)
    assert (dog.count, dog.text) == (1, "can I bring my dog")
    assert queue_size(session) == 2
    assert len(review_queue(session, limit=1)) == 1


def test_a_button_can_carry_just_a_message_id(session: Session) -> None:
    first = turn(session, "Is there parking?")
    turn(session, "is there parking?", chat="chat-2", at=NOW + dt.timedelta(minutes=1))
    session.commit()
    item = queue_item(session, first.id)
    assert item is not None and item == review_queue(session)[0] and item.count == 2
    label(session, item, intent="find_hub", staff_id="s", now=NOW)
    assert queue_item(session, first.id) is None and queue_item(session, 10**6) is None


def test_labelling_with_an_intent_takes_the_group_out_of_the_queue(session: Session) -> None:
    turn(session, "Is there parking?")
    turn(session, "is there parking?", chat="chat-2")
    turn(session, "can I bring my dog")
    session.commit()
    parking = review_queue(session)[0]
    late_copy = turn(session, "IS THERE PARKING?", chat="chat-4")  # arrived after the queue
    session.commit()

    assert label(session, parking, intent="find_hub", staff_id=7, now=NOW) == 3
    session.commit()
    assert [i.text for i in review_queue(session)] == ["can I bring my dog"]
    assert (late_copy.review_label, late_copy.reviewed_by) == ("find_hub", "7")
    assert late_copy.reviewed_at is not None and not late_copy.needs_review
    [example] = labelled_examples(session)
    assert (example.text, example.intent) == ("Is there parking?", "find_hub")


def test_not_relevant_is_dropped_and_never_trained_on(session: Session) -> None:
    turn(session, "asdfghjkl")
    session.commit()
    label(session, review_queue(session)[0], intent=NOT_RELEVANT, staff_id="s", now=NOW)
    session.commit()
    assert review_queue(session) == [] and labelled_examples(session) == []


def test_skipped_items_stay_but_come_after_the_others(session: Session) -> None:
    turn(session, "skipped one", at=NOW)
    turn(session, "skipped one", chat="chat-2", at=NOW)
    turn(session, "fresh one", at=NOW - dt.timedelta(days=1))
    session.commit()
    skipped = review_queue(session)[0]
    assert skipped.text == "skipped one"  # the most frequent comes first...
    label(session, skipped, intent=SKIP, staff_id="s", now=NOW)
    session.commit()
    fresh, again = review_queue(session)
    assert (fresh.text, fresh.skipped) == ("fresh one", False)  # ...until it is skipped
    assert (again.text, again.skipped, again.count) == ("skipped one", True, 2)
    assert labelled_examples(session) == []


@pytest.mark.parametrize("intent", ["", "nlu_fallback", "Find Hub", "find_hub; drop table"])
def test_label_refuses_what_is_not_an_intent(session: Session, intent: str) -> None:
    turn(session, "what")
    session.commit()
    with pytest.raises(ValueError):
        label(session, review_queue(session)[0], intent=intent, staff_id="s", now=NOW)


def test_label_checks_the_domain_intents_when_given(session: Session) -> None:
    turn(session, "what")
    session.commit()
    item = review_queue(session)[0]
    with pytest.raises(ValueError):
        label(session, item, intent="made_up", staff_id="s", now=NOW, intents=["find_hub"])
    assert label(session, item, intent=NOT_RELEVANT, staff_id="s", now=NOW,
                 intents=["find_hub"]) == 1


def test_purged_messages_leave_the_queue(session: Session) -> None:
    turn(session, "old question", at=NOW - dt.timedelta(days=100))
    session.commit()
    assert queue_size(session) == 1
    purge_expired(session, now=NOW, days=90)
    session.commit()
    assert queue_size(session) == 0


# --- the model log ------------------------------------------------------------------------------

def test_model_actions_are_logged_with_who_and_scores(session: Session) -> None:
    before = {"intent_accuracy": 0.95, "macro_f1": 0.94, "entity_f1": 0.9}
    after = {"intent_accuracy": 0.96, "macro_f1": 0.95, "entity_f1": 0.9}
    log_model_action(session, action="promote", model_file="npq-b.tar.gz",
                     previous_model="npq-a.tar.gz", staff_id=12, scores_before=before,
                     scores_after=after, reasons=["intent accuracy +0.01"], now=NOW)
    log_model_action(session, action="rollback", model_file="npq-a.tar.gz",
                     previous_model="npq-b.tar.gz", staff_id="13", scores_before=after,
                     scores_after=before, now=NOW + dt.timedelta(hours=1))
    session.commit()
    latest, first = model_actions(session)
    assert (latest.action, latest.staff_id, first.action, first.staff_id) == (
        "rollback", "13", "promote", "12")
    assert first.scores_before == before and first.reasons == ["intent accuracy +0.01"]
    assert known_scores(session, "npq-a.tar.gz") == before
    assert known_scores(session, "npq-b.tar.gz") == after
    assert known_scores(session, "npq-never.tar.gz") is None


def test_migrations_match_the_models(seeded_url: str) -> None:
    engine = make_engine(seeded_url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []


# --- training examples (pure) -------------------------------------------------------------------

HOSTILE = [
    "key: value with: colons",
    "- starts like a list item",
    "# looks like a comment",
    "| pipe > folded ' single \" double ` back",
    "&anchor *alias !tag %directive @at {braces} [square]",
    "is there a hub near [Leeds](location)",
    '[DHT]{"entity": "role", "value": "deputy_head"} fake annotation',
    "[a][b] list-like [x](y:z)",
    "line one\nline two\r\nline three\u2028four\u2029five\x85six\x0bseven\x0ceight",
    "tabs\tand   spaces   ",
    "nul\x00 bell\x07 escape\x1b[31m delete\x7f c1\x9b",
    "emoji 😀 👩‍🏫 🫠 🇬🇧 and a BOM \ufeff here",
    "עברית and العربية mixed",
    "---",
    "...",
    "nlu:",
    'version: "9.9"',
    "\ud800 lone surrogate",
    "ends with a backslash \\",
    "x" * 4096,
]


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


# --- catalogue uploads --------------------------------------------------------------------------

def test_a_valid_upload_is_imported(session: Session) -> None:
    data = (ROOT / "data" / "catalogue" / "hubs.csv").read_bytes()
    changed = data.replace(b"Tyneside NPQ Hub,", b"Tyneside and Wearside NPQ Hub,", 1)
    result = import_upload(session, name="C:\\Users\\jo\\Desktop\\hubs.csv", data=changed)
    assert result.ok and result.name == "hubs.csv" and "hubs" in (result.imported or "")
    session.commit()
    assert session.scalar(select(Hub.name).where(Hub.slug == "tyneside")) == \
        "Tyneside and Wearside NPQ Hub"
    assert format_upload(result).startswith("Imported hubs.csv:")


def test_an_invalid_upload_changes_nothing_and_says_what_to_fix(session: Session) -> None:
    hubs = session.scalar(select(func.count()).select_from(Hub))
    data = (ROOT / "data" / "catalogue" / "hubs.csv").read_bytes()
    broken = data.replace(b",North East,", b",Narnia,", 1)
    result = import_upload(session, name="hubs.csv", data=broken)
    assert not result.ok and any("region" in p and "line 2" in p for p in result.problems)
    assert session.scalar(select(func.count()).select_from(Hub)) == hubs  # session still usable
    assert "Nothing was imported from hubs.csv" in format_upload(result)


@pytest.mark.parametrize(("name", "data", "problem"), [
    ("photo.jpg", b"\xff\xd8", "not a catalogue file"),
    ("../../etc/passwd", b"x", "not a catalogue file"),
    ("hubs.csv", b"slug,name\n\xff\xfe", "not UTF-8"),
])
def test_uploads_that_are_not_catalogue_files(session: Session, name: str, data: bytes,
                                              problem: str) -> None:
    result = import_upload(session, name=name, data=data)
    assert not result.ok and problem in result.problems[0]
