"""action_follow_up: a bare place, setting, role, programme, yes or no outside a form continues
what was asked last (the `pending` slot), or acts on what the message says."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.events import FollowupAction, SlotSet

from actions.follow_up import ActionFollowUp
from tests.action_server.conftest import entity, run, tracker

DEADLINES_ASKED = {"kind": "place", "intent": "ask_deadlines", "npq": "NPQH"}


async def test_inside_a_form_it_apologises_and_the_form_asks_again() -> None:
    outcome = await run(ActionFollowUp(), tracker(
        "Leeds", "inform", [entity("location", "Leeds")], form="recommend_form",
        requested_slot="role", slots={"pending": DEADLINES_ASKED}))
    assert outcome.text == "Sorry, I didn't catch that."
    assert outcome.events == []


@pytest.mark.parametrize("entities", [[entity("location", "Leeds")], [entity("postcode", "LS1")]])
async def test_a_bare_place_after_a_deadlines_answer_gives_the_deadlines_there(
        entities: list[dict[str, Any]]) -> None:
    outcome = await run(ActionFollowUp(), tracker(
        "Leeds", "inform", entities, slots={"npq": "NPQH", "pending": DEADLINES_ASKED}))
    lines = outcome.text.split("\n")
    assert lines[0].startswith("NPQH deadlines near ")
    assert lines[1].startswith("1. Leeds NPQ Hub (")
    assert lines[1].endswith("spring 2027, apply by 18 February 2027 (in 88 days), starts 15 "
                             "March 2027; full (ask about the waiting list)")
    place = entities[0]["value"]
    assert outcome.events == [SlotSet("npq", "NPQH"), SlotSet("place", place),
                              SlotSet("pending", DEADLINES_ASKED)]


@pytest.mark.parametrize("slots", [{}, {"pending": {"kind": "clarify"}}])
async def test_a_bare_place_with_no_deadlines_question_finds_the_nearest_hubs(
        slots: dict[str, Any]) -> None:
    outcome = await run(ActionFollowUp(), tracker(
        "Keighley", "inform", [entity("location", "Keighley")], slots=slots))
    assert outcome.text.startswith("The nearest hubs to Keighley:\n\n1. Keighley NPQ Hub, Keighley")
    assert [b["payload"] for b in outcome.buttons] == [
        '/ask_deadlines{"location": "Keighley"}', "/recommend_npq", "/programme_info"]
    assert outcome.events == [SlotSet("place", "Keighley"),
                              *([SlotSet("pending", None)] if slots else [])]


@pytest.mark.parametrize("text, entities, slots, verdict, setting", [
    ("an academy", [], {}, "For a state-funded school or academy: funded only if your school",
     "school"),
    ("we're a private school", [], {}, "For an independent (private) school: not funded",
     "independent"),
    ("a hospital school", [], {}, "For a hospital school: funded only if your school",
     "hospital_school"),
    ('/ask_eligibility{"setting": "early_years"}', [entity("setting", "early_years")], {},
     "For an early years setting (nursery or childminder): not funded", "early_years"),
])
async def test_a_bare_setting_after_an_eligibility_question_gives_the_verdict(
        text: str, entities: list[dict[str, Any]], slots: dict[str, Any], verdict: str,
        setting: str) -> None:
    asked = {"kind": "setting", "intent": "ask_eligibility", "npq": "NPQLT"}
    outcome = await run(ActionFollowUp(), tracker(
        text, "inform", entities, slots={"npq": "NPQLT", "pending": asked, **slots}))
    assert outcome.text.startswith("To be funded for NPQLT in spring 2027 (expected, to be "
                                   "confirmed), you need to:")
    assert verdict in outcome.text
    assert outcome.events == [SlotSet("npq", "NPQLT"), SlotSet("setting", setting),
                              SlotSet("pending", None)]


async def test_a_phase_answers_a_funding_question_about_the_setting() -> None:
    asked = {"kind": "setting", "intent": "ask_funding", "npq": "NPQLT"}
    outcome = await run(ActionFollowUp(), tracker(
        "a nursery", "inform", [entity("phase", "early_years")],
        slots={"npq": "NPQLT", "phase": "early_years", "pending": asked}))
    assert outcome.text.startswith("NPQLT in spring 2027, for an early years setting (nursery or "
                                   "childminder): not funded (expected, to be confirmed).")
    assert outcome.slots == {"npq": "NPQLT", "setting": "early_years", "pending": None}


@pytest.mark.parametrize("text, entities", [
    ("I'm a deputy head", [entity("role", "deputy_head")]),
    ("I'm a deputy head", []),  # read from the text when the model found no entity
    ("primary", [entity("phase", "primary")]),
    # an aspiration after a recommendation got "Sorry, I didn't understand that"
    ("i'd like to lead english across the school eventually", []),
])
async def test_a_bare_role_or_phase_starts_the_recommendation_form(
        text: str, entities: list[dict[str, Any]]) -> None:
    outcome = await run(ActionFollowUp(), tracker(
        text, "inform", entities, slots={"pending": {"kind": "clarify"}}))
    assert outcome.messages == []
    assert outcome.events == [SlotSet("pending", None), FollowupAction("recommend_form")]


async def test_a_setting_said_after_a_funding_answer_gets_the_verdict_there() -> None:
    """'we're an academy' after the funding answer (which had not asked) got 'Sorry, I didn't
    understand that'."""
    events = [{"event": "user", "text": "is it funded for a school in wigan",
               "parse_data": {"intent": {"name": "ask_funding"}}},
              {"event": "action", "name": "action_funding"},
              {"event": "action", "name": "action_listen"}]
    outcome = await run(ActionFollowUp(), tracker("we're an academy", "inform", events=events,
                                                  slots={"npq": "NPQLT"}))
    assert outcome.text.startswith("NPQLT in spring 2027, for a state-funded school or academy: "
                                   "funded only if your school is in the top 50%")
    assert outcome.slot("setting") == "school"


