"""What people send that is not a plain question: a greeting with their name, a bare (perhaps
misspelt or made-up) place in answer to "Where should I look?", contact details nobody asked
for. What the user reads, and what the conversation remembers."""

from __future__ import annotations

import pytest
from rasa_sdk.events import SlotSet
from sqlalchemy.orm import Session, sessionmaker

from actions.follow_up import ActionFollowUp
from actions.hubs import ActionFindHub
from actions.small_talk import ActionClarify, ActionSmallTalk
from npq.db.models import Lead, MessageLog, ReminderSubscription
from tests.action_server.conftest import entity, rows, run, tracker
from tests.action_server.test_people import hold_everything_about

HUBS_ASKED = {"kind": "place", "intent": "find_hub", "npq": None}
GREETING = ("Hello {}, nice to meet you! I'm the NPQ assistant. I can help you choose a National "
            "Professional Qualification (NPQ)")
UNSURE = [("nlu_fallback", 0.5), ("inform", 0.3), ("find_hub", 0.1)]


@pytest.mark.parametrize("text, place, name", [
    ("Hi, I'm Devon", "Devon", "Devon"), ("hello I'm Kent", "Kent", "Kent"),
    ("hi my name is Chester", "Chester", "Chester"), ("hi im devon", "devon", "Devon"),
    ("I'm Sarah", None, "Sarah")])
async def test_a_greeting_with_a_name_greets_them_and_finds_no_hubs(
        text: str, place: str | None, name: str) -> None:
    """The model reads "Hi, I'm Devon" as inform with the county Devon (0.99): it was answered
    with the hubs nearest the middle of Devon."""
    entities = [entity("location", place)] if place else []
    outcome = await run(ActionFollowUp(), tracker(text, "inform", entities))
    assert outcome.text.startswith(GREETING.format(name))
    assert "hubs" not in outcome.text
    assert outcome.buttons[0] == {"title": "Which NPQ suits me?", "payload": "/recommend_npq"}
    assert outcome.events == []  # the name is kept nowhere, and no place is remembered


async def test_a_greeting_read_as_greet_with_a_name_greets_them_by_it() -> None:
    outcome = await run(ActionSmallTalk(), tracker("Hi I'm Ashford", "greet",
                                                   [entity("location", "Ashford")]))
    assert outcome.text.startswith(GREETING.format("Ashford"))


@pytest.mark.parametrize("text", ["I'm in Devon", "I'm Leeds based", "Devon"])
async def test_a_place_said_as_a_place_still_finds_hubs(text: str) -> None:
    place = "Leeds" if "Leeds" in text else "Devon"
    outcome = await run(ActionFollowUp(), tracker(text, "inform", [entity("location", place)]))
    assert outcome.text.startswith(f"The nearest hubs to {place}:")


async def test_where_should_i_look_is_remembered_as_asked() -> None:
    outcome = await run(ActionFindHub(), tracker("where's my nearest hub", "find_hub"))
    assert outcome.text.startswith("Where should I look?")
    assert outcome.events == [SlotSet("pending", HUBS_ASKED)]


@pytest.mark.parametrize("run_as, intent", [(ActionFollowUp, "inform"),
                                            (ActionClarify, "nlu_fallback")])
@pytest.mark.parametrize("text, place", [("bradfrod", "Bradford"), ("notingham", "Nottingham"),
                                         ("keigly", "Keighley")])
async def test_a_misspelt_town_in_answer_to_where_finds_the_hubs_there(
        run_as: type, intent: str, text: str, place: str) -> None:
    """With no location entity these got "Sorry, I'm still not sure what you mean."."""
    outcome = await run(run_as(), tracker(text, intent, confidence=0.6, ranking=UNSURE,
                                          slots={"pending": HUBS_ASKED}))
    assert outcome.text.startswith(f"The nearest hubs to {place}:")
    assert SlotSet("place", place) in outcome.events
    assert SlotSet("pending", None) in outcome.events


