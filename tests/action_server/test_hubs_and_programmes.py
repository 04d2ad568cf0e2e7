"""Nearest hubs and programme descriptions: the events returned and what was uttered."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.events import SlotSet

from actions.hubs import ActionFindHub
from actions.programmes import ActionProgrammeInfo
from tests.action_server.conftest import entity, tracker
from tests.action_server.conftest import run as run_action


async def run(action: Any, t: Any) -> tuple[list[dict[str, Any]], list[Any]]:
    outcome = await run_action(action, t)
    return outcome.messages, outcome.events


async def test_find_hub_names_the_nearest_hub_with_buttons() -> None:
    messages, events = await run(ActionFindHub(), tracker(
        "Is there a hub near Keighley?", "find_hub", [entity("location", "Keighley")]))
    assert len(messages) == 1
    assert "1. Keighley NPQ Hub, Keighley (" in messages[0]["text"]
    assert messages[0]["buttons"] == [
        {"title": "Deadlines near me", "payload": '/ask_deadlines{"location": "Keighley"}'},
        {"title": "Which NPQ suits me?", "payload": "/recommend_npq"},
        {"title": "Which NPQs are there?", "payload": "/programme_info"}]
    assert events == [SlotSet("place", "Keighley")]  # a later "where's my nearest hub?" uses it


async def test_where_is_my_nearest_hub_uses_the_place_asked_about_before() -> None:
    messages, events = await run(ActionFindHub(), tracker(
        "where's my nearest hub", "find_hub", slots={"place": "Keighley"}))
    assert "1. Keighley NPQ Hub, Keighley (" in messages[0]["text"]
    assert events == []


async def test_find_hub_falls_back_to_the_message_text_when_no_entity() -> None:
    messages, _ = await run(ActionFindHub(), tracker("hub near keighley pls", "find_hub"))
    assert "1. Keighley NPQ Hub" in messages[0]["text"]


async def test_find_hub_with_a_programme_sets_the_slot_and_filters() -> None:
    messages, events = await run(ActionFindHub(), tracker(
        "anywhere near BD21 doing headship", "find_hub",
        [entity("postcode", "BD21"), entity("npq", "NPQH")]))
    assert messages[0]["text"].startswith("The nearest hubs offering NPQH to BD21:")
    assert events == [SlotSet("npq", "NPQH"), SlotSet("place", "BD21")]
    assert {"title": "About NPQH", "payload": '/programme_info{"npq": "NPQH"}'} in (
        messages[0]["buttons"])


async def test_find_hub_in_a_county_measures_from_its_middle_and_offers_its_towns() -> None:
    messages, _ = await run(ActionFindHub(), tracker(
        "is there a hub in Cumbria?", "find_hub", [entity("location", "Cumbria")]))
    lines = messages[0]["text"].splitlines()
    assert lines[:3] == [
        "The nearest hubs to Cumbria:",
        "Distances are from the middle of Cumbria. For distances from you, send your town or "
        "postcode, or pick a town below.", ""]
    assert lines[3].startswith("1. Cumbria NPQ Hub, Carlisle (")
    assert messages[0]["buttons"][:3] == [
        {"title": "Carlisle", "payload": '/find_hub{"location": "Carlisle"}'},
        {"title": "Kendal", "payload": '/find_hub{"location": "Kendal"}'},
        {"title": "Barrow in Furness", "payload": '/find_hub{"location": "Barrow in Furness"}'}]


async def test_find_hub_prefers_the_town_to_the_county_in_one_message() -> None:
    messages, _ = await run(ActionFindHub(), tracker(
        "do any of the hubs cover Cumbria? im in Kendal", "find_hub",
        [entity("location", "Cumbria"), entity("location", "Kendal")]))
    assert messages[0]["text"].startswith("The nearest hubs to Kendal:\n\n1. ")
    assert "middle" not in messages[0]["text"]


async def test_find_hub_from_a_shared_location() -> None:
    messages, _ = await run(ActionFindHub(), tracker(
        '/find_hub{"latitude": 53.8679, "longitude": -1.9066}', "find_hub",
        [entity("latitude", 53.8679), entity("longitude", -1.9066)]))
    assert messages[0]["text"].startswith("The nearest hubs to your location:")
    assert "1. Keighley NPQ Hub" in messages[0]["text"]


@pytest.mark.parametrize("place", ["Qwertyuiop", "ZZ99 9ZZ", "'; DROP TABLE hubs;--", "🙂"])
async def test_find_hub_with_an_unknown_place_asks_again(place: str) -> None:
    messages, events = await run(ActionFindHub(), tracker(
        place, "find_hub", [entity("location", place)]))
    assert "?" in messages[0]["text"] and "1. " not in messages[0]["text"]
    # asked where: the next bare reply is the place (actions/where.py)
    assert events == [SlotSet("pending", {"kind": "place", "intent": "find_hub", "npq": None})]


async def test_find_hub_with_impossible_coordinates_asks_for_a_place() -> None:
    messages, _ = await run(ActionFindHub(), tracker(
        "/find_hub", "find_hub", [entity("latitude", 123.0), entity("longitude", "east")]))
    assert messages[0]["text"].startswith("Where should I look?")


async def test_programme_info_describes_the_named_programme() -> None:
    messages, events = await run(ActionProgrammeInfo(), tracker(
        "what is the headship one", "programme_info", [entity("npq", "NPQH")]))
    assert messages[0]["text"].startswith("NPQH: ")
    assert events == [SlotSet("npq", "NPQH")]


async def test_programme_info_without_a_programme_lists_them_all() -> None:
    messages, events = await run(ActionProgrammeInfo(), tracker(
        "what npqs are there", "programme_info", slots={"npq": "NPQH"}))
    assert messages[0]["text"].startswith("There are 10 National Professional Qualifications "
                                          "(NPQs).")
    assert len(messages[0]["buttons"]) == 11 and messages[0]["buttons"][-1]["title"] == "EHCO"
    assert events == []


async def test_a_question_pointing_back_is_about_the_programme_already_discussed() -> None:
    messages, events = await run(ActionProgrammeInfo(), tracker(
        "how long does the course take", "programme_info", slots={"npq": "NPQH"}))
    assert messages[0]["text"].startswith("NPQH: NPQ for Headship")
    assert "Length: about 18 months." in messages[0]["text"]
    assert events == [SlotSet("npq", "NPQH")]
    messages, _ = await run(ActionProgrammeInfo(), tracker(
        "what other ones are there", "programme_info", slots={"npq": "NPQH"}))
    assert messages[0]["text"].startswith("There are 10 National Professional Qualifications")


async def test_places_left_near_me_is_about_the_programme_and_place_discussed() -> None:
    messages, _ = await run(ActionProgrammeInfo(), tracker(
        "how many places are left near me", "programme_info",
        slots={"npq": "NPQH", "place": "Keighley"}))
    assert messages[0]["text"].startswith("NPQH deadlines near Keighley:")


async def test_two_programmes_named_are_compared() -> None:
    messages, events = await run(ActionProgrammeInfo(), tracker(
        "whats the difference between npqsl and npqh", "programme_info",
        [entity("npq", "NPQSL"), entity("npq", "NPQH")]))
    text = messages[0]["text"]
    assert text.startswith("NPQSL: NPQ for Senior Leadership\n")
    assert "\n\nNPQH: NPQ for Headship\n" in text
    assert text.count("Who it's for:") == 2 and text.count("Length: about") == 2
    assert [b["title"] for b in messages[0]["buttons"]] == ["About NPQSL", "About NPQH"]
    assert events == [SlotSet("npq", "NPQSL")]


async def test_the_one_discussed_is_compared_with_the_one_named() -> None:
    """After a recommendation of NPQLL, 'whats the difference between that and the leading
    teaching one' described NPQLT alone."""
    messages, _ = await run(ActionProgrammeInfo(), tracker(
        "whats the difference between that and the leading teaching one", "programme_info",
        [entity("npq", "NPQLT")], slots={"npq": "NPQLL"}))
    text = messages[0]["text"]
    assert text.startswith("NPQLT: NPQ for Leading Teaching\n")
    assert "\n\nNPQLL: NPQ for Leading Literacy\n" in text
    alone, _ = await run(ActionProgrammeInfo(), tracker(
        "tell me about the leading teaching one", "programme_info", [entity("npq", "NPQLT")],
        slots={"npq": "NPQLL"}))
    assert "NPQLL" not in alone[0]["text"]


