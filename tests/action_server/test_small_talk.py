"""Small talk, goodbyes and low-confidence messages. (The actions log nothing: the front end
logs every turn for review, bot/turns.py.)"""

from __future__ import annotations

import pytest

from actions.small_talk import (
    ActionClarify,
    ActionContinueForm,
    ActionDefaultFallback,
    ActionGoodbye,
    ActionSmallTalk,
    ActionStop,
)
from tests.action_server.conftest import asked_earlier, entity, run, tracker

UNSURE = [("nlu_fallback", 0.5), ("find_hub", 0.41), ("ask_deadlines", 0.22),
          ("greet", 0.2), ("ask_funding", 0.1), ("how_to_apply", 0.06)]


async def test_small_talk_answers_with_the_intents_response() -> None:
    outcome = await run(ActionSmallTalk(), tracker("are you a robot", "bot_challenge"))
    assert outcome.text.startswith("I'm an automated assistant, not a person.")
    assert outcome.buttons == [{"title": "Talk to a person", "payload": "/talk_to_human"},
                               {"title": "What can you do?", "payload": "/help"}]
    assert outcome.events == []


async def test_small_talk_inside_a_form_answers_and_leaves_the_form_active() -> None:
    outcome = await run(ActionSmallTalk(), tracker("what can you do", "help",
                                                   form="recommend_form", requested_slot="role"))
    assert outcome.text == "Here's what I can help with. Tap one, or just ask in your own words."
    assert len(outcome.buttons) == 8 and outcome.buttons[0] == {
        "title": "Which NPQ suits me?", "payload": "/recommend_npq"}
    assert outcome.events == []  # nlu_data/rules/forms.yml returns to the form


async def test_out_of_scope_is_answered() -> None:
    outcome = await run(ActionSmallTalk(), tracker("how do I get QTS", "out_of_scope",
                                                   sender="chat-7"))
    assert outcome.text.startswith("Sorry, I can't help with that. I only know about the National "
                                   "Professional Qualifications (NPQs)")
    assert outcome.text.endswith("try Get Into Teaching: getintoteaching.education.gov.uk")
    assert [b["payload"] for b in outcome.buttons] == ["/help", "/talk_to_human"]


async def test_off_topic_gets_the_teacher_training_pointer_only_when_it_is_about_that() -> None:
    other = await run(ActionSmallTalk(), tracker("what is the meaning of life", "out_of_scope"))
    assert other.text == ("Sorry, I can't help with that. I only know about the National "
                          "Professional Qualifications (NPQs) for teachers and school leaders in "
                          "England.")
    fed_up = await run(ActionSmallTalk(), tracker("you're rubbish", "out_of_scope"))
    assert fed_up.text.startswith("Sorry I haven't been more help. Someone from our team")
    assert fed_up.buttons[0] == {"title": "Talk to a person", "payload": "/talk_to_human"}


async def test_goodbye_leaves_the_form() -> None:
    outcome = await run(ActionGoodbye(), tracker("bye", "goodbye", form="interest_form",
                                                 requested_slot="lead_email"))
    assert outcome.text == ("Goodbye, and good luck! Message me any time you have more "
                            "questions about NPQs.")
    assert {"event": "active_loop", "name": None, "timestamp": None} in outcome.events


async def test_never_mind_inside_a_form_stops_it_and_says_so() -> None:
    outcome = await run(ActionStop(), tracker("never mind, forget the partner thing", "stop",
                                              form="partner_fit_form",
                                              requested_slot="partner_area"))
    assert outcome.text == ("OK, I've stopped the partner check. Ask me again whenever you like. "
                            "What else can I help with?")
    assert [b["payload"] for b in outcome.buttons] == ["/help", "/talk_to_human"]
    assert {"event": "active_loop", "name": None, "timestamp": None} in outcome.events
    assert outcome.slots["requested_slot"] is None


async def test_never_mind_outside_a_form_drops_the_pending_question() -> None:
    outcome = await run(ActionStop(), tracker("forget it", "stop",
                                              slots={"pending": {"kind": "partner_enquiry"}}))
    assert outcome.text == "No problem. What else can I help with?"
    assert "pending" in outcome.slots and outcome.slots["pending"] is None
    assert not [e for e in outcome.events if e.get("event") == "active_loop"]