async def test_who_they_are_and_where_gets_a_recommendation_not_a_list_of_hubs() -> None:
    """'I'm an early years teacher in a private nursery in Truro' listed the hubs nearest Truro,
    none offering NPQEYL."""
    outcome = await run(ActionFollowUp(), tracker(
        "I'm an early years teacher in a private nursery in Truro", "inform",
        [entity("role", "early years teacher"), entity("phase", "early_years"),
         entity("location", "Truro")]))
    assert outcome.messages == []
    assert outcome.events == [SlotSet("pending", None), SlotSet("place", "Truro"),
                              FollowupAction("recommend_form")]  # Truro kept for "nearest hub"


async def test_a_bare_programme_is_described() -> None:
    outcome = await run(ActionFollowUp(), tracker("NPQSL", "inform", [entity("npq", "NPQSL")]))
    assert outcome.text.startswith("NPQSL: NPQ for Senior Leadership")
    assert outcome.events == [SlotSet("npq", "NPQSL")]


async def test_a_setting_question_answered_with_nonsense_is_clarified() -> None:
    outcome = await run(ActionFollowUp(), tracker(
        "hmm maybe", "inform", ranking=[("inform", 0.5), ("ask_funding", 0.3)],
        slots={"pending": {"kind": "setting", "intent": "ask_funding", "npq": "NPQLT"}}))
    assert outcome.text == "Sorry, I'm not sure I understood. Did you mean one of these?"
    assert outcome.buttons == [{"title": "Funding and fees", "payload": "/ask_funding"},
                               {"title": "Something else", "payload": "/deny"}]
    assert outcome.events == [SlotSet("pending", {"kind": "clarify"})]


@pytest.mark.parametrize("pending, events", [
    (None, []), ({"kind": "clarify"}, [SlotSet("pending", None)]),
    ("garbage", [SlotSet("pending", None)])])
async def test_yes_with_nothing_to_confirm_shows_what_the_assistant_can_do(
        pending: Any, events: list[Any]) -> None:
    outcome = await run(ActionFollowUp(), tracker("yes", "affirm", slots={"pending": pending}))
    assert outcome.text == ("Here's what I can help with. Tap one, or just ask in your own "
                            "words.")
    assert len(outcome.buttons) == 8
    assert outcome.events == events


@pytest.mark.parametrize("pending, reply", [
    ({"kind": "partner_enquiry", "answers": {}},
     "No problem: I haven't passed anything on. You can run the check again at any time."),
    ({"kind": "forget"}, "No problem: I haven't deleted anything."),
    (None, "No problem. Is there anything else I can help with?"),
])
async def test_no_declines_what_was_offered(pending: Any, reply: str) -> None:
    outcome = await run(ActionFollowUp(), tracker("no", "deny", slots={"pending": pending}))
    assert outcome.text == reply
    kept = {**pending, "declined": True} if pending and pending["kind"] == "partner_enquiry" \
        else None  # the answers wait one message for a change of mind
    assert outcome.events == [SlotSet("pending", kept)]


async def test_no_after_a_clarifying_question_offers_the_menu_and_a_person() -> None:
    outcome = await run(ActionFollowUp(), tracker("no", "deny", slots={"pending": {
        "kind": "clarify"}}))
    assert outcome.text.startswith("Sorry, I'm still not sure what you mean.")
    assert [b["payload"] for b in outcome.buttons] == ["/help", "/talk_to_human"]
    assert outcome.events == [SlotSet("pending", None)]


async def test_no_with_nothing_pending_offers_help_or_goodbye() -> None:
    outcome = await run(ActionFollowUp(), tracker("no thanks", "deny"))
    assert outcome.buttons == [{"title": "What can you do?", "payload": "/help"},
                               {"title": "No, that's all", "payload": "/goodbye"}]


async def test_saying_the_school_is_in_the_top_half_answers_where_do_you_work() -> None:
    """'we're in the top 50% I think' to 'Where do you work?' got 'Sorry, I didn't understand
    that'."""
    asked = {"kind": "setting", "intent": "ask_funding", "npq": "NPQSL"}
    outcome = await run(ActionFollowUp(), tracker(
        "we're in the top 50% I think", "inform", slots={"npq": "NPQSL", "pending": asked}))
    assert outcome.text.startswith("NPQSL in spring 2027, for a state-funded school or academy: "
                                   "funded")
    assert "as your school is in the top 50%" in outcome.text
