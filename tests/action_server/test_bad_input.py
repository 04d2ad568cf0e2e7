"""Every action rasa-sdk registers, against nasty input: empty and wrong-typed slots and entities,
places and postcodes that don't exist, impossible coordinates, SQL-looking text, emoji, a
4,000-character message and unknown programmes. Each must return normally; an action that answers
gives a short, non-empty reply; a validation action keeps only values it recognises.

Runs on SQLite only (the table is large); the rows such input writes are checked on PostgreSQL
too, in test_people.py and test_partners.py.
"""

from __future__ import annotations

import importlib
import inspect
import json
import math
import pkgutil
from dataclasses import dataclass, field
from typing import Any

import pytest
from rasa_sdk import Action, FormValidationAction

import actions
from npq.partners import ORGANISATION_TYPES, area_from_slot
from npq.people import validate_email, validate_name
from npq.profile import AMBITIONS
from npq.vocabulary import PHASES, ROLES
from tests.action_server.conftest import DOMAIN, Outcome, entity, run, tracker

CURRENT = {"EHCO", "NPQEL", "NPQEYL", "NPQH", "NPQLBC", "NPQLL", "NPQLPM", "NPQLT", "NPQLTD",
           "NPQSENCO", "NPQSL"}
SQL = "'; DROP TABLE hubs;--"
LONG = ("I'm a deputy head at a primary near Leeds and I want to know about NPQH deadlines. "
        * 60)[:4000]
SLOTS = [name for name in DOMAIN["slots"]]
# What each validated slot may hold: a recognised value, or None (asked again).
VALID: dict[str, Any] = {
    "role": lambda v: v in ROLES, "phase": lambda v: v in PHASES,
    "ambition": lambda v: v in AMBITIONS,
    "organisation_type": lambda v: v in ORGANISATION_TYPES,
    "partner_area": lambda v: area_from_slot(v) is not None,
    "facilities": lambda v: v in ("yes", "no"),
    "works_with_others": lambda v: v in ("yes", "no"),
    "facilitators": lambda v: v in ("yes", "keen", "no"),
    "first_programme": lambda v: v in CURRENT | {"not_sure"},
    "lead_name": lambda v: isinstance(v, str) and validate_name(v) == v,
    "lead_email": lambda v: isinstance(v, str) and validate_email(v) == v,
    "lead_consent": lambda v: v in ("yes", "no"),
    "reminder_programme": lambda v: v in CURRENT | {"any", "none"},  # none: "no" to the question
}


