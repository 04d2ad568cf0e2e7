"""Application deadlines from the seeded cohorts: per programme, per hub and near a place."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from npq.answers import Answer, intake_label, long_date
from npq.db.models import Cohort, Hub, Programme
from npq.deadlines import also_asks_deadline, days_phrase, deadline_phrase, deadlines_answer
from npq.intents import INTENTS

TODAY = dt.date(2026, 11, 22)
KEIGHLEY = (53.86791, -1.90664)
ENTITIES = {"npq", "role", "phase", "location", "postcode", "setting", "organisation_type",
            "ambition"}


def assert_phone_sized_with_buttons(answer: Answer) -> None:
    assert answer.text and len(answer.text) < 900, len(answer.text)
    assert answer.buttons, "every answer ends with a next step"
    for button in answer.buttons:
        assert button.intent in INTENTS and set(button.entities) <= ENTITIES


def cohort_at(session: Session, slug: str, code: str, intake: str) -> Cohort:
    cohort = session.scalar(select(Cohort).join(Hub).where(
        Hub.slug == slug, Cohort.programme_code == code, Cohort.intake == intake))
    assert cohort is not None, (slug, code, intake)
    return cohort


def when(cohort: Cohort, today: dt.date) -> str:
    close = cohort.applications_close
    return f"{long_date(close)} ({days_phrase(close, today)})"


# --- pure wording -------------------------------------------------------------------------------

@pytest.mark.parametrize("days, phrase", [
    (0, "today"), (1, "tomorrow"), (2, "in 2 days"), (82, "in 82 days"), (-3, "3 days ago"),
])
def test_days_phrase(days: int, phrase: str) -> None:
    assert days_phrase(TODAY + dt.timedelta(days=days), TODAY) == phrase


@pytest.mark.parametrize("opens, left, expected", [
    (dt.date(2026, 10, 1), None, "spring 2027, apply by 12 February 2027 (in 82 days), starts "
                                 "1 March 2027"),
    (dt.date(2026, 12, 1), None, "spring 2027, applications open 1 December 2026, apply by "
                                 "12 February 2027 (in 82 days), starts 1 March 2027"),
    (dt.date(2026, 10, 1), 12, "spring 2027, apply by 12 February 2027 (in 82 days), starts "
                               "1 March 2027; 12 places left"),
    (dt.date(2026, 10, 1), 1, "spring 2027, apply by 12 February 2027 (in 82 days), starts "
                              "1 March 2027; 1 place left"),
    (dt.date(2026, 10, 1), 0, "spring 2027, apply by 12 February 2027 (in 82 days), starts "
                              "1 March 2027; full (ask about the waiting list)"),
])
def test_deadline_phrase_gives_the_start_and_places_left(opens: dt.date, left: int | None,
                                                         expected: str) -> None:
    """The start date always; the places left only where the hub has said (None: unknown)."""
    cohort = Cohort(intake="2027a", applications_open=opens, places_left=left,
                    applications_close=dt.date(2027, 2, 12), start_date=dt.date(2027, 3, 1))
    assert deadline_phrase(cohort, TODAY) == expected


# --- answers from the database ----------------------------------------------------------------

@pytest.mark.parametrize("kwargs", [
    {"place_text": "Keighley"}, {"place_text": "keigly"}, {"place_text": "BD21 3DN"},
    {"message_text": "when is the NPQH deadline near Keighley?"}, {"coordinates": KEIGHLEY},
])
def test_deadlines_near_a_place_list_the_nearest_hubs_with_dates(session: Session,
                                                                 kwargs: dict) -> None:
    answer = deadlines_answer(session, today=TODAY, programme_code="NPQH", **kwargs)
    lines = answer.text.splitlines()
    keighley = cohort_at(session, "keighley", "NPQH", "2027a")
    bradford = cohort_at(session, "bradford", "NPQH", "2027a")
    assert lines[0].startswith("NPQH deadlines near ")
    assert lines[1].startswith("1. Keighley NPQ Hub (")
    assert lines[1].endswith(f"spring 2027, apply by {when(keighley, TODAY)}, starts "
                             f"{long_date(keighley.start_date)}")  # Keighley hasn't said places
    assert lines[2].startswith("2. Bradford NPQ Hub (")
    assert lines[2].endswith(f"apply by {when(bradford, TODAY)}, starts "
                             f"{long_date(bradford.start_date)}; {bradford.places_left} places "
                             "left")
    assert [(b.intent, b.entities) for b in answer.buttons][0] == (
        "subscribe_reminders", {"npq": "NPQH"})
    assert_phone_sized_with_buttons(answer)


def test_deadlines_in_a_county_say_distances_are_from_its_middle(session: Session) -> None:
    answer = deadlines_answer(session, today=TODAY, programme_code="NPQH", place_text="Devon")
    lines = answer.text.splitlines()
    assert lines[:2] == [
        "NPQH deadlines near Devon:",
        "Distances are from the middle of Devon. For distances from you, send your town or "
        "postcode, or pick a town below."]
    assert lines[2].startswith("1. Exeter and East Devon NPQ Hub (")
    assert [(b.title, b.intent, b.entities) for b in answer.buttons][:4] == [
        ("Exeter", "ask_deadlines", {"npq": "NPQH", "location": "Exeter"}),
        ("Plymouth", "ask_deadlines", {"npq": "NPQH", "location": "Plymouth"}),
        ("Torquay", "ask_deadlines", {"npq": "NPQH", "location": "Torquay"}),
        ("Remind me about NPQH", "subscribe_reminders", {"npq": "NPQH"})]
    assert_phone_sized_with_buttons(answer)
    everything = deadlines_answer(session, today=TODAY,
                                  message_text="a small school in Devon, when are the deadlines?")
    assert everything.text.startswith("Deadlines at Exeter and East Devon NPQ Hub (")
    assert everything.text.endswith("Distances are from the middle of Devon. For distances from "
                                    "you, send your town or postcode, or pick a town below.")


def test_a_programme_can_be_named_informally(session: Session) -> None:
    formal = deadlines_answer(session, today=TODAY, programme_code="NPQH", place_text="Leeds")
    informal = deadlines_answer(session, today=TODAY, programme_code="headship", place_text="Leeds")
    assert formal == informal


def test_a_passed_deadline_points_to_the_next_intake(session: Session) -> None:
    spring = cohort_at(session, "keighley", "NPQH", "2027a")
    autumn = cohort_at(session, "keighley", "NPQH", "2027b")
    today = spring.applications_close + dt.timedelta(days=1)
    answer = deadlines_answer(session, today=today, programme_code="NPQH", place_text="Keighley")
    first = answer.text.splitlines()[1]
    assert f"spring 2027 closed on {long_date(spring.applications_close)}." in first
    assert "Next, autumn 2027" in first and f"apply by {when(autumn, today)}" in first
    if autumn.applications_open > today:
        assert f"applications open {long_date(autumn.applications_open)}" in first


def test_no_known_intake_says_so_and_offers_a_reminder(session: Session) -> None:
    later = dt.date(2030, 1, 1)
    for kwargs in ({"place_text": "Keighley"}, {"place_text": "Keighley hub"}, {}):
        answer = deadlines_answer(session, today=later, programme_code="NPQSENCO", **kwargs)
        assert "has been announced yet" in answer.text and "reminder" in answer.text
        assert answer.buttons[0].intent == "subscribe_reminders"
        assert answer.buttons[0].entities == {"npq": "NPQSENCO"}


def test_a_named_hub_lists_each_programme_it_offers(session: Session) -> None:
    hub = session.scalar(select(Hub).where(Hub.slug == "keighley"))
    assert hub is not None
    answer = deadlines_answer(session, today=TODAY, place_text="Keighley NPQ hub")
    lines = answer.text.splitlines()
    assert lines[0] == "Deadlines at Keighley NPQ Hub:"
    assert [line.split(":")[0] for line in lines[1:]] == [f"• {p.code}" for p in hub.programmes]
    npqh = cohort_at(session, "keighley", "NPQH", "2027a")
    assert (f"• NPQH: spring 2027, apply by {when(npqh, TODAY)}, starts "
            f"{long_date(npqh.start_date)}") in lines
    assert ("• NPQLBC: spring 2027, apply by 12 February 2027 (in 82 days), starts 3 March 2027; "
            "full (ask about the waiting list)") in lines
    assert_phone_sized_with_buttons(answer)


def test_a_programme_alone_gives_the_national_range(session: Session) -> None:
    closes = sorted(session.scalars(select(Cohort.applications_close).where(
        Cohort.programme_code == "NPQSENCO", Cohort.intake == "2027a")))
    answer = deadlines_answer(session, today=TODAY, programme_code="NPQSENCO")
    name = session.get(Programme, "NPQSENCO").name  # type: ignore[union-attr]
    assert answer.text.startswith(f"NPQSENCO ({name}): the next intake is spring 2027.")
    starts = sorted(session.scalars(select(Cohort.start_date).where(
        Cohort.programme_code == "NPQSENCO", Cohort.intake == "2027a")))
    assert answer.text.splitlines()[1] == (f"Courses start between {long_date(starts[0])} and "
                                           f"{long_date(starts[-1])}, depending on the hub.")
    assert f"the earliest is {long_date(closes[0])}" in answer.text
    assert f"the latest {long_date(closes[-1])}" in answer.text
    assert "Online cohort: apply by 12 February 2027, starts 9 March 2027." in answer.text
    assert ("find_hub", {"npq": "NPQSENCO"}) in [(b.intent, b.entities) for b in answer.buttons]


def test_a_question_that_names_no_place_gets_the_national_range(session: Session) -> None:
    answer = deadlines_answer(session, today=TODAY, programme_code="NPQSENCO",
                              message_text="when is the deadline for the SENCO npq?")
    assert answer.text.startswith("NPQSENCO (")
    assert "the next intake is spring 2027" in answer.text


def test_nothing_named_gives_every_programmes_next_deadline(session: Session) -> None:
    answer = deadlines_answer(session, today=TODAY)
    current = session.scalars(select(Programme.code).where(Programme.status == "current")).all()
    for code in current:
        earliest = session.scalar(select(Cohort.applications_close).where(
            Cohort.programme_code == code, Cohort.applications_close >= TODAY)
            .order_by(Cohort.applications_close).limit(1))
        assert earliest is not None
        label = code if code != "EHCO" else "EHCO (coaching, not an NPQ)"
        assert f"• {label}: spring 2027, {long_date(earliest)} (in " in answer.text
    assert_phone_sized_with_buttons(answer)


def test_staff_edits_to_the_cohorts_show_at_once(session: Session) -> None:
    cohort = cohort_at(session, "keighley", "NPQH", "2027a")
    cohort.applications_close = dt.date(2027, 1, 5)
    session.flush()
    answer = deadlines_answer(session, today=TODAY, programme_code="NPQH", place_text="Keighley")
    assert "5 January 2027 (in 44 days)" in answer.text.splitlines()[1]


def test_legacy_npqml_points_to_its_successors(session: Session) -> None:
    answer = deadlines_answer(session, today=TODAY, programme_code="NPQML")
    assert "NPQML is no longer offered" in answer.text
    assert {b.entities["npq"] for b in answer.buttons} == {"NPQLT", "NPQLTD", "NPQLBC"}
    assert {b.intent for b in answer.buttons} == {"ask_deadlines"}


@pytest.mark.parametrize("place", ["Cardiff", "Edinburgh", "EH1 1YZ"])
def test_places_outside_england_are_explained(session: Session, place: str) -> None:
    answer = deadlines_answer(session, today=TODAY, programme_code="NPQH", place_text=place)
    assert "NPQs are for teachers and leaders in England" in answer.text
    assert "1. " not in answer.text


@pytest.mark.parametrize("kwargs", [
    {"place_text": "Xyzzyville"}, {"place_text": "ZZ99 9ZZ"}, {"place_text": "🙂🙂🙂"},
    {"place_text": "'; DROP TABLE cohorts;--"}, {"place_text": "x" * 4000},
    {"coordinates": (999.0, 999.0)}, {"coordinates": (float("nan"), 0.0)},
])
def test_unknown_places_get_a_clear_question(session: Session, kwargs: dict) -> None:
    answer = deadlines_answer(session, today=TODAY, programme_code="NPQH", **kwargs)
    assert "?" in answer.text and "1. " not in answer.text
    assert_phone_sized_with_buttons(answer)


@pytest.mark.parametrize("programme", ["banana", "NPQZ", "'; DROP TABLE programmes;--", "🙂",
                                       "y" * 4000])
def test_unknown_programmes_are_not_guessed(session: Session, programme: str) -> None:
    answer = deadlines_answer(session, today=TODAY, programme_code=programme, place_text="Leeds")
    assert answer.text.startswith("I don't know an NPQ called")
    assert len(answer.text) < 200
    assert answer.buttons[0].intent == "programme_info"


@pytest.mark.parametrize("empty", [None, ""])
def test_empty_input_is_the_overview(session: Session, empty: str | None) -> None:
    answer = deadlines_answer(session, today=TODAY, programme_code=empty, place_text=empty,
                              message_text=empty)
    assert answer.text.startswith("The earliest deadlines across our hubs")


def test_every_programme_near_every_demo_town_fits_a_phone(session: Session) -> None:
    towns = session.scalars(select(Hub.town)).all()
    codes = session.scalars(select(Programme.code).where(Programme.status == "current")).all()
    for day in (TODAY, dt.date(2027, 2, 13)):
        for town in towns[::8]:
            assert_phone_sized_with_buttons(deadlines_answer(session, today=day, place_text=town))
            for code in codes:
                assert_phone_sized_with_buttons(
                    deadlines_answer(session, today=day, programme_code=code, place_text=town))
    assert intake_label("2027b") == "autumn 2027"


def test_a_named_hub_that_does_not_run_the_programme_says_so(session: Session) -> None:
    answer = deadlines_answer(session, today=TODAY, programme_code="NPQLPM",
                              place_text="Keighley hub")
    assert answer.text == ("Keighley NPQ Hub doesn't run NPQLPM. Shall I find the nearest hubs "
                           "that do?")
    assert (answer.buttons[0].intent, answer.buttons[0].entities) == (
        "find_hub", {"npq": "NPQLPM", "location": "Keighley"})


@pytest.mark.parametrize("question, opening", [
    ("when is the autumn cohort for npqlt", "NPQLT (NPQ for Leading Teaching): the autumn 2027 "
                                            "intake."),
    ("when does the september npqlt start", "NPQLT (NPQ for Leading Teaching): the autumn 2027 "
                                            "intake."),
    ("when is the next npqlt", "NPQLT (NPQ for Leading Teaching): the next intake is spring "
                               "2027."),
])
def test_an_intake_asked_for_by_season_gets_that_intake(session: Session, question: str,
                                                        opening: str) -> None:
    """'when is the autumn cohort for npqlt' got the spring intake's dates."""
    answer = deadlines_answer(session, today=TODAY, programme_code="NPQLT", message_text=question)
    assert answer.text.startswith(opening)


