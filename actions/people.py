"""What users ask about themselves: to be contacted (interest_form), reminded (reminder_form),
left alone or forgotten. (Put through to a person: actions/handoffs.py.)"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from actions import clock
from actions.support import (
    FORM_TOPICS,
    AskInFixedWords,
    ask_next,
    end_form,
    in_session,
    is_answer,
    latest_entity,
    latest_intent,
    message_retention_days,
    reminder_days,
    respond,
    say,
    says_yes,
    text_slot,
    typed_text,
    utter,
)
from npq.answers import Answer, Button
from npq.partners import parse_yes_no
from npq.people import (
    asks_what_is_held,
    forget,
    forgotten_answer,
    held_about,
    held_answer,
    lead_recorded_answer,
    no_consent_answer,
    record_lead,
    subscribe_reminders,
    subscribed_answer,
    unsubscribe,
    unsubscribed_answer,
    validate_email,
    validate_name,
)
from npq.programmes import choose_programme_answer, current_code

LEAD_SLOTS = ("lead_name", "lead_email", "lead_consent")
ANY_PROGRAMME = "any"
# "No" to "Shall I remind you before the NPQH deadline?": the form ends with no reminder.
NO_REMINDER = "none"
ERASE_CONVERSATION = {"erase_conversation": True}  # the front end erases Rasa's copy


class ValidateInterestForm(FormValidationAction):
    def name(self) -> str:
        return "validate_interest_form"

    async def extract_lead_name(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                domain: DomainDict) -> dict[str, Any]:
        return _typed_answer(tracker, "lead_name")

    async def extract_lead_email(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                 domain: DomainDict) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "lead_email":
            return {}
        text = typed_text(tracker)
        if validate_email(text):  # an address is an answer whatever the model made of it
            return {"lead_email": text}
        return _typed_answer(tracker, "lead_email")

    async def extract_lead_consent(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: DomainDict) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "lead_consent":
            return {}
        answer = latest_entity(tracker, "answer")
        if answer in ("yes", "no"):
            return {"lead_consent": answer}
        if latest_intent(tracker) == "deny" or (latest_intent(tracker) == "affirm"
                                                 and says_yes(tracker)):
            return {"lead_consent": "yes" if latest_intent(tracker) == "affirm" else "no"}
        read = parse_yes_no(typed_text(tracker))
        return {"lead_consent": "yes" if read else "no"} if read is not None else {}

    def validate_lead_name(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                           domain: DomainDict) -> dict[str, Any]:
        name = validate_name(value)
        if name is None:
            dispatcher.utter_message(text="Sorry, I didn't catch your name. What should we "
                                     "call you? (Just your name, like \"Sam Patel\".)")
        return {"lead_name": name}

    def validate_lead_email(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                            domain: DomainDict) -> dict[str, Any]:
        email = validate_email(value)
        if email is None:
            dispatcher.utter_message(text="That doesn't look like an email address. Could you "
                                     "check it? For example: sam.patel@school.org.uk")
        return {"lead_email": email}


def _typed_answer(tracker: Tracker, slot: str) -> dict[str, Any]:
    text = typed_text(tracker)
    if tracker.get_slot("requested_slot") != slot or not text or not is_answer(tracker):
        return {}
    return {slot: text}


class ActionAskLeadName(AskInFixedWords):
    """What's your name?"""

    def name(self) -> str:
        return "action_ask_lead_name"


class ActionAskLeadEmail(AskInFixedWords):
    """What email address should we use?"""

    def name(self) -> str:
        return "action_ask_lead_email"


class ActionAskLeadConsent(AskInFixedWords):
    """May we keep your name and email? (yes, no)"""

    def name(self) -> str:
        return "action_ask_lead_consent"


class ActionRegisterInterest(Action):
    def name(self) -> str:
        return "action_register_interest"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        """Keep the lead if the user agreed; clear the personal answers from the slots."""
        name, email = tracker.get_slot("lead_name"), tracker.get_slot("lead_email")
        if (tracker.get_slot("lead_consent") != "yes" or validate_name(name) is None
                or validate_email(email) is None):
            answer = no_consent_answer()
        else:
            def store(session: Session) -> Answer:
                return lead_recorded_answer(record_lead(
                    session, chat_id=tracker.sender_id, name=name, email=email,
                    programme_code=text_slot(tracker, "npq"), role=text_slot(tracker, "role"),
                    consent=True, now=clock.now()))
            answer = await in_session(store)
        return respond(dispatcher, tracker, answer, *[SlotSet(s, None) for s in LEAD_SLOTS])


