"""The whole programme domain as SQLAlchemy 2.x models.

Catalogue tables (programmes, hubs, cohorts, funding rules, partner content) are loaded from the
staff-edited files in `data/catalogue/` by `python -m npq import`. The other tables record what
users asked for (leads, reminder subscriptions, partner enquiries, handoffs) and what the
assistant understood (the message log staff review).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

PROGRAMME_GROUPS = ("specialist", "leadership", "support", "legacy")
DELIVERY_MODES = ("face_to_face", "blended", "online")
FUNDING_STATUSES = ("funded", "targeted", "unfunded")
SETTINGS = ("school", "sixteen_to_nineteen", "early_years", "other")
FUNDING_CONDITIONS = ("all_eligible", "pp50", "itt_lead_mentor", "new_headteacher", "none")
NETWORK_KINDS = ("link", "text")
DELIVERY_STATUSES = ("sending", "sent", "failed")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


programme_successors = Table(
    "programme_successors",
    Base.metadata,
    Column("legacy_code", ForeignKey("programmes.code", ondelete="CASCADE"), primary_key=True),
    Column("successor_code", ForeignKey("programmes.code", ondelete="CASCADE"), primary_key=True),
)

hub_programmes = Table(
    "hub_programmes",
    Base.metadata,
    Column("hub_id", ForeignKey("hubs.id", ondelete="CASCADE"), primary_key=True),
    Column("programme_code", ForeignKey("programmes.code", ondelete="CASCADE"), primary_key=True),
)


class Programme(Base):
    __tablename__ = "programmes"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    group: Mapped[str] = mapped_column(String(16))
    audience: Mapped[str] = mapped_column(Text)
    length_months: Mapped[int]
    assessment: Mapped[str] = mapped_column(Text)
    format: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(8))  # current | legacy
    introduced: Mapped[int | None]
    prerequisite: Mapped[str | None] = mapped_column(Text)
    synonyms: Mapped[list[Any]] = mapped_column(default=list)

    successors: Mapped[list[Programme]] = relationship(
        secondary=programme_successors,
        primaryjoin=code == programme_successors.c.legacy_code,
        secondaryjoin=code == programme_successors.c.successor_code,
        order_by="Programme.code",
    )

    __table_args__ = (
        CheckConstraint("status in ('current', 'legacy')", name="status"),
        CheckConstraint(f"\"group\" in {PROGRAMME_GROUPS}", name="group"),
    )

    @property
    def is_legacy(self) -> bool:
        return self.status == "legacy"

    @property
    def is_npq(self) -> bool:
        """A qualification; EHCO (group `support`) is coaching, not an NPQ."""
        return self.group != "support"


class Hub(Base):
    __tablename__ = "hubs"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(160))
    lead_organisation: Mapped[str] = mapped_column(String(160))
    town: Mapped[str] = mapped_column(String(80))
    postcode: Mapped[str] = mapped_column(String(10))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    region: Mapped[str] = mapped_column(String(40))
    contact_email: Mapped[str] = mapped_column(String(160))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    delivery_mode: Mapped[str] = mapped_column(String(16))
    session_times: Mapped[str | None] = mapped_column(Text)  # "after school, 4pm to 6pm", ...
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)

    programmes: Mapped[list[Programme]] = relationship(
        secondary=hub_programmes, order_by="Programme.code"
    )
    cohorts: Mapped[list[Cohort]] = relationship(
        back_populates="hub", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (
        CheckConstraint(f"delivery_mode in {DELIVERY_MODES}", name="delivery_mode"),
        CheckConstraint("latitude between -90 and 90 and longitude between -180 and 180",
                        name="coordinates"),
    )


class Cohort(Base):
    """One intake of one programme, at a hub or (hub_id NULL) online."""

    __tablename__ = "cohorts"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_code: Mapped[str] = mapped_column(ForeignKey("programmes.code"))
    hub_id: Mapped[int | None] = mapped_column(ForeignKey("hubs.id", ondelete="CASCADE"))
    intake: Mapped[str] = mapped_column(String(8))  # 2027a spring, 2027b autumn
    start_date: Mapped[dt.date] = mapped_column(Date)
    applications_open: Mapped[dt.date] = mapped_column(Date)
    applications_close: Mapped[dt.date] = mapped_column(Date, index=True)
    funding: Mapped[str] = mapped_column(String(16))
    places: Mapped[int | None]
    places_left: Mapped[int | None]  # None: the hub has not told us
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)

    programme: Mapped[Programme] = relationship()
    hub: Mapped[Hub | None] = relationship(back_populates="cohorts")

    __table_args__ = (
        UniqueConstraint("programme_code", "hub_id", "intake", name="uq_cohorts_programme_hub"),
        CheckConstraint(f"funding in {FUNDING_STATUSES}", name="funding"),
        CheckConstraint("applications_open <= applications_close", name="window"),
    )


class FundingRule(Base):
    __tablename__ = "funding_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    intake: Mapped[str] = mapped_column(String(8), index=True)
    programme_code: Mapped[str] = mapped_column(ForeignKey("programmes.code"))
    setting: Mapped[str] = mapped_column(String(24))
    condition: Mapped[str] = mapped_column(String(24))
    funded: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(Text, default="")
    # A projection rather than published DfE guidance: answers say "expected, to be confirmed".
    provisional: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    source: Mapped[str] = mapped_column(Text, default="", server_default="")

    __table_args__ = (
        UniqueConstraint("intake", "programme_code", "setting", "condition",
                         name="uq_funding_rules_key"),
        CheckConstraint(f"setting in {SETTINGS}", name="setting"),
        CheckConstraint(f"condition in {FUNDING_CONDITIONS}", name="condition"),
    )


class PartnerContent(Base):
    """Partner criteria, benefits and steps, in the order users see them."""

    __tablename__ = "partner_content"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # criterion|benefit|step
    key: Mapped[str] = mapped_column(String(48), primary_key=True)
    position: Mapped[int]
    title: Mapped[str] = mapped_column(String(160))
    description: Mapped[str] = mapped_column(Text)
    question: Mapped[str | None] = mapped_column(Text)


class NetworkSetting(Base):
    """A network-wide link or setting the assistant quotes (official guidance, the DfE
    registration service, the office's contact details, the partner fee note)."""

    __tablename__ = "network_settings"

    key: Mapped[str] = mapped_column(String(48), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # link | text
    position: Mapped[int]
    title: Mapped[str] = mapped_column(String(160))
    value: Mapped[str] = mapped_column(Text)
    checked: Mapped[bool] = mapped_column(Boolean, default=False)  # confirmed by staff

    __table_args__ = (CheckConstraint(f"kind in {NETWORK_KINDS}", name="kind"),)


class PartnerEnquiry(Base):
    __tablename__ = "partner_enquiries"

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64), index=True)
    organisation: Mapped[str | None] = mapped_column(String(200))
    organisation_type: Mapped[str | None] = mapped_column(String(48))
    area: Mapped[str | None] = mapped_column(String(120))
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    assessment: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="new")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Lead(Base):
    """A candidate who asked to be contacted, with their consent."""

    __tablename__ = "leads"

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254))
    programme_code: Mapped[str | None] = mapped_column(ForeignKey("programmes.code"))
    role: Mapped[str | None] = mapped_column(String(80))
    consent: Mapped[bool] = mapped_column(Boolean)
    consent_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (CheckConstraint("consent", name="consent_given"),)


