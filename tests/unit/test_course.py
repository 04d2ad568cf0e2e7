"""The specific questions the model understands as a journey but that need their own answer:
what a message asks about (a table), and the answers from the programme database and the
network settings staff keep."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete
from sqlalchemy.orm import Session

from npq.course import programme_info_answer, sessions_answer, track_record_answer
from npq.db.models import NetworkSetting, Programme
from npq.funding import eligibility_answer
from npq.network import Network
from npq.topics import topic_of

TODAY = dt.date(2026, 11, 22)


@pytest.mark.parametrize("text, topic", [
    ("what's the pass mark for npqsl", "assessment"),
    ("can you resit the npqh assessment", "assessment"),
    ("what happens if i fail the assessment", "assessment"),
    ("if I withdraw do I lose my funding", "assessment"),
    ("is the assessment open book", "assessment"),
    ("what's the 90% engagement thing", "assessment"),
    ("is an npq masters level", "qualification"),
    ("can the NPQH count towards a masters", "qualification"),
    ("is NPQSL a level 7 qualification", "qualification"),
    ("do i get a certificate at the end", "qualification"),
    ("is EHCO an actual qualification or just coaching", "qualification"),
    ("do npqs expire", "qualification"),
    ("is the NPQH worth it", "track_record"),
    ("is it worth doing npqsl", "track_record"),
    ("does it help you get a headship", "track_record"),
    ("are the sessions after school or in the day", "sessions"),
    ("is it all online or are there face to face days", "sessions"),
    ("are there any twilight sessions", "sessions"),
    ("can I do it part time", "sessions"), ("can i do an npq alongside my job", "sessions"),
    ("I work part time, am I eligible?", None),
    ("which lead provider do I select on the form", "provider"),
    ("the DfE form is asking for my provider, what do I put", "provider"),
    ("who runs the course", "provider"),
    ("are there places left on the NPQH at Keighley", "places"),
    ("is the Keighley NPQSL cohort full", "places"), ("is there a waiting list", "places"),
    ("is my school in the top 50% for pupil premium", "pupil_premium"),
    ("what's the PP50 rule", "pupil_premium"),
    ("do small schools get a grant", "small_school_grant"),
    ("is there any targeted support funding", "small_school_grant"),
    # decided by the hub and the provider case by case: said so, with who can answer
    ("can i defer to next year", "ask_your_hub"),
    ("I've got a baby due in march, can I pause the course", "ask_your_hub"),
    ("going on maternity leave in the spring, what happens to my npq", "ask_your_hub"),
    ("how do I log in to the learning platform", "ask_your_hub"),
    ("my application was rejected, why?", "ask_your_hub"),
    ("how many people are on each cohort", "ask_your_hub"),
    ("who are the facilitators", "ask_your_hub"),
    ("can I change my hub", "ask_your_hub"),
    ("what is NPQH", None), ("how long does npqh take", None), ("which NPQs are there", None),
    ("", None), (None, None), ("🙂" * 300, None),
])
def test_what_a_question_asks_about(text: str | None, topic: str | None) -> None:
    assert topic_of(text) == topic


def test_only_the_topics_a_journey_answers_are_looked_for() -> None:
    text = "is the online course worth it, and what's the pass mark?"
    assert topic_of(text) == "track_record"
    assert topic_of(text, frozenset({"assessment", "sessions"})) == "assessment"
    assert topic_of(text, frozenset({"pupil_premium"})) is None


@pytest.mark.parametrize("value, unconfirmed, quoted", [
    ("60%.", frozenset({"fact"}), "60% (to be confirmed)."),
    ("Best Practice Network", frozenset({"fact"}), "Best Practice Network (to be confirmed)"),
    ("60%.", frozenset(), "60%."),
])
def test_an_unchecked_fact_is_quoted_as_to_be_confirmed(value: str, unconfirmed: frozenset[str],
                                                       quoted: str) -> None:
    network = Network({"fact": value}, unconfirmed)
    assert network.fact("fact") == quoted
    assert network.get("fact") == value and network.fact("missing") is None


def test_a_checked_pass_mark_is_stated_plainly(session: Session) -> None:
    row = session.get(NetworkSetting, "assessment_pass_mark")
    assert row is not None
    row.checked = True
    session.flush()
    answer, code = programme_info_answer(session, today=TODAY, named="NPQH",
                                         question="what's the pass mark?")
    assert code == "NPQH"
    assert ("The final assessment is a written case study, done open book over 8 days, with a "
            "pass mark of 60%.") in answer.text


def test_without_a_track_record_the_answer_says_so_and_offers_a_person(session: Session) -> None:
    session.execute(delete(NetworkSetting).where(NetworkSetting.key == "track_record"))
    session.flush()
    answer = track_record_answer(session, None)
    assert answer.text == ("I don't have figures on how our participants get on. Our team can "
                           "tell you more.")
    assert answer.buttons[0].intent == "talk_to_human"


def test_the_track_record_is_the_one_staff_keep(session: Session) -> None:
    answer, _ = programme_info_answer(session, today=TODAY, named=None,
                                      question="are NPQs worth it?")
    assert answer.text == (
        "Our track record (Outstanding Leaders Partnership): 60% of our NPQH graduates secured a "
        "headship within 18 months, above the national average, and more than half of those who "
        "completed our NPQML and NPQSL were promoted (figures the partnership published in "
        "2017).")


def test_the_sessions_answer_without_a_programme_lists_the_online_ones(session: Session) -> None:
    answer = sessions_answer(session, None, TODAY)
    assert answer.text.split("\n\n")[1:3] == [
        "Each hub sets its own times: 22 of our 31 hubs meet after school, 9 in the school day.",
        "These also run fully online, with no travel: EHCO, NPQEYL, NPQLBC, NPQLL, NPQLT, "
        "NPQLTD, NPQSENCO."]


@pytest.mark.parametrize("code, question, opening", [
    ("NPQML", "what was the NPQML assessment", "NPQML is no longer offered. It was assessed by: "
                                               "school-based project"),
    ("NPQML", "does my old npqml count for anything", "NPQML is no longer offered. It was the "
                                                      "middle leadership NPQ"),
    ("EHCO", "is EHCO a proper qualification", "EHCO, the Early Headship Coaching Offer, is "
                                               "coaching and support, not a qualification"),
    ("NPQH", "is NPQH recognised", "NPQs are the Department for Education's national "
                                   "professional qualifications"),
])
def test_legacy_and_coaching_programmes_answer_for_what_they_are(
        session: Session, code: str, question: str, opening: str) -> None:
    answer, _ = programme_info_answer(session, today=TODAY, named=code, question=question)
    assert answer.text.startswith(opening)


def test_a_qualification_answer_adds_how_the_programme_is_gained(session: Session) -> None:
    answer, _ = programme_info_answer(session, today=TODAY, named="NPQH",
                                      question="is it masters level?")
    npqh = session.get(Programme, "NPQH")
    assert npqh is not None
    assert answer.text.endswith("You gain NPQH by passing its final assessment: one written "
                                "case-study assessment after the course. You must take part in "
                                "at least 90% of the course to sit it.")


@pytest.mark.parametrize("question", ["how many hours a week is it realistically",
                                      "whats the time commitment", "is the workload heavy"])
def test_a_question_about_the_time_it_takes_each_week_gets_the_hours(
        session: Session, question: str) -> None:
    """'how many hours a week is it realistically' got the list of all ten programmes."""
    answer, _ = programme_info_answer(session, today=TODAY, named=None, question=question)
    assert "about 1 to 2 hours a week" in answer.text.split("\n\n")[0]
    named, code = programme_info_answer(session, today=TODAY, named="NPQH", question=question)
    assert code == "NPQH" and named.text.startswith("NPQH: Blended.")
    assert "about 1 to 2 hours a week" in named.text


@pytest.mark.parametrize("question, named", [("can i do two npqs at the same time", None),
                                              ("can I do NPQSL and NPQLBC at once", "NPQSL")])
def test_asking_about_two_programmes_at_once_says_who_decides(
        session: Session, question: str, named: str | None) -> None:
    """'can i do two npqs at the same time' got the list of all ten programmes."""
    answer, _ = programme_info_answer(session, today=TODAY, named=named, question=question,
                                      also_named=["NPQLBC"] if named else [])
    assert answer.text.startswith("Whether you can study two NPQs at the same time is up to your "
                                  "provider and your school")


def test_the_sessions_answer_with_a_place_known_gives_the_nearest_hubs_formats(
        session: Session) -> None:
    """'is that online or in person' after a question about York asked for a town again."""
    answer, code = programme_info_answer(session, today=TODAY, named="NPQH",
                                         question="is that online or in person",
                                         place_text="York")
    assert code == "NPQH"
    near = answer.text.split("\n\n")[-1].splitlines()
    assert near[0] == "Nearest to York:" and len(near) == 3
    assert all(line.startswith("• ") and " miles): " in line for line in near[1:])
    assert "Tell me your town" not in answer.text
    abroad, _ = programme_info_answer(session, today=TODAY, named="NPQH",
                                      question="is it online", place_text="Cardiff")
    assert abroad.text.endswith("Tell me your town or postcode and I'll show your nearest hubs' "
                                "times.")


@pytest.mark.parametrize("named, opening", [
    ("NPQSL", "NPQSL has no formal prerequisite or entry qualification."),
    ("NPQLPM", "Before you apply for NPQLPM: At least a year of the Maths Hubs Teaching for "
               "Mastery programme"),
])
def test_asking_what_you_need_to_start_gets_the_prerequisite(
        session: Session, named: str, opening: str) -> None:
    """'what qualifications do i need to do npqsl' was asked where the person works (the
    funding conditions)."""
    question = f"what qualifications do i need to do {named.lower()}"
    answer, _ = programme_info_answer(session, today=TODAY, named=named, question=question)
    assert answer.text.startswith(opening)
    assert "Who it's for: " in answer.text
    assert eligibility_answer(session, today=TODAY, programme_code=named,
                              question=question).text == answer.text


@pytest.mark.parametrize("question", ["can i defer to next year", "who are the facilitators"])
def test_what_the_hub_decides_says_so_and_who_can_answer(session: Session, question: str) -> None:
    """These got the list of NPQs, or the steps to apply."""
    answer, _ = programme_info_answer(session, today=TODAY, named=None, question=question)
    assert answer.text.startswith("That depends on your hub and the provider running your "
                                  "course")
    assert [b.title for b in answer.buttons] == ["Find my nearest hub", "Talk to a person"]


def test_a_certificate_question_says_how_the_npq_is_gained(session: Session) -> None:
    answer, _ = programme_info_answer(session, today=TODAY, named=None,
                                      question="do I get a certificate")
    assert answer.text.endswith("You gain the NPQ when you pass its final assessment.")


def test_asking_if_it_can_be_done_part_time_gets_the_time_it_takes(session: Session) -> None:
    """'can I do it part time' (read as eligibility) was asked which NPQ."""
    answer = eligibility_answer(session, today=TODAY, question="can I do it part time")
    assert answer.text.startswith("Most NPQs are ")
    assert "hours a week" in answer.text


@pytest.mark.parametrize("question, code, reason", [
    ("hya wots the npq for sendcos called", "NPQSENCO", "it's the qualification for SENCOs"),
    ("do u do npq for maths in secondary", "NPQLT",
     "Leading Primary Mathematics is for primary schools"),
    ("which npq is for SENCOs", "NPQSENCO", "it's the qualification for SENCOs"),
    ("is there a course on phonics", "NPQLL", "it's the NPQ about leading literacy"),
])
def test_the_programme_asked_for_by_who_or_what_it_is_for(session: Session, question: str,
                                                          code: str, reason: str) -> None:
    """These got the list of all ten NPQs."""
    answer, named = programme_info_answer(session, today=TODAY, named=None, question=question)
    assert named == code
    assert answer.text.startswith(f"The NPQ for that is {code}: {reason}")
    assert f"\n\n{code}: NPQ for" in answer.text


@pytest.mark.parametrize("question", ["what npqs are there", "which NPQs do you offer",
                                      "is there anything for me"])
def test_the_list_when_no_one_and_nothing_is_named(session: Session, question: str) -> None:
    answer, named = programme_info_answer(session, today=TODAY, named=None, question=question)
    assert named is None and answer.text.startswith("There are 10 National Professional")
