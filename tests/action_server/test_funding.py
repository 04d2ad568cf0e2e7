"""Funding and eligibility: the overview, one programme's rules, the verdict for where the user
works (asked with buttons when it decides the answer) and the programme and setting remembered."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.events import SlotSet

from actions.funding import ActionEligibility, ActionFunding
from tests.action_server.conftest import entity, run, tracker

SMALL_PRINT = ("Funding is only for people working in England, once per NPQ, and independent "
               "schools aren't covered. Places are capped, so being eligible doesn't guarantee "
               "one. Official guidance: https://www.gov.uk/government/publications/"
               "funding-for-national-professional-qualifications-npqs")
SETTINGS = [("State school or academy", "school"), ("Sixth form or FE college",
                                                    "sixteen_to_nineteen"),
            ("Nursery or childminder", "early_years"), ("ITT provider", "itt_provider"),
            ("Independent school", "independent")]


def setting_buttons(intent: str, code: str) -> list[dict[str, str]]:
    return [{"title": title, "payload": f'/{intent}{{"setting": "{key}", "npq": "{code}"}}'}
            for title, key in SETTINGS]


async def test_funding_without_a_programme_groups_every_programme_by_who_is_funded() -> None:
    outcome = await run(ActionFunding(), tracker("is the NPQ funded?", "ask_funding"))
    lines = outcome.text.split("\n")
    assert lines[0] == "Scholarship funding for spring 2027:"
    assert ("• For everyone eligible in state-funded schools and 16 to 19 settings: NPQH, NPQLPM, "
            "NPQSENCO") in lines
    assert "• Not funded this intake: NPQEL, NPQLBC" in lines
    assert lines[-1] == SMALL_PRINT
    assert [b["payload"] for b in outcome.buttons] == ["/ask_eligibility", "/recommend_npq",
                                                       "/ask_deadlines"]
    assert outcome.events == []


@pytest.mark.parametrize("code, summary", [
    ("NPQH", "NPQH in spring 2027: funded for everyone in state-funded schools and 16 to 19 "
             "settings."),
    ("NPQLT", "NPQLT in spring 2027: funded in state-funded schools if your school is in the top "
              "50% of schools by pupil premium."),
])
async def test_funding_that_depends_on_the_setting_asks_where_the_user_works(
        code: str, summary: str) -> None:
    outcome = await run(ActionFunding(), tracker(
        f"is {code} funded?", "ask_funding", [entity("npq", code)]))
    assert outcome.text == "\n".join([summary, "Where do you work? I'll tell you what applies to "
                                      "you.", "", SMALL_PRINT])
    assert outcome.buttons == setting_buttons("ask_funding", code)
    assert outcome.events == [SlotSet("npq", code), SlotSet("pending", {
        "kind": "setting", "intent": "ask_funding", "npq": code})]


@pytest.mark.parametrize("code, setting, verdict", [
    ("NPQH", "school", "NPQH in spring 2027, for a state-funded school or academy: funded. The "
                       "DfE pays the course fee, and you don't need to apply separately."),
    ("NPQLT", "school", "NPQLT in spring 2027, for a state-funded school or academy: funded if "
                        "your school is in the top 50% of schools by pupil premium. Otherwise: "
                        "without funding the school pays the course fee, which varies by "
                        "provider: ask your hub."),
    ("NPQH", "independent", "NPQH in spring 2027, for an independent (private) school: not "
                            "funded: scholarship funding doesn't cover independent schools."),
])
async def test_the_setting_from_a_button_gives_the_verdict_and_is_remembered(
        code: str, setting: str, verdict: str) -> None:
    outcome = await run(ActionFunding(), tracker(
        f'/ask_funding{{"setting": "{setting}", "npq": "{code}"}}', "ask_funding",
        [entity("npq", code), entity("setting", setting)],
        slots={"pending": {"kind": "setting", "intent": "ask_funding", "npq": code}}))
    assert outcome.text.startswith(verdict)
    assert outcome.text.endswith(SMALL_PRINT)
    assert outcome.buttons[0] == {"title": "Am I eligible?",
                                  "payload": f'/ask_eligibility{{"npq": "{code}"}}'}
    assert outcome.events == [SlotSet("npq", code), SlotSet("setting", setting),
                              SlotSet("pending", None)]  # the question is answered


@pytest.mark.parametrize("slots, verdict", [
    ({"setting": "school"}, "for a state-funded school or academy: funded if your school"),
    ({"phase": "early_years"}, "for an early years setting (nursery or childminder): not funded."),
])
async def test_a_setting_or_phase_known_earlier_answers_without_asking(
        slots: dict[str, str], verdict: str) -> None:
    outcome = await run(ActionFunding(), tracker(
        "is NPQLT funded?", "ask_funding", [entity("npq", "NPQLT")], slots=slots))
    assert verdict in outcome.text
    assert "Where do you work?" not in outcome.text
    assert outcome.slot("pending") is None


async def test_funding_for_a_legacy_programme_says_so_and_gives_the_overview() -> None:
    outcome = await run(ActionFunding(), tracker(
        "is NPQML funded?", "ask_funding", [entity("npq", "NPQML")]))
    assert outcome.text.startswith("NPQML is no longer offered. Scholarship funding for spring "
                                   "2027:")
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
        "To be funded for NPQH in spring 2027 you need to:", "• work in England",
        "• work where it's funded: for everyone in state-funded schools and 16 to 19 settings",
        "• not have had DfE funding for NPQH before"]
    assert ("For a state-funded school or academy: funded. The DfE pays the course fee"
            in outcome.text)
    assert [b["title"] for b in outcome.buttons] == ["How do I apply?", "Deadlines",
                                                     "Nearest hub"]
    assert outcome.slot("npq") == "NPQH"
