"""The review queue (npq/review_queue.py): what staff should look at, grouped and ordered, and
their labels, on SQLite and (with TEST_DATABASE_URL) PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from npq.message_log import NOT_RELEVANT, SKIP, purge_expired
from npq.review_queue import label, labelled_examples, queue_item, queue_size, review_queue
from tests.support.logged_turns import NOW, turn

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
