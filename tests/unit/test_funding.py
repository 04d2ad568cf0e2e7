"""Funding and eligibility: the rules as tables, the answers from the seeded funding rules."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete, select, update
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
PP50_LINK = ("https://www.gov.uk/government/publications/"
             "funding-for-national-professional-qualifications-eligible-settings")
FEE = "Without funding, the school pays the course fee. Fees vary by provider, so ask your hub."
SMALL_PRINT = ("Funding is for people working in England, once per NPQ. Places are capped, so "
               "being eligible doesn't guarantee one.")
EXPECTED = "(expected, to be confirmed)"


def assert_funding_answer(session: Session, answer: Answer) -> None:
    """Phone-sized, with a next step, and without the long guidance link in every answer."""
    guidance = session.get(NetworkSetting, "funding_guidance")
    assert guidance is not None
    assert answer.text and len(answer.text) < 900, len(answer.text)
    if "haven't" not in answer.text and "don't have the funding rules" not in answer.text:
        assert guidance.value not in answer.text
    assert answer.text.count(SMALL_PRINT) <= 1
    assert answer.buttons
    for button in answer.buttons:
        assert button.intent in INTENTS and set(button.entities) <= ENTITIES


def rule(setting: str, condition: str, funded: bool = True) -> FundingRule:
    return FundingRule(setting=setting, condition=condition, funded=funded, note="",
                       provisional=False)


# --- pure rules ---------------------------------------------------------------------------------

NPQH_RULES = [rule("school", "all_eligible"), rule("sixteen_to_nineteen", "all_eligible")]
NPQLTD_RULES = [rule("school", "pp50"), rule("school", "itt_lead_mentor"),
                rule("other", "itt_lead_mentor")]
EHCO_RULES = [rule("school", "new_headteacher")]
NPQEYL_RULES = [rule("early_years", "all_eligible"), rule("school", "all_eligible")]
UNFUNDED_RULES = [rule("school", "none", funded=False)]


@pytest.mark.parametrize("rules, setting, role, expected", [
    (NPQH_RULES, "school", None, Outcome("funded")),
    (NPQH_RULES, "sixteen_to_nineteen", None, Outcome("funded")),
    # hospital schools, virtual schools and young offender institutions are publicly funded
    # schools: regression, they were told NPQH, NPQSENCO and NPQLPM are not funded
    (NPQH_RULES, "hospital_school", None, Outcome("funded")),
    (NPQH_RULES, "virtual_school", None, Outcome("funded")),
    (NPQH_RULES, "young_offender", None, Outcome("funded")),
    (NPQH_RULES, "early_years", None, Outcome("not_funded")),
    (NPQH_RULES, "other", None, Outcome("not_funded")),
    (NPQH_RULES, "independent", None, Outcome("not_funded")),
    (NPQH_RULES, "outside_england", None, Outcome("not_funded")),
    (NPQH_RULES, None, None, Outcome("not_funded")),
    (NPQLTD_RULES, "school", None, Outcome("conditional", ("pp50", "itt_lead_mentor"))),
    (NPQLTD_RULES, "hospital_school", None, Outcome("conditional", ("pp50", "itt_lead_mentor"))),
    (NPQLTD_RULES, "itt_provider", None, Outcome("conditional", ("itt_lead_mentor",))),
    (NPQLTD_RULES, "early_years", None, Outcome("not_funded")),
    (EHCO_RULES, "school", None, Outcome("conditional", ("new_headteacher",))),
    (EHCO_RULES, "school", "new_headteacher", Outcome("funded")),
    (EHCO_RULES, "independent", "new_headteacher", Outcome("not_funded")),
    # a school nursery is an early years setting in a school: regression, "not funded"
    (NPQEYL_RULES, "school", None, Outcome("funded")),
    (NPQEYL_RULES, "early_years", None, Outcome("funded")),
    (UNFUNDED_RULES, "school", None, Outcome("not_funded")),
    ([], "school", None, Outcome("not_funded")),
])
def test_outcome_for_each_rule_shape(rules: list[FundingRule], setting: str | None,
                                     role: str | None, expected: Outcome) -> None:
    assert outcome(rules, setting, role) == expected


@pytest.mark.parametrize("text, setting", [
    ("state school", "school"), ("an academy", "school"), ("maintained primary", "school"),
    ("We're a MAT", "school"), ("special school", "school"), ("school", "school"),
    ("nursery", "early_years"), ("I'm a childminder", "early_years"),
    ("pre-school", "early_years"), ("our school nursery", "early_years"),
    ("sixth form college", "sixteen_to_nineteen"), ("FE college", "sixteen_to_nineteen"),
    ("further education", "sixteen_to_nineteen"),
    ("independent school", "independent"), ("a private school", "independent"),
    ("fee-paying prep school", "independent"),
    # a private nursery is an early years setting (NPQEYL is funded there), not an
    # independent school: 'is it funded for a private nursery' was told it was not
    ("is it funded for a private nursery", "early_years"),
    ("I manage a private day nursery", "early_years"), ("a PVI setting", "early_years"),
    ("an independent school with a nursery", "independent"),
    ("ITT provider", "itt_provider"), ("a SCITT", "itt_provider"),
    ("university teacher training", "itt_provider"),
    ("local authority", "other"), ("the council", "other"),
    ("virtual school", "virtual_school"), ("I'm the virtual school head", "virtual_school"),
    ("a hospital school", "hospital_school"), ("hospital education service", "hospital_school"),
    ("young offender institution", "young_offender"), ("a YOI", "young_offender"),
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
    assert answer.text.splitlines() == [
        f"Scholarship funding for spring 2027 {EXPECTED}:",
        "• Everyone in state-funded schools and 16 to 19 settings: NPQH, NPQLPM, NPQSENCO",
        "• Everyone in state-funded schools and early years settings: NPQEYL",
        "• Only state-funded schools in the top 50% by pupil premium: NPQEL, NPQLBC, NPQLL, "
        "NPQLT, NPQLTD, NPQSL",
        "• ITT lead mentors: NPQLTD",
        "• Headteachers in their first five years: EHCO",
        "",
        f"Check whether your school is in the top 50%: {PP50_LINK}",
        "",
        SMALL_PRINT]
    assert [b.intent for b in answer.buttons] == ["ask_eligibility", "recommend_npq",
                                                  "ask_deadlines"]
    assert_funding_answer(session, answer)


def test_spring_2027_funds_npqlbc_and_npqel_like_the_other_targeted_npqs(
        session: Session) -> None:
    """Regression: spring 2027 had NPQLBC and NPQEL unfunded while the other targeted NPQs were
    funded, a split nothing published supports. Both intakes now follow the same rules, so only
    the next intake is shown."""
    for code in ("NPQLBC", "NPQEL"):
        answer = funding_answer(session, today=TODAY, programme_code=code, setting="school")
        assert answer.text.startswith(
            f"{code} in spring 2027, for a state-funded school or academy: funded only if your "
            f"school is in the top 50% of schools by pupil premium {EXPECTED}.")
        assert "autumn 2027" not in answer.text
    spring = set(session.scalars(select(Cohort.funding).where(
        Cohort.programme_code.in_(["NPQLBC", "NPQEL"]), Cohort.intake == "2027a")))
    assert spring == {"targeted"}


def test_every_shipped_rule_is_marked_and_sourced(session: Session) -> None:
    rules = session.scalars(select(FundingRule)).all()
    assert rules and all(r.provisional for r in rules)  # 2027's rules are not yet published
    assert all(r.source.startswith("Projected from the 2025 DfE") for r in rules)


def test_published_rules_are_stated_without_the_caveat(session: Session) -> None:
    session.execute(update(FundingRule).values(provisional=False, source="GOV.UK, 2027"))
    session.flush()
    answer = funding_answer(session, today=TODAY, programme_code="NPQH", setting="school")
    assert answer.text.startswith("NPQH in spring 2027, for a state-funded school or academy: "
                                  "funded. The DfE pays the course fee")
    assert "to be confirmed" not in answer.text
    assert "to be confirmed" not in funding_answer(session, today=TODAY).text


@pytest.mark.parametrize("setting, phase, verdict", [
    ("school", None, f"funded {EXPECTED}. The DfE pays the course fee, and you don't need to "
                     "apply for funding separately."),
    ("academy", None, f"funded {EXPECTED}. The DfE pays the course fee"),
    (None, "secondary", f"funded {EXPECTED}. The DfE pays the course fee"),
    (None, "sixteen_to_nineteen", f"funded {EXPECTED}. The DfE pays the course fee"),
    ("a hospital school", None, f"funded {EXPECTED}. The DfE pays the course fee"),
    ("virtual school", None, f"funded {EXPECTED}. The DfE pays the course fee"),
    ("young offender institution", None, f"funded {EXPECTED}. The DfE pays the course fee"),
    ("early_years", None, f"not funded {EXPECTED}. {FEE}"),
    (None, "early_years", f"not funded {EXPECTED}. {FEE}"),
    ("independent", "secondary", f"not funded, because scholarship funding doesn't cover "
                                 f"independent schools. {FEE}"),
    ("a school in Scotland", None, "not funded, because scholarship funding is only for people "
                                   "working in England."),
])
def test_a_setting_gives_the_verdict(session: Session, setting: str | None, phase: str | None,
                                     verdict: str) -> None:
    answer = funding_answer(session, today=TODAY, programme_code="NPQH", setting=setting,
                            phase=phase)
    assert answer.text.startswith("NPQH in spring 2027, for ")
    assert verdict in answer.text
    assert (SMALL_PRINT in answer.text) == verdict.startswith("funded")
    assert_funding_answer(session, answer)


@pytest.mark.parametrize("setting, label", [
    ("school", "a state-funded school or academy"),  # a school nursery's leader: "State school"
    ("our school nursery", "an early years setting (nursery or childminder)"),
    ("nursery", "an early years setting (nursery or childminder)"),
])
def test_npqeyl_is_funded_for_a_school_nursery(session: Session, setting: str,
                                               label: str) -> None:
    """Regression: the card says NPQEYL is for school nurseries, and a school was told it was
    not funded."""
    answer = funding_answer(session, today=TODAY, programme_code="NPQEYL", setting=setting)
    assert answer.text.startswith(f"NPQEYL in spring 2027, for {label}: funded {EXPECTED}.")


def test_pp50_funding_is_conditional_gives_the_check_and_the_fee_fallback(
        session: Session) -> None:
    answer = funding_answer(session, today=TODAY, programme_code="NPQLT", setting="school")
    assert answer.text == "\n".join([
        "NPQLT in spring 2027, for a state-funded school or academy: funded only if your school "
        f"is in the top 50% of schools by pupil premium {EXPECTED}.",
        f"Check your school: {PP50_LINK}",
        f"If not, it isn't funded. {FEE}",
        "",
        SMALL_PRINT])
    assert "Otherwise:" not in answer.text  # regression: "Otherwise: without funding ...: ask"
    assert_funding_answer(session, answer)


def test_without_a_setting_it_summarises_gives_the_check_and_asks_where_they_work(
        session: Session) -> None:
    answer = funding_answer(session, today=TODAY, programme_code="NPQLTD")
    assert answer.text == "\n".join([
        "NPQLTD in spring 2027: funded in state-funded schools if your school is in the top 50% "
        "of schools by pupil premium; or in state-funded schools and other settings (such as "
        f"ITT providers) if you're an ITT lead mentor {EXPECTED}.",
        f"Check whether your school is in the top 50%: {PP50_LINK}",
        "Where do you work? I'll tell you what applies to you."])
    assert [b.title for b in answer.buttons] == ["State school", "Sixth form or FE",
                                                 "Nursery/childminder", "ITT provider",
                                                 "Independent school"]
    assert {b.entities["setting"] for b in answer.buttons} <= set(SETTING_LABELS)
    assert {b.intent for b in answer.buttons} == {"ask_funding"}
    assert all(b.entities["npq"] == "NPQLTD" for b in answer.buttons)
    assert_funding_answer(session, answer)


def test_rules_that_change_between_intakes_are_both_shown(session: Session) -> None:
    session.execute(delete(FundingRule).where(FundingRule.programme_code == "NPQLBC",
                                              FundingRule.intake == "2027a"))
    session.add(FundingRule(intake="2027a", programme_code="NPQLBC", setting="school",
                            condition="none", funded=False, note="", provisional=False,
                            source="GOV.UK"))
    session.flush()
    answer = funding_answer(session, today=TODAY, programme_code="NPQLBC", setting="school")
    assert ("NPQLBC in spring 2027, for a state-funded school or academy: not funded. "
            in answer.text)
    assert (f"NPQLBC in autumn 2027, for a state-funded school or academy: funded only if your "
            f"school is in the top 50% of schools by pupil premium {EXPECTED}." in answer.text)


def test_staff_edits_to_the_rules_change_the_answer(session: Session) -> None:
    session.execute(delete(FundingRule).where(FundingRule.programme_code == "NPQEL"))
    session.add(FundingRule(intake="2027a", programme_code="NPQEL", setting="school",
                            condition="all_eligible", funded=True, note="Newly funded.",
                            provisional=False, source="GOV.UK"))
    session.flush()
    answer = funding_answer(session, today=TODAY, programme_code="NPQEL", setting="school")
    assert "NPQEL in spring 2027, for a state-funded school or academy: funded." in answer.text


def test_no_rules_published_says_so_with_the_guidance(session: Session) -> None:
    answer = funding_answer(session, today=dt.date(2030, 1, 1), programme_code="NPQH")
    assert answer.text.startswith("I don't have the funding rules for NPQH for the next intake "
                                  "yet. The DfE publishes them here: https://www.gov.uk/")
    assert answer.buttons[0].intent == "subscribe_reminders"
    assert_funding_answer(session, answer)
    session.execute(delete(FundingRule))
    assert "don't have the funding rules" in funding_answer(session, today=TODAY).text


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
    {"programme_code": "NPQH", "question": "z" * 5000},
])
def test_bad_input_gets_a_clear_answer(session: Session, kwargs: dict) -> None:
    answer = funding_answer(session, today=TODAY, **kwargs)
    assert_funding_answer(session, answer)
    assert session.scalar(select(FundingRule).limit(1)) is not None


# --- the specific questions funding answers -----------------------------------------------------

@pytest.mark.parametrize("question", [
    "is my school in the top 50% for pupil premium", "what's the PP50 rule",
    "is funding only for schools in the top 50% for pupil premium",
])
def test_the_pupil_premium_question_names_the_npqs_and_gives_the_link(
        session: Session, question: str) -> None:
    answer = funding_answer(session, today=TODAY, question=question)
    assert answer.text == "\n\n".join([
        "In spring 2027, NPQEL, NPQLBC, NPQLL, NPQLT, NPQLTD, NPQSL are funded only in "
        f"state-funded schools in the top 50% by pupil premium {EXPECTED}.",
        f"Check your school on the DfE's list: {PP50_LINK}",
        f"If your school isn't on it, they aren't funded. {FEE}"])
    assert_funding_answer(session, answer)


def test_the_pupil_premium_question_about_one_programme_gives_its_verdict(
        session: Session) -> None:
    answer = funding_answer(session, today=TODAY, programme_code="NPQSL",
                            question="our school has low pupil premium, would we have to pay "
                                     "for NPQSL")
    assert answer.text.startswith("NPQSL in spring 2027, for a state-funded school or academy: "
                                  "funded only if your school is in the top 50%")
    assert f"Check your school: {PP50_LINK}" in answer.text


@pytest.mark.parametrize("question", ["do small schools get a grant",
                                      "is there any targeted support funding",
                                      "is there a grant for supply cover"])
def test_the_small_school_grant_is_answered_in_its_own_terms(session: Session,
                                                             question: str) -> None:
    answer = funding_answer(session, today=TODAY, question=question)
    grant = session.get(NetworkSetting, "targeted_support_funding")
    guidance = session.get(NetworkSetting, "funding_guidance")
    assert grant is not None and guidance is not None
    assert answer.text == (f"{grant.value}\n\nThe DfE's funding guidance says what applies this "
                           f"round: {guidance.value}")
    assert "£800 for a primary school with up to 150 pupils, £200 otherwise" in answer.text


@pytest.mark.parametrize("question", ["if I fail do I have to pay back the funding",
                                      "if I withdraw do I lose my funding",
                                      "is there a fee for resitting the assessment"])
def test_failing_or_withdrawing_leads_with_funding_once_per_npq(session: Session,
                                                                question: str) -> None:
    answer = funding_answer(session, today=TODAY, programme_code="NPQSL", question=question)
    assert answer.text.startswith("DfE funding is once per NPQ: if you withdraw or fail, you "
                                  "can't be funded for that NPQ again.\n\nHow NPQSL is assessed:")


# --- eligibility answers --------------------------------------------------------------------------

def test_npqlpm_eligibility_needs_the_teaching_for_mastery_prerequisite(session: Session) -> None:
    answer = eligibility_answer(session, today=TODAY, programme_code="NPQLPM", phase="primary")
    lines = answer.text.splitlines()
    assert lines[0] == f"To be funded for NPQLPM in spring 2027 {EXPECTED}, you need to:"
    assert "• work in England" in lines
    assert ("• work where it's funded: for everyone in state-funded schools and 16 to 19 "
            "settings") in lines
    assert "• not have had DfE funding for NPQLPM before" in lines
    assert any(line.startswith("• meet the prerequisite: At least a year of the Maths Hubs "
                               "Teaching for Mastery") for line in lines)
    assert "For a state-funded school or academy: funded." in answer.text
    assert_funding_answer(session, answer)


def test_eligibility_asks_the_setting_when_it_decides(session: Session) -> None:
    answer = eligibility_answer(session, today=TODAY, programme_code="NPQLT")
    assert answer.text == "Funding for NPQLT depends on where you work. Where are you based?"
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
    assert "funded only if you're in your first five years of headship" in unknown.text


def test_an_unfunded_programme_says_so_without_asking(session: Session) -> None:
    session.execute(update(FundingRule).where(FundingRule.programme_code == "NPQEL",
                                              FundingRule.intake == "2027a")
                    .values(funded=False, condition="none"))
    session.flush()
    answer = eligibility_answer(session, today=TODAY, programme_code="NPQEL", intake="2027a")
    assert answer.text.startswith(f"NPQEL has no scholarship funding in spring 2027 {EXPECTED}.")
    assert f"For anyone: not funded. {FEE}" in answer.text
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
    assert f"for a state-funded school or academy: funded {EXPECTED}." in by_key.text


@pytest.mark.parametrize("question, verdict", [
    ("Our school is in the top 50% for pupil premium, does that mean NPQLT is free?",
     "funded (expected, to be confirmed), as your school is in the top 50% of schools by pupil "
     "premium. The DfE pays the course fee."),
    ("we're not in the top 50%, is npqlt funded", "not funded (expected, to be confirmed), as it "
                                                   "is only funded in schools in the top 50%"),
    ("is npqlt free", "funded only if your school is in the top 50% of schools by pupil premium"),
])
def test_a_school_that_says_where_it_stands_on_pupil_premium_gets_its_verdict(
        session: Session, question: str, verdict: str) -> None:
    """'Our school is in the top 50%..., does that mean NPQLT is free?' got 'funded only if your
    school is in the top 50%'."""
    answer = funding_answer(session, today=TODAY, programme_code="NPQLT", question=question,
                            setting="school")
    assert answer.text.startswith(f"NPQLT in spring 2027, for a state-funded school or academy: "
                                  f"{verdict}")
