"""Small talk, goodbyes and low-confidence messages.

Inside a form these actions run only when the form could not use the message; they answer, and
the rules in nlu_data/rules/forms.yml return to the form, which asks its question again.
Messages are logged for review by the front end (bot/turns.py), which sees every turn.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions.applying import ActionHowToApply
from actions.people import reply_what_is_held
from actions.programmes import reply_about_programme
from actions.support import (
    FORM_TOPICS,
    ask_next,
    earlier_intents,
    end_form,
    greets_by_name,
    in_session,
    latest_entity,
    latest_intent,
    previous_action,
    remember_place,
    respond,
    say,
    typed_text,
)
from actions.unsure import answer_questions, questions_asked
from actions.where import answer_where, unread_place_reply
from npq.intents import PARTNERSHIP
from npq.network import asks_for_office, load_network, office_answer
from npq.people import (
    asks_what_is_held,
    contact_details_in,
)
from npq.programmes import unknown_code_answer
from npq.topics import topic_of

# What each intent means to a user, for "Did you mean ...?" buttons.
INTENT_TITLES = {
    "recommend_npq": "Which NPQ suits me",
    "programme_info": "What an NPQ involves",
    "find_hub": "My nearest hub",
    "ask_deadlines": "Application deadlines",
    "ask_funding": "Funding and fees",
    "ask_eligibility": "Whether I can apply",
    "how_to_apply": "How to apply",
    "register_interest": "Ask the team to contact me",
    "subscribe_reminders": "A reminder before a deadline",
    "unsubscribe": "Stop my reminders",
    "become_partner": "Becoming a delivery partner",
    "partner_requirements": "What a partner needs",
    "partner_benefits": "What partners receive",
    "partner_fit_check": "Would we make a good partner?",
    "talk_to_human": "Talk to a person",
    "forget_me": "Delete my data",
    "help": "What you can do",
}
MAX_SUGGESTIONS = 3
MIN_SUGGESTION_CONFIDENCE = 0.05
CARRIED_ENTITIES = ("npq", "role", "phase", "location", "postcode")
# Intents with a reply of their own name in replies.yml; other small talk gets "help".
REPLIED_BY_NAME = ("greet", "thank", "bot_challenge", "help", "out_of_scope")
# Off-topic messages that get a reply of their own.
TEACHER_TRAINING = re.compile(r"\b(qts|pgce|teacher training|train(ing)? (to be a|as a) teacher|"
                              r"train to teach|become a teacher|itt|scitt|get into teaching|"
                              r"qualified teacher status)\b")
FED_UP = re.compile(r"\b(useless|rubbish|stupid|crap|pointless|waste of (my )?time|"
                    r"not (very )?helpful|unhelpful|dumb|idiot\w*|hopeless|annoying|ridiculous|"
                    r"terrible|awful|you suck|fed up|frustrat\w*|"
                    # swearing at the assistant is being fed up with it, not a question
                    r"f+u+c+k\w*|fck\w*|shit\w*|bollocks|piss\w*|bloody|wtf|crappy|"
                    r"bullshit|arse\w*|twat|wanker|moron\w*|thick)\b")
NOT_UNDERSTOOD_IN_FORM = "Sorry, I didn't catch that."
# Below this confidence, an off-topic reading of a message naming a programme gets "Did you
# mean...?" instead ("can you write my NPQSL case study" is off-topic, surely).
SURE_OFF_TOPIC = 0.7
COURSE_TOPICS = frozenset({"provider", "assessment", "qualification", "track_record",
                           "ask_your_hub"})
PLACES = frozenset({"places"})


class ActionSmallTalk(Action):
    def name(self) -> str:
        return "action_small_talk"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        """Greet, thank, say what the assistant is and can do; off-topic messages get a pointer
        for teacher training, or a person when the user is fed up."""
        intent = latest_intent(tracker)
        words = (typed_text(tracker) or "").lower()
        if asks_what_is_held(words):  # "what do you know about me?": what is held, and forget
            return await reply_what_is_held(dispatcher, tracker)
        if intent in ("out_of_scope", "help") and asks_for_office(words):
            # "what are your office hours?": the office's details, not "I can't help with that"
            network = await in_session(load_network)
            return respond(dispatcher, tracker, office_answer(network))
        where = unread_place_reply(tracker) if intent == "out_of_scope" else None
        if where and has_words(where) and not (
                FED_UP.search(words) or not_latin(words)):
            return await answer_where(dispatcher, tracker, where)  # "Gronk" after "where?"
        if intent == "out_of_scope" and latest_entity(tracker, "npq") and (
                tracker.latest_message.get("intent") or {}).get("confidence", 1) < SURE_OFF_TOPIC:
            # "asdkjh what is npqh qwe": a programme named in junk is no off-topic message
            return await ActionClarify().run(dispatcher, tracker, domain)
        if intent == "out_of_scope" and not_latin(words):
            say(dispatcher, "english_only")  # rasa_components/no_words.py reads it so
        elif intent == "out_of_scope" and words and not has_words(words):
            say(dispatcher, "no_words")  # an emoji, "?", "...": the same
        elif intent == "out_of_scope" and contact_details_in(words):
            say(dispatcher, "contact_offer")  # "+44 7911 123456", unasked
        elif intent == "out_of_scope" and FED_UP.search(words):
            say(dispatcher, "frustrated")
        elif intent == "out_of_scope" and TEACHER_TRAINING.search(words):
            say(dispatcher, "teacher_training")
        elif intent == "help" and NEXT_STEP.search(words) and JOURNEYS & set(
                earlier_intents(tracker, 2)):
            # "what's the next step?" after questions about a programme or partnership: how to
            # apply, or how to become a partner (action_how_to_apply tells them apart)
            return await ActionHowToApply().run(dispatcher, tracker, domain)
        elif intent == "greet" and greets_by_name(dispatcher, tracker):
            pass  # "Hi, I'm Ashford": a name, not a place
        else:
            say(dispatcher, intent if intent in REPLIED_BY_NAME else "help")
        return []


NEXT_STEP = re.compile(r"\b(next steps?|what now|what happens next|where do (i|we) go from here|"
                       r"how do (i|we) (get started|start|take it forward|proceed))\b")
# Questions after which "what's the next step?" means applying (or becoming a partner).
JOURNEYS = PARTNERSHIP | {"recommend_npq", "programme_info", "find_hub", "ask_deadlines",
                          "ask_funding", "ask_eligibility", "inform"}


class ActionGoodbye(Action):
    def name(self) -> str:
        return "action_goodbye"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        """Say goodbye, leaving any form."""
        say(dispatcher, "goodbye")
        return end_form(tracker)


class ActionStop(Action):
    def name(self) -> str:
        return "action_stop"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        """"Never mind": drop what the assistant was asking (a form, or a question outside
        one), say so, and offer what else it can do. Nothing the user gave is deleted."""
        doing = FORM_TOPICS.get(tracker.active_loop_name or "")
        if doing:
            say(dispatcher, "stopped", doing=doing)
        else:
            say(dispatcher, "stop")
        return [*end_form(tracker), *([SlotSet("pending", None)]
                                      if tracker.get_slot("pending") is not None else [])]


class ActionContinueForm(Action):
    def name(self) -> str:
        return "action_continue_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        """Asked for what the running form is already doing ("are we a good fit?" inside the
        partner check): say so; the form then asks its question again (nlu_data/rules/forms.yml,
        generated by ops/form_rules.py), instead of a "not sure what you mean"."""
        say(dispatcher, "continuing", doing=FORM_TOPICS.get(tracker.active_loop_name or "", ""))
        return []


class ActionClarify(Action):
    def name(self) -> str:
        return "action_clarify"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        """Offer the likeliest meanings as buttons; after a second miss in a row, the menu and
        a person."""
        if tracker.active_loop_name:  # the form asks its question again
            dispatcher.utter_message(text=NOT_UNDERSTOOD_IN_FORM)
            return []
        if names_a_course_topic(tracker):  # "who is your lead provider?": answer, don't guess
            return await reply_about_programme(dispatcher, tracker, latest_entity(tracker, "npq"))
        if asks_what_is_held(typed_text(tracker)):  # "what information have you got on me"
            return await reply_what_is_held(dispatcher, tracker)
        if greets_by_name(dispatcher, tracker):  # "Hello, I'm Cornwall", read unsurely
            return []
        asked = questions_asked(tracker)
        if asked:  # two questions about a named programme in one long message: both answered
            return await answer_questions(dispatcher, tracker, domain, asked)
        where = unread_place_reply(tracker)
        if where:  # "keigly" after "Where should I look?": the place, misspelt
            return await answer_where(dispatcher, tracker, where)
        unknown = await in_session(unknown_code_answer, text=typed_text(tracker))
        if unknown is not None:  # "NPQX": no such programme
            return respond(dispatcher, tracker, unknown)
        if contact_details_in(typed_text(tracker)):  # an e-mail or phone number, unasked
            say(dispatcher, "contact_offer")
            return []
        suggestions = suggested_buttons(tracker.latest_message)
        if previous_action(tracker) == "action_clarify":
            say(dispatcher, "default")  # "still not sure"
            return []
        if not suggestions:
            say(dispatcher, "not_understood")
            return []
        text = "Sorry, I'm not sure I understood. Did you mean one of these?"
        buttons = [*suggestions, {"title": "Something else", "payload": "/deny"}]
        dispatcher.utter_message(text=text, buttons=buttons)
        # a town in the message is kept for the next "where's my nearest hub?" typed instead
        place = latest_entity(tracker, "location") or latest_entity(tracker, "postcode")
        return [ask_next("clarify"), *(remember_place(tracker, place) if place else [])]


class ActionDefaultFallback(Action):
    """Rasa's core fallback (config.yml core_fallback_action_name), overridden because its
    built-in version utters the domain response utter_default, which lives in
    actions/replies.yml instead."""

    def name(self) -> str:
        return "action_default_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        """The menu and a person; the message is then forgotten, as the built-in one does."""
        say(dispatcher, "default")
        return [UserUtteranceReverted()]


def _letters(text: str | None) -> tuple[int, int]:
    """How many Latin letters and digits text holds, and how many letters of other scripts."""
    known = other = 0
    for char in text or "":
        if unicodedata.category(char)[0] == "N" or (
                char.isalpha() and unicodedata.name(char, "").startswith("LATIN")):
            known += 1
        elif char.isalpha():
            other += 1
    return known, other


def has_words(text: str | None) -> bool:
    """Whether text holds a Latin letter or a digit (rasa_components/no_words.py reads a
    message without one as out_of_scope: "🤔", "?", "...")."""
    return _letters(text)[0] > 0


def not_latin(text: str | None) -> bool:
    """Whether text is written in another script than the Latin alphabet (Arabic, Urdu,
    Chinese, Cyrillic...: two letters at least, more than its Latin letters and digits): the
    model reads English only. A lone letter among symbols, as in a shrug "¯\\_(ツ)_/¯", is not."""
    known, other = _letters(text)
    return other >= 2 and other > known


def names_a_course_topic(tracker: Tracker) -> bool:
    """An unsure reading of a message that names one of a programme's specific topics (the
    provider, the assessment, what it is worth, the track record), with "what an NPQ involves"
    among the model's three best guesses: the topic's answer is what was asked."""
    ranking = [c.get("name") for c in tracker.latest_message.get("intent_ranking") or []
               if c.get("name") != "nlu_fallback"]
    if latest_entity(tracker, "npq") and topic_of(typed_text(tracker), PLACES) is not None:
        return True  # "is there a waiting list for npqh in leeds": places left, whatever the guess
    return "programme_info" in ranking[:3] and topic_of(typed_text(tracker),
                                                        COURSE_TOPICS) is not None


def suggested_buttons(message: dict[str, Any]) -> list[dict[str, str]]:
    """Buttons for the likeliest intents we can describe, carrying the message's entities."""
    ranking = message.get("intent_ranking") or []
    entities = {e["entity"]: e["value"] for e in message.get("entities") or []
                if e.get("entity") in CARRIED_ENTITIES and isinstance(e.get("value"), str)}
    suffix = json.dumps(entities) if entities else ""
    buttons: list[dict[str, str]] = []
    for candidate in ranking:
        name = candidate.get("name")
        if (name in INTENT_TITLES
                and (candidate.get("confidence") or 0) >= MIN_SUGGESTION_CONFIDENCE
                and len(buttons) < MAX_SUGGESTIONS):
            buttons.append({"title": INTENT_TITLES[name], "payload": f"/{name}{suffix}"})
    return buttons