@pytest.mark.parametrize("text, not_too_late", [
    ("have I missed the deadline for npqh?", True),
    ("is it too late to apply for NPQH", True),
    ("when is the npqh deadline", False),
])
def test_asked_whether_it_is_too_late_it_says_so_first(session: Session, text: str,
                                                       not_too_late: bool) -> None:
    """'have I missed the deadline?' got the dates without the yes or no it asked for."""
    answer = deadlines_answer(session, today=TODAY, programme_code="NPQH", message_text=text)
    assert answer.text.startswith("Not too late: applications are still open.") is not_too_late
    assert "NPQH (NPQ for Headship): the next intake is" in answer.text


@pytest.mark.parametrize("named, code", [("early_years", "NPQEYL"), ("senco", "NPQSENCO")])
def test_a_programme_named_by_its_phase_or_role_word_is_found(session: Session, named: str,
                                                              code: str) -> None:
    """'do you do the NPQ for early years, and is there one near Bristol?': the model tagged
    "early years" as the programme, the synonym mapper made it early_years, and the answer
    ignored the programme."""
    answer = deadlines_answer(session, today=TODAY, programme_code=named)
    assert answer.text.startswith(code)


@pytest.mark.parametrize("text, asks", [
    ("is NPQH funded and when do I apply by?", True),
    ("what would you recommend and when could I start?", True),
    ("is it free, and what are the start dates", True),
    ("what would you recommend for an AHT?", False),
    ("I want to start a new job", False),
])
def test_a_question_about_something_else_that_also_asks_when(text: str, asks: bool) -> None:
    """'... what would you recommend and when could I start?' got no date."""
    assert also_asks_deadline(text) is asks