class ReminderSubscription(Base):
    __tablename__ = "reminder_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64), index=True)
    programme_code: Mapped[str | None] = mapped_column(ForeignKey("programmes.code"))
    intake: Mapped[str | None] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # when it was switched off: the purge removes it ENDED_REMINDER_RETENTION_DAYS later
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    deliveries: Mapped[list[ReminderDelivery]] = relationship(
        back_populates="subscription", cascade="all, delete-orphan"
    )

    __table_args__ = (
        UniqueConstraint("chat_id", "programme_code", "intake", name="uq_reminder_subscriptions"),
    )


class ReminderDelivery(Base):
    """One reminder sent, so a restart never sends it twice. A sender claims the row first
    (status "sending", unique per subscription, cohort and stage), so two bot replicas never
    both send it; `sent_at` is when the status last changed."""

    __tablename__ = "reminder_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("reminder_subscriptions.id", ondelete="CASCADE")
    )
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    days_before: Mapped[int]
    sent_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status: Mapped[str] = mapped_column(String(8), default="sent", server_default="sent")

    subscription: Mapped[ReminderSubscription] = relationship(back_populates="deliveries")

    __table_args__ = (
        UniqueConstraint("subscription_id", "cohort_id", "days_before",
                         name="uq_reminder_deliveries"),
        CheckConstraint(f"status in {DELIVERY_STATUSES}", name="status"),
    )


class HandoffRequest(Base):
    """A request to talk to a person. The action stores it "open"; the Telegram front end
    forwards it to the staff group ("forwarded"), relays messages both ways once a staff member
    answers ("active") until either side ends it ("closed")."""

    __tablename__ = "handoff_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    context: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    staff_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    staff_message_id: Mapped[int | None] = mapped_column(BigInteger)  # the request's card
    staff_user_id: Mapped[int | None] = mapped_column(BigInteger)  # who answers
    staff_name: Mapped[str | None] = mapped_column(String(120))
    forwarded_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    messages: Mapped[list[HandoffMessage]] = relationship(
        back_populates="request", cascade="all, delete-orphan", passive_deletes=True
    )


