"""The services built once in the composition root, and the typed context handlers get them
through (see PTB's contexttypesbot example)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from telegram.ext import CallbackContext, ExtBot

from bot.buttons import ButtonCodec
from bot.conversation import Conversation
from bot.db import Database
from bot.handoff import Handoff
from bot.outbox import Outbox
from bot.pending import KeptMessages
from bot.rasa_client import RasaClient
from bot.reminders import ReminderSender
from bot.retraining import ModelKeeper, Training
from bot.spool import Spool
from bot.tracker import TrackerStore
from npq.settings import Settings

SERVICES = "services"


@dataclass
class Services:
    settings: Settings
    rasa: RasaClient
    db: Database
    buttons: ButtonCodec
    clock: Callable[[], dt.datetime]
    handoff: Handoff
    conversation: Conversation
    kept: KeptMessages  # messages kept while Rasa or the action server was down
    reminders: ReminderSender
    tracker: TrackerStore
    training: Training  # where staff tooling reads and writes training data and models
    keeper: ModelKeeper  # /retrain and /rollback
    intents: list[str]  # domain.yml's, for labelling
    outbox: Outbox  # replies decided on, until Telegram accepts them
    spool: Spool  # messages that came while the database was down


class BotContext(CallbackContext[ExtBot[None], dict, dict, dict]):  # type: ignore[type-arg]
    """Handlers' context with typed access to the services."""

    @property
    def services(self) -> Services:
        return cast(Services, self.bot_data[SERVICES])

    @property
    def conversation(self) -> Conversation:
        return self.services.conversation
