"""A form is left, without a word, once the user has moved on (actions/leaving.py): after a
partnership question in a candidate's form (or a candidate's question in the partner check), or
when its question has gone unanswered twice in a row. One question in between is answered and
the form asks again."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

from actions.partner_fit import ActionAskFacilities
from actions.partners import ActionPartnerFit
from actions.recommend import ActionAskRole, ActionRecommend
from tests.action_server.conftest import run, tracker, validate


def rejected(form: str) -> list[dict[str, Any]]:
    return [{"event": "action", "name": form},
            {"event": "action_execution_rejected", "name": form}]


def turn(text: str, intent: str, form: str) -> list[dict[str, Any]]:
    """An earlier message the form could not use: rejected, answered, then the form asked again."""
    return [{"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}},
            *rejected(form), {"event": "action", "name": "action_programme_info"},
            {"event": "action", "name": form}, {"event": "action", "name": "action_listen"}]


def resuming(text: str, intent: str, form: str, earlier: list[dict[str, Any]],
             answered_by: str) -> Tracker:
    """The form about to ask again after `answered_by` answered this message (Rasa does not
    validate then: it runs the form's ask action)."""
    start = [{"event": "active_loop", "name": form}, {"event": "slot", "name": "requested_slot",
                                                      "value": "role"}]
    t = tracker(text, intent, form=form, requested_slot="role", events=[*start, *earlier])
    t.events.extend([*rejected(form), {"event": "action", "name": answered_by},
                     {"event": "action", "name": form}])  # as Rasa's temporary tracker ends
    t.latest_action_name = form
    return t


def left(events: list[dict[str, Any]]) -> bool:
    return any(e.get("event") == "active_loop" and e.get("name") is None for e in events) and any(
        e.get("event") == "slot" and e.get("name") == "requested_slot" and e.get("value") is None
        for e in events)


async def test_one_question_in_between_is_answered_and_the_form_carries_on() -> None:
    t = resuming("how long is NPQH?", "programme_info", "recommend_form", [],
                 "action_programme_info")
    outcome = await validate(ActionAskRole(), t)
    assert not left(outcome.events)
    assert "What's your role" in outcome.text


async def test_a_second_unanswered_question_in_a_row_leaves_the_form() -> None:
    t = resuming("when's the deadline for npqsl?", "ask_deadlines", "recommend_form",
                 turn("how long is NPQH?", "programme_info", "recommend_form"),
                 "action_deadlines")
    outcome = await validate(ActionAskRole(), t)
    assert left(outcome.events)
    assert outcome.messages == []  # the question was answered; nothing more is said


async def test_messages_nobody_understood_never_leave_the_form() -> None:
    """Someone trying to answer gets the question again, however often."""
    t = resuming("qwerty", "nlu_fallback", "recommend_form",
                 turn("asdf", "nlu_fallback", "recommend_form"), "action_clarify")
    outcome = await validate(ActionAskRole(), t)
    assert not left(outcome.events)
    assert "What's your role" in outcome.text


async def test_an_answer_in_between_starts_the_count_again() -> None:
    answered = [{"event": "user", "text": "I'm a deputy head"},
                {"event": "slot", "name": "role", "value": "deputy_head"}]
    t = resuming("when's the deadline for npqsl?", "ask_deadlines", "recommend_form",
                 [*turn("how long is NPQH?", "programme_info", "recommend_form"), *answered],
                 "action_deadlines")
    assert not left((await validate(ActionAskRole(), t)).events)


async def test_a_partnership_question_leaves_a_candidates_form_at_once() -> None:
    t = resuming("how does becoming a delivery partner work?", "become_partner",
                 "recommend_form", [], "action_become_partner")
    assert left((await validate(ActionAskRole(), t)).events)


async def test_a_candidates_question_leaves_the_partner_check_at_once() -> None:
    t = resuming("which npq should I do as a deputy head?", "recommend_npq", "partner_fit_form",
                 [], "action_continue_form")
    assert left((await validate(ActionAskFacilities(), t)).events)


async def test_the_message_the_form_reads_first_is_never_judged() -> None:
    t = tracker("how does becoming a delivery partner work?", "become_partner",
                form="recommend_form", requested_slot="role")
    t.events.append({"event": "action", "name": "recommend_form"})
    outcome = await validate(ActionAskRole(), t)
    assert not left(outcome.events)
    assert "What's your role" in outcome.text


async def test_a_form_left_early_submits_nothing() -> None:
    t = resuming("how does becoming a delivery partner work?", "become_partner",
                 "recommend_form", [], "action_become_partner")
    t.events.append({"event": "active_loop", "name": None})
    assert (await run(ActionRecommend(), t)).messages == []
    partner = resuming("which npq should I do?", "recommend_npq", "partner_fit_form", [],
                       "action_recommend")
    assert (await run(ActionPartnerFit(), partner)).messages == []
