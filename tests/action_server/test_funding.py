"""Funding and eligibility: the overview, one programme's rules, the verdict for where the user
works (asked with buttons when it decides the answer) and the programme and setting remembered."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.events import SlotSet

from actions.funding import ActionEligibility, ActionFunding
from tests.action_server.conftest import entity, run, tracker

SMALL_PRINT = ("Funding is for people working in England, once per NPQ. Places are capped, so "
               "being eligible doesn't guarantee one.")
EXPECTED = "(expected, to be confirmed)"
PP50 = ("Check whether your school is in the top 50%: https://www.gov.uk/government/publications/"
        "funding-for-national-professional-qualifications-eligible-settings")
FEE = "Without funding, the school pays the course fee. Fees vary by provider, so ask your hub."
SETTINGS = [("State school", "school"), ("Sixth form or FE", "sixteen_to_nineteen"),
            ("Nursery/childminder", "early_years"), ("ITT provider", "itt_provider"),
            ("Independent school", "independent")]


def setting_buttons(intent: str, code: str) -> list[dict[str, str]]:
    return [{"title": title, "payload": f'/{intent}{{"setting": "{key}", "npq": "{code}"}}'}
            for title, key in SETTINGS]


async def test_funding_without_a_programme_groups_every_programme_by_who_is_funded() -> None:
    outcome = await run(ActionFunding(), tracker("is the NPQ funded?", "ask_funding"))
    lines = outcome.text.split("\n")
    assert lines[0] == f"Scholarship funding for spring 2027 {EXPECTED}:"
    assert ("• Everyone in state-funded schools and 16 to 19 settings: NPQH, NPQLPM, "
            "NPQSENCO") in lines
    assert PP50 in lines
    assert lines[-1] == SMALL_PRINT
    assert [b["payload"] for b in outcome.buttons] == ["/ask_eligibility", "/recommend_npq",
                                                       "/ask_deadlines"]
    assert outcome.events == []


@pytest.mark.parametrize("code, summary", [
    ("NPQH", [f"NPQH in spring 2027: funded for everyone in state-funded schools and 16 to 19 "
              f"settings {EXPECTED}."]),
    ("NPQLT", [f"NPQLT in spring 2027: funded in state-funded schools if your school is in the "
               f"top 50% of schools by pupil premium {EXPECTED}.", PP50]),
])
async def test_funding_that_depends_on_the_setting_asks_where_the_user_works(
        code: str, summary: list[str]) -> None:
    outcome = await run(ActionFunding(), tracker(
        f"is {code} funded?", "ask_funding", [entity("npq", code)]))
    assert outcome.text == "\n".join([*summary, "Where do you work? I'll tell you what applies "
                                      "to you."])
    assert outcome.buttons == setting_buttons("ask_funding", code)
    assert outcome.events == [SlotSet("npq", code), SlotSet("pending", {
        "kind": "setting", "intent": "ask_funding", "npq": code})]


@pytest.mark.parametrize("code, setting, verdict", [
    ("NPQH", "school", f"NPQH in spring 2027, for a state-funded school or academy: funded "
                       f"{EXPECTED}. The DfE pays the course fee, and you don't need to apply "
                       "for funding separately."),
    ("NPQLT", "school", f"NPQLT in spring 2027, for a state-funded school or academy: funded "
                        f"only if your school is in the top 50% of schools by pupil premium "
                        f"{EXPECTED}."),
    ("NPQH", "independent", "NPQH in spring 2027, for an independent (private) school: not "
                            "funded, because scholarship funding doesn't cover independent "
                            f"schools. {FEE}"),
])
async def test_the_setting_from_a_button_gives_the_verdict_and_is_remembered(
        code: str, setting: str, verdict: str) -> None:
    outcome = await run(ActionFunding(), tracker(
        f'/ask_funding{{"setting": "{setting}", "npq": "{code}"}}', "ask_funding",
        [entity("npq", code), entity("setting", setting)],
        slots={"pending": {"kind": "setting", "intent": "ask_funding", "npq": code}}))
    assert outcome.text.startswith(verdict)
    assert outcome.buttons[0] == {"title": "Am I eligible?",
                                  "payload": f'/ask_eligibility{{"npq": "{code}"}}'}
    assert outcome.events == [SlotSet("npq", code), SlotSet("setting", setting),
                              SlotSet("pending", None)]  # the question is answered


@pytest.mark.parametrize("slots, verdict", [
    ({"setting": "school"}, "for a state-funded school or academy: funded only if your school"),
    ({"phase": "early_years"}, "for an early years setting (nursery or childminder): not funded"),
])
async def test_a_setting_or_phase_known_earlier_answers_without_asking(
        slots: dict[str, str], verdict: str) -> None:
    outcome = await run(ActionFunding(), tracker(
        "is NPQLT funded?", "ask_funding", [entity("npq", "NPQLT")], slots=slots))
    assert verdict in outcome.text
    assert "Where do you work?" not in outcome.text
    assert outcome.slot("pending") is None


@pytest.mark.parametrize("text, intent, opening", [
    ("is my school in the top 50% for pupil premium", "ask_funding",
     "In spring 2027, NPQEL, NPQLBC, NPQLL, NPQLT, NPQLTD, NPQSL are funded only in state-funded "
     "schools in the top 50% by pupil premium"),
    ("do small schools get a grant", "ask_funding", "Targeted support funding was an extra grant "
                                                    "for small schools"),
    ("is there any targeted support funding", "ask_eligibility", "Targeted support funding was"),
    ("if I withdraw do I lose my funding", "ask_funding", "DfE funding is once per NPQ: if you "
                                                         "withdraw or fail"),
])
async def test_a_specific_funding_question_gets_its_own_answer(text: str, intent: str,
                                                               opening: str) -> None:
    action = ActionFunding() if intent == "ask_funding" else ActionEligibility()
    outcome = await run(action, tracker(text, intent))
    assert outcome.text.startswith(opening)


async def test_funding_for_a_legacy_programme_says_so_and_gives_the_overview() -> None:
    outcome = await run(ActionFunding(), tracker(
        "is NPQML funded?", "ask_funding", [entity("npq", "NPQML")]))
    assert outcome.text.startswith("NPQML is no longer offered. Scholarship funding for spring "
                                   "2027")
    assert outcome.events == []


async def test_eligibility_without_a_programme_asks_which_without_choosing_one() -> None:
    """Regression: the first button's programme (EHCO) used to become the conversation's
    programme, so "how do I apply?" next answered about EHCO."""
    outcome = await run(ActionEligibility(), tracker("can I apply?", "ask_eligibility"))
    assert outcome.text == "Which NPQ are you asking about?"
    assert len(outcome.buttons) == 11
    assert outcome.buttons[0] == {"title": "EHCO", "payload": '/ask_eligibility{"npq": "EHCO"}'}
    assert outcome.events == []


async def test_eligibility_for_a_legacy_programme_offers_its_successors() -> None:
    outcome = await run(ActionEligibility(), tracker(
        "can I do NPQML?", "ask_eligibility", [entity("npq", "NPQML")]))
    assert outcome.text == "Which NPQ are you asking about?"
    assert [b["title"] for b in outcome.buttons] == ["NPQLBC", "NPQLT", "NPQLTD"]
    assert outcome.events == []


async def test_eligibility_that_depends_on_the_setting_asks_where_the_user_is_based() -> None:
    outcome = await run(ActionEligibility(), tracker(
        "am I eligible for NPQLT?", "ask_eligibility", [entity("npq", "NPQLT")]))
    assert outcome.text.startswith("Funding for NPQLT depends on where you work. Where are you "
                                   "based?")
    assert outcome.buttons == setting_buttons("ask_eligibility", "NPQLT")
    assert outcome.events == [SlotSet("npq", "NPQLT"), SlotSet("pending", {
        "kind": "setting", "intent": "ask_eligibility", "npq": "NPQLT"})]


@pytest.mark.parametrize("slots", [{"phase": "secondary"}, {"setting": "school"}])
async def test_eligibility_lists_what_the_user_needs_then_the_verdict(
        slots: dict[str, Any]) -> None:
    outcome = await run(ActionEligibility(), tracker(
        "can I get NPQH funded?", "ask_eligibility", [entity("npq", "NPQH")], slots=slots))
    assert outcome.text.split("\n")[:4] == [
        f"To be funded for NPQH in spring 2027 {EXPECTED}, you need to:", "• work in England",
        "• work where it's funded: for everyone in state-funded schools and 16 to 19 settings",
        "• not have had DfE funding for NPQH before"]
    assert ("For a state-funded school or academy: funded. The DfE pays the course fee"
            in outcome.text)
    assert [b["title"] for b in outcome.buttons] == ["How do I apply?", "Deadlines",
                                                     "Nearest hub"]
    assert outcome.slot("npq") == "NPQH"


@pytest.mark.parametrize("text, entities, opening", [
    # hospital schools, virtual schools and YOIs are publicly funded schools: regression, "not
    # funded"; the message says where the person works, whatever phase the model read
    ("I work in a hospital school, is NPQSENCO funded?",
     [entity("npq", "NPQSENCO"), entity("phase", "special")],
     f"NPQSENCO in spring 2027, for a hospital school: funded {EXPECTED}."),
    ("is NPQH funded for young offender institutions", [entity("npq", "NPQH")],
     f"NPQH in spring 2027, for education in a young offender institution: funded {EXPECTED}."),
    ("is NPQEYL funded for a school nursery", [entity("npq", "NPQEYL"),
                                                entity("phase", "early_years")],
     "NPQEYL in spring 2027, for an early years setting (nursery or childminder): funded "
     f"{EXPECTED}."),
    ("can I get NPQSL funded at a private school", [entity("npq", "NPQSL")],
     "NPQSL in spring 2027, for an independent (private) school: not funded, because"),
])
async def test_where_the_message_says_the_person_works_decides_the_verdict(
        text: str, entities: list[dict[str, Any]], opening: str) -> None:
    outcome = await run(ActionFunding(), tracker(text, "ask_funding", entities,
                                                 slots={"phase": "primary"}))
    assert outcome.text.startswith(opening)


async def test_a_place_named_in_any_question_is_remembered_for_later_ones() -> None:
    """'how much wud that cost, my school is in bradford': a later 'any places near me?' or
    'when's the closing date?' answers for Bradford (actions/support.py, respond)."""
    outcome = await run(ActionFunding(), tracker(
        "how much wud that cost, my school is in bradford", "ask_funding",
        [entity("location", "Bradford")], slots={"npq": "NPQH"}))
    assert SlotSet("place", "Bradford") in outcome.events
    abroad = await run(ActionFunding(), tracker(
        "is it funded in cardiff", "ask_funding", [entity("location", "Cardiff")],
        slots={"npq": "NPQH"}))
    assert not [e for e in abroad.events if e.get("name") == "place"]