@pytest.mark.parametrize("text", ["Kjdhf", "Trebnock", "asdkjh qwe", "12345"])
async def test_a_made_up_place_in_answer_to_where_is_asked_again(text: str) -> None:
    outcome = await run(ActionFollowUp(), tracker(text, "inform",
                                                  slots={"pending": HUBS_ASKED}))
    assert outcome.text.startswith(("I couldn't find a place called", "I'm not sure which place "
                                    "you mean. Did you mean"))
    assert "still not sure" not in outcome.text
    assert not any(e.get("name") == "place" for e in outcome.events)  # nothing remembered
    if outcome.text.startswith("I couldn't"):  # still asked where (a "did you mean" has buttons)
        assert SlotSet("pending", HUBS_ASKED) in outcome.events


async def test_a_where_answer_to_deadlines_gives_the_deadlines_there() -> None:
    asked = {"kind": "place", "intent": "ask_deadlines", "npq": "NPQH"}
    outcome = await run(ActionFollowUp(), tracker("bradfrod", "inform", slots={
        "npq": "NPQH", "pending": asked}))
    assert outcome.text.startswith("NPQH deadlines near Bradford")


@pytest.mark.parametrize("run_as, text, intent", [
    (ActionFollowUp, "07700 900123", "inform"),
    (ActionFollowUp, "my email is sam@school.sch.uk", "inform"),
    (ActionClarify, "jo.bloggs@example.com", "nlu_fallback"),
    (ActionClarify, "+44 7911 123456", "nlu_fallback"),
    (ActionSmallTalk, "+44 7911 123456", "out_of_scope")])
async def test_contact_details_nobody_asked_for_get_an_offer_of_contact(
        run_as: type, text: str, intent: str) -> None:
    outcome = await run(run_as(), tracker(text, intent, confidence=0.6, ranking=UNSURE))
    assert outcome.text.startswith("Thanks, but I don't need contact details to answer your "
                                   "questions.")
    assert outcome.buttons[0] == {"title": "Ask the team to contact me",
                                  "payload": "/register_interest"}
    assert outcome.events == []


@pytest.mark.parametrize("text", ["i'll think about it", "Plimbo", "hmm, what would I lose?"])
async def test_deleting_everything_needs_a_yes_in_words(
        database: sessionmaker[Session], text: str) -> None:
    """The model read "i'll think about it" as affirm (0.95): it deleted everything."""
    await hold_everything_about(database, "chat-9")
    outcome = await run(ActionFollowUp(), tracker(text, "affirm", confidence=0.95, slots={
        "pending": {"kind": "forget"}}, sender="chat-9"))
    assert outcome.text.startswith("I haven't deleted anything. To delete everything I hold "
                                   "about you, tap \"Yes, delete it all\"")
    assert [b["title"] for b in outcome.buttons] == ["Yes, delete it all", "No, keep it"]
    assert outcome.custom == [] and outcome.events == []  # still asked
    for model in (Lead, ReminderSubscription, MessageLog):
        assert rows(database, model, "chat-9"), model.__name__


@pytest.mark.parametrize("text", ["yes", "Yes please, go ahead", "ok delete it", "/affirm"])
async def test_a_yes_in_words_or_the_button_deletes_everything(
        database: sessionmaker[Session], text: str) -> None:
    await hold_everything_about(database, "chat-9")
    outcome = await run(ActionFollowUp(), tracker(text, "affirm", slots={
        "pending": {"kind": "forget"}}, sender="chat-9"))
    assert outcome.text.startswith("I've deleted the details I held about you")
    assert rows(database, Lead, "chat-9") == []


@pytest.mark.parametrize("text, starts", [
    ("Gronk", "I'm not sure which place you mean. Did you mean"),
    ("banana", "I couldn't find a place called \"banana\""),
    ("Kjdhf", "I couldn't find a place called \"Kjdhf\"")])