@pytest.fixture(params=["sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """SQLite only for this table (overrides tests/conftest.py)."""
    return f"sqlite:///{tmp_path / 'npq.db'}"


def registered_actions() -> list[type[Action]]:
    """Every concrete Action rasa-sdk would register from actions/ (it imports every module)."""
    modules = [importlib.import_module(f"actions.{m.name}")
               for m in pkgutil.iter_modules(actions.__path__)]
    found = {cls for module in modules for _, cls in inspect.getmembers(module, inspect.isclass)
             if issubclass(cls, Action) and cls.__module__.startswith("actions.")
             and not inspect.isabstract(cls)}
    return sorted(found, key=lambda cls: cls.__name__)


ACTIONS = registered_actions()
# The intent that runs each action (rules), and the form it runs in, if any.
TRIGGER = {
    "action_small_talk": "out_of_scope", "action_goodbye": "goodbye", "action_stop": "stop",
    "action_continue_form": "recommend_npq",
    "action_clarify": "nlu_fallback", "action_follow_up": "inform",
    "action_default_fallback": "nlu_fallback",
    "action_programme_info": "programme_info", "action_find_hub": "find_hub",
    "action_recommend": "recommend_npq", "action_deadlines": "ask_deadlines",
    "action_funding": "ask_funding", "action_eligibility": "ask_eligibility",
    "action_how_to_apply": "how_to_apply", "action_become_partner": "become_partner",
    "action_partner_requirements": "partner_requirements",
    "action_partner_benefits": "partner_benefits", "action_partner_fit": "inform",
    "action_register_interest": "inform", "action_subscribe_reminders": "inform",
    "action_unsubscribe": "unsubscribe", "action_forget_me": "forget_me",
    "action_talk_to_human": "talk_to_human",
}
FORM_OF_QUESTION = {"action_ask_role": "recommend_form", "action_ask_phase": "recommend_form",
                    "action_ask_ambition": "recommend_form",
                    "action_ask_organisation_type": "partner_fit_form",
                    "action_ask_partner_area": "partner_fit_form",
                    "action_ask_facilities": "partner_fit_form",
                    "action_ask_facilitators": "partner_fit_form",
                    "action_ask_works_with_others": "partner_fit_form",
                    "action_ask_first_programme": "partner_fit_form",
                    "action_ask_lead_name": "interest_form",
                    "action_ask_lead_email": "interest_form",
                    "action_ask_lead_consent": "interest_form",
                    "action_ask_reminder_programme": "reminder_form"}
QUIET = frozenset(FORM_OF_QUESTION)  # they ask; asking is their whole reply
TYPED_ANSWER = frozenset({"action_ask_partner_area", "action_ask_lead_name",
                          "action_ask_lead_email"})  # questions without buttons


def every_slot(value: Any) -> dict[str, Any]:
    return {name: value for name in SLOTS if name != "requested_slot"}


def every_entity(value: Any) -> list[dict[str, Any]]:
    return [entity(name, value) for name in DOMAIN["entities"]]


@dataclass(frozen=True)
class Nasty:
    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)
    slots: dict[str, Any] = field(default_factory=dict)
    reply: str = "inform"  # the intent of a bare reply (action_follow_up and the form endings)


NASTY: dict[str, Nasty] = {
    "empty message, nothing known": Nasty(""),
    "every slot and entity None": Nasty("", every_entity(None), every_slot(None)),
    "whitespace only": Nasty("   \n\t "),
    "nonsense place": Nasty("hub near Qwertyuiop", [entity("location", "Qwertyuiop")]),
    "impossible postcode": Nasty("ZZ99 9ZZ", [entity("postcode", "ZZ99 9ZZ")]),
    "coordinates out of range": Nasty('/find_hub{"latitude": 123.0, "longitude": -500}', [
        entity("latitude", 123.0), entity("longitude", -500)]),
    "NaN and infinite coordinates": Nasty('/find_hub{"latitude": NaN}', [
        entity("latitude", math.nan), entity("longitude", math.inf)]),
    "coordinates as words": Nasty("/find_hub", [entity("latitude", "north"),
                                                entity("longitude", "east")]),
    "SQL-looking text everywhere": Nasty(SQL, every_entity(SQL),
                                         {**every_slot(SQL), "pending": {"kind": SQL}}),
    "emoji": Nasty("🙂🎓🔥", [entity("location", "🙂"), entity("npq", "🎓")],
                   {"lead_name": "🙂", "lead_email": "🙂@🙂.uk", "reminder_programme": "🎓"}),
    "a 4,000-character message": Nasty(LONG, [entity("location", LONG), entity("npq", LONG),
                                              entity("role", LONG)], every_slot(LONG[:1000])),
    "unknown programme code": Nasty("tell me about NPQXYZ", [entity("npq", "NPQXYZ")], {
        "npq": "NPQXYZ", "reminder_programme": "NPQXYZ", "first_programme": "NPQXYZ"}),
    "legacy programme code": Nasty("NPQML", [entity("npq", "NPQML")], {
        "npq": "NPQML", "reminder_programme": "NPQML", "first_programme": "NPQML"}),
    "a dict where a string is expected": Nasty("hmm", every_entity({"unexpected": ["dict"]}),
                                               every_slot({"unexpected": ["dict"]})),
    "a number where a string is expected": Nasty("42", every_entity(42), every_slot(42)),
    "a list where a string is expected": Nasty("x", every_entity(["primary", "NPQH"]),
                                               every_slot(["a", "list"])),
    "a completed form holding wrong-typed context": Nasty("yes", [], {
        **every_slot({"unexpected": "dict"}), "lead_name": "Sam Patel",
        "lead_email": "sam@school.org.uk", "lead_consent": "yes", "reminder_programme": "NPQH",
        "pending": None, "npq": ["NPQH"], "role": 7}, reply="affirm"),
    "a completed form holding values it never accepts": Nasty("yes", [], {
        "lead_name": "12345", "lead_email": "not an email", "lead_consent": "yes",
        "reminder_programme": "NPQXYZ", "organisation_type": "castle",
        "partner_area": {"name": "Atlantis"}, "facilities": "maybe", "facilitators": SQL,
        "works_with_others": "🙂", "first_programme": "NPQXYZ", "role": "astronaut", "phase": SQL,
        "ambition": "world domination", "setting": "the moon"}, reply="affirm"),
    "pending that is not a dict": Nasty("yes", [], {"pending": "partner_enquiry"},
                                        reply="affirm"),
    "a partner enquiry pending with junk answers": Nasty("yes", [], {"pending": {
        "kind": "partner_enquiry", "answers": {"partner_area": {"latitude": "NaN"},
                                               "facilities": 3, "first_programme": SQL}}},
        reply="affirm"),
    "a partner enquiry pending with no answers": Nasty("yes", [], {"pending": {
        "kind": "partner_enquiry", "answers": "nonsense"}}, reply="affirm"),
    "a refusal with an unknown question pending": Nasty("no", [], {"pending": {"kind": SQL}},
                                                        reply="deny"),
}


def contexts(action: Action) -> list[dict[str, Any]]:
    """The intent, form and requested slot the action runs with in the dialogue: a validation
    action once for each question its form asks."""
    name = action.name()
    if isinstance(action, FormValidationAction):
        form = action.form_name()
        return [{"intent": "inform", "form": form, "requested_slot": slot}
                for slot in [None, *DOMAIN["forms"][form]["required_slots"]]]
    if name in FORM_OF_QUESTION:
        form = FORM_OF_QUESTION[name]
        return [{"intent": "inform", "form": form,
                 "requested_slot": DOMAIN["forms"][form]["required_slots"][0]}]
    return [{"intent": TRIGGER[name]}]  # "inform": a bare reply, see Nasty.reply


def mapped_slots(entities: list[dict[str, Any]]) -> dict[str, Any]:
    """What Rasa's from_entity mappings would set from these entities."""
    mapped = {}
    for slot, spec in DOMAIN["slots"].items():
        for mapping in spec.get("mappings", []):
            if mapping.get("type") == "from_entity":
                values = [e["value"] for e in entities if e["entity"] == mapping["entity"]]
                if values and values[0] is not None:
                    mapped[slot] = values[0]
    return mapped


def test_the_table_covers_every_registered_action() -> None:
    names = {cls().name() for cls in ACTIONS}
    assert names == set(DOMAIN["actions"])
    assert names == set(TRIGGER) | set(FORM_OF_QUESTION) | {
        a for a in DOMAIN["actions"] if a.startswith("validate_")}


@pytest.mark.parametrize("case", list(NASTY))
@pytest.mark.parametrize("action_class", ACTIONS, ids=lambda cls: cls().name())
async def test_every_action_survives_nasty_input(action_class: type[Action], case: str) -> None:
    action, nasty = action_class(), NASTY[case]
    validating = isinstance(action, FormValidationAction)
    for where in contexts(action):
        intent = nasty.reply if where["intent"] == "inform" and "form" not in where else (
            where["intent"])
        t = tracker(nasty.text, intent, nasty.entities, slots=nasty.slots,
                    form=where.get("form"), requested_slot=where.get("requested_slot"),
                    mapped=mapped_slots(nasty.entities) if validating else None,
                    sender="nasty-chat")

        outcome = await run(action, t, DOMAIN)  # no exception

        assert_plain_events_and_clear_messages(outcome)
        if validating:
            assert_only_recognised_values(outcome, action.form_name())
        elif action.name() in QUIET:
            assert outcome.text.strip()  # a question, with its answers as buttons
            assert outcome.buttons or action.name() in TYPED_ANSWER
        else:
            followed = any(e["event"] == "followup" for e in outcome.events)
            assert outcome.text.strip() or outcome.responses or followed, "no reply at all"


def assert_plain_events_and_clear_messages(outcome: Outcome) -> None:
    json.dumps(outcome.events, allow_nan=False)  # what Rasa receives is plain JSON
    assert all(isinstance(e, dict) and e.get("event") for e in outcome.events)
    for message in outcome.messages:
        assert message.get("text") or message.get("response") or message.get("custom")
        reply = message.get("text") or ""
        assert len(reply) <= 4096, "longer than a Telegram message"
        assert "Traceback" not in reply and "None" not in reply and "{'" not in reply
        for button in message.get("buttons") or []:
            assert button["title"].strip() and button["payload"].startswith("/")


def assert_only_recognised_values(outcome: Outcome, form: str) -> None:
    required = DOMAIN["forms"][form]["required_slots"]
    for name, value in outcome.slots.items():
        if name == "requested_slot":
            assert value is None or value in required
        else:
            assert name in required, f"{name} is not this form's"
            assert value is None or VALID[name](value), (name, value)
