"""How to apply: the two steps and links, for the programme the conversation is about."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.events import SlotSet

from actions.applying import ActionHowToApply
from tests.action_server.conftest import asked_earlier, entity, run, tracker

REGISTER = "Register here: https://register-national-professional-qualifications.education.gov.uk/"


async def test_how_to_apply_in_general() -> None:
    outcome = await run(ActionHowToApply(), tracker("how do I apply?", "how_to_apply"))
    lines = outcome.text.split("\n")
    assert lines[0] == "Applying for an NPQ takes two steps:"
    assert lines[1].startswith("1. Register with the DfE using your teacher reference number")
    assert lines[2] == REGISTER
    assert lines[3].startswith("2. Your provider or hub then sends you its own application.")
    assert "Lost your TRN? https://find-a-lost-trn.education.gov.uk/start" in lines
    assert outcome.buttons == [
        {"title": "Deadlines", "payload": "/ask_deadlines"},
        {"title": "Is it funded?", "payload": "/ask_funding"},
        {"title": "Find my nearest hub", "payload": "/find_hub"},
        {"title": "Talk to a person", "payload": "/talk_to_human"}]
    assert outcome.events == []


async def test_how_do_we_apply_after_partnership_questions_is_about_becoming_a_partner() -> None:
    earlier = asked_earlier("what do partners get?", "partner_benefits")
    outcome = await run(ActionHowToApply(), tracker("ok how do we apply", "how_to_apply",
                                                    events=earlier))
    assert outcome.text.startswith("To become a delivery partner, you don't fill in a form: it "
                                   "starts with a conversation with our partnerships team.")
    assert "Becoming a delivery partner, step by step:" in outcome.text
    assert "Register with the DfE" not in outcome.text
    assert outcome.buttons[-1] == {"title": "Applying for an NPQ yourself?",
                                   "payload": '/how_to_apply{"answer": "candidate"}'}
    pressed = await run(ActionHowToApply(), tracker(
        '/how_to_apply{"answer": "candidate"}', "how_to_apply", [entity("answer", "candidate")],
        events=earlier))
    assert pressed.text.startswith("Applying for an NPQ takes two steps:")
    named = await run(ActionHowToApply(), tracker(
        "how do I apply for NPQH", "how_to_apply", [entity("npq", "NPQH")], events=earlier))
    assert "Register with the DfE" in named.text


@pytest.mark.parametrize("entities, slots", [
    ([entity("npq", "NPQH")], {}),
    ([], {"npq": "NPQH"}),
])
async def test_how_to_apply_for_the_programme_in_question(
        entities: list[dict[str, Any]], slots: dict[str, Any]) -> None:
    outcome = await run(ActionHowToApply(), tracker(
        "how do I apply?", "how_to_apply", entities, slots=slots))
    assert outcome.text.startswith("Applying for NPQH (NPQ for Headship) takes two steps:")
    assert "The first NPQH deadline is 15 January 2027; each hub sets its own." in outcome.text
    assert outcome.buttons[:3] == [
        {"title": "Deadlines", "payload": '/ask_deadlines{"npq": "NPQH"}'},
        {"title": "Is it funded?", "payload": '/ask_funding{"npq": "NPQH"}'},
        {"title": "Find my nearest hub", "payload": '/find_hub{"npq": "NPQH"}'}]
    assert outcome.events == []


async def test_how_to_apply_for_a_legacy_programme_points_to_its_successors() -> None:
    outcome = await run(ActionHowToApply(), tracker(
        "how do I apply for NPQML?", "how_to_apply", [entity("npq", "NPQML")],
        slots={"pending": {"kind": "place", "intent": "ask_deadlines", "npq": None}}))
    assert outcome.text == ("NPQML is no longer offered, so you can't apply for it. It was "
                            "replaced by NPQLBC, NPQLT, NPQLTD.")
    assert outcome.buttons[0] == {"title": "Apply for NPQLBC",
                                  "payload": '/how_to_apply{"npq": "NPQLBC"}'}
    assert outcome.events == [SlotSet("pending", None)]  # an earlier question is dropped


async def test_an_unknown_programme_gets_the_general_steps() -> None:
    outcome = await run(ActionHowToApply(), tracker(
        "how do I apply for NPQXYZ?", "how_to_apply", [entity("npq", "NPQXYZ")]))
    assert outcome.text.startswith("Applying for an NPQ takes two steps:")


@pytest.mark.parametrize("text", ["which lead provider do I select on the form",
                                  "the DfE form is asking for my provider, what do I put"])
async def test_the_provider_question_is_answered_by_name(text: str) -> None:
    outcome = await run(ActionHowToApply(), tracker(text, "how_to_apply"))
    assert outcome.text.endswith("On the DfE registration form, choose Best Practice Network "
                                 "(to be confirmed) as your provider.")
    assert outcome.text.startswith("We're the Outstanding Leaders Partnership")
    assert [b["payload"] for b in outcome.buttons] == ["/how_to_apply", "/find_hub",
                                                       "/talk_to_human"]


async def test_a_provider_button_payload_is_not_read_as_a_question() -> None:
    outcome = await run(ActionHowToApply(), tracker('/how_to_apply{"npq": "NPQH"}',
                                                    "how_to_apply", [entity("npq", "NPQH")]))
    assert outcome.text.startswith("Applying for NPQH (NPQ for Headship) takes two steps:")