class ValidateReminderForm(FormValidationAction):
    def name(self) -> str:
        return "validate_reminder_form"

    async def extract_reminder_programme(self, dispatcher: CollectingDispatcher,
                                         tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        """From the message that started the form ("remind me about NPQH") or the answer."""
        named = latest_entity(tracker, "npq")
        if latest_entity(tracker, "answer") == ANY_PROGRAMME:
            return {"reminder_programme": ANY_PROGRAMME}
        asked = tracker.get_slot("requested_slot") == "reminder_programme"
        if named and (latest_intent(tracker) == "subscribe_reminders" or (
                asked and is_answer(tracker))):
            return {"reminder_programme": named}
        discussed = text_slot(tracker, "npq")
        said = parse_yes_no(typed_text(tracker)) if is_answer(tracker) else None
        if asked and discussed and not named and (latest_intent(tracker) == "affirm" or said):
            return {"reminder_programme": discussed}  # "yes please" to "... NPQH's deadline?"
        if asked and not named and (latest_intent(tracker) == "deny" or said is False):
            return {"reminder_programme": NO_REMINDER}  # "actually no"
        return _typed_answer(tracker, "reminder_programme")

    async def validate_reminder_programme(self, value: Any, dispatcher: CollectingDispatcher,
                                          tracker: Tracker,
                                          domain: DomainDict) -> dict[str, Any]:
        if value == NO_REMINDER:
            return {"reminder_programme": NO_REMINDER}
        if value == ANY_PROGRAMME or (isinstance(value, str) and value.strip().lower() in (
                "any", "all", "any of them", "all of them", "every one", "everything")):
            return {"reminder_programme": ANY_PROGRAMME}
        code = await in_session(current_code, text=str(value)) if value else None
        if code is None:
            dispatcher.utter_message(text="Sorry, I don't know that programme.")
        return {"reminder_programme": code}


class ActionAskReminderProgramme(Action):
    def name(self) -> str:
        return "action_ask_reminder_programme"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        """Which programme's deadlines? The one we were talking about comes first, and a yes
        chooses it."""
        discussed = text_slot(tracker, "npq")
        question = (f"Shall I remind you before the {discussed} deadline? Say yes, or pick "
                    "another programme." if discussed else
                    "Which programme should I remind you about before its deadline?")
        utter(dispatcher, await in_session(
            choose_programme_answer, question=question,
            extra=Button("Any NPQ", "inform", {"answer": ANY_PROGRAMME}), first=discussed))
        return []


class ActionSubscribeReminders(Action):
    def name(self) -> str:
        return "action_subscribe_reminders"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        """Store the subscription (once, however often it is asked for) and confirm; a "no" to
        the question stores nothing."""
        wanted = tracker.get_slot("reminder_programme")
        if wanted == NO_REMINDER:
            return respond(dispatcher, tracker, Answer(
                "OK, no reminder. What else can I help with?",
                (Button("Deadlines", "ask_deadlines"), Button("What can you do?", "help"))),
                SlotSet("reminder_programme", None))

        def store(session: Session) -> Answer:
            code = None if wanted in (None, ANY_PROGRAMME) else current_code(
                session, wanted if isinstance(wanted, str) else None)
            if code is None and wanted not in (None, ANY_PROGRAMME):
                return Answer("Sorry, I don't know that programme, so I haven't set up a "
                              "reminder.", (Button("Which NPQs are there?", "programme_info"),
                                            Button("Remind me about deadlines",
                                                   "subscribe_reminders")))
            return subscribed_answer(subscribe_reminders(
                session, chat_id=tracker.sender_id, programme_code=code, now=clock.now()),
                days=reminder_days())

        answer = await in_session(store)
        return respond(dispatcher, tracker, answer, SlotSet("reminder_programme", None))


class ActionUnsubscribe(Action):
    def name(self) -> str:
        return "action_unsubscribe"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        """Switch every reminder off."""
        count = await in_session(unsubscribe, chat_id=tracker.sender_id, now=clock.now())
        doing = FORM_TOPICS.get(tracker.active_loop_name or "")
        if count == 0 and doing:  # a bare "stop" or "cancel" in the middle of a form
            say(dispatcher, "stopped", doing=doing)
        else:
            utter(dispatcher, unsubscribed_answer(count))
        return end_form(tracker)


FORGET_BUTTONS = (Button("Yes, delete it all", "affirm"), Button("No, keep it", "deny"))


class ActionForgetMe(Action):
    def name(self) -> str:
        return "action_forget_me"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        """Check first: erasing cannot be undone. Asked what is held ("what data do you hold
        on me?"), that first."""
        if asks_what_is_held(typed_text(tracker)):
            return await reply_what_is_held(dispatcher, tracker)
        utter(dispatcher, Answer(
            "I can delete everything I hold about you: any contact details, reminders, partner "
            "enquiries, requests to talk to someone, and this conversation. This can't be undone. "
            "Shall I go ahead?", FORGET_BUTTONS))
        return [*end_form(tracker), ask_next("forget")]


async def reply_what_is_held(dispatcher: CollectingDispatcher,
                             tracker: Tracker) -> list[EventType]:
    """What is held about the user (counted, not shown), and how to have it deleted."""
    counts = await in_session(held_about, chat_id=tracker.sender_id)
    return respond(dispatcher, tracker, held_answer(counts, message_retention_days()))


async def erase_everything(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """The user confirmed: delete every row about them, and ask the front end to erase the
    conversation Rasa keeps (it can only do that once this turn is over)."""
    def erase(session: Session) -> Answer:
        return forgotten_answer(forget(session, tracker.sender_id, now=clock.now()))

    utter(dispatcher, await in_session(erase))
    dispatcher.utter_message(json_message=ERASE_CONVERSATION)
    return [SlotSet("pending", None)]
