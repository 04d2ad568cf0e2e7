"""The model history: every promotion, refused candidate and rollback of the NLU model, with who
did it and the held-out scores before and after (the model_promotions table). ops/retrain.py
writes it; /retrain, /rollback and `python -m ops.retrain history` read it.

The caller owns the session (and commits). `now` is always a parameter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from npq.db.models import ModelPromotion
from npq.message_log import utc


def log_model_action(session: Session, *, action: str, model_file: str,
                     previous_model: str | None, staff_id: str | int,
                     scores_before: Mapping[str, float] | None,
                     scores_after: Mapping[str, float] | None, reasons: Sequence[str] = (),
                     now: dt.datetime) -> ModelPromotion:
    """Record a promotion, a refused candidate or a rollback (ops/retrain.py does)."""
    row = ModelPromotion(action=action, model_file=model_file, previous_model=previous_model,
                         staff_id=str(staff_id), reasons=list(reasons), created_at=utc(now),
                         scores_before=dict(scores_before) if scores_before else None,
                         scores_after=dict(scores_after) if scores_after else None)
    session.add(row)
    session.flush()
    return row


def model_actions(session: Session, *, limit: int = 10) -> list[ModelPromotion]:
    """The latest promotions, refusals and rollbacks, newest first."""
    return list(session.scalars(select(ModelPromotion)
                                .order_by(ModelPromotion.created_at.desc(),
                                          ModelPromotion.id.desc()).limit(limit)))


def known_scores(session: Session, model_file: str) -> dict[str, float] | None:
    """The held-out scores last measured for a model (as candidate or as the one in service)."""
    for row in model_actions(session, limit=200):
        if row.model_file == model_file and row.scores_after:
            return dict(row.scores_after)
        if row.previous_model == model_file and row.scores_before:
            return dict(row.scores_before)
    return None