class HandoffMessage(Base):
    """A message in the staff group that belongs to a handoff, so a reply to it reaches the
    right person."""

    __tablename__ = "handoff_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    handoff_id: Mapped[int] = mapped_column(
        ForeignKey("handoff_requests.id", ondelete="CASCADE"), index=True
    )
    staff_chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)

    request: Mapped[HandoffRequest] = relationship(back_populates="messages")

    __table_args__ = (
        UniqueConstraint("staff_chat_id", "message_id", name="uq_handoff_messages_message"),
    )


class PendingMessage(Base):
    """A message the assistant could not answer yet (Rasa or the action server down), kept
    until it is answered or given up on. A bot replica claims a chat's rows until
    `claimed_until` while it retries them."""

    __tablename__ = "pending_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64), index=True)
    message: Mapped[str] = mapped_column(Text)
    typed: Mapped[bool] = mapped_column(Boolean)  # typed text, not a payload we built
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Sent to Rasa as the user message's metadata: a retry finds the turn if Rasa finished it.
    message_key: Mapped[str | None] = mapped_column(String(64))
    claimed_by: Mapped[str | None] = mapped_column(String(32))  # the replica's claim token


class OutboxMessage(Base):
    """A message the assistant decided to send and Telegram has not yet accepted (a 429 or a
    5xx came first, or the bot stopped): sent in order per chat, then deleted. A message of a
    handoff (relayed between a user and the staff group) names its request: a staff-group
    message is linked to the request once sent, so replies to it reach the user, and it goes
    with the request (the person asked to be forgotten, or the retention purge)."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64), index=True)
    text: Mapped[str] = mapped_column(Text)
    markup: Mapped[str | None] = mapped_column(Text)  # the keyboard, as JSON (bot/outbox.py)
    parse_mode: Mapped[str | None] = mapped_column(String(16))
    reply_to: Mapped[int | None] = mapped_column(BigInteger)  # a message id in the chat
    copy_from: Mapped[str | None] = mapped_column(String(64))  # copy this chat's message ...
    copy_of: Mapped[int | None] = mapped_column(BigInteger)  # ... with this id, not `text`
    handoff_id: Mapped[int | None] = mapped_column(
        ForeignKey("handoff_requests.id", ondelete="CASCADE"), index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    not_before: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    claimed_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PendingErasure(Base):
    """A "forget me" whose rows are deleted but whose erasure elsewhere is not finished yet:
    the conversation in Rasa's tracker store, and the person's messages staff labelled into
    the training data (`examples`, their texts, so they can be found in reviewed.yml). The
    front end finishes it, retrying until it succeeds, tells the person, and deletes the row."""

    __tablename__ = "pending_erasures"

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64), index=True)
    examples: Mapped[list[Any]] = mapped_column(default=list)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ButtonPayload(Base):
    """A button payload too long for Telegram's 64-byte callback data, kept by its digest."""

    __tablename__ = "button_payloads"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MessageLog(Base):
    """What a user said, what the model understood and what the assistant replied."""

    __tablename__ = "message_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64), index=True)
    text: Mapped[str | None] = mapped_column(Text)  # NULL once the retention period purges it
    intent: Mapped[str | None] = mapped_column(String(64))
    confidence: Mapped[float | None] = mapped_column(Float)
    entities: Mapped[list[Any]] = mapped_column(default=list)
    reply: Mapped[str | None] = mapped_column(Text)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    review_label: Mapped[str | None] = mapped_column(String(64))
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    feedback: Mapped[str | None] = mapped_column(String(8))  # up | down
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now(), index=True
    )
    # The model's top intents [{"name", "confidence"}], best first, without nlu_fallback.
    ranking: Mapped[list[Any] | None] = mapped_column(JSON)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


MODEL_ACTIONS = ("promote", "refuse", "rollback")


class ModelPromotion(Base):
    """A staff retrain's outcome or a rollback: which model, who, and the held-out scores of the
    model in service (before) and of the one considered (after)."""

    __tablename__ = "model_promotions"

    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[str] = mapped_column(String(8))
    model_file: Mapped[str] = mapped_column(String(200))  # promoted, refused or rolled back to
    previous_model: Mapped[str | None] = mapped_column(String(200))  # in service before
    staff_id: Mapped[str] = mapped_column(String(64))
    scores_before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    scores_after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )

    __table_args__ = (CheckConstraint(f"action in {MODEL_ACTIONS}", name="action"),)

