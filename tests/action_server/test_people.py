"""What users ask about themselves: to be contacted (interest form, a lead with consent), reminded
(reminder form, one subscription however often asked), left alone, forgotten (after a yes, every
row and the conversation) or put through to a person (a handoff with the conversation so far)."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.events import ActiveLoop, SlotSet
from sqlalchemy.orm import Session, sessionmaker

from actions.follow_up import ActionFollowUp
from actions.handoffs import ActionTalkToHuman
from actions.partners import ActionPartnerFit
from actions.people import (
    ActionAskLeadConsent,
    ActionAskLeadEmail,
    ActionAskLeadName,
    ActionAskReminderProgramme,
    ActionForgetMe,
    ActionRegisterInterest,
    ActionSubscribeReminders,
    ActionUnsubscribe,
    ValidateInterestForm,
    ValidateReminderForm,
)
from actions.small_talk import ActionClarify, ActionSmallTalk
from npq.db.models import HandoffRequest, Lead, MessageLog, PartnerEnquiry, ReminderSubscription
from npq.message_log import record_turn
from tests.action_server.conftest import (
    NOW,
    as_utc,
    asked_earlier,
    entity,
    rows,
    run,
    tracker,
    validate,
)

SAM = {"lead_name": "Sam Patel", "lead_email": "sam.patel@school.org.uk"}
LEFT_FORM = [ActiveLoop(None), SlotSet("requested_slot", None)]
BAD_NAME = "Sorry, I didn't catch your name. What should we call you? (Just your name, like " \
           "\"Sam Patel\".)"
BAD_EMAIL = "That doesn't look like an email address. Could you check it? For example: " \
            "sam.patel@school.org.uk"


# --- interest form ----------------------------------------------------------------------------

# (message, intent, entities, asked for, known) -> slots validated, what the user reads
INTEREST = [
    ("ask someone to contact me", "register_interest", [], None, {}, {}, ""),
    ("my name is sam patel", "inform", [], "lead_name", {}, {"lead_name": "Sam Patel"}, ""),
    ("Zoë O'Brien", "inform", [], "lead_name", {}, {"lead_name": "Zoë O'Brien"}, ""),
    ("12345", "inform", [], "lead_name", {}, {"lead_name": None}, BAD_NAME),
    ("no", "deny", [], "lead_name", {}, {"lead_name": None}, BAD_NAME),
    ("Sam.Patel@School.ORG.UK", "inform", [], "lead_email", {"lead_name": "Sam Patel"},
     {"lead_email": "Sam.Patel@school.org.uk"}, ""),
    ("sam.patel@school.org.uk", "out_of_scope", [], "lead_email", {"lead_name": "Sam Patel"},
     {"lead_email": "sam.patel@school.org.uk"}, ""),  # an address, whatever the model thought
    ("sam at school dot org", "inform", [], "lead_email", {"lead_name": "Sam Patel"},
     {"lead_email": "sam@school.org"}, ""),  # spelt out, read as the address
    ("sam at school", "inform", [], "lead_email", {"lead_name": "Sam Patel"},
     {"lead_email": None}, BAD_EMAIL),
    ("sam@school", "inform", [], "lead_email", {"lead_name": "Sam Patel"},
     {"lead_email": None}, BAD_EMAIL),
    ("yes", "affirm", [], "lead_consent", SAM, {"lead_consent": "yes"}, ""),
    ('/inform{"answer": "no"}', "inform", [entity("answer", "no")], "lead_consent", SAM,
     {"lead_consent": "no"}, ""),
    ("hmm", "inform", [], "lead_consent", SAM, {}, ""),
    # consent is said in words: hesitation or an odd word the model reads as affirm is not it
    ("i'll think about it", "affirm", [], "lead_consent", SAM, {}, ""),
    ("Plimbo", "affirm", [], "lead_consent", SAM, {}, ""),
    ("yes please", "affirm", [], "lead_consent", SAM, {"lead_consent": "yes"}, ""),
    ("that's fine", "affirm", [], "lead_consent", SAM, {"lead_consent": "yes"}, ""),
    ("/affirm", "affirm", [], "lead_consent", SAM, {"lead_consent": "yes"}, ""),
    ("where's my nearest hub?", "find_hub", [], "lead_name", {}, {}, ""),
    ("what is NPQH?", "programme_info", [entity("npq", "NPQH")], "lead_email",
     {"lead_name": "Sam Patel"}, {}, ""),
]


@pytest.mark.parametrize("text, intent, entities, slot, known, expected, reply", INTEREST)
async def test_the_interest_form_validates_names_and_emails_and_leaves_questions_alone(
        text: str, intent: str, entities: list[dict[str, Any]], slot: str | None,
        known: dict[str, Any], expected: dict[str, Any], reply: str) -> None:
    outcome = await validate(ValidateInterestForm(), tracker(
        text, intent, entities, form="interest_form", requested_slot=slot, slots=known))
    assert outcome.slots == expected
    assert outcome.text == reply


@pytest.mark.parametrize("action, slot, text, buttons", [
    (ActionAskLeadName(), "lead_name", "I'll ask our team to get in touch. What's your name?", []),
    (ActionAskLeadEmail(), "lead_email", "Thanks. What email address should we use?", []),
    (ActionAskLeadConsent(), "lead_consent",
     "May we keep your name and email to contact you about NPQs? We'll use them only for that, "
     "and you can ask me to forget them at any time (send /forget).",
     [{"title": "Yes, that's fine", "payload": '/inform{"answer": "yes"}'},
      {"title": "No", "payload": '/inform{"answer": "no"}'}]),
], ids=["lead_name", "lead_email", "lead_consent"])
async def test_the_interest_form_asks_each_question(
        action: Any, slot: str, text: str, buttons: list[dict[str, str]]) -> None:
    outcome = await run(action, tracker("contact me", "register_interest", form="interest_form",
                                        requested_slot=slot))
    assert outcome.text == text and outcome.buttons == buttons
    assert len(outcome.messages) == 1 and outcome.custom == [] and outcome.events == []


async def test_consent_stores_the_lead_with_its_timestamp_and_clears_the_answers(
        database: sessionmaker[Session]) -> None:
    outcome = await run(ActionRegisterInterest(), tracker("yes", "affirm", slots={
        **SAM, "lead_consent": "yes", "npq": "NPQH", "role": "deputy_head"}, sender="chat-1"))
    assert outcome.text == ("Thank you, Sam. I've noted your interest in NPQH, and our team will "
                            "email you at sam.patel@school.org.uk. You can ask me to forget your "
                            "details at any time.")
    assert outcome.buttons == [
        {"title": "Remind me about deadlines", "payload": '/subscribe_reminders{"npq": "NPQH"}'},
        {"title": "Deadlines", "payload": '/ask_deadlines{"npq": "NPQH"}'},
        {"title": "Forget my details", "payload": "/forget_me"}]
    assert outcome.events == [SlotSet("lead_name", None), SlotSet("lead_email", None),
                              SlotSet("lead_consent", None)]
    [lead] = rows(database, Lead)
    assert (lead.chat_id, lead.name, lead.email, lead.programme_code, lead.role, lead.consent) == (
        "chat-1", "Sam Patel", "sam.patel@school.org.uk", "NPQH", "deputy_head", True)
    assert as_utc(lead.consent_at) == NOW and as_utc(lead.created_at) == NOW


async def test_the_same_request_twice_is_one_lead(database: sessionmaker[Session]) -> None:
    for _ in range(2):
        await run(ActionRegisterInterest(), tracker("yes", "affirm", slots={
            **SAM, "lead_consent": "yes"}, sender="chat-1"))
    assert len(rows(database, Lead)) == 1


@pytest.mark.parametrize("slots", [
    {**SAM, "lead_consent": "no"},
    {**SAM, "lead_consent": None},
    {"lead_name": "12345", "lead_email": "not an email", "lead_consent": "yes"},
])
async def test_without_consent_or_valid_details_nothing_is_kept(
        database: sessionmaker[Session], slots: dict[str, Any]) -> None:
    outcome = await run(ActionRegisterInterest(), tracker("no", "deny", slots=slots))
    assert outcome.text == ("No problem: I haven't kept your details. You can still ask me "
                            "anything about the NPQs.")
    assert outcome.events == [SlotSet("lead_name", None), SlotSet("lead_email", None),
                              SlotSet("lead_consent", None)]
    assert rows(database, Lead) == []


# --- reminders --------------------------------------------------------------------------------

# (message, intent, entities, asked for) -> the programme validated, what the user reads
REMINDERS = [
    ("remind me about npqh", "subscribe_reminders", [entity("npq", "NPQH")], None, "NPQH", ""),
    ("the headship one", "inform", [], "reminder_programme", "NPQH", ""),
    ("NPQSL", "inform", [entity("npq", "NPQSL")], "reminder_programme", "NPQSL", ""),
    ("any of them", "inform", [], "reminder_programme", "any", ""),
    ('/inform{"answer": "any"}', "inform", [entity("answer", "any")], "reminder_programme",
     "any", ""),
    ("basket weaving", "inform", [], "reminder_programme", None,
     "Sorry, I don't know that programme."),
    ("NPQML", "inform", [entity("npq", "NPQML")], "reminder_programme", None,
     "Sorry, I don't know that programme."),
]


@pytest.mark.parametrize("text, intent, entities, slot, programme, reply", REMINDERS)
async def test_the_reminder_form_reads_the_programme(
        text: str, intent: str, entities: list[dict[str, Any]], slot: str | None,
        programme: str | None, reply: str) -> None:
    outcome = await validate(ValidateReminderForm(), tracker(
        text, intent, entities, form="reminder_form", requested_slot=slot))
    assert outcome.slots == {"reminder_programme": programme}
    assert outcome.text == reply


@pytest.mark.parametrize("text, intent", [
    ("what is NPQH?", "programme_info"), ("when is the NPQH deadline?", "ask_deadlines")])
async def test_a_question_naming_a_programme_mid_form_is_not_taken_as_the_answer(
        text: str, intent: str) -> None:
    """Regression: "what is NPQH?" used to sign the user up for NPQH reminders unanswered."""
    outcome = await validate(ValidateReminderForm(), tracker(
        text, intent, [entity("npq", "NPQH")], form="reminder_form",
        requested_slot="reminder_programme"))
    assert outcome.slots == {}


async def test_the_reminder_question_puts_the_programme_in_question_first() -> None:
    outcome = await run(ActionAskReminderProgramme(), tracker(
        "remind me", "subscribe_reminders", slots={"npq": "NPQSL"}, form="reminder_form"))
    assert outcome.text == ("Shall I remind you before the NPQSL deadline? Say yes, or pick "
                            "another programme.")
    assert outcome.buttons[0] == {"title": "NPQSL", "payload": '/inform{"npq": "NPQSL"}'}
    assert outcome.buttons[-1] == {"title": "Any NPQ", "payload": '/inform{"answer": "any"}'}
    assert len(outcome.buttons) == 12
    assert outcome.events == []


async def test_yes_to_the_reminder_question_chooses_the_programme_discussed() -> None:
    for text, intent in (("yes please", "affirm"), ("yep", "inform")):
        outcome = await validate(ValidateReminderForm(), tracker(
            text, intent, slots={"npq": "NPQLPM"}, form="reminder_form",
            requested_slot="reminder_programme"))
        assert outcome.slots == {"reminder_programme": "NPQLPM"}, text
    unasked = await run(ActionAskReminderProgramme(), tracker(
        "remind me", "subscribe_reminders", form="reminder_form"))
    assert unasked.text == "Which programme should I remind you about before its deadline?"


async def test_no_to_the_reminder_question_sets_no_reminder(
        database: sessionmaker[Session]) -> None:
    for text, intent in (("actually no, stop", "deny"), ("nope", "inform")):
        outcome = await validate(ValidateReminderForm(), tracker(
            text, intent, slots={"npq": "NPQSENCO"}, form="reminder_form",
            requested_slot="reminder_programme"))
        assert outcome.slots == {"reminder_programme": "none"}, text
        assert outcome.messages == []
    done = await run(ActionSubscribeReminders(), tracker(
        "nope", "inform", slots={"reminder_programme": "none"}, sender="chat-12"))
    assert done.text == "OK, no reminder. What else can I help with?"
    assert rows(database, ReminderSubscription) == []


async def test_subscribing_twice_is_one_subscription_and_any_is_every_programme(
        database: sessionmaker[Session]) -> None:
    def subscribe(programme: str) -> Any:
        return run(ActionSubscribeReminders(), tracker(
            programme, "inform", slots={"reminder_programme": programme}, sender="chat-2"))

    first, again, every = await subscribe("NPQH"), await subscribe("NPQH"), await subscribe("any")
    assert first.text == ("Done: I'll remind you here 14, 3 and 1 days before NPQH deadlines. "
                          "Say \"stop reminders\" at any time.")
    assert again.text.startswith("You're already signed up for NPQH deadline reminders. "
                                 "Reminders come 14, 3 and 1 days before each deadline.")
    assert every.text.startswith("Done: I'll remind you here 14, 3 and 1 days before NPQ "
                                 "deadlines.")
    assert first.buttons == [
        {"title": "See deadlines", "payload": '/ask_deadlines{"npq": "NPQH"}'},
        {"title": "Stop reminders", "payload": "/unsubscribe"}]
    assert first.events == [SlotSet("reminder_programme", None)]
    subscriptions = rows(database, ReminderSubscription)
    assert [(s.chat_id, s.programme_code, s.active) for s in subscriptions] == [
        ("chat-2", "NPQH", True), ("chat-2", None, True)]
    assert as_utc(subscriptions[0].created_at) == NOW


async def test_an_unknown_programme_sets_up_no_reminder(database: sessionmaker[Session]) -> None:
    """Regression: this raised ValueError in the core and the user got no reply."""
    outcome = await run(ActionSubscribeReminders(), tracker(
        "NPQXYZ", "inform", slots={"reminder_programme": "NPQXYZ"}))
    assert outcome.text == "Sorry, I don't know that programme, so I haven't set up a reminder."
    assert outcome.buttons[0] == {"title": "Which NPQs are there?", "payload": "/programme_info"}
    assert rows(database, ReminderSubscription) == []


async def test_unsubscribe_switches_every_reminder_off_and_leaves_the_form(
        database: sessionmaker[Session]) -> None:
    for programme in ("NPQH", "any"):
        await run(ActionSubscribeReminders(), tracker(
            "x", "inform", slots={"reminder_programme": programme}, sender="chat-3"))
    outcome = await run(ActionUnsubscribe(), tracker(
        "stop reminders", "unsubscribe", form="reminder_form",
        requested_slot="reminder_programme", sender="chat-3"))
    assert outcome.text == ("Done: I've switched off 2 reminder subscriptions. You won't get any "
                            "more.")
    assert outcome.buttons == [
        {"title": "Turn reminders back on", "payload": "/subscribe_reminders"},
        {"title": "Forget all my details", "payload": "/forget_me"}]
    assert outcome.events == LEFT_FORM
    assert [s.active for s in rows(database, ReminderSubscription)] == [False, False]

    again = await run(ActionUnsubscribe(), tracker("stop", "unsubscribe", sender="chat-3"))
    assert again.text == "You didn't have any reminders switched on."
    assert again.events == []
    back = await run(ActionSubscribeReminders(), tracker(
        "x", "inform", slots={"reminder_programme": "NPQH"}, sender="chat-3"))
    assert back.text.startswith("Welcome back: your NPQH deadline reminders are on again.")


async def test_a_bare_stop_inside_a_form_with_no_reminders_stops_the_form(
        database: sessionmaker[Session]) -> None:
    outcome = await run(ActionUnsubscribe(), tracker(
        "cancel", "unsubscribe", form="partner_fit_form", requested_slot="partner_area",
        sender="chat-11"))
    assert outcome.text == ("OK, I've stopped the partner check. Ask me again whenever you like. "
                            "What else can I help with?")
    assert outcome.events == LEFT_FORM


# --- forget me ----------------------------------------------------------------------------------

async def test_forget_me_asks_first_and_leaves_any_form() -> None:
    outcome = await run(ActionForgetMe(), tracker(
        "delete my data", "forget_me", form="interest_form", requested_slot="lead_email"))
    assert outcome.text.startswith("I can delete everything I hold about you")
    assert outcome.text.endswith("This can't be undone. Shall I go ahead?")
    assert outcome.buttons == [{"title": "Yes, delete it all", "payload": "/affirm"},
                               {"title": "No, keep it", "payload": "/deny"}]
    assert outcome.events == [*LEFT_FORM, SlotSet("pending", {"kind": "forget"})]


async def hold_everything_about(database: sessionmaker[Session], chat: str) -> None:
    """A lead, a reminder, a partner enquiry, a handoff and two messages in the log (the front
    end logs them, bot/turns.py)."""
    await run(ActionRegisterInterest(), tracker("yes", "affirm", slots={
        **SAM, "lead_consent": "yes"}, sender=chat))
    await run(ActionSubscribeReminders(), tracker("x", "inform", slots={
        "reminder_programme": "NPQH"}, sender=chat))
    fit = await run(ActionPartnerFit(), tracker("x", "inform", slots={
        "organisation_type": "trust"}, sender=chat))
    await run(ActionFollowUp(), tracker("yes", "affirm", slots={"pending": fit.slot("pending")},
                                        sender=chat))
    await run(ActionTalkToHuman(), tracker("a person please", "talk_to_human", sender=chat))
    with database.begin() as session:
        for text, intent in (("how do I get QTS", "out_of_scope"), ("blah", "nlu_fallback")):
            record_turn(session, chat_id=chat, text=text, reply="a reply", now=NOW,
                        threshold=0.4, parse={"intent": {"name": intent, "confidence": 0.3}})


async def test_yes_erases_every_row_about_the_user_and_the_conversation(
        database: sessionmaker[Session]) -> None:
    await hold_everything_about(database, "chat-4")
    await hold_everything_about(database, "someone-else")
    outcome = await run(ActionFollowUp(), tracker(
        "yes", "affirm", slots={"pending": {"kind": "forget"}}, sender="chat-4"))

    assert outcome.text == (
        "I've deleted the details I held about you (1 contact request, 1 reminder "
        "subscription, 1 partner enquiry, 1 request to talk to a person, 2 messages in our "
        "log). Now deleting our conversation…")  # the front end says when that is done
    assert outcome.custom == [{"erase_conversation": True}]  # the front end erases Rasa's copy
    assert outcome.events == [SlotSet("pending", None)]
    for model in (Lead, ReminderSubscription, PartnerEnquiry, HandoffRequest, MessageLog):
        assert rows(database, model, "chat-4") == [], model.__name__
        assert len(rows(database, model, "someone-else")) >= 1, model.__name__

    nothing_left = await run(ActionFollowUp(), tracker(
        "yes", "affirm", slots={"pending": {"kind": "forget"}}, sender="chat-4"))
    assert nothing_left.text == ("I didn't hold any other details about you. Now deleting our "
                                 "conversation…")


async def test_no_erases_nothing(database: sessionmaker[Session]) -> None:
    await hold_everything_about(database, "chat-5")
    outcome = await run(ActionFollowUp(), tracker(
        "no", "deny", slots={"pending": {"kind": "forget"}}, sender="chat-5"))
    assert outcome.text == "No problem: I haven't deleted anything."
    assert outcome.custom == []
    assert outcome.events == [SlotSet("pending", None)]
    assert len(rows(database, Lead, "chat-5")) == 1
    assert len(rows(database, MessageLog, "chat-5")) == 2


# --- talk to a person ---------------------------------------------------------------------------

async def test_talking_to_a_person_stores_the_request_with_the_conversation_so_far(
        database: sessionmaker[Session]) -> None:
    said = [("user", "hi"), ("bot", "Hello! I'm the NPQ assistant."), ("user", "what is npqh"),
            ("bot", "NPQH: NPQ for Headship")] * 3
    earlier = [{"event": kind, "text": text} for kind, text in said]
    earlier.insert(2, {"event": "slot", "name": "npq", "value": "NPQH"})
    outcome = await run(ActionTalkToHuman(), tracker(
        "can I speak to a person about funding?", "talk_to_human", events=earlier,
        form="recommend_form", requested_slot="role", slots={"pending": {"kind": "place"}},
        sender="chat-6"))

    assert outcome.text == (  # the front end says when; the hours are not given twice
        "I've passed your question to our team. You can also contact our office: "
        "npq@network-office.example.org or 0113 496 0000.")
    assert [b["payload"] for b in outcome.buttons] == ["/programme_info", "/find_hub"]
    assert outcome.events == [*LEFT_FORM, SlotSet("pending", None)]
    [request] = rows(database, HandoffRequest)
    assert (request.chat_id, request.reason, request.status) == (
        "chat-6", "can I speak to a person about funding?", "open")
    assert as_utc(request.created_at) == NOW
    assert len(request.context) == 10  # the last ten things said, oldest first
    assert request.context[-1] == {"from": "user", "text": "can I speak to a person about funding?"}
    assert request.context[-2] == {"from": "assistant", "text": "NPQH: NPQ for Headship"}


async def test_a_school_asking_for_a_person_after_partnership_questions_gets_partner_buttons(
        database: sessionmaker[Session]) -> None:
    """'can we talk to someone' after partnership questions was offered a candidate's buttons
    (the NPQ list, the nearest hub)."""
    outcome = await run(ActionTalkToHuman(), tracker(
        "can we talk to someone", "talk_to_human", sender="chat-school",
        events=asked_earlier("how many facilitators", "partner_requirements")))
    assert outcome.text.startswith("I've passed your question to our team.")
    assert [b["payload"] for b in outcome.buttons] == ["/partner_benefits", "/partner_fit_check"]


async def test_asking_for_a_person_again_adds_to_the_request_and_says_so(
        database: sessionmaker[Session]) -> None:
    """The second message ("my number is ...") got the first answer word for word, as if it
    had not been read."""
    text = "I'd rather a phone call, my number is 07700 900123"
    outcome = await run(ActionTalkToHuman(), tracker(
        text, "talk_to_human", sender="chat-again",
        events=asked_earlier("can I speak to someone real please", "talk_to_human")))
    assert outcome.text == ("Thanks, I've added that to your request, so the team will see it "
                            "too.")
    [request] = rows(database, HandoffRequest)
    assert request.reason == text  # the number reaches the team with it


@pytest.mark.parametrize("text", [
    "'; DROP TABLE handoff_requests;--", "🙂🎓🔥 help", "x" * 4000, "/talk_to_human"])
async def test_nasty_text_is_stored_as_text(database: sessionmaker[Session], text: str) -> None:
    outcome = await run(ActionTalkToHuman(), tracker(text, "talk_to_human", sender="chat-7"))
    assert outcome.text.startswith("I've passed your question to our team")
    [request] = rows(database, HandoffRequest)
    assert request.reason == (None if text.startswith("/") else text[:1000])
    assert len(rows(database, HandoffRequest)) == 1  # and every table is still there


async def test_the_confirmation_gives_the_reminder_days_the_bot_is_configured_with(
        database: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch) -> None:
    """'remind me a week before': the answer says when reminders really come (REMINDER_DAYS)."""
    monkeypatch.setenv("REMINDER_DAYS", "7,2")
    outcome = await run(ActionSubscribeReminders(), tracker(
        "NPQSL", "inform", slots={"reminder_programme": "NPQSL"}, sender="chat-days"))
    assert outcome.text.startswith("Done: I'll remind you here 7 and 2 days before NPQSL "
                                   "deadlines.")


@pytest.mark.parametrize("text, intent", [
    ("what do you know about me", "help"),
    ("what data do you hold on me", "forget_me"),
    ("what information have you got on me", "nlu_fallback"),
])
async def test_asking_what_is_held_counts_it_and_offers_to_forget(
        database: sessionmaker[Session], text: str, intent: str) -> None:
    """'what do you know about me' got the menu; 'what data do you hold on me' was asked to
    confirm deleting everything."""
    await hold_everything_about(database, "chat-held")
    action = {"help": ActionSmallTalk(), "forget_me": ActionForgetMe(),
              "nlu_fallback": ActionClarify()}[intent]
    outcome = await run(action, tracker(text, intent, sender="chat-held"))
    assert outcome.text.startswith("I hold 1 contact request, 1 reminder subscription, 1 partner "
                                   "enquiry, 1 request to talk to a person, 2 messages in our "
                                   "log about you, and our conversation.")
    assert "Say \"forget me\"" in outcome.text
    assert [b["title"] for b in outcome.buttons] == ["Forget me", "What can you do?"]
    assert rows(database, Lead)  # nothing deleted


async def test_asking_what_is_held_with_nothing_held_says_so(
        database: sessionmaker[Session]) -> None:
    outcome = await run(ActionSmallTalk(), tracker("what do you know about me", "help",
                                                   sender="nobody"))
    assert outcome.text.startswith("I hold no contact details, reminders or requests about you")
