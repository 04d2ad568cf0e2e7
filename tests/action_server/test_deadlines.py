"""When applications close: for a programme, a place, a named hub or a shared location, with the
programme remembered and a bare place sent next continuing the question. Today is frozen at
22 November 2026 (conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.events import SlotSet

from actions.deadlines import ActionDeadlines
from tests.action_server.conftest import entity, run, tracker


def pending(code: str | None) -> SlotSet:
    return SlotSet("pending", {"kind": "place", "intent": "ask_deadlines", "npq": code})


async def test_without_a_programme_or_place_every_programme_gets_its_earliest_deadline() -> None:
    outcome = await run(ActionDeadlines(), tracker("when are the deadlines?", "ask_deadlines"))
    lines = outcome.text.split("\n")
    assert lines[0] == "The earliest deadlines across our hubs (each hub sets its own):"
    assert "• NPQH: spring 2027, 15 January 2027 (in 54 days)" in lines
    assert "• EHCO (coaching, not an NPQ): spring 2027, 26 January 2027 (in 65 days)" in lines
    assert len([line for line in lines if line.startswith("• ")]) == 11
    assert lines[-1] == "Which NPQ, and where are you? I'll give you your nearest hub's date."
    assert outcome.buttons == [
        {"title": "Find my nearest hub", "payload": "/find_hub"},
        {"title": "Which NPQ suits me?", "payload": "/recommend_npq"},
        {"title": "Remind me about deadlines", "payload": "/subscribe_reminders"}]
    assert outcome.events == [pending(None)]


@pytest.mark.parametrize("entities, slots", [
    ([entity("npq", "NPQH")], {}),
    ([], {"npq": "NPQH"}),  # the programme the conversation is about
    ([entity("npq", "NPQH")], {"npq": "NPQSL"}),  # this message wins
])
async def test_a_programme_without_a_place_gets_the_national_answer(
        entities: list[dict[str, Any]], slots: dict[str, str]) -> None:
    outcome = await run(ActionDeadlines(), tracker(
        "when is the deadline?", "ask_deadlines", entities, slots=slots))
    assert outcome.text == (
        "NPQH (NPQ for Headship): the next intake is spring 2027.\n"
        "Courses start between 8 February 2027 and 16 March 2027, depending on the hub.\n"
        "Each hub sets its own deadline: the earliest is 15 January 2027 (in 54 days), the latest "
        "19 February 2027.\nTell me your town or postcode for your nearest hub's date.")
    assert outcome.buttons == [
        {"title": "Deadlines near me", "payload": '/find_hub{"npq": "NPQH"}'},
        {"title": "Remind me about NPQH", "payload": '/subscribe_reminders{"npq": "NPQH"}'},
        {"title": "Is it funded?", "payload": '/ask_funding{"npq": "NPQH"}'}]
    assert outcome.events == [SlotSet("npq", "NPQH"), pending("NPQH")]


@pytest.mark.parametrize("text, entities, near", [
    ("npqh deadline keighley", [entity("location", "Keighley")], "Keighley"),
    ("npqh deadline BD21", [entity("postcode", "BD21")], "BD21"),
    ("npqh deadline near me", [entity("latitude", 53.8679), entity("longitude", -1.9066)],
     "your location"),
])
async def test_a_programme_and_a_place_list_the_three_nearest_hubs(
        text: str, entities: list[dict[str, Any]], near: str) -> None:
    outcome = await run(ActionDeadlines(), tracker(
        text, "ask_deadlines", [entity("npq", "NPQH"), *entities]))
    lines = outcome.text.split("\n")
    assert lines[0] == f"NPQH deadlines near {near}:"
    assert lines[1].startswith("1. Keighley NPQ Hub (")
    assert lines[1].endswith("): spring 2027, apply by 12 February 2027 (in 82 days), starts "
                             "3 March 2027")
    assert [line.split(" (")[0] for line in lines[2:]] == ["2. Bradford NPQ Hub",
                                                           "3. Leeds NPQ Hub"]
    assert outcome.buttons[0] == {"title": "Remind me about NPQH",
                                  "payload": '/subscribe_reminders{"npq": "NPQH"}'}
    remembered = [] if near == "your location" else [SlotSet("place", near)]
    assert outcome.events == [SlotSet("npq", "NPQH"), *remembered, pending("NPQH")]


async def test_a_place_asked_about_before_answers_a_later_question_that_names_none() -> None:
    outcome = await run(ActionDeadlines(), tracker(
        "whens the closing date", "ask_deadlines", slots={"npq": "NPQH", "place": "BD21"}))
    lines = outcome.text.split("\n")
    assert lines[0] == "NPQH deadlines near BD21:"
    assert lines[1].startswith("1. Keighley NPQ Hub (")
    assert outcome.events == [SlotSet("npq", "NPQH"), pending("NPQH")]
    elsewhere = await run(ActionDeadlines(), tracker(
        "npqh deadline in leeds", "ask_deadlines", [entity("location", "Leeds")],
        slots={"npq": "NPQH", "place": "BD21"}))
    assert elsewhere.text.startswith("NPQH deadlines near Leeds:")
    assert SlotSet("place", "Leeds") in elsewhere.events


async def test_a_named_hub_lists_every_programme_it_runs() -> None:
    outcome = await run(ActionDeadlines(), tracker(
        "keighley hub deadlines", "ask_deadlines", [entity("location", "Keighley hub")]))
    lines = outcome.text.split("\n")
    assert lines[0] == "Deadlines at Keighley NPQ Hub:"
    assert "• NPQH: spring 2027, apply by 12 February 2027 (in 82 days), starts 3 March 2027" \
        in lines
    assert ("• NPQEL: autumn 2027, apply by 6 September 2027 (in 288 days), starts 11 October "
            "2027") in lines
    assert ("• NPQSENCO: spring 2027, apply by 12 February 2027 (in 82 days), starts 1 March "
            "2027; 12 places left") in lines
    assert outcome.events == [SlotSet("place", "Keighley"), pending(None)]


async def test_a_hub_that_does_not_run_the_programme_says_so_and_offers_the_ones_that_do() -> None:
    outcome = await run(ActionDeadlines(), tracker(
        "npqeyl at keighley hub", "ask_deadlines",
        [entity("npq", "NPQEYL"), entity("location", "Keighley hub")]))
    assert outcome.text == ("Keighley NPQ Hub doesn't run NPQEYL. Shall I find the nearest hubs "
                            "that do?")
    assert outcome.buttons == [
        {"title": "Hubs offering NPQEYL",
         "payload": '/find_hub{"npq": "NPQEYL", "location": "Keighley"}'},
        {"title": "All NPQEYL deadlines", "payload": '/ask_deadlines{"npq": "NPQEYL"}'}]


@pytest.mark.parametrize("place, reply", [
    ("Qwertyuiop", "I couldn't find a place called \"Qwertyuiop\" in England. Could you send a "
                   "nearby town or your postcode (the first half, like BD21, is enough)?"),
    ("Cardiff", "Cardiff is in Wales. NPQs are for teachers and leaders in England, so our hubs "
                "are all in England. Which English town or postcode should I look near?"),
])
async def test_a_place_we_cannot_use_gets_a_question_back(place: str, reply: str) -> None:
    outcome = await run(ActionDeadlines(), tracker(
        f"deadlines in {place}", "ask_deadlines", [entity("location", place)]))
    assert outcome.text == reply
    assert outcome.events == [pending(None)]  # the next bare place continues the question


async def test_an_unknown_programme_is_named_back_and_nothing_is_remembered() -> None:
    outcome = await run(ActionDeadlines(), tracker(
        "deadline for NPQXYZ", "ask_deadlines", [entity("npq", "NPQXYZ")]))
    assert outcome.text == "I don't know an NPQ called \"NPQXYZ\". Which one do you mean?"
    assert outcome.buttons == [{"title": "Which NPQs are there?", "payload": "/programme_info"}]
    assert outcome.events == [pending(None)]


async def test_a_legacy_programme_offers_its_successors_without_choosing_one() -> None:
    """Regression: the first successor's code (NPQLBC) used to become the conversation's
    programme, so a bare "Leeds" next gave NPQLBC deadlines nobody asked for."""
    outcome = await run(ActionDeadlines(), tracker(
        "when can I apply for NPQML?", "ask_deadlines", [entity("npq", "NPQML")]))
    assert outcome.text.startswith("NPQML is no longer offered, so it has no deadlines. It was "
                                   "replaced by NPQLBC, NPQLT, NPQLTD.")
    assert [b["payload"] for b in outcome.buttons] == [
        '/ask_deadlines{"npq": "NPQLBC"}', '/ask_deadlines{"npq": "NPQLT"}',
        '/ask_deadlines{"npq": "NPQLTD"}']
    assert outcome.events == [pending(None)]


async def test_a_deadline_question_that_also_asks_if_it_is_free_gets_both() -> None:
    outcome = await run(ActionDeadlines(), tracker(
        "when do applications close for npqh and is it free?", "ask_deadlines",
        [entity("npq", "NPQH")], slots={"setting": "state_school"}))
    assert outcome.text.split("\n\n")[-1].startswith("And the funding: NPQH in spring 2027")
