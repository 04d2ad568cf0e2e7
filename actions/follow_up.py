"""action_follow_up: a bare answer, yes or no outside a form continues what was asked last.

"Leeds" after "Where should I look?", "an academy" after "Where do you work?", "yes" after
"Shall I pass this to our team?". With nothing pending, the message's own content decides: a
place finds hubs, a role starts a recommendation, a programme is described. Inside a form this
runs only when the form could not use the message: it apologises, and the rules in
nlu_data/rules/forms.yml return to the form, which asks again.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.corrections import correct
from actions.deadlines import reply_with_deadlines
from actions.funding import reply_about_funding
from actions.hubs import reply_with_hubs
from actions.partners import record_enquiry
from actions.people import FORGET_BUTTONS, erase_everything
from actions.programmes import reply_about_programme
from actions.small_talk import NOT_UNDERSTOOD_IN_FORM, ActionClarify
from actions.support import (
    greets_by_name,
    latest_entity,
    latest_intent,
    pending,
    previous_action,
    remember_place,
    say,
    says_yes,
    typed_text,
    utter,
)
from actions.where import answer_where, unread_place_reply
from npq.answers import Answer
from npq.funding import parse_setting, pp50_stated
from npq.profile import read_profile

FUNDING_ACTIONS = frozenset({"action_funding", "action_eligibility"})
NOT_CONFIRMED = ("I haven't deleted anything. To delete everything I hold about you, tap \"Yes, "
                 "delete it all\" (or say yes); to keep it, tap \"No, keep it\".")


class ActionFollowUp(Action):
    def name(self) -> str:
        return "action_follow_up"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        """Continue the pending question, or act on what the message says."""
        if tracker.active_loop_name:
            dispatcher.utter_message(text=NOT_UNDERSTOOD_IN_FORM)
            return []
        asked, intent = pending(tracker), latest_intent(tracker)
        kind = asked.get("kind")
        if intent == "affirm":
            return await self._yes(dispatcher, tracker, kind, asked)
        if intent == "deny":
            return self._no(dispatcher, kind, asked)
        return await self._inform(dispatcher, tracker, kind, asked, domain)

    async def _yes(self, dispatcher: CollectingDispatcher, tracker: Tracker, kind: str | None,
                   asked: dict[str, Any]) -> list[EventType]:
        if kind == "partner_enquiry" and not (asked.get("declined")
                                              and previous_action(tracker) != "action_follow_up"):
            # a yes, or a change of mind straight after "not now" ("ok, send it anyway")
            return [*await record_enquiry(dispatcher, tracker, asked.get("answers") or {}),
                    SlotSet("pending", None)]
        if kind == "forget":
            if not says_yes(tracker):  # "i'll think about it" read as affirm
                utter(dispatcher, Answer(NOT_CONFIRMED, FORGET_BUTTONS))
                return []  # still asked
            return await erase_everything(dispatcher, tracker)
        say(dispatcher, "help")
        return _forget_pending(tracker)

    def _no(self, dispatcher: CollectingDispatcher, kind: str | None,
            asked: dict[str, Any]) -> list[EventType]:
        replies = {
            "partner_enquiry": "No problem: I haven't passed anything on. You can run the check "
                               "again at any time.",
            "forget": "No problem: I haven't deleted anything.",
        }
        if kind == "clarify":
            say(dispatcher, "default")
        elif kind in replies:
            dispatcher.utter_message(text=replies[kind])
        else:
            dispatcher.utter_message(text="No problem. Is there anything else I can help with?",
                                     buttons=[{"title": "What can you do?", "payload": "/help"},
                                              {"title": "No, that's all", "payload": "/goodbye"}])
        if kind == "partner_enquiry":  # kept for a change of mind in the next message
            return [SlotSet("pending", {**asked, "declined": True})]
        return [SlotSet("pending", None)]

    async def _inform(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                      kind: str | None, asked: dict[str, Any],
                      domain: dict[str, Any]) -> list[EventType]:
        place = latest_entity(tracker, "location") or latest_entity(tracker, "postcode")
        if kind != "place" and greets_by_name(dispatcher, tracker):
            return []  # "Hi, I'm Devon": the writer's name, not the county (nothing asked where)
        setting = latest_entity(tracker, "setting") or parse_setting(typed_text(tracker))
        if setting is None and pp50_stated(typed_text(tracker)) is not None:
            setting = "school"  # "we're in the top 50% I think": a state school, and its verdict
        # a phase ("a nursery") implies the setting: the funding answer reads the phase slot
        if kind == "setting" and (setting or latest_entity(tracker, "phase")):
            return await reply_about_funding(dispatcher, tracker, asked.get("intent")
                                                 or "ask_funding", setting=setting)
        funding = previous_action(tracker) in FUNDING_ACTIONS
        if setting and funding and not place:
            # "we're an academy" after a funding answer nobody asked it for: the verdict there
            return await reply_about_funding(dispatcher, tracker, "ask_funding", setting=setting)
        read = read_profile(typed_text(tracker))
        about_them = bool(latest_entity(tracker, "role") or latest_entity(tracker, "phase")
                          or read.role or read.ambition)
        if place and about_them and kind != "place":
            # "I'm an early years teacher in a private nursery in Truro": what suits them, and
            # the town is kept for "what's the nearest hub" (hubs alone ignored who they are)
            return [SlotSet("pending", None), *remember_place(tracker, place),
                    FollowupAction("recommend_form")]
        if place and kind == "place" and asked.get("intent") == "ask_deadlines":
            return await reply_with_deadlines(dispatcher, tracker, place_text=place)
        if place:
            return await reply_with_hubs(dispatcher, tracker)
        if about_them:  # "i'd like to lead english across the school eventually"
            return [SlotSet("pending", None), FollowupAction("recommend_form")]
        named = latest_entity(tracker, "npq")
        if named:
            # "actually make that NPQSL" just after a reminder or an answer about NPQH
            corrected = await correct(dispatcher, tracker, domain, named)
            if corrected is not None:
                return corrected
            return await reply_about_programme(dispatcher, tracker, named)
        # "bradfrod" after "Where should I look?", with no location entity; not "who runs
        # this" after a list of deadlines (it was "I couldn't find a place called ...")
        where = unread_place_reply(tracker)
        if where:
            return await answer_where(dispatcher, tracker, where)
        return await ActionClarify().run(dispatcher, tracker, domain)


def _forget_pending(tracker: Tracker) -> list[EventType]:
    return [SlotSet("pending", None)] if tracker.get_slot("pending") else []
