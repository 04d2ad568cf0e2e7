"""Shared plumbing for actions: database sessions off the event loop, and uttering answers."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session, sessionmaker

from npq import geo
from npq.answers import Answer, Button
from npq.db import make_engine, make_session_factory, session_scope
from npq.deadlines import also_asks_deadline, deadline_aside
from npq.funding import also_asks_funding, funding_aside
from npq.intents import ASKS_SOMETHING_ELSE
from npq.people import introduced_name
from npq.settings import Settings

T = TypeVar("T")
MAX_PLACE_TEXT = 1000
_override: sessionmaker[Session] | None = None


@cache
def _default_factory() -> sessionmaker[Session]:
    return make_session_factory(make_engine(Settings.from_env().database_url))


def reminder_days() -> tuple[int, ...]:
    """REMINDER_DAYS: how many days before a deadline the bot sends reminders (npq.settings)."""
    return Settings.from_env().reminder_days


def message_retention_days() -> int:
    """MESSAGE_RETENTION_DAYS: how long the message log keeps a message's text (npq.settings)."""
    return Settings.from_env().message_retention_days


def use_session_factory(factory: sessionmaker[Session] | None) -> None:
    """Point every action at another database (tests); None restores DATABASE_URL."""
    global _override
    _override = factory


async def in_session(work: Callable[..., T], /, **kwargs: Any) -> T:
    """Run `work(session, **kwargs)` in a worker thread with its own session (one per call)."""
    factory = _override or _default_factory()

    def run() -> T:
        with session_scope(factory) as session:
            return work(session, **kwargs)

    return await asyncio.to_thread(run)


def payload(button: Button) -> str:
    """A Rasa button payload: the intent with its entities, as Rasa's `/intent{...}` syntax."""
    return f"/{button.intent}{json.dumps(button.entities) if button.entities else ''}"


ASK_LOCATION = {"ask_location": True}  # front ends may offer a "share my location" button


def utter(dispatcher: CollectingDispatcher, answer: Answer) -> None:
    dispatcher.utter_message(
        text=answer.text,
        buttons=[{"title": b.title, "payload": payload(b)} for b in answer.buttons],
    )
    if answer.asks_location:
        dispatcher.utter_message(json_message=ASK_LOCATION)


REPLIES = Path(__file__).with_name("replies.yml")


@cache
def replies() -> dict[str, dict[str, Any]]:
    """The fixed replies of actions/replies.yml, by name (read once)."""
    loaded = yaml.safe_load(REPLIES.read_text(encoding="utf-8"))
    return {str(name): dict(reply) for name, reply in loaded.items()}


def say(dispatcher: CollectingDispatcher, name: str, **fields: str) -> None:
    """Utter a fixed reply of actions/replies.yml: its text, buttons and custom JSON in one
    message, as a domain response would be. A reply's `{field}`s are filled from `fields`, or
    from the reply's own defaults (its `defaults:` mapping)."""
    reply = replies()[name]
    values = {**(reply.get("defaults") or {}), **{k: v for k, v in fields.items() if v}}
    dispatcher.utter_message(
        text=reply["text"].format(**values) if values else reply["text"],
        buttons=[dict(button) for button in reply.get("buttons") or []],
        json_message=dict(reply["custom"]) if reply.get("custom") else None,
    )


class AskInFixedWords(Action, ABC):
    """A form's question that never changes: `action_ask_<slot>` says replies.yml's
    `ask_<slot>` (Rasa's forms run action_ask_<slot> to ask for <slot>)."""

    @abstractmethod
    def name(self) -> str: ...

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        say(dispatcher, self.name().removeprefix("action_"))
        return []


# A correction of the answer just given, or the same question for another programme: "actually
# make that NPQSL", "sorry, I meant the SENCO one", "what about NPQSL?", "and npqlt?"
CORRECTION = re.compile(r"\b(actually|i meant|i mean|meant|instead|make (that|it)|change (it|that)|"
                        r"switch (it|that)|not that one|wrong one|sorry|same for)\b"
                        # "what about NPQSL?" / "and for npqlt?": the same question for another
                        r"|^\W*(and |ok |okay |so |right )?(what|how|wat) about\b"
                        r"|^\W*and (for |the |what about )?\w*\W*$", re.IGNORECASE)


# "I already did NPQSL, can I get funding for NPQH?": the programme done is not the one asked
DONE_BEFORE = re.compile(r"\b(did|done|completed|finished|passed|failed|have|got|hold|holding|"
                         r"already)\W+(\w+\W+){0,2}$", re.IGNORECASE)


def latest_entity(tracker: Tracker, name: str) -> str | None:
    if name == "npq":
        asked = _programme_asked(tracker)
        if asked is not None:
            return asked
    value = next(tracker.get_latest_entity_values(name), None)
    if isinstance(value, (dict, list)):  # a hand-typed payload, not a word the user said
        return None
    return str(value) if value not in (None, "") else None