async def test_a_short_off_topic_reply_to_where_is_tried_as_a_place(text: str, starts: str) -> None:
    outcome = await run(ActionSmallTalk(), tracker(text, "out_of_scope",
                                                   slots={"pending": HUBS_ASKED}))
    assert outcome.text.startswith(starts)


@pytest.mark.parametrize("text, starts", [
    ("you're useless", "Sorry I haven't been more help."),
    ("what's the weather like", "Sorry, I can't help with that."),
    ("🤔", "What would you like to know?")])
async def test_other_off_topic_replies_to_where_get_their_own_answer(text: str,
                                                                    starts: str) -> None:
    outcome = await run(ActionSmallTalk(), tracker(text, "out_of_scope",
                                                   slots={"pending": HUBS_ASKED}))
    assert outcome.text.startswith(starts)


async def test_an_unsure_question_after_where_is_not_taken_for_a_place() -> None:
    outcome = await run(ActionClarify(), tracker(
        "how much does it cost", "nlu_fallback", confidence=0.4,
        ranking=[("nlu_fallback", 0.5), ("ask_funding", 0.4), ("find_hub", 0.1)],
        slots={"pending": HUBS_ASKED}))
    assert outcome.text == "Sorry, I'm not sure I understood. Did you mean one of these?"


async def test_a_programme_named_among_junk_is_offered_its_meanings() -> None:
    outcome = await run(ActionSmallTalk(), tracker(
        "asdkjh what is npqh qwe", "out_of_scope", [entity("npq", "NPQH")], confidence=0.53,
        ranking=[("out_of_scope", 0.53), ("programme_info", 0.3), ("ask_funding", 0.1)]))
    assert outcome.text == "Sorry, I'm not sure I understood. Did you mean one of these?"
    assert outcome.buttons[0] == {"title": "What an NPQ involves",
                                  "payload": '/programme_info{"npq": "NPQH"}'}


async def test_junk_after_a_list_of_deadlines_is_not_taken_for_a_place() -> None:
    asked = {"kind": "place", "intent": "ask_deadlines", "npq": None}
    outcome = await run(ActionClarify(), tracker("gnorf", "nlu_fallback", confidence=0.4,
                                                 slots={"pending": asked}))
    assert outcome.text.startswith("Sorry, I didn't understand that.")


async def test_a_question_read_as_inform_after_a_list_of_deadlines_is_not_taken_for_a_place(
) -> None:
    """'who runs this' (inform, 0.93) after deadlines near LS1 got "I couldn't find a place
    called "who runs this" in England"."""
    asked = {"kind": "place", "intent": "ask_deadlines", "npq": "NPQLT"}
    outcome = await run(ActionFollowUp(), tracker("who runs this", "inform", confidence=0.93,
                                                  slots={"pending": asked}))
    assert "couldn't find a place" not in outcome.text
    assert "Did you mean" in outcome.text or outcome.text.startswith("Sorry")


@pytest.mark.parametrize("text", ["NPQX", "is npqabc funded"])
async def test_a_programme_code_there_is_not_is_said_to_be_unknown(text: str) -> None:
    outcome = await run(ActionClarify(), tracker(text, "nlu_fallback", confidence=0.4,
                                                 ranking=UNSURE))
    code = "NPQX" if "NPQX" in text else "NPQABC"
    assert outcome.text.startswith(f"I don't know a programme called {code}. There are 10 "
                                   "National Professional Qualifications")
    assert "NPQH" in [b["title"] for b in outcome.buttons]


@pytest.mark.parametrize("text", ["what npqs are there", "npq for heads?", "NPQH or NPQSL?"])
async def test_npqs_and_known_codes_are_not_unknown_programmes(text: str) -> None:
    outcome = await run(ActionClarify(), tracker(text, "nlu_fallback", confidence=0.4,
                                                 ranking=UNSURE))
    assert "I don't know a programme" not in outcome.text
