"""The model history (npq/model_history.py): promotions, refusals and rollbacks with who did them
and the scores."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from npq.model_history import known_scores, log_model_action, model_actions
from tests.support.logged_turns import NOW

# --- the model log ------------------------------------------------------------------------------

def test_model_actions_are_logged_with_who_and_scores(session: Session) -> None:
    before = {"intent_accuracy": 0.95, "macro_f1": 0.94, "entity_f1": 0.9}
    after = {"intent_accuracy": 0.96, "macro_f1": 0.95, "entity_f1": 0.9}
    log_model_action(session, action="promote", model_file="npq-b.tar.gz",
                     previous_model="npq-a.tar.gz", staff_id=12, scores_before=before,
                     scores_after=after, reasons=["intent accuracy +0.01"], now=NOW)
    log_model_action(session, action="rollback", model_file="npq-a.tar.gz",
                     previous_model="npq-b.tar.gz", staff_id="13", scores_before=after,
                     scores_after=before, now=NOW + dt.timedelta(hours=1))
    session.commit()
    latest, first = model_actions(session)
    assert (latest.action, latest.staff_id, first.action, first.staff_id) == (
        "rollback", "13", "promote", "12")
    assert first.scores_before == before and first.reasons == ["intent accuracy +0.01"]
    assert known_scores(session, "npq-a.tar.gz") == before
    assert known_scores(session, "npq-b.tar.gz") == after
    assert known_scores(session, "npq-never.tar.gz") is None