async def test_programme_info_for_npqml_explains_what_replaced_it() -> None:
    messages, _ = await run(ActionProgrammeInfo(), tracker(
        "what happened to npqml", "programme_info", [entity("npq", "NPQML")]))
    assert "What replaced it: NPQLBC (Leading Behaviour and Culture)" in messages[0]["text"]
    assert messages[0]["text"].count("no longer offered") == 1


# (question, entities) -> how the specific answer opens: each was understood as programme_info
# but got the programme's card
SPECIFIC = [
    ("what's the pass mark for npqsl", [entity("npq", "NPQSL")],
     "How NPQSL is assessed: One written case-study assessment after the course."),
    ("can you resit the npqh assessment", [entity("npq", "NPQH")], "How NPQH is assessed:"),
    ("what happens if i fail the assessment", [], "Every NPQ ends with a final assessment."),
    ("is EHCO assessed at all", [entity("npq", "EHCO")],
     "EHCO, the Early Headship Coaching Offer, is coaching and support, not a qualification, so "
     "there's no assessment."),
    ("is an npq masters level", [], "NPQs are the Department for Education's national "
                                    "professional qualifications"),
    ("can the npqh count towards a masters", [entity("npq", "NPQH")], "NPQs are the Department"),
    ("is the NPQH worth it", [entity("npq", "NPQH")],
     "Our track record (Outstanding Leaders Partnership): 60% of our NPQH graduates secured a "
     "headship within 18 months"),
    ("are the sessions after school or in the day", [],
     "Most NPQs are blended. Online self-study"),
    ("is the headship npq online", [entity("npq", "NPQH")], "NPQH: Blended."),
    ("who is the lead provider", [], "We're the Outstanding Leaders Partnership"),
    ("what is npqh", [entity("npq", "NPQH")], "NPQH: NPQ for Headship\n\nFor aspiring"),
]


