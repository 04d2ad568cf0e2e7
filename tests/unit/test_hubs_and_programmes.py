"""Nearest-hub and programme answers from the seeded database (the core, no framework)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from npq.hubs import find_hub_answer, nearest_hubs
from npq.programmes import catalogue_answer, find_programme, programme_answer

TODAY = dt.date(2026, 11, 22)
KEIGHLEY = (53.86791, -1.90664)


def first_hub_line(text: str) -> str:
    return next(line for line in text.splitlines() if line.startswith("1. "))


@pytest.mark.parametrize("kwargs", [
    {"place_text": "Keighley"},
    {"place_text": "keighley"},
    {"place_text": "Keigley"},  # a misspelling
    {"place_text": "BD21"},
    {"place_text": "bd21 3dn"},
    {"message_text": "Is there a hub near Keighley?"},
    {"coordinates": KEIGHLEY},
])
def test_the_nearest_hub_to_keighley_is_named_first(session: Session, kwargs: dict) -> None:
    answer = find_hub_answer(session, today=TODAY, **kwargs)
    assert first_hub_line(answer.text).startswith("1. Keighley NPQ Hub, Keighley (")
    assert answer.text.count("miles)") == 3
    assert "Offers:" in answer.text and "Next intake:" in answer.text


def test_hubs_come_in_distance_order_with_distances(session: Session) -> None:
    nearby = nearest_hubs(session, *KEIGHLEY, today=TODAY)
    assert [n.hub.slug for n in nearby] == ["keighley", "bradford", "leeds"]
    assert nearby[0].miles < 1 and 7 < nearby[1].miles < 10
    assert [n.miles for n in nearby] == sorted(n.miles for n in nearby)


def test_a_programme_filters_the_hubs(session: Session) -> None:
    answer = find_hub_answer(session, today=TODAY, place_text="Exeter", programme_text="EHCO")
    assert answer.text.startswith("The nearest hubs offering EHCO to Exeter:")
    for item in nearest_hubs(session, 50.72, -3.53, today=TODAY, programme_code="EHCO"):
        assert "EHCO" in {p.code for p in item.hub.programmes}


def test_online_delivery_is_mentioned_where_the_programme_has_it(session: Session) -> None:
    online = find_hub_answer(session, today=TODAY, place_text="Leeds", programme_text="NPQLT")
    assert online.text.endswith("NPQLT also runs online, with no travel: spring 2027, apply by "
                                "12 February 2027.")
    hubs_only = find_hub_answer(session, today=TODAY, place_text="Leeds", programme_text="NPQH")
    assert "online" not in hubs_only.text


def test_the_next_intake_skips_closed_deadlines(session: Session) -> None:
    spring = nearest_hubs(session, *KEIGHLEY, today=TODAY, programme_code="NPQH")[0]
    assert spring.next_cohort is not None and spring.next_cohort.intake == "2027a"
    after_spring = dt.date(2027, 4, 1)
    autumn = nearest_hubs(session, *KEIGHLEY, today=after_spring, programme_code="NPQH")[0]
    assert autumn.next_cohort is not None and autumn.next_cohort.intake == "2027b"
    assert autumn.next_cohort.applications_close >= after_spring
    much_later = nearest_hubs(session, *KEIGHLEY, today=dt.date(2030, 1, 1))[0]
    assert much_later.next_cohort is None
    text = find_hub_answer(session, today=dt.date(2030, 1, 1), place_text="Keighley").text
    assert "Next intake: not yet announced." in text


@pytest.mark.parametrize("place", ["Edinburgh", "Cardiff", "EH1 1YZ"])
def test_places_outside_england_are_explained(session: Session, place: str) -> None:
    answer = find_hub_answer(session, today=TODAY, place_text=place)
    assert "NPQs are qualifications for teachers and leaders in England" in answer.text
    assert "1. " not in answer.text


@pytest.mark.parametrize("text", [
    "Xyzzyville", "'; DROP TABLE hubs;--", "🙂🙂🙂", "ZZ99 9ZZ", "x" * 4000, "",
])
def test_unknown_places_get_a_helpful_question(session: Session, text: str) -> None:
    answer = find_hub_answer(session, today=TODAY, place_text=text or None, message_text=text)
    assert "?" in answer.text
    assert "1. " not in answer.text
    assert len(answer.text) < 400


def test_no_place_at_all_asks_where(session: Session) -> None:
    answer = find_hub_answer(session, today=TODAY, message_text="where is my nearest hub")
    assert answer.text.startswith("Where should I look?")
    assert answer.asks_location  # Telegram offers its "share my location" button


@pytest.mark.parametrize("said, code", [
    ("NPQH", "NPQH"), ("npqh", "NPQH"), ("headship", "NPQH"), ("NPQ H", "NPQH"),
    ("the SENCO qualification", "NPQSENCO"), ("npqsenco", "NPQSENCO"), ("NPQML", "NPQML"),
    ("middle leadership", "NPQML"), ("early headship coaching offer", "EHCO"),
])
def test_programmes_are_found_by_code_name_or_synonym(session: Session, said: str,
                                                      code: str) -> None:
    programme = find_programme(session, said)
    assert programme is not None and programme.code == code


@pytest.mark.parametrize("said", [None, "", "banana", "NPQZ", "'; DROP TABLE programmes;--"])
def test_unknown_programmes_are_not_guessed(session: Session, said: str | None) -> None:
    assert find_programme(session, said) is None


def test_programme_answer_describes_the_programme(session: Session) -> None:
    programme = find_programme(session, "NPQH")
    assert programme is not None
    answer = programme_answer(programme)
    assert answer.text.startswith("NPQH: ")
    assert "Assessment:" in answer.text and "18 months" in answer.text
    assert [(b.intent, b.entities) for b in answer.buttons][0] == ("find_hub", {"npq": "NPQH"})


def test_legacy_npqml_explains_what_replaced_it(session: Session) -> None:
    programme = find_programme(session, "NPQML")
    assert programme is not None
    answer = programme_answer(programme)
    assert "no longer offered" in answer.text
    for successor in ("NPQLT", "NPQLTD", "NPQLBC"):
        assert successor in answer.text
    assert {b.entities["npq"] for b in answer.buttons} == {"NPQLT", "NPQLTD", "NPQLBC"}


def test_catalogue_answer_lists_the_current_suite(session: Session) -> None:
    answer = catalogue_answer(session)
    assert answer.text.startswith("There are 11 National Professional Qualifications.")
    assert "NPQML" not in answer.text
    assert len(answer.buttons) == 11
