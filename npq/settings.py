"""Settings read from the environment (see `.env.example` and the README for every variable).

Nothing here runs at import time: entry points call `Settings.from_env()` once and pass the
result down.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VAR_DIR = PROJECT_ROOT / "var"
TELEGRAM_API_DEFAULT = "https://api.telegram.org/bot"


def default_database_url(var_dir: Path = DEFAULT_VAR_DIR) -> str:
    """The embedded default: an SQLite file under `var/`."""
    return f"sqlite:///{var_dir / 'npq.db'}"


@dataclass(frozen=True)
class Settings:
    """Everything the core, the actions and the bot need from their environment."""

    database_url: str
    rasa_url: str = "http://127.0.0.1:5005"
    telegram_bot_token: str | None = None
    telegram_api_base_url: str = TELEGRAM_API_DEFAULT
    rasa_timeout_seconds: float = 30.0
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        var_dir = Path(env.get("NPQ_VAR_DIR") or DEFAULT_VAR_DIR)
        return cls(
            database_url=env.get("DATABASE_URL") or default_database_url(var_dir),
            rasa_url=(env.get("RASA_URL") or cls.rasa_url).rstrip("/"),
            telegram_bot_token=env.get("TELEGRAM_BOT_TOKEN") or None,
            telegram_api_base_url=env.get("TELEGRAM_API_BASE_URL") or TELEGRAM_API_DEFAULT,
            rasa_timeout_seconds=float(env.get("RASA_TIMEOUT_SECONDS") or cls.rasa_timeout_seconds),
            log_level=(env.get("LOG_LEVEL") or cls.log_level).upper(),
        )
