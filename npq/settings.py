"""Settings read from the environment (see `.env.example` and the README for every variable).

Nothing here runs at import time: entry points call `Settings.from_env()` once and pass the
result down. A malformed value fails loudly with the variable's name.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url

from npq.retention import Retention

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VAR_DIR = PROJECT_ROOT / "var"
TELEGRAM_API_DEFAULT = "https://api.telegram.org/bot"
TRACKER_FILE = "rasa-tracker.db"


def default_database_url(var_dir: Path = DEFAULT_VAR_DIR) -> str:
    """The embedded default: an SQLite file under `var/`."""
    return f"sqlite:///{var_dir / 'npq.db'}"


def tracker_store_url(database_url: str) -> str:
    """Where Rasa keeps conversations, for Rasa's own SQLAlchemy 1.4 (psycopg2): beside an
    SQLite programme database in its own file (Rasa writes every turn; a second file keeps its
    writes from blocking ours), or in the same PostgreSQL database."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        folder = Path(url.database).parent if url.database and url.database != ":memory:" \
            else DEFAULT_VAR_DIR
        return f"sqlite:///{folder / TRACKER_FILE}"
    return url.set(drivername=url.get_backend_name()).render_as_string(hide_password=False)


@dataclass(frozen=True)
class Settings:
    """Everything the core, the actions, the bot and the stack need from their environment."""

    database_url: str
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_auth_token: str | None = None  # Rasa's --auth-token, for talking to it directly
    telegram_bot_token: str | None = None
    telegram_api_base_url: str = TELEGRAM_API_DEFAULT
    rasa_timeout_seconds: float = 30.0
    log_level: str = "INFO"
    # The bot: patience before apologising, retrying kept messages, the action server's health.
    rasa_patience_seconds: float = 5.0
    # Overload: a message unanswered this long (or expected to take longer) gets "your answer is
    # coming" (once per wait).
    rasa_ack_seconds: float = 3.0
    # The bot works on this many chats' turns at once (the rest of the chats wait, in order).
    bot_turn_slots: int = 64
    # The Rasa servers behind the front (ops/rasa_front.py), and the turns each works on at once.
    rasa_servers: int = 2
    rasa_concurrency: int = 2
    action_server_url: str | None = None
    pending_retry_seconds: float = 15.0
    pending_give_up_minutes: float = 60.0
    # Floods: at most flood_messages per chat within flood_window_seconds (the rest dropped,
    # the chat told once); Telegram sends that failed wait in the outbox and are retried.
    flood_messages: int = 15
    flood_window_seconds: float = 60.0
    outbox_retry_seconds: float = 2.0
    # Where messages that arrive while the database is unreachable wait (bot/spool.py).
    spool_file: str = str(DEFAULT_VAR_DIR / "spool" / "kept.jsonl")
    # Deadline reminders.
    reminder_days: tuple[int, ...] = (14, 3, 1)
    reminder_hour: int = 9
    reminder_check_seconds: float = 600.0
    # Talking to a person.
    staff_chat_id: int | None = None
    office_hours: str | None = None  # None: the office_hours line of network.yaml
    # Webhook mode (long polling without WEBHOOK_URL).
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    # Rasa's stores.
    tracker_store_url: str | None = None  # None: derived from database_url
    redis_url: str | None = None
    # Staff keep the assistant sharp: who they are (Telegram user ids), how long message text
    # is kept, how much lower a held-out score a promoted model may have.
    staff_user_ids: frozenset[int] = frozenset()
    message_retention_days: int = 90
    retrain_tolerance: float = 0.01
    # How long each other kind of personal data is kept (npq/retention.py, the README's
    # privacy table), in days.
    conversation_retention_days: int = 90
    handoff_retention_days: int = 90
    lead_retention_days: int = 365
    partner_enquiry_retention_days: int = 365
    ended_reminder_retention_days: int = 30
    button_payload_retention_days: int = 90
    log_retention_days: int = 14

    @property
    def retention(self) -> Retention:
        return Retention(
            messages=self.message_retention_days, conversations=self.conversation_retention_days,
            handoffs=self.handoff_retention_days, leads=self.lead_retention_days,
            partner_enquiries=self.partner_enquiry_retention_days,
            ended_reminders=self.ended_reminder_retention_days,
            button_payloads=self.button_payload_retention_days, logs=self.log_retention_days,
            kept_messages=dt.timedelta(minutes=self.pending_give_up_minutes))

    @property
    def effective_tracker_store_url(self) -> str:
        return self.tracker_store_url or tracker_store_url(self.database_url)

    @property
    def webhook_path(self) -> str:
        """The path Telegram posts to: the path of WEBHOOK_URL (``/telegram`` when it has none)."""
        path = urlsplit(self.webhook_url or "").path.rstrip("/")
        return path or "/telegram"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        var_dir = Path(env.get("NPQ_VAR_DIR") or DEFAULT_VAR_DIR)
        read = _Reader(env)
        return cls(
            database_url=env.get("DATABASE_URL") or default_database_url(var_dir),
            rasa_url=(env.get("RASA_URL") or cls.rasa_url).rstrip("/"),
            rasa_auth_token=env.get("RASA_AUTH_TOKEN") or None,
            telegram_bot_token=env.get("TELEGRAM_BOT_TOKEN") or None,
            telegram_api_base_url=env.get("TELEGRAM_API_BASE_URL") or TELEGRAM_API_DEFAULT,
            rasa_timeout_seconds=read.number("RASA_TIMEOUT_SECONDS", cls.rasa_timeout_seconds),
            log_level=(env.get("LOG_LEVEL") or cls.log_level).upper(),
            rasa_patience_seconds=read.number("RASA_PATIENCE_SECONDS",
                                              cls.rasa_patience_seconds),
            rasa_ack_seconds=read.number("RASA_ACK_SECONDS", cls.rasa_ack_seconds),
            bot_turn_slots=read.whole("BOT_TURN_SLOTS", cls.bot_turn_slots, lower=1),
            rasa_servers=read.whole("RASA_SERVERS", cls.rasa_servers, lower=1),
            rasa_concurrency=read.whole("RASA_CONCURRENCY", cls.rasa_concurrency, lower=1),
            action_server_url=env.get("ACTION_SERVER_URL") or None,
            pending_retry_seconds=read.number("PENDING_RETRY_SECONDS",
                                              cls.pending_retry_seconds),
            pending_give_up_minutes=read.number("PENDING_GIVE_UP_MINUTES",
                                                cls.pending_give_up_minutes),
            flood_messages=read.whole("FLOOD_MESSAGES", cls.flood_messages, lower=1),
            flood_window_seconds=read.number("FLOOD_WINDOW_SECONDS", cls.flood_window_seconds),
            outbox_retry_seconds=read.number("OUTBOX_RETRY_SECONDS", cls.outbox_retry_seconds),
            spool_file=env.get("SPOOL_FILE") or str(var_dir / "spool" / "kept.jsonl"),
            reminder_days=read.days("REMINDER_DAYS", cls.reminder_days),
            reminder_hour=int(read.number("REMINDER_HOUR", cls.reminder_hour, upper=23)),
            reminder_check_seconds=read.number("REMINDER_CHECK_SECONDS",
                                               cls.reminder_check_seconds),
            staff_chat_id=read.chat_id("STAFF_CHAT_ID"),
            office_hours=env.get("OFFICE_HOURS") or None,
            webhook_url=env.get("WEBHOOK_URL") or None,
            webhook_secret=env.get("WEBHOOK_SECRET") or None,
            webhook_listen=env.get("WEBHOOK_LISTEN") or cls.webhook_listen,
            webhook_port=int(read.number("WEBHOOK_PORT", cls.webhook_port, upper=65535)),
            tracker_store_url=env.get("TRACKER_STORE_URL") or None,
            redis_url=env.get("REDIS_URL") or None,
            staff_user_ids=read.user_ids("STAFF_USER_IDS"),
            message_retention_days=read.whole("MESSAGE_RETENTION_DAYS",
                                              cls.message_retention_days, lower=1),
            retrain_tolerance=read.number("RETRAIN_TOLERANCE", cls.retrain_tolerance,
                                          upper=0.5),
            conversation_retention_days=read.whole(
                "CONVERSATION_RETENTION_DAYS", cls.conversation_retention_days, lower=1),
            handoff_retention_days=read.whole("HANDOFF_RETENTION_DAYS",
                                              cls.handoff_retention_days, lower=1),
            lead_retention_days=read.whole("LEAD_RETENTION_DAYS", cls.lead_retention_days,
                                           lower=1),
            partner_enquiry_retention_days=read.whole(
                "PARTNER_ENQUIRY_RETENTION_DAYS", cls.partner_enquiry_retention_days, lower=1),
            ended_reminder_retention_days=read.whole(
                "ENDED_REMINDER_RETENTION_DAYS", cls.ended_reminder_retention_days, lower=1),
            button_payload_retention_days=read.whole(
                "BUTTON_PAYLOAD_RETENTION_DAYS", cls.button_payload_retention_days, lower=1),
            log_retention_days=read.whole("LOG_RETENTION_DAYS", cls.log_retention_days,
                                          lower=1),
        )