def _programme_asked(tracker: Tracker) -> str | None:
    """Of two programmes named, the one asked about, when the other is one the user has done."""
    text = str(tracker.latest_message.get("text") or "")
    named = [e for e in tracker.latest_message.get("entities") or []
             if e.get("entity") == "npq" and isinstance(e.get("value"), str)
             and isinstance(e.get("start"), int)]
    if len({e["value"] for e in named}) < 2:
        return None
    asked = [e for e in named if not DONE_BEFORE.search(text[:e["start"]][-40:])]
    return str(asked[0]["value"]) if asked and len(asked) < len(named) else None


def text_slot(tracker: Tracker, name: str) -> str | None:
    """A text slot's value; None when it holds anything else (a hand-typed button payload can
    put any JSON value in a slot)."""
    value = tracker.get_slot(name)
    return value if isinstance(value, str) and value.strip() else None


def latest_intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message.get("intent") or {}).get("name")


def is_answer(tracker: Tracker, *, unless: frozenset[str] = ASKS_SOMETHING_ELSE) -> bool:
    """Whether the latest message can be read as an answer to the form's question."""
    return latest_intent(tracker) not in unless


def earlier_messages(tracker: Tracker, count: int) -> list[dict[str, Any]]:
    """This session's last `count` user messages before the latest, latest first: each one's
    parse data (intent, entities) with its text."""
    found: list[dict[str, Any]] = []
    events = [e for e in tracker.events if e.get("event") in ("user", "session_started")]
    for event in reversed(events[:-1]):  # the last is the message being handled
        if event.get("event") == "session_started" or len(found) == count:
            break
        found.append({**(event.get("parse_data") or {}), "text": event.get("text")})
    return found


def earlier_intents(tracker: Tracker, count: int) -> list[str]:
    """The intents of this session's last `count` messages before the latest, latest first."""
    return [str((message.get("intent") or {}).get("name"))
            for message in earlier_messages(tracker, count)]


def latest_text(tracker: Tracker) -> str:
    return str(tracker.latest_message.get("text") or "")


# What each form is doing, in the words of "OK, I've stopped {doing}."
FORM_TOPICS = {"recommend_form": "looking for the NPQ that suits you",
               "partner_fit_form": "the partner check",
               "interest_form": "taking your details for the team",
               "reminder_form": "setting up your reminder"}


def end_form(tracker: Tracker) -> list[EventType]:
    """Leave whatever form is active (the user said goodbye, asked for a person, ...)."""
    if not tracker.active_loop_name:
        return []
    return [ActiveLoop(None), SlotSet("requested_slot", None)]


def ask_next(kind: str, **details: Any) -> SlotSet:
    """Remember what we just asked outside a form, so a bare reply continues it."""
    return SlotSet("pending", {"kind": kind, **details})


def respond(dispatcher: CollectingDispatcher, tracker: Tracker, answer: Answer,
            *events: EventType, asked: SlotSet | None = None) -> list[EventType]:
    """Utter a journey's answer, and remember what it asked (or forget an earlier question).
    Asked in the middle of a form, the rules in nlu_data/rules/forms.yml then return to it."""
    utter(dispatcher, answer)
    if asked is None and tracker.get_slot("pending") is not None:
        asked = SlotSet("pending", None)
    if not any(event.get("event") == "slot" and event.get("name") == "place" for event in events):
        named = named_place(tracker)
        events = (*events, *remember_place(tracker, named)) if named else events
    return [*events, *([asked] if asked else [])]


def named_place(tracker: Tracker) -> str | None:
    """The place this message names as an entity (a postcode before a town)."""
    return latest_entity(tracker, "postcode") or latest_entity(tracker, "location")


async def with_asides(tracker: Tracker, answer: Answer, code: str | None, *, today: dt.date,
                      funding: bool = True, deadline: bool = True) -> Answer:
    """The answer, plus a line for each other thing the same message asked about the programme
    ("which npq suits me and is it free?", "what's NPQH and when do I apply by?")."""
    question = typed_text(tracker)
    funding = funding and also_asks_funding(question)  # the cues first: no database otherwise
    deadline = deadline and also_asks_deadline(question)
    if not code or not (funding or deadline):
        return answer
    lines = []
    if funding:
        lines.append(await in_session(
            funding_aside, today=today, programme_code=code, question=question,
            setting=latest_entity(tracker, "setting") or text_slot(tracker, "setting"),
            phase=latest_entity(tracker, "phase") or text_slot(tracker, "phase"),
            role=latest_entity(tracker, "role") or text_slot(tracker, "role")))
    if deadline:
        lines.append(await in_session(deadline_aside, today=today, programme_code=code,
                                      question=question))
    extra = [line for line in lines if line]
    return replace(answer, text="\n\n".join([answer.text, *extra])) if extra else answer


