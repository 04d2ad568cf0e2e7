"""The small-talk actions' remaining cases (test_small_talk.py has the main ones): every
small-talk intent, goodbye outside a form, and clarifying inside a form or with nothing to offer.
None of them writes to the database: the front end logs every turn (bot/turns.py)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from actions.small_talk import ActionClarify, ActionGoodbye, ActionSmallTalk
from npq.db.models import MessageLog
from tests.action_server.conftest import entity, rows, run, tracker

HELP = "Here's what I can help with. Tap one, or just ask in your own words."
HELP_PAYLOADS = ["/recommend_npq", "/programme_info", "/find_hub", "/ask_deadlines",
                 "/ask_funding", "/how_to_apply", "/become_partner", "/talk_to_human"]


@pytest.mark.parametrize("intent, text, payloads", [
    # regression: the greeting's "Deadlines and funding" opened deadlines with no funding
    ("greet", "Hello! I'm the NPQ assistant.",
     ["/recommend_npq", "/find_hub", "/ask_deadlines", "/ask_funding", "/become_partner"]),
    ("thank", "You're welcome! Anything else I can help with?", ["/help", "/goodbye"]),
    ("bot_challenge", "I'm an automated assistant", ["/talk_to_human", "/help"]),
    ("help", HELP, HELP_PAYLOADS),
    ("out_of_scope", "Sorry, I can't help with that. I only know about the National "
                     "Professional Qualifications", ["/help", "/talk_to_human"]),
    ("nlu_fallback", HELP, HELP_PAYLOADS), ("", HELP, HELP_PAYLOADS),  # else: what it can do
])
async def test_small_talk_answers_with_the_intents_reply(intent: str, text: str,
                                                         payloads: list[str]) -> None:
    outcome = await run(ActionSmallTalk(), tracker("hello there", intent))
    assert len(outcome.messages) == 1 and outcome.text.startswith(text)
    assert [b["payload"] for b in outcome.buttons] == payloads
    assert outcome.custom == [] and outcome.responses == []
    assert outcome.events == []


async def test_the_greeting_buttons_say_what_they_open() -> None:
    outcome = await run(ActionSmallTalk(), tracker("hi", "greet"))
    assert [(b["title"], b["payload"]) for b in outcome.buttons] == [
        ("Which NPQ suits me?", "/recommend_npq"), ("Nearest hub", "/find_hub"),
        ("Deadlines", "/ask_deadlines"), ("Funding", "/ask_funding"),
        ("Become a partner", "/become_partner")]


async def test_the_actions_log_nothing_themselves(database: sessionmaker[Session]) -> None:
    await run(ActionSmallTalk(), tracker("book me a holiday", "out_of_scope", sender="chat-1"))
    await run(ActionClarify(), tracker("zzz", "nlu_fallback", confidence=0.3, sender="chat-1",
                                       ranking=[("nlu_fallback", 0.6), ("find_hub", 0.3)]))
    await run(ActionClarify(), tracker("purple", "nlu_fallback", confidence=0.2, sender="chat-1",
                                       form="interest_form", requested_slot="lead_name"))
    assert rows(database, MessageLog) == []  # one writer: the front end


async def test_goodbye_outside_a_form_changes_nothing() -> None:
    outcome = await run(ActionGoodbye(), tracker("bye", "goodbye"))
    assert outcome.text.startswith("Goodbye, and good luck!") and outcome.buttons == []
    assert outcome.events == []


async def test_clarify_inside_a_form_apologises() -> None:
    outcome = await run(ActionClarify(), tracker(
        "purple monkey", "nlu_fallback", confidence=0.2, ranking=[("nlu_fallback", 0.6),
                                                                  ("inform", 0.2)],
        form="interest_form", requested_slot="lead_name", sender="chat-2"))
    assert outcome.text == "Sorry, I didn't catch that."
    assert outcome.buttons == [] and outcome.events == []  # the form asks its question again


@pytest.mark.parametrize("ranking", [
    [],
    [("nlu_fallback", 0.6), ("inform", 0.3), ("affirm", 0.1)],  # nothing we can describe
    [("nlu_fallback", 0.96), ("find_hub", 0.04)],  # too unlikely to offer
])
async def test_clarify_with_nothing_to_offer_gives_the_menu_and_a_person(
        ranking: list[tuple[str, float]]) -> None:
    outcome = await run(ActionClarify(), tracker("zzz", "nlu_fallback", confidence=0.3,
                                                 ranking=ranking))
    # a first miss: not "still" (that is for the second miss in a row)
    assert outcome.text.startswith("Sorry, I didn't understand that. Try the menu")
    assert [b["title"] for b in outcome.buttons] == ["Show me the menu", "Talk to a person"]
    assert outcome.events == []


async def test_clarify_offers_at_most_three_meanings_with_only_text_entities() -> None:
    ranking = [("nlu_fallback", 0.5), ("ask_deadlines", 0.3), ("ask_funding", 0.2),
               ("how_to_apply", 0.1), ("find_hub", 0.08)]
    outcome = await run(ActionClarify(), tracker(
        "npqh money when", "nlu_fallback", [entity("npq", "NPQH"), entity("latitude", 53.8)],
        confidence=0.5, ranking=ranking))
    assert [b["payload"] for b in outcome.buttons] == [
        '/ask_deadlines{"npq": "NPQH"}', '/ask_funding{"npq": "NPQH"}',
        '/how_to_apply{"npq": "NPQH"}', "/deny"]


async def test_a_miss_after_a_different_answer_still_offers_meanings() -> None:
    earlier = [{"event": "user", "text": "hi"}, {"event": "action", "name": "action_small_talk"},
               {"event": "action", "name": "action_listen"}]
    outcome = await run(ActionClarify(), tracker(
        "hub thing", "nlu_fallback", confidence=0.4, events=earlier,
        ranking=[("nlu_fallback", 0.5), ("find_hub", 0.4)]))
    assert outcome.buttons[0] == {"title": "My nearest hub", "payload": "/find_hub"}


@pytest.mark.parametrize("text, ranking, opening", [
    ("who is your lead provider", [("nlu_fallback", 0.4), ("out_of_scope", 0.28),
                                   ("programme_info", 0.24)], "We're the Outstanding Leaders"),
    ("what happens if I fail or withdraw", [("nlu_fallback", 0.4), ("programme_info", 0.36),
                                            ("help", 0.24)],
     "Every NPQ ends with a final assessment."),
    ("will I get a certificate", [("nlu_fallback", 0.4), ("programme_info", 0.39),
                                  ("out_of_scope", 0.36)], "NPQs are the Department for"),
])
async def test_an_unsure_reading_that_names_a_programme_topic_gets_its_answer(
        text: str, ranking: list[tuple[str, float]], opening: str) -> None:
    """These fell back (the model was unsure) though the words say what is asked: the answer,
    not "Did you mean...?"."""
    outcome = await run(ActionClarify(), tracker(text, "nlu_fallback", confidence=0.4,
                                                 ranking=ranking))
    assert outcome.text.startswith(opening)


@pytest.mark.parametrize("text, ranking", [
    ("who is your lead provider", [("nlu_fallback", 0.4), ("out_of_scope", 0.5),
                                   ("greet", 0.3), ("help", 0.1), ("programme_info", 0.05)]),
    ("blorp zzzk flibble", [("nlu_fallback", 0.4), ("programme_info", 0.3)]),
])
async def test_otherwise_an_unsure_reading_still_asks_did_you_mean(
        text: str, ranking: list[tuple[str, float]]) -> None:
    outcome = await run(ActionClarify(), tracker(text, "nlu_fallback", confidence=0.4,
                                                 ranking=ranking))
    assert outcome.text == "Sorry, I'm not sure I understood. Did you mean one of these?"


async def test_a_town_in_an_unsure_message_is_kept_for_the_next_question() -> None:
    """'where would I have to go for it' after a 'Did you mean...?' asked where to look,
    though the message had named Harrogate."""
    outcome = await run(ActionClarify(), tracker(
        "maths lead near Harrogate, anything?", "nlu_fallback", [entity("location", "Harrogate")],
        confidence=0.5, ranking=[("nlu_fallback", 0.5), ("recommend_npq", 0.4),
                                 ("find_hub", 0.3)]))
    assert outcome.text.startswith("Sorry, I'm not sure I understood. Did you mean")
    assert outcome.slot("place") == "Harrogate"


async def test_an_unsure_question_about_places_on_a_named_programme_is_answered() -> None:
    """'is there a waiting list for npqh in leeds' got 'Did you mean...?'."""
    outcome = await run(ActionClarify(), tracker(
        "is there a waiting list for npqh in leeds", "nlu_fallback",
        [entity("npq", "NPQH"), entity("location", "leeds")], confidence=0.5,
        ranking=[("nlu_fallback", 0.5), ("ask_deadlines", 0.3), ("find_hub", 0.2),
                 ("partner_fit_check", 0.1)]))
    assert "Did you mean" not in outcome.text
    assert "Leeds NPQ Hub" in outcome.text and "NPQH" in outcome.text


@pytest.mark.parametrize("text, intent", [
    ("what are the opening hours of your office", "out_of_scope"),
    ("how do I contact you by phone", "help"),
])
async def test_asking_for_the_office_gets_its_details(text: str, intent: str) -> None:
    """'what are the opening hours of your office' was told 'Sorry, I can't help with that'."""
    outcome = await run(ActionSmallTalk(), tracker(text, intent))
    assert outcome.text.startswith("You can reach our office at npq@network-office.example.org "
                                   "or 0113 496 0000 (")


async def test_an_unsure_introduction_is_still_a_greeting() -> None:
    """With places hidden from the encoder, 'Hello, I'm Cornwall' fell back to 'Did you
    mean...?'; the name is read as the greeting the message is."""
    outcome = await run(ActionClarify(), tracker(
        "Hello, I'm Cornwall", "nlu_fallback", [entity("location", "Cornwall")], confidence=0.5,
        ranking=[("nlu_fallback", 0.5), ("greet", 0.34), ("find_hub", 0.34)]))
    assert outcome.text.startswith("Hello Cornwall, nice to meet you! I'm the NPQ assistant.")
