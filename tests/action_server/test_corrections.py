"""A correction just after an answer ("actually make that NPQSL") gives that answer again for
the programme meant, and moves a reminder just set up (actions/corrections.py). It used to
describe the programme, and the reminder stayed on the one not meant."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from actions.follow_up import ActionFollowUp
from actions.programmes import ActionProgrammeInfo
from npq.db.models import ReminderSubscription
from npq.people import subscribe_reminders
from tests.action_server.conftest import NOW, entity, rows, run, tracker


def answered_by(action: str, *extra: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"event": "user", "text": "earlier", "parse_data": {"intent": {"name": "x"}}},
            *extra, {"event": "action", "name": action},
            {"event": "action", "name": "action_listen"}]


async def test_make_that_another_programme_moves_the_reminder_just_set_up(
        database: sessionmaker[Session]) -> None:
    with database.begin() as session:
        subscribe_reminders(session, chat_id="chat-c", programme_code="NPQH", now=NOW)
    events = answered_by("action_subscribe_reminders",
                         {"event": "slot", "name": "reminder_programme", "value": "NPQH"},
                         {"event": "slot", "name": "reminder_programme", "value": None})
    outcome = await run(ActionFollowUp(), tracker(
        "actually make that npqsl", "inform", [entity("npq", "NPQSL")], events=events,
        sender="chat-c"))
    assert outcome.text.startswith("Changed: no more NPQH reminders. Done: I'll remind you here "
                                   "14, 3 and 1 days before NPQSL deadlines.")
    active = {r.programme_code for r in rows(database, ReminderSubscription, "chat-c")
              if r.active}
    assert active == {"NPQSL"}


@pytest.mark.parametrize("text", ["no, the senco one instead", "what about the senco one?",
                                  "and npqsenco?", "same for npqsenco"])
async def test_i_meant_another_programme_gives_the_same_answer_for_it(text: str) -> None:
    outcome = await run(ActionProgrammeInfo(), tracker(
        text, "programme_info", [entity("npq", "NPQSENCO")],
        events=answered_by("action_deadlines")))
    assert outcome.text.startswith("NPQSENCO (NPQ for Special Educational Needs Co-ordinators): "
                                   "the next intake is")
    assert outcome.slot("npq") == "NPQSENCO"


async def test_a_programme_named_without_a_correction_is_described() -> None:
    outcome = await run(ActionProgrammeInfo(), tracker(
        "tell me about npqsl", "programme_info", [entity("npq", "NPQSL")],
        events=answered_by("action_deadlines")))
    assert outcome.text.startswith("NPQSL: NPQ for Senior Leadership")