@pytest.mark.parametrize("text, entities, opening", SPECIFIC, ids=[s[0] for s in SPECIFIC])
async def test_a_specific_question_about_a_programme_gets_its_specific_answer(
        text: str, entities: list[dict[str, Any]], opening: str) -> None:
    messages, _ = await run(ActionProgrammeInfo(), tracker(text, "programme_info", entities))
    assert messages[0]["text"].startswith(opening)


async def test_the_assessment_answer_gives_the_pass_mark_resits_and_funding_once() -> None:
    messages, events = await run(ActionProgrammeInfo(), tracker(
        "what's the pass mark for npqsl", "programme_info", [entity("npq", "NPQSL")]))
    assert messages[0]["text"].split("\n\n")[1:] == [
        "The final assessment is a written case study, done open book over 8 days, with a pass "
        "mark of 60% (to be confirmed).",
        "Your provider sets the rules for resubmitting a failed assessment: ask your hub.",
        "DfE funding is once per NPQ: if you withdraw or fail, you can't be funded for that NPQ "
        "again."]
    assert events == [SlotSet("npq", "NPQSL")]


async def test_the_sessions_answer_counts_the_hubs_times_from_the_database() -> None:
    messages, _ = await run(ActionProgrammeInfo(), tracker(
        "are the NPQH sessions after school or in the day", "programme_info",
        [entity("npq", "NPQH")]))
    paragraphs = messages[0]["text"].split("\n\n")
    assert paragraphs[1] == ("Each hub sets its own times: 20 of our 29 hubs offering NPQH meet "
                             "after school, 9 in the school day.")  # hubs.csv's session_times
    assert paragraphs[-1] == "Tell me your town or postcode and I'll show your nearest hubs' times."
    assert messages[0]["buttons"][0] == {"title": "Hubs near me",
                                         "payload": '/find_hub{"npq": "NPQH"}'}


async def test_places_left_near_a_place_are_the_deadlines_there() -> None:
    messages, _ = await run(ActionProgrammeInfo(), tracker(
        "is the NPQLBC at Keighley full?", "programme_info",
        [entity("npq", "NPQLBC"), entity("location", "Keighley")]))
    lines = messages[0]["text"].split("\n")
    assert lines[0] == "NPQLBC deadlines near Keighley:"
    assert lines[1].endswith("starts 3 March 2027; full (ask about the waiting list)")
    assert lines[2].endswith("; 13 places left")


async def test_places_left_without_a_place_are_counted_for_the_next_intake() -> None:
    messages, _ = await run(ActionProgrammeInfo(), tracker(
        "how many places are left on the SENCO NPQ", "programme_info",
        [entity("npq", "NPQSENCO")]))
    assert messages[0]["text"] == (
        "Of the 17 NPQSENCO cohorts for spring 2027, 13 have places left, 1 is full and 3 "
        "haven't said.\n\nTell me your town or postcode and I'll show the places at your "
        "nearest hubs.")
    assert messages[0]["buttons"][0] == {"title": "Hubs near me",
                                         "payload": '/find_hub{"npq": "NPQSENCO"}'}


async def test_a_name_read_as_a_hub_search_is_a_greeting() -> None:
    """'hello my name is Chester' (read as find_hub once places were hidden from the encoder)
    listed the hubs near Chester."""
    outcome = await run_action(ActionFindHub(), tracker(
        "hello my name is Chester", "find_hub", [entity("location", "Chester")]))
    assert outcome.text.startswith("Hello Chester, nice to meet you!")
    hubs = await run_action(ActionFindHub(), tracker("hubs near Chester", "find_hub",
                                                     [entity("location", "Chester")]))
    assert "nearest hubs" in hubs.text


async def test_and_another_programme_just_after_deadlines_gets_its_deadlines() -> None:
    """'and npqlt?' after NPQSL's deadlines near Leeds, read as a hub search, listed the hubs."""
    earlier = [{"event": "user", "text": "what about npqsl",
                "parse_data": {"intent": {"name": "ask_deadlines"}}},
               {"event": "action", "name": "action_deadlines"},
               {"event": "action", "name": "action_listen"}]
    outcome = await run_action(ActionFindHub(), tracker(
        "and npqlt?", "find_hub", [entity("npq", "NPQLT")], events=earlier,
        slots={"place": "Leeds"}))
    assert outcome.text.startswith("NPQLT deadlines near Leeds:")
    hubs = await run_action(ActionFindHub(), tracker(
        "and npqlt near york?", "find_hub", [entity("npq", "NPQLT"), entity("location", "york")],
        events=earlier))
    assert "NPQLT deadlines" not in hubs.text  # a place named: the hub search it asks for