async def test_a_funding_question_that_also_asks_when_to_apply_gets_both() -> None:
    outcome = await run(ActionFunding(), tracker(
        "is npqh funded and when do i need to apply by?", "ask_funding",
        [entity("npq", "NPQH")], slots={"setting": "state_school"}))
    assert outcome.text.endswith("And the deadline: the first NPQH deadline is 15 January 2027 "
                                 "(in 54 days); each hub sets its own, so tap Deadlines for "
                                 "yours.")
    alone = await run(ActionFunding(), tracker(
        "is npqh funded", "ask_funding", [entity("npq", "NPQH")],
        slots={"setting": "state_school"}))
    assert "deadline" not in alone.text.lower()


@pytest.mark.parametrize("action, text, intent", [
    (ActionEligibility(), "im in cardiff, can i do one", "ask_eligibility"),
    (ActionFunding(), "is npqh free if i teach in glasgow", "ask_funding"),
])
async def test_asked_from_a_place_outside_england_it_says_npqs_are_for_england(
        action: Any, text: str, intent: str) -> None:
    """'im in cardiff, can i do one' was asked 'Which NPQ are you asking about?'."""
    place = "Cardiff" if "cardiff" in text else "Glasgow"
    outcome = await run(action, tracker(text, intent, [entity("location", place)]))
    country = "Wales" if place == "Cardiff" else "Scotland"
    assert outcome.text.startswith(f"{place} is in {country}. NPQs, and the DfE funding for them, "
                                   "are for teachers and leaders working in England.")
    assert not [e for e in outcome.events if e.get("name") == "place"]