def place_abroad(tracker: Tracker) -> geo.Place | None:
    """The place this message names, when it is outside England ("I'm in Cardiff")."""
    named = named_place(tracker)
    place = geo.resolve_place(named[:MAX_PLACE_TEXT]).place if named else None
    return place if place is not None and place.kind != "coordinates" \
        and place.country != "England" else None


def remember_place(tracker: Tracker, place_text: str | None) -> list[EventType]:
    """Remember the place asked about when it is a real place in England (not a misspelling
    awaiting "did you mean", not Cardiff), by the name the user will recognise."""
    if place_text:
        resolved = geo.resolve_place(place_text[:MAX_PLACE_TEXT]).place
    else:
        text = typed_text(tracker) or ""
        resolved = geo.find_place_in_text(text[:MAX_PLACE_TEXT]).place if text else None
    if resolved is None or resolved.kind == "coordinates" or resolved.country != "England" \
            or resolved.name == text_slot(tracker, "place"):
        return []
    return [SlotSet("place", resolved.name)]


def programme_mentioned(tracker: Tracker) -> str | None:
    """The programme named in this message, else the one the conversation is about."""
    return latest_entity(tracker, "npq") or text_slot(tracker, "npq")


def typed_text(tracker: Tracker) -> str | None:
    """What the user typed; None for a button's or a shared location's payload."""
    text = latest_text(tracker)
    return None if not text or text.startswith("/") else text


def typed_option(tracker: Tracker, reply: str) -> str | None:
    """The `answer` of the button of replies.yml's `reply` whose title the user typed ("keen to
    learn" for the button "Keen to learn"): typing a button's words is pressing it, whatever
    the model reads in them. None when the text is not one of the titles."""
    text = typed_text(tracker)
    if text is None:
        return None
    wanted = _normalised(text)
    for button in replies()[reply].get("buttons") or []:
        if _normalised(str(button.get("title", ""))) == wanted:
            payload = str(button.get("payload", ""))
            answer = json.loads(payload[payload.index("{"):]).get("answer") if "{" in payload \
                else None
            return str(answer) if answer is not None else None
    return None


def _normalised(text: str) -> str:
    return " ".join("".join(c if c.isalnum() else " " for c in text.lower()).split())


def button_code(answer: Answer) -> str | None:
    """The programme an answer is about, as its buttons name it; None when they offer a choice
    of programmes ("Which NPQ are you asking about?")."""
    codes = {b.entities["npq"] for b in answer.buttons if "npq" in b.entities}
    return codes.pop() if len(codes) == 1 else None


def pending(tracker: Tracker) -> dict[str, Any]:
    value = tracker.get_slot("pending")
    return value if isinstance(value, dict) else {}


def coordinates(tracker: Tracker) -> tuple[float, float] | None:
    """A location the user shared (the bot sends it as latitude/longitude entities)."""
    try:
        lat = float(latest_entity(tracker, "latitude") or "")
        lon = float(latest_entity(tracker, "longitude") or "")
    except ValueError:
        return None
    return (lat, lon) if -90 <= lat <= 90 and -180 <= lon <= 180 else None


# Consent and deleting everything: a typed "yes" must say yes in words ("yes please", "go ahead",
# "ok, delete it"), not only read as affirm to the model, which reads hesitation and odd words as
# affirm too ("i'll think about it" 0.95, "Plimbo" 0.83). A button's payload is no typed text.
YES_WORDS = re.compile(r"\b(yes|yeah|yea|yep|yup|ya|aye|y|sure|ok|okay|k|go ahead|do it|delete|"
                       r"erase|remove|confirm\w*|please do|definitely|absolutely|of course|"
                       r"certainly|fine|correct|agreed|happy to|that's fine|thats fine)\b")


def says_yes(tracker: Tracker) -> bool:
    """Whether the latest message says yes in words, or is a button's payload."""
    typed = typed_text(tracker)
    return typed is None or YES_WORDS.search(typed.lower()) is not None


def previous_action(tracker: Tracker) -> str | None:
    """The last action the assistant ran before the latest user message."""
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            if seen_user:
                return None
            seen_user = True
        elif seen_user and event.get("event") == "action" and event.get("name") != "action_listen":
            return str(event.get("name"))
    return None


def greets_by_name(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """A message that only introduces its writer ("Hi, I'm Devon", "hello my name is Chester"),
    however the model read it, greeted by that name (a name, not a place); False, and nothing
    said, for anything else, or when it also names a programme, a role or a phase."""
    place = latest_entity(tracker, "location") or latest_entity(tracker, "postcode")
    name = introduced_name(typed_text(tracker), place)
    if not name or any(latest_entity(tracker, e) for e in ("npq", "role", "phase")):
        return False
    say(dispatcher, "greet_named", who=name)
    return True
