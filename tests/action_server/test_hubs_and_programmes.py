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
        {"title": "Which NPQs are there?", "payload": "/programme_info"}]
    assert events == []


async def test_find_hub_falls_back_to_the_message_text_when_no_entity() -> None:
    messages, _ = await run(ActionFindHub(), tracker("hub near keighley pls", "find_hub"))
    assert "1. Keighley NPQ Hub" in messages[0]["text"]


async def test_find_hub_with_a_programme_sets_the_slot_and_filters() -> None:
    messages, events = await run(ActionFindHub(), tracker(
        "anywhere near BD21 doing headship", "find_hub",
        [entity("postcode", "BD21"), entity("npq", "NPQH")]))
    assert messages[0]["text"].startswith("The nearest hubs offering NPQH to BD21:")
    assert events == [SlotSet("npq", "NPQH")]
    assert {"title": "About NPQH", "payload": '/programme_info{"npq": "NPQH"}'} in (
        messages[0]["buttons"])


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
    assert events == []


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
    assert messages[0]["text"].startswith("There are 11 National Professional Qualifications.")
    assert len(messages[0]["buttons"]) == 11
    assert events == []


async def test_programme_info_for_npqml_explains_what_replaced_it() -> None:
    messages, _ = await run(ActionProgrammeInfo(), tracker(
        "what happened to npqml", "programme_info", [entity("npq", "NPQML")]))
    assert "replaced by" in messages[0]["text"]
    assert "NPQLT" in messages[0]["text"]