async def test_where_someone_works_with_no_programme_named_lists_what_is_funded_there() -> None:
    """'I'm a childminder, can I do an NPQ?' was asked which of eleven programmes; 'is it
    funded for a private nursery' was told an independent school's verdict."""
    asked = await run(ActionEligibility(), tracker("I'm a childminder, can I do an NPQ?",
                                                   "ask_eligibility"))
    assert asked.text.startswith("For an early years setting (nursery or childminder), in "
                                 "spring 2027")
    assert "\n• Funded: NPQEYL\n" in asked.text
    assert SlotSet("setting", "early_years") in asked.events  # kept for "is it free for me?"
    later = await run(ActionFunding(), tracker("is it free for me", "ask_funding",
                                               slots={"setting": "early_years"}))
    assert "\n• Funded: NPQEYL\n" in later.text
    nursery = await run(ActionFunding(), tracker("is npqeyl funded for a private nursery",
                                                 "ask_funding", [entity("npq", "NPQEYL")]))
    assert nursery.text.startswith("NPQEYL in spring 2027, for an early years setting "
                                   "(nursery or childminder): funded")


@pytest.mark.parametrize("text", [
    "I already did NPQSL a few years ago, can I get funding for NPQH?",
    "can I get funding for NPQH? I've done NPQSL already",
])
async def test_a_programme_done_before_is_not_the_one_asked_about(text: str) -> None:
    """The answer was NPQSL's funding: the first programme named."""
    def at(code: str) -> dict[str, Any]:
        start = text.index(code)
        return {"entity": "npq", "value": code, "start": start, "end": start + len(code)}
    entities = sorted([at("NPQSL"), at("NPQH")], key=lambda e: e["start"])
    outcome = await run(ActionFunding(), tracker(text, "ask_funding", entities))
    assert outcome.text.startswith("NPQH in spring 2027")