class _Reader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def number(self, name: str, default: float, *, upper: float | None = None) -> float:
        raw = self.env.get(name)
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"{name} must be a number, not {raw!r}") from None
        if value < 0 or (upper is not None and value > upper):
            raise ValueError(f"{name} is out of range: {raw!r}")
        return value

    def days(self, name: str, default: tuple[int, ...]) -> tuple[int, ...]:
        raw = self.env.get(name)
        if not raw:
            return default
        try:
            days = sorted({int(part) for part in raw.replace(" ", "").split(",") if part},
                          reverse=True)
        except ValueError:
            raise ValueError(f"{name} must list whole days, e.g. 14,3,1; not {raw!r}") from None
        if not days or days[-1] < 0:
            raise ValueError(f"{name} must list whole days, e.g. 14,3,1; not {raw!r}")
        return tuple(days)

    def chat_id(self, name: str) -> int | None:
        raw = self.env.get(name)
        if not raw:
            return None
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{name} must be a numeric Telegram chat id (a group's starts "
                             f"with -100), not {raw!r}") from None

    def whole(self, name: str, default: int, *, lower: int = 0) -> int:
        raw = (self.env.get(name) or "").strip()
        if not raw:
            return default
        if not raw.isdigit() or int(raw) < lower:
            raise ValueError(f"{name} must be a whole number of at least {lower}, not {raw!r}")
        return int(raw)

    def user_ids(self, name: str) -> frozenset[int]:
        """Telegram user ids, comma-separated ("111, 222"); a person's id is positive."""
        raw = self.env.get(name) or ""
        parts = [part.strip() for part in raw.split(",") if part.strip()]
        if not all(part.isdigit() and int(part) > 0 for part in parts):
            raise ValueError(f"{name} must list Telegram user ids separated by commas "
                             f"(e.g. 111111111,222222222), not {raw!r}")
        return frozenset(int(part) for part in parts)
