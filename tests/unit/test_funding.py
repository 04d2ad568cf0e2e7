"""Funding and eligibility: the rules as tables, the answers from the seeded funding rules."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from npq.answers import Answer
from npq.db.models import Cohort, FundingRule, NetworkSetting
from npq.funding import (
    SETTING_LABELS,
    Outcome,
    eligibility_answer,
    funding_answer,
    outcome,
    parse_setting,
)
from npq.intents import INTENTS

TODAY = dt.date(2026, 11, 22)  # the next intake is spring 2027 (2027a)
AFTER_SPRING = dt.date(2027, 3, 1)  # only autumn 2027 (2027b) is still open
ENTITIES = {"npq", "role", "phase", "location", "postcode", "setting", "organisation_type",
            "ambition"}
CAPPED = "Places are capped, so being eligible doesn't guarantee one."


def assert_funding_answer(session: Session, answer: Answer) -> None:
    """Phone-sized, with a next step, and always the small print and the official guidance."""
    guidance = session.get(NetworkSetting, "funding_guidance")
    assert guidance is not None
    assert answer.text and len(answer.text) < 900, len(answer.text)
    assert CAPPED in answer.text
    assert f"Official guidance: {guidance.value}" in answer.text
    assert "only for people working in England, once per NPQ" in answer.text
    assert "independent schools aren't covered" in answer.text
    assert answer.buttons
    for button in answer.buttons:
        assert button.intent in INTENTS and set(button.entities) <= ENTITIES


def rule(setting: str, condition: str, funded: bool = True) -> FundingRule:
    return FundingRule(setting=setting, condition=condition, funded=funded, note="")


# --- pure rules ---------------------------------------------------------------------------------

NPQH_RULES = [rule("school", "all_eligible"), rule("sixteen_to_nineteen", "all_eligible")]
NPQLTD_RULES = [rule("school", "pp50"), rule("school", "itt_lead_mentor"),
                rule("other", "itt_lead_mentor")]
EHCO_RULES = [rule("school", "new_headteacher")]
UNFUNDED_RULES = [rule("school", "none", funded=False)]


@pytest.mark.parametrize("rules, setting, role, expected", [
    (NPQH_RULES, "school", None, Outcome("funded")),
    (NPQH_RULES, "sixteen_to_nineteen", None, Outcome("funded")),
    (NPQH_RULES, "early_years", None, Outcome("not_funded")),
    (NPQH_RULES, "independent", None, Outcome("not_funded")),
    (NPQH_RULES, "outside_england", None, Outcome("not_funded")),
    (NPQH_RULES, None, None, Outcome("not_funded")),
    (NPQLTD_RULES, "school", None, Outcome("conditional", ("pp50", "itt_lead_mentor"))),
    (NPQLTD_RULES, "itt_provider", None, Outcome("conditional", ("itt_lead_mentor",))),
    (NPQLTD_RULES, "early_years", None, Outcome("not_funded")),
    (EHCO_RULES, "school", None, Outcome("conditional", ("new_headteacher",))),
    (EHCO_RULES, "school", "new_headteacher", Outcome("funded")),
    (EHCO_RULES, "independent", "new_headteacher", Outcome("not_funded")),
    (UNFUNDED_RULES, "school", None, Outcome("not_funded")),
    ([], "school", None, Outcome("not_funded")),
    ([rule("early_years", "all_eligible")], "early_years", None, Outcome("funded")),
])
def test_outcome_for_each_rule_shape(rules: list[FundingRule], setting: str | None,
                                     role: str | None, expected: Outcome) -> None:
    assert outcome(rules, setting, role) == expected


@pytest.mark.parametrize("text, setting", [
    ("state school", "school"), ("an academy", "school"), ("maintained primary", "school"),
    ("We're a MAT", "school"), ("special school", "school"), ("school", "school"),
    ("nursery", "early_years"), ("I'm a childminder", "early_years"),
    ("pre-school", "early_years"),
    ("sixth form college", "sixteen_to_nineteen"), ("FE college", "sixteen_to_nineteen"),
    ("further education", "sixteen_to_nineteen"),
    ("independent school", "independent"), ("a private school", "independent"),
    ("fee-paying prep school", "independent"),
    ("ITT provider", "itt_provider"), ("a SCITT", "itt_provider"),
    ("university teacher training", "itt_provider"),
    ("local authority", "other"), ("virtual school", "other"),
    ("a school in Wales", "outside_england"), ("international school in Dubai", "outside_england"),
    ("sixteen_to_nineteen", "sixteen_to_nineteen"),
])
def test_parse_setting(text: str, setting: str) -> None:
    assert parse_setting(text) == setting
    assert parse_setting(text.upper()) == setting


@pytest.mark.parametrize("text", [None, "", "   ", "banana", "🙂", "'; DROP TABLE x;--",
                                  "z" * 4000])
def test_parse_setting_returns_none_when_unclear(text: str | None) -> None:
    assert parse_setting(text) is None


# --- funding answers ---------------------------------------------------------------------------

def test_the_overview_groups_programmes_by_the_rules_in_the_database(session: Session) -> None:
    answer = funding_answer(session, today=TODAY)
    lines = answer.text.splitlines()
    assert lines[0] == "Scholarship funding for spring 2027:"
    assert ("• For everyone eligible in state-funded schools and 16 to 19 settings: "
            "NPQH, NPQLPM, NPQSENCO") in lines
    assert "• Only in the top 50% of schools by pupil premium: NPQLL, NPQLT, NPQLTD, NPQSL" in lines
    assert "• For ITT lead mentors: NPQLTD" in lines
    assert "• For headteachers in their first five years: EHCO" in lines
    assert "• Not funded this intake: NPQEL, NPQLBC" in lines
    assert_funding_answer(session, answer)


def test_the_overview_follows_the_intake(session: Session) -> None:
    answer = funding_answer(session, today=AFTER_SPRING)
    assert answer.text.startswith("Scholarship funding for autumn 2027:")
    assert "NPQLBC" in answer.text.split("top 50%")[1].splitlines()[0]
    assert "Not funded this intake" not in answer.text


@pytest.mark.parametrize("setting, phase, verdict", [
    ("school", None, "funded. The DfE pays the course fee"),
    ("academy", None, "funded. The DfE pays the course fee"),
    (None, "secondary", "funded. The DfE pays the course fee"),
    (None, "sixteen_to_nineteen", "funded. The DfE pays the course fee"),
    ("early_years", None, "not funded. Without funding the school pays"),
    (None, "early_years", "not funded. Without funding the school pays"),
    ("independent", "secondary", "not funded: scholarship funding doesn't cover independent"),
    ("a school in Scotland", None, "not funded: scholarship funding is only for people working "
                                   "in England."),
])
def test_a_setting_gives_the_verdict(session: Session, setting: str | None, phase: str | None,
                                     verdict: str) -> None:
    answer = funding_answer(session, today=TODAY, programme_code="NPQH", setting=setting,
                            phase=phase)
    assert answer.text.startswith("NPQH in spring 2027, for ")
    assert verdict in answer.text
    assert_funding_answer(session, answer)


def test_pp50_funding_is_conditional_and_names_the_fee_fallback(session: Session) -> None:
    answer = funding_answer(session, today=TODAY, programme_code="NPQLT", setting="school")
    assert ("funded if your school is in the top 50% of schools by pupil premium" in answer.text)
    fee = session.get(NetworkSetting, "unfunded_fee_note")
    assert fee is not None and fee.value[1:] in answer.text
    assert_funding_answer(session, answer)


def test_without_a_setting_it_summarises_and_asks_where_they_work(session: Session) -> None:
    answer = funding_answer(session, today=TODAY, programme_code="NPQLTD")
    assert answer.text.startswith("NPQLTD in spring 2027: funded in state-funded schools if your "
                                  "school is in the top 50%")
    assert "if you're an ITT lead mentor" in answer.text
    assert "Where do you work?" in answer.text
    assert {b.entities["setting"] for b in answer.buttons} <= set(SETTING_LABELS)
    assert {b.intent for b in answer.buttons} == {"ask_funding"}
    assert all(b.entities["npq"] == "NPQLTD" for b in answer.buttons)
    assert_funding_answer(session, answer)


def test_rules_that_change_between_intakes_are_both_shown(session: Session) -> None:
    answer = funding_answer(session, today=TODAY, programme_code="NPQLBC", setting="school")
    assert "NPQLBC in spring 2027, for a state-funded school or academy: not funded." in answer.text
    assert "NPQLBC in autumn 2027, for a state-funded school or academy: funded if" in answer.text


def test_staff_edits_to_the_rules_change_the_answer(session: Session) -> None:
    session.execute(delete(FundingRule).where(FundingRule.programme_code == "NPQEL"))
    session.add(FundingRule(intake="2027a", programme_code="NPQEL", setting="school",
                            condition="all_eligible", funded=True, note="Newly funded."))
    session.flush()
    answer = funding_answer(session, today=TODAY, programme_code="NPQEL", setting="school")
    assert "NPQEL in spring 2027, for a state-funded school or academy: funded." in answer.text


def test_no_rules_published_says_so_and_offers_a_reminder(session: Session) -> None:
    answer = funding_answer(session, today=dt.date(2030, 1, 1), programme_code="NPQH")
    assert "haven't been published yet" in answer.text
    assert answer.buttons[0].intent == "subscribe_reminders"
    assert_funding_answer(session, answer)
    session.execute(delete(FundingRule))
    assert "haven't been published yet" in funding_answer(session, today=TODAY).text


def test_an_unknown_programme_gets_the_overview_and_says_so(session: Session) -> None:
    answer = funding_answer(session, today=TODAY, programme_code="banana")
    assert answer.text.startswith("I don't know an NPQ called \"banana\". Scholarship funding")


def test_legacy_npqml_gets_the_overview(session: Session) -> None:
    answer = funding_answer(session, today=TODAY, programme_code="NPQML")
    assert answer.text.startswith("NPQML is no longer offered. Scholarship funding for spring 2027")


@pytest.mark.parametrize("kwargs", [
    {"programme_code": "'; DROP TABLE funding_rules;--"}, {"programme_code": "🙂" * 50},
    {"programme_code": "x" * 4000, "setting": "y" * 4000}, {"programme_code": ""},
    {"programme_code": "NPQH", "setting": "🙂", "phase": "moon"},
    {"programme_code": "NPQH", "intake": "banana"}, {"programme_code": None, "intake": "2031a"},
])
def test_bad_input_gets_a_clear_answer(session: Session, kwargs: dict) -> None:
    answer = funding_answer(session, today=TODAY, **kwargs)
    assert_funding_answer(session, answer)
    assert session.scalar(select(FundingRule).limit(1)) is not None


# --- eligibility answers --------------------------------------------------------------------------

def test_npqlpm_eligibility_needs_the_teaching_for_mastery_prerequisite(session: Session) -> None:
    answer = eligibility_answer(session, today=TODAY, programme_code="NPQLPM", phase="primary")
    lines = answer.text.splitlines()
    assert lines[0] == "To be funded for NPQLPM in spring 2027 you need to:"
    assert "• work in England" in lines
    assert ("• work where it's funded: for everyone in state-funded schools and 16 to 19 "
            "settings") in lines
    assert "• not have had DfE funding for NPQLPM before" in lines
    assert any(line.startswith("• meet the prerequisite: At least a year of the Maths Hubs "
                               "Teaching for Mastery") for line in lines)
    assert "For a state-funded school or academy: funded." in answer.text
    assert_funding_answer(session, answer)


def test_eligibility_asks_the_setting_when_it_decides(session: Session) -> None:
    answer = eligibility_answer(session, today=TODAY, programme_code="NPQEYL")
    assert answer.text.startswith("Funding for NPQEYL depends on where you work.")
    assert [b.entities["setting"] for b in answer.buttons] == [
        "school", "sixteen_to_nineteen", "early_years", "itt_provider", "independent"]
    assert {b.intent for b in answer.buttons} == {"ask_eligibility"}
    assert_funding_answer(session, answer)
    funded = eligibility_answer(session, today=TODAY, programme_code="NPQEYL", setting="nursery")
    assert "For an early years setting (nursery or childminder): funded." in funded.text


def test_ehco_is_funded_for_a_new_head(session: Session) -> None:
    new_head = eligibility_answer(session, today=TODAY, programme_code="EHCO", setting="school",
                                  role="new_headteacher")
    assert "For a state-funded school or academy: funded." in new_head.text
    assert "You must be a headteacher in your first five years of headship." in new_head.text
    unknown = eligibility_answer(session, today=TODAY, programme_code="EHCO", setting="school")
    assert "funded if you're in your first five years of headship" in unknown.text


def test_an_unfunded_programme_says_so_without_asking(session: Session) -> None:
    answer = eligibility_answer(session, today=TODAY, programme_code="NPQEL", intake="2027a")
    assert answer.text.startswith("NPQEL has no scholarship funding in spring 2027.")
    assert "For anyone: not funded." in answer.text
    assert_funding_answer(session, answer)


def test_eligibility_without_a_programme_asks_which(session: Session) -> None:
    answer = eligibility_answer(session, today=TODAY)
    assert answer.text == "Which NPQ are you asking about?"
    current = session.scalars(select(Cohort.programme_code).distinct()).all()
    assert {b.entities["npq"] for b in answer.buttons} == set(current)
    legacy = eligibility_answer(session, today=TODAY, programme_code="NPQML")
    assert {b.entities["npq"] for b in legacy.buttons} == {"NPQLT", "NPQLTD", "NPQLBC"}


@pytest.mark.parametrize("code", ["NPQLT", "NPQLTD", "NPQLBC", "NPQLL", "NPQLPM", "NPQEYL",
                                  "NPQSENCO", "NPQSL", "NPQH", "NPQEL", "EHCO"])
@pytest.mark.parametrize("setting", [None, *SETTING_LABELS])
def test_every_programme_and_setting_fits_a_phone(session: Session, code: str,
                                                  setting: str | None) -> None:
    for today in (TODAY, AFTER_SPRING):
        assert_funding_answer(session, funding_answer(session, today=today, programme_code=code,
                                                      setting=setting))
        assert_funding_answer(session, eligibility_answer(session, today=today,
                                                          programme_code=code, setting=setting))


def test_free_text_phase_and_role_are_understood(session: Session) -> None:
    by_text = funding_answer(session, today=TODAY, programme_code="EHCO", phase="a primary school",
                             role="I'm a new head")
    by_key = funding_answer(session, today=TODAY, programme_code="EHCO", phase="primary",
                            role="new_headteacher")
    assert by_text == by_key
    assert "for a state-funded school or academy: funded." in by_key.text
