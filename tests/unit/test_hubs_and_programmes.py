"""Nearest-hub and programme answers from the seeded database (the core, no framework)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from npq.db.models import Programme
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
    assert answer.text.count("Offers:") == 3 and answer.text.count("Format:") == 3


def test_without_a_programme_the_hub_list_shows_no_intake(session: Session) -> None:
    """Regression: each hub showed the next intake of whichever programme closed first."""
    answer = find_hub_answer(session, today=TODAY, place_text="Keighley")
    first = answer.text.split("\n\n")[1].splitlines()
    assert first == [
        "1. Keighley NPQ Hub, Keighley (0.1 miles)",
        "Offers: NPQEL, NPQH, NPQLBC, NPQLT, NPQLTD, NPQSENCO, NPQSL",
        "Format: online and face to face; sessions after school (4.30pm to 6.30pm) and some "
        "school days",
        "Contact: npq@keighley-hub.example.org"]
    assert "apply by" not in answer.text and "2027" not in answer.text
    assert [(b.title, b.intent, b.entities) for b in answer.buttons] == [
        ("Deadlines near me", "ask_deadlines", {"location": "Keighley"}),
        ("Which NPQ suits me?", "recommend_npq", {}),
        ("Which NPQs are there?", "programme_info", {})]


def test_with_a_programme_each_hub_gives_its_next_intake_start_and_places(
        session: Session) -> None:
    answer = find_hub_answer(session, today=TODAY, place_text="Keighley", programme_text="NPQLBC")
    hubs = answer.text.split("\n\n")
    assert hubs[1].splitlines()[:2] == [
        "1. Keighley NPQ Hub, Keighley (0.1 miles)",
        "NPQLBC: spring 2027, starts 3 March 2027, apply by 12 February 2027; full (ask about "
        "the waiting list)"]
    assert hubs[2].splitlines()[1] == ("NPQLBC: spring 2027, starts 15 March 2027, apply by "
                                       "15 February 2027; 13 places left")
    assert hubs[2].splitlines()[2] == "Format: face to face; sessions in the school day"
    assert "Offers:" not in answer.text


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
    assert online.text.endswith("NPQLT also runs online, with no travel: spring 2027, starts 2 "
                                "March 2027, apply by 12 February 2027.")
    hubs_only = find_hub_answer(session, today=TODAY, place_text="Leeds", programme_text="NPQH")
    assert "runs online" not in hubs_only.text


def test_the_next_intake_skips_closed_deadlines(session: Session) -> None:
    spring = nearest_hubs(session, *KEIGHLEY, today=TODAY, programme_code="NPQH")[0]
    assert spring.next_cohort is not None and spring.next_cohort.intake == "2027a"
    after_spring = dt.date(2027, 4, 1)
    autumn = nearest_hubs(session, *KEIGHLEY, today=after_spring, programme_code="NPQH")[0]
    assert autumn.next_cohort is not None and autumn.next_cohort.intake == "2027b"
    assert autumn.next_cohort.applications_close >= after_spring
    much_later = nearest_hubs(session, *KEIGHLEY, today=dt.date(2030, 1, 1))[0]
    assert much_later.next_cohort is None
    text = find_hub_answer(session, today=dt.date(2030, 1, 1), place_text="Keighley",
                           programme_text="NPQH").text
    assert "NPQH: next intake not yet announced" in text


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
    assert answer.text.startswith("NPQH: NPQ for Headship\n\nFor aspiring and serving ")
    assert "\nLength: about 18 months.\nFormat: Blended." in answer.text
    assert "\nAssessment: One written case-study assessment" in answer.text
    assert [(b.title, b.intent, b.entities) for b in answer.buttons] == [
        ("Hubs for NPQH", "find_hub", {"npq": "NPQH"}),
        ("Deadlines", "ask_deadlines", {"npq": "NPQH"}),
        ("Is it funded?", "ask_funding", {"npq": "NPQH"}),
        ("Other NPQs", "programme_info", {})]


def test_legacy_npqml_explains_what_replaced_it(session: Session) -> None:
    programme = find_programme(session, "NPQML")
    assert programme is not None
    answer = programme_answer(programme)
    assert answer.text == (
        "NPQML, the NPQ for Middle Leadership (2017), is no longer offered. It was the middle "
        "leadership NPQ of the 2017 suite, replaced in autumn 2021 by three specialist NPQs. "
        "Participants on the old programme had to finish by August 2022.\n\n"
        "What replaced it: NPQLBC (Leading Behaviour and Culture), NPQLT (Leading Teaching) "
        "and NPQLTD (Leading Teacher Development).")
    assert answer.text.count("no longer offered") == 1  # regression: it said so twice
    assert [b.title for b in answer.buttons] == ["About NPQLBC", "About NPQLT", "About NPQLTD"]


@pytest.mark.parametrize("code, opening", [
    ("NPQH-2017", "The NPQ for Headship (2017) is no longer offered. It was the 2017 version"),
    ("NPQSL-2017", "The NPQ for Senior Leadership (2017) is no longer offered."),
])
def test_a_legacy_version_is_named_as_people_say_it(session: Session, code: str,
                                                    opening: str) -> None:
    programme = session.get(Programme, code)
    assert programme is not None
    assert programme_answer(programme).text.startswith(opening)


def test_catalogue_answer_counts_ten_npqs_and_lists_ehco_as_coaching(session: Session) -> None:
    """Regression: it said there were 11 NPQs, counting the Early Headship Coaching Offer."""
    answer = catalogue_answer(session)
    assert answer.text.startswith("There are 10 National Professional Qualifications (NPQs).")
    specialist, leadership, coaching = answer.text.split("\n\n")[1:4]
    assert specialist.splitlines() == [
        "Specialist NPQs:", "• NPQLBC: Leading Behaviour and Culture", "• NPQLL: Leading Literacy",
        "• NPQLPM: Leading Primary Mathematics", "• NPQLT: Leading Teaching",
        "• NPQLTD: Leading Teacher Development"]
    assert "EHCO" not in leadership
    assert coaching == ("Also on offer, but not an NPQ: the Early Headship Coaching Offer "
                        "(EHCO), coaching for headteachers in their first five years of "
                        "headship.")
    assert answer.text.endswith("Which would you like to know about?")
    assert "NPQML" not in answer.text
    assert [b.title for b in answer.buttons] == [
        "NPQLBC", "NPQLL", "NPQLPM", "NPQLT", "NPQLTD", "NPQEL", "NPQEYL", "NPQH", "NPQSENCO",
        "NPQSL", "EHCO"]


COUNTY_NOTE = ("Distances are from the middle of Cumbria. For distances from you, send your town "
               "or postcode, or pick a town below.")


@pytest.mark.parametrize("kwargs", [
    {"place_text": "Cumbria"},
    {"place_text": "cumbira"},  # a misspelling: the county, not the Isle of Cumbrae
    {"message_text": "we're a small school in cumbria, where's our nearest hub?"},
])
def test_a_county_gets_hubs_from_its_middle_and_its_towns_as_buttons(
        session: Session, kwargs: dict) -> None:
    """Regression: "Cumbria" was the Isle of Cumbrae, so the answer was that it is in
    Scotland."""
    answer = find_hub_answer(session, today=TODAY, **kwargs)
    lines = answer.text.splitlines()
    assert lines[:2] == ["The nearest hubs to Cumbria:", COUNTY_NOTE]
    assert first_hub_line(answer.text).startswith("1. Cumbria NPQ Hub, Carlisle (")
    assert "Scotland" not in answer.text
    assert [(b.title, b.intent, b.entities) for b in answer.buttons] == [
        ("Carlisle", "find_hub", {"location": "Carlisle"}),
        ("Kendal", "find_hub", {"location": "Kendal"}),
        ("Barrow in Furness", "find_hub", {"location": "Barrow in Furness"}),
        ("Deadlines near me", "ask_deadlines", {"location": "Cumbria"}),
        ("Which NPQ suits me?", "recommend_npq", {}),
        ("Which NPQs are there?", "programme_info", {})]


def test_a_county_town_button_gives_hubs_from_that_town(session: Session) -> None:
    answer = find_hub_answer(session, today=TODAY, place_text="Kendal", programme_text="NPQH")
    assert answer.text.startswith("The nearest hubs offering NPQH to Kendal:\n\n1. ")
    assert "middle" not in answer.text


def test_county_durham_is_the_county_and_durham_the_city(session: Session) -> None:
    county = find_hub_answer(session, today=TODAY, place_text="County Durham",
                             programme_text="NPQH")
    assert county.text.splitlines()[:2] == [
        "The nearest hubs offering NPQH to County Durham:",
        "Distances are from the middle of County Durham. For distances from you, send your "
        "town or postcode, or pick a town below."]
    assert [b.entities for b in county.buttons[:3]] == [
        {"location": "Durham", "npq": "NPQH"}, {"location": "Darlington", "npq": "NPQH"},
        {"location": "Hartlepool", "npq": "NPQH"}]
    city = find_hub_answer(session, today=TODAY, place_text="Durham", programme_text="NPQH")
    assert city.text.startswith("The nearest hubs offering NPQH to Durham:\n\n1. ")
    assert "middle" not in city.text