async def test_a_low_confidence_message_offers_the_likeliest_meanings() -> None:
    outcome = await run(ActionClarify(), tracker(
        "leeds sessions when", "nlu_fallback", [entity("location", "Leeds")], confidence=0.5,
        ranking=UNSURE, sender="chat-9"))
    assert outcome.text == "Sorry, I'm not sure I understood. Did you mean one of these?"
    assert outcome.buttons == [
        {"title": "My nearest hub", "payload": '/find_hub{"location": "Leeds"}'},
        {"title": "Application deadlines", "payload": '/ask_deadlines{"location": "Leeds"}'},
        {"title": "Funding and fees", "payload": '/ask_funding{"location": "Leeds"}'},
        {"title": "Something else", "payload": "/deny"},
    ]
    assert outcome.slot("pending") == {"kind": "clarify"}


async def test_a_second_miss_in_a_row_offers_the_menu_and_a_person() -> None:
    earlier = [{"event": "user", "text": "hmm"}, {"event": "action", "name": "action_clarify"},
               {"event": "action", "name": "action_listen"}]
    outcome = await run(ActionClarify(), tracker("blah blah", "nlu_fallback", confidence=0.3,
                                                 ranking=UNSURE, events=earlier))
    assert outcome.text.startswith("Sorry, I'm still not sure what you mean.")
    assert outcome.buttons == [{"title": "Show me the menu", "payload": "/help"},
                               {"title": "Talk to a person", "payload": "/talk_to_human"}]


async def test_rasas_core_fallback_offers_the_menu_and_a_person_and_forgets_the_message() -> None:
    outcome = await run(ActionDefaultFallback(), tracker("what now", "inform"))
    assert outcome.text.startswith("Sorry, I'm still not sure what you mean.")
    assert [b["payload"] for b in outcome.buttons] == ["/help", "/talk_to_human"]
    assert outcome.events == [{"event": "rewind", "timestamp": None}]


async def test_asked_for_the_running_form_it_says_so_and_leaves_the_question_to_the_form() -> None:
    outcome = await run(ActionContinueForm(), tracker(
        "which npq should i do", "recommend_npq", form="recommend_form"))
    assert outcome.text == ("Yes, that's what we're doing: looking for the NPQ that suits you. "
                            "Just this first:")
    assert outcome.events == []


@pytest.mark.parametrize("text", ["🤔", "👍", "?", "...", "¯\\_(ツ)_/¯"])
async def test_a_message_without_words_is_asked_what_the_user_would_like(text: str) -> None:
    """The engine reads it as out_of_scope (rasa_components/no_words.py): not "I can't help
    with that", which answers a question nobody asked."""
    outcome = await run(ActionSmallTalk(), tracker(text, "out_of_scope", confidence=1.0))
    assert outcome.text.startswith("What would you like to know? I can only read words, not "
                                   "emoji or symbols")
    assert [b["title"] for b in outcome.buttons] == [
        "Which NPQ suits me?", "Nearest hub", "Deadlines", "Funding", "Talk to a person"]
    assert outcome.events == []


@pytest.mark.parametrize("text", ["مرحبا، كيف حالك؟", "آپ کیسے ہیں؟", "你好", "Привет"])
async def test_a_message_in_another_script_is_told_the_assistant_reads_english(text: str) -> None:
    outcome = await run(ActionSmallTalk(), tracker(text, "out_of_scope", confidence=1.0))
    assert outcome.text.startswith("Sorry, I can only understand English at the moment.")
    assert outcome.buttons[0] == {"title": "Talk to a person", "payload": "/talk_to_human"}


@pytest.mark.parametrize("text", ["fuck off", "you're a shit bot", "this is bollocks",
                                  "piss off", "wtf is this"])
async def test_swearing_at_the_assistant_is_answered_as_being_fed_up(text: str) -> None:
    outcome = await run(ActionSmallTalk(), tracker(text, "out_of_scope"))
    assert outcome.text.startswith("Sorry I haven't been more help. Someone from our team")
    assert outcome.buttons[0] == {"title": "Talk to a person", "payload": "/talk_to_human"}


async def test_whats_the_next_step_after_a_journey_is_how_to_apply_or_become_a_partner() -> None:
    """'whats the next step' after partnership questions got the help menu."""
    partner = await run(ActionSmallTalk(), tracker("whats the next step", "help", events=(
        asked_earlier("what kind of rooms would you need", "partner_requirements"))))
    assert partner.text.startswith("To become a delivery partner, you don't fill in a form")
    candidate = await run(ActionSmallTalk(), tracker(
        "ok great whats the next step", "help", slots={"npq": "NPQLL"},
        events=asked_earlier("tell me about npqll", "programme_info")))
    assert candidate.text.startswith("Applying for NPQLL (NPQ for Leading Literacy) takes two "
                                     "steps:")
    fresh = await run(ActionSmallTalk(), tracker("whats the next step", "help"))
    assert fresh.text.startswith("Here's what I can help with.")
