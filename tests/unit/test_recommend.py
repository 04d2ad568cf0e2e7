"""Which NPQ suits me: the parsers and rules as tables, the answer from the seeded database."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from npq.answers import Answer
from npq.db.models import Programme
from npq.intents import INTENTS
from npq.programmes import find_programme, programme_answer
from npq.recommend import (
    AMBITIONS,
    Profile,
    missing_facts,
    normalise,
    parse_ambition,
    parse_phase,
    parse_role,
    question_for,
    read_profile,
    recommend,
    recommendation_answer,
)
from npq.vocabulary import PHASES, ROLES

ENTITIES = {"npq", "role", "phase", "location", "postcode", "setting", "organisation_type",
            "ambition"}
BAD_INPUT = [None, "", "   ", "banana", "'; DROP TABLE programmes;--", "🙂🙂🙂", "x" * 4000]


def assert_phone_sized_with_buttons(answer: Answer) -> None:
    assert answer.text and len(answer.text) < 900, len(answer.text)
    assert answer.buttons, "every answer ends with a next step"
    for button in answer.buttons:
        assert button.intent in INTENTS and set(button.entities) <= ENTITIES


# --- the rules --------------------------------------------------------------------------------

ROLE_ONLY = {
    "classroom_teacher": "NPQLT",
    "early_career_teacher": "NPQLT",
    "head_of_department": "NPQLT",
    "key_stage_lead": "NPQLT",
    "head_of_year": "NPQLBC",
    "middle_leader": "NPQLT",
    "senco": "NPQSENCO",
    "behaviour_lead": "NPQLBC",
    "literacy_lead": "NPQLL",
    "maths_lead": "NPQLPM",
    "cpd_lead": "NPQLTD",
    "assistant_head": "NPQSL",
    "deputy_head": "NPQSL",
    "headteacher": "NPQH",  # serving heads take NPQH or EHCO; NPQEL is for several schools
    "new_headteacher": "EHCO",
    "head_of_school": "NPQH",
    "executive_head": "NPQEL",
    "trust_ceo": "NPQEL",
    "early_years_lead": "NPQEYL",
}


def test_the_role_table_covers_every_role_in_the_vocabulary() -> None:
    assert set(ROLE_ONLY) == set(ROLES)


@pytest.mark.parametrize("role, code", sorted(ROLE_ONLY.items()))
def test_each_role_has_a_recommendation(role: str, code: str) -> None:
    pick = recommend(Profile(role=role))
    assert pick is not None and pick.code == code
    assert pick.alternative != pick.code and pick.reason and pick.alternative_reason


@pytest.mark.parametrize("profile, code, alternative", [
    (Profile("deputy_head", "primary", "headship"), "NPQH", "NPQSL"),
    (Profile("deputy_head", None, "senior_leadership"), "NPQSL", "NPQH"),
    (Profile("deputy_head", None, "not_sure"), "NPQSL", "NPQH"),
    (Profile("maths_lead", "primary"), "NPQLPM", "NPQLT"),
    (Profile("maths_lead", "all_through"), "NPQLPM", "NPQLT"),
    (Profile("maths_lead", "secondary"), "NPQLT", "NPQLTD"),
    (Profile("classroom_teacher", None, "behaviour"), "NPQLBC", "NPQLT"),
    (Profile("classroom_teacher", None, "literacy"), "NPQLL", "NPQLT"),
    (Profile("classroom_teacher", "primary", "maths"), "NPQLPM", "NPQLT"),
    (Profile("classroom_teacher", None, "send"), "NPQSENCO", "NPQLT"),
    (Profile("classroom_teacher", None, "lead_teaching"), "NPQLT", "NPQLBC"),
    (Profile("head_of_department", None, "senior_leadership"), "NPQSL", "NPQLT"),
    (Profile("senco", None, "headship"), "NPQH", "NPQSENCO"),
    (Profile("headteacher", None, "headship"), "NPQH", "EHCO"),
    (Profile("headteacher", None, "send"), "NPQH", "NPQSENCO"),
    (Profile("headteacher", None, "executive_leadership"), "NPQEL", "NPQH"),
    (Profile("head_of_school", None, "executive_leadership"), "NPQEL", "NPQH"),
    (Profile("new_headteacher", None, "executive_leadership"), "EHCO", "NPQEL"),
    (Profile(None, None, "headship"), "NPQH", "NPQSL"),
    (Profile(None, None, "early_years"), "NPQEYL", "NPQLL"),
    (Profile(None, "secondary", "maths"), "NPQLT", "NPQLTD"),
])
def test_ambition_and_phase_refine_the_recommendation(profile: Profile, code: str,
                                                      alternative: str) -> None:
    pick = recommend(profile)
    assert pick is not None and (pick.code, pick.alternative) == (code, alternative)


@pytest.mark.parametrize("profile", [Profile(), Profile(None, "primary"),
                                     Profile(None, None, "not_sure"), Profile("astronaut")])
def test_nothing_to_go_on_gives_no_recommendation(profile: Profile) -> None:
    assert recommend(profile) is None


@pytest.mark.parametrize("profile, needed", [
    (Profile(), ["role"]),
    (Profile(None, "primary"), ["role"]),
    (Profile("senco"), []),
    (Profile("deputy_head"), ["ambition"]),
    (Profile("deputy_head", None, "not_sure"), []),
    (Profile("deputy_head", "primary", "headship"), []),
    (Profile("maths_lead"), ["phase"]),
    (Profile("maths_lead", "secondary"), []),
    (Profile("classroom_teacher"), ["ambition"]),
    (Profile("classroom_teacher", None, "maths"), ["phase"]),
    (Profile(None, None, "maths"), ["phase"]),
    (Profile(None, None, "headship"), []),
    (Profile(None, None, "not_sure"), ["role"]),
    (Profile("headteacher"), []),
    (Profile("early_years_lead"), []),
])
def test_missing_facts_names_only_what_the_form_must_ask(profile: Profile,
                                                         needed: list[str]) -> None:
    assert missing_facts(profile) == needed


def test_every_recommendation_and_alternative_is_a_current_programme(session: Session) -> None:
    current = set(session.scalars(select(Programme.code).where(Programme.status == "current")))
    for role, phase, ambition in itertools.product([None, *ROLES], [None, *PHASES],
                                                   [None, *AMBITIONS]):
        pick = recommend(Profile(role, phase, ambition))
        if pick is not None:
            assert {pick.code, pick.alternative} <= current
            assert pick.code != pick.alternative, (role, phase, ambition)


# --- the parsers ------------------------------------------------------------------------------

@pytest.mark.parametrize("text, role", [
    ("I'm a deputy head", "deputy_head"),
    ("I've just been appointed as a headteacher from September", "new_headteacher"),
    ("i start as head in january", "new_headteacher"),
    ("just got my first headship!", "new_headteacher"),
    ("I was a head from 2010 to 2015", "headteacher"),
    ("I'm taking up a head of department post from september", "head_of_department"),
    ("DHT", "deputy_head"),
    ("deputy headteacher at an all-through school", "deputy_head"),
    ("Vice Principal", "deputy_head"),
    ("deptuy haed", "deputy_head"),
    ("AHT", "assistant_head"),
    ("I'm an assisstant head", "assistant_head"),
    ("I'm on SLT", "assistant_head"),
    ("HoD", "head_of_department"),
    ("head of maths", "head_of_department"),
    ("subject lead in a primary", "head_of_department"),
    ("KS2 lead", "key_stage_lead"),
    ("phase leader", "key_stage_lead"),
    ("HoY", "head_of_year"),
    ("pastoral lead", "head_of_year"),
    ("head of sixth form", "head_of_year"),
    ("SENCo", "senco"),
    ("I'm the SENDCO", "senco"),
    ("sencoe", "senco"),
    ("SEN co-ordinator", "senco"),
    ("behaviour lead", "behaviour_lead"),
    ("I lead behavior across the school", "behaviour_lead"),
    ("reading lead", "literacy_lead"),
    ("phonics leader", "literacy_lead"),
    ("English lead", "literacy_lead"),
    ("maths lead", "maths_lead"),
    ("numeracy co-ordinator", "maths_lead"),
    ("CPD lead", "cpd_lead"),
    ("I'm the ITT lead mentor", "cpd_lead"),
    ("induction tutor", "cpd_lead"),
    ("I mentor trainees", "cpd_lead"),
    ("head", "headteacher"),
    ("Headteacher", "headteacher"),
    ("I've been a head for 12 years", "headteacher"),
    ("I've been a head for 2 years", "new_headteacher"),
    ("newly appointed head", "new_headteacher"),
    ("new headteacher", "new_headteacher"),
    ("head of school", "head_of_school"),
    ("executive headteacher over three schools", "executive_head"),
    ("exec head", "executive_head"),
    ("CEO of a small MAT", "trust_ceo"),
    ("trust CEO", "trust_ceo"),
    ("nursery manager", "early_years_lead"),
    ("EYFS lead", "early_years_lead"),
    ("childminder", "early_years_lead"),
    ("middle leader", "middle_leader"),
    ("ECT", "early_career_teacher"),
    ("NQT", "early_career_teacher"),
    ("classroom teacher", "classroom_teacher"),
    ("I teach Year 4", "classroom_teacher"),
    ("FE lecturer", "classroom_teacher"),
    # described rather than named (issue 10)
    ("I manage a nursery. Is there an NPQ for someone like me?", "early_years_lead"),
    ("im in charge of the nursery", "early_years_lead"),
    ("I'm responsible for behaviour and attendance across the whole school. Which npq?",
     "behaviour_lead"),
    ("i look after behaviour across the school", "behaviour_lead"),
    ("I run CPD", "cpd_lead"),
    ("i organise all the staff training", "cpd_lead"),
    ("i oversee send provision", "senco"),
    ("im responsible for reading across the school", "literacy_lead"),
    ("I look after maths in a small primary", "maths_lead"),
    ("I'm a teacher but I also look after attendance", "behaviour_lead"),
    ("I'm a deputy head and I look after behaviour", "deputy_head"),
    # early years staff who are not (yet) leaders: asked their role again before
    ("im an early years practitioner in a nursery, what npq is for me", "classroom_teacher"),
    ("I work in a nursery", "classroom_teacher"),
    ("nursery nurse", "classroom_teacher"),
    ("EYFS practitioner", "classroom_teacher"),
])
def test_parse_role(text: str, role: str) -> None:
    assert parse_role(text) == role
    assert parse_role(text.upper()) == role


@pytest.mark.parametrize("text", [
    *BAD_INPUT, "I want to become a head", "aspiring deputy", "my head asked me to look",
    "what is NPQH", "hello", "who runs the behaviour NPQ?", "who is responsible for the nursery",
    "I manage a team of teachers",
])
def test_parse_role_returns_none_rather_than_guessing(text: str | None) -> None:
    assert parse_role(text) is None


@pytest.mark.parametrize("text, phase", [
    ("primary", "primary"), ("Primary school", "primary"), ("primry", "primary"),
    ("KS2", "primary"), ("infant school", "primary"), ("a junior school", "primary"),
    ("secondary", "secondary"), ("secondry", "secondary"), ("a high school", "secondary"),
    ("grammar school", "secondary"), ("KS3", "secondary"),
    ("nursery", "early_years"), ("EYFS", "early_years"), ("pre-school", "early_years"),
    ("childminder", "early_years"),
    ("special school", "special"), ("AP", "special"), ("pupil referral unit", "special"),
    ("all-through", "all_through"), ("all through school", "all_through"),
    ("primary and secondary", "all_through"),
    ("sixth form college", "sixteen_to_nineteen"), ("FE college", "sixteen_to_nineteen"),
    ("16-19", "sixteen_to_nineteen"), ("further education", "sixteen_to_nineteen"),
    ("reception class in a primary", "primary"),
])
def test_parse_phase(text: str, phase: str) -> None:
    assert parse_phase(text) == phase


@pytest.mark.parametrize("text", [*BAD_INPUT, "a school", "secondary or special school, it's a mix",
                                  "I primarily teach", "in principle"])
def test_parse_phase_returns_none_when_unclear(text: str | None) -> None:
    assert parse_phase(text) is None


@pytest.mark.parametrize("text, ambition", [
    ("headship", "headship"), ("become a head", "headship"), ("I want to be a headteacher",
                                                                 "headship"),
    ("I'd like to become a principal one day", "headship"), ("aspiring head", "headship"),
    ("SLT", "senior_leadership"), ("senior leadership", "senior_leadership"),
    ("I'd like to be a deputy one day", "senior_leadership"),
    ("move into senior leadership", "senior_leadership"),
    ("lead a trust", "executive_leadership"), ("want to lead several schools",
                                               "executive_leadership"),
    ("middle leadership", "lead_teaching"), ("lead a department", "lead_teaching"),
    ("develop other teachers", "teacher_development"), ("mentoring", "teacher_development"),
    ("behaviour", "behaviour"), ("I'm interested in behaviour and culture", "behaviour"),
    ("reading", "literacy"), ("phonics", "literacy"),
    ("maths", "maths"), ("SEND", "send"), ("becoming a SENCO", "send"),
    ("early years", "early_years"),
    ("not sure", "not_sure"), ("Don't know yet", "not_sure"), ("no idea", "not_sure"),
])
def test_parse_ambition(text: str, ambition: str) -> None:
    assert parse_ambition(text) == ambition


@pytest.mark.parametrize("text", [*BAD_INPUT, "I want to send my form", "yes please"])
def test_parse_ambition_returns_none_when_unclear(text: str | None) -> None:
    assert parse_ambition(text) is None


@pytest.mark.parametrize("text, profile", [
    # the subject named before "want to lead it" ("lead it" alone asked the ambition again)
    ("i'm a year 4 teacher, i love maths and want to lead it across school",
     Profile("classroom_teacher", "primary", "maths")),
    ("behaviour is my thing, hoping to lead that across the trust",
     Profile(None, None, "behaviour")),
    ("i love my job and want to do it well", Profile()),
    # a programme someone is looking at is what they aim for (the form asked it again)
    ("im a deputy head in a special school. Looking at NPQH but not sure if now is the right "
     "time", Profile("deputy_head", "special", "headship")),
    ("looking at NPQSENCO", Profile(None, None, "send")),
    ("I did NPQSL last year", Profile()),
    ("I'm a deputy head in a primary and want to become a head",
     Profile("deputy_head", "primary", "headship")),
    ("I'm a deputy head", Profile("deputy_head", None, None)),  # not the ambition "headship"
    ("DHT at a primary, want to be a head in 2 years", Profile("deputy_head", "primary",
                                                               "headship")),
    ("I want to become a head, I'm currently a deputy", Profile("deputy_head", None, "headship")),
    ("I'm a classroom teacher wanting to step up to middle leadership",
     Profile("classroom_teacher", None, "lead_teaching")),
    ("I'm a teacher in an AP and want to lead behaviour", Profile("classroom_teacher", "special",
                                                                  "behaviour")),
    ("primary maths lead", Profile("maths_lead", "primary", None)),
    ("I'm a SENCO at a secondary", Profile("senco", "secondary", None)),
    ("which NPQ is right for an aspiring deputy?", Profile(None, None, "senior_leadership")),
    ("Head of English at a high school hoping to join SLT",
     Profile("head_of_department", "secondary", "senior_leadership")),
    ("I'm a nursery manager", Profile("early_years_lead", "early_years", None)),
    # ambitions said as a thought, not a plan
    ("hello, I'm a deputy head at a primary in Bradford, thinking about headship in a couple of "
     "years", Profile("deputy_head", "primary", "headship")),
    ("assistant head, considering a move to deputy", Profile("assistant_head", None,
                                                             "senior_leadership")),
    ("been eyeing the SENCO route", Profile(None, None, "send")),
    ("thinking about which course to do", Profile()),
    ("Good morning. I am teacher of mathematics in secondary school in Leicester. I wish to know "
     "if there is programme for me to become head of department",
     Profile("classroom_teacher", "secondary", "lead_teaching")),
    ("my goal is headship", Profile(None, None, "headship")),
    ("hi im a headteacher, been in post 6 months, what should i do",
     Profile("new_headteacher", None, None)),
    ("head teacher, in post for two years now", Profile("new_headteacher", None, None)),
    ("I'm a headteacher, in post for 12 years", Profile("headteacher", None, None)),
    ("i run a childminding business in Kent", Profile("early_years_lead", "early_years", None)),
    ("I own a small day nursery", Profile("early_years_lead", "early_years", None)),
    ("which is better for me, I coach new teachers", Profile("cpd_lead", None, None)),
    ("i support our ECTs and trainees", Profile("cpd_lead", None, None)),
    ("I'm support staff", Profile()),
    ("I love teaching maths", Profile()),
])
def test_read_profile_reads_all_three_from_one_message(text: str, profile: Profile) -> None:
    assert read_profile(text) == profile


@pytest.mark.parametrize("text", BAD_INPUT)
def test_read_profile_of_bad_input_is_empty(text: str | None) -> None:
    assert read_profile(text) == Profile()


# --- the answer ---------------------------------------------------------------------------------

def test_the_answer_names_the_programmes_from_the_database(session: Session) -> None:
    answer = recommendation_answer(session, Profile("deputy_head", "primary", "headship"))
    npqh, npqsl = session.get(Programme, "NPQH"), session.get(Programme, "NPQSL")
    assert npqh is not None and npqsl is not None
    assert answer.text.startswith(f"I'd suggest NPQH: {npqh.name}.")
    assert ("Why: it's the qualification for aspiring and serving headteachers. That suits you "
            "as a deputy head interested in becoming a headteacher.") in answer.text
    assert f"Who it's for: {npqh.audience}" in answer.text
    assert f"Also worth a look: NPQSL ({npqsl.name}), if you'd like whole-school" in answer.text
    assert [(b.intent, b.entities) for b in answer.buttons] == [
        ("programme_info", {"npq": "NPQH"}), ("find_hub", {"npq": "NPQH"}),
        ("ask_deadlines", {"npq": "NPQH"}), ("programme_info", {"npq": "NPQSL"})]
    assert_phone_sized_with_buttons(answer)


def test_the_answer_follows_the_catalogue_when_staff_edit_it(session: Session) -> None:
    npqlpm = session.get(Programme, "NPQLPM")
    assert npqlpm is not None
    answer = recommendation_answer(session, Profile("maths_lead", "primary"))
    assert "Before you apply: At least a year of the Maths Hubs Teaching for Mastery" in answer.text
    npqlpm.name, npqlpm.prerequisite = "NPQ in Primary Maths (renamed)", "A new prerequisite."
    session.flush()
    edited = recommendation_answer(session, Profile("maths_lead", "primary")).text
    assert "NPQLPM: NPQ in Primary Maths (renamed)." in edited
    assert "Before you apply: A new prerequisite." in edited
    assert "Teaching for Mastery" not in edited


@pytest.mark.parametrize("role", sorted(ROLES))
def test_every_role_gets_a_phone_sized_answer(session: Session, role: str) -> None:
    answer = recommendation_answer(session, Profile(role))
    assert answer.text.startswith(f"I'd suggest {ROLE_ONLY[role]}: ")
    assert_phone_sized_with_buttons(answer)


def test_no_profile_asks_for_the_role(session: Session) -> None:
    answer = recommendation_answer(session, Profile())
    assert "What's your role at the moment?" in answer.text
    assert {b.entities["role"] for b in answer.buttons} <= set(ROLES)
    assert all(b.intent == "inform" for b in answer.buttons)


def test_a_programme_withdrawn_from_the_catalogue_is_handled(session: Session) -> None:
    npqsenco = session.get(Programme, "NPQSENCO")
    assert npqsenco is not None
    npqsenco.status = "legacy"  # staff withdrew it; the rules still name it
    answer = recommendation_answer(session, Profile("senco"))
    assert "couldn't find the right programme" in answer.text
    assert answer.buttons[0].intent == "talk_to_human"


@pytest.mark.parametrize("fact, entity, values", [
    ("role", "role", set(ROLES)), ("phase", "phase", set(PHASES)),
    ("ambition", "ambition", set(AMBITIONS)),
])
def test_form_questions_offer_canonical_answers(fact: str, entity: str, values: set[str]) -> None:
    answer = question_for(fact)
    assert answer.text.endswith("?") or "?" in answer.text
    assert {b.entities[entity] for b in answer.buttons} <= values
    assert_phone_sized_with_buttons(answer)


def test_legacy_npqml_still_names_its_successors(session: Session) -> None:
    npqml = find_programme(session, "NPQML")
    assert npqml is not None
    text = programme_answer(npqml).text
    assert "no longer offered" in text and all(c in text for c in ("NPQLT", "NPQLTD", "NPQLBC"))



def test_free_text_slot_values_are_normalised(session: Session) -> None:
    raw = Profile("DHT", "a primary school", "want to become a head")
    assert normalise(raw) == Profile("deputy_head", "primary", "headship")
    assert missing_facts(Profile("maths co-ordinator")) == ["phase"]
    canonical = recommendation_answer(session, Profile("deputy_head", "primary", "headship"))
    assert recommendation_answer(session, raw) == canonical


def test_a_serving_head_gets_npqh_or_ehco_then_npqel(session: Session) -> None:
    """Regression: every headteacher was sent to NPQEL, with no word of NPQH."""
    answer = recommendation_answer(session, Profile("headteacher"))
    assert answer.text.split("\n\n") == [
        "I'd suggest NPQH: NPQ for Headship.",
        "Why: it's for serving headteachers as well as aspiring ones. That suits you as a "
        "headteacher.",
        "Who it's for: Headteachers, heads of school and senior leaders who plan to become a "
        "headteacher.",
        "Also worth a look: EHCO (Early Headship Coaching Offer, coaching rather than an NPQ), "
        "if you're in your first five years of headship.",
        "Later: NPQEL (NPQ for Executive Leadership), when you lead, or plan to lead, more than "
        "one school."]
    assert [b.title for b in answer.buttons] == ["About NPQH", "Nearest hub", "Deadlines",
                                                 "About EHCO", "About NPQEL"]


def test_a_new_head_is_told_ehco_is_coaching_not_an_npq(session: Session) -> None:
    answer = recommendation_answer(session, Profile("new_headteacher"))
    assert answer.text.startswith("I'd suggest EHCO: Early Headship Coaching Offer. It's "
                                  "coaching, not an NPQ.")
