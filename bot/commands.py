"""Commands: the menu registered with Telegram, /start with deep links, and the journeys.

Commands never reach Rasa as typed (a leading "/" would force an intent): each becomes a payload
built here. `/hubs Leeds` and `/deadlines NPQH` carry their argument as an entity. Deep links
(t.me/<bot>?start=partner, or ?start=deadlines-NPQH) open a journey straight away.
"""

from __future__ import annotations

import json
import re
from typing import Any

from telegram import BotCommand, Update
from telegram.ext import ExtBot

from bot.context import BotContext
from bot.rasa_client import RasaButton, RasaUnavailable
from bot.render import HELP_TEXT, RETURNING_BUTTONS, WELCOME_BACK, sender_id
from bot.staff import STAFF_HELP, is_staff

COMMANDS = (
    BotCommand("start", "Start, or start again"),
    BotCommand("help", "What I can do"),
    BotCommand("programmes", "The NPQs and what they involve"),
    BotCommand("hubs", "Your nearest hub (e.g. /hubs Leeds)"),
    BotCommand("deadlines", "Application deadlines"),
    BotCommand("partner", "Become a delivery partner"),
    BotCommand("remind", "Deadline reminders here"),
    BotCommand("stop", "Stop deadline reminders"),
    BotCommand("forget", "Delete what I hold about you"),
)
# command -> (Rasa intent, the entity its argument fills)
JOURNEYS: dict[str, tuple[str, str | None]] = {
    "programmes": ("programme_info", "npq"),
    "hubs": ("find_hub", "location"),
    "deadlines": ("ask_deadlines", "npq"),
    "partner": ("become_partner", None),
    "remind": ("subscribe_reminders", "npq"),
    "stop": ("unsubscribe", None),
    "forget": ("forget_me", None),
}
DEEP_LINKS: dict[str, str] = {
    "partner": "become_partner", "programmes": "programme_info", "hubs": "find_hub",
    "deadlines": "ask_deadlines", "remind": "subscribe_reminders", "funding": "ask_funding",
    "apply": "how_to_apply", "recommend": "recommend_npq", "human": "talk_to_human",
}
PROGRAMME_CODE = re.compile(r"^NPQ[A-Z]{1,10}$")
MAX_ARGUMENT = 100


def journey_payload(intent: str, entity: str | None = None, value: str | None = None) -> str:
    value = " ".join((value or "").split())[:MAX_ARGUMENT]
    if entity and value:
        return f"/{intent}{json.dumps({entity: value}, ensure_ascii=False)}"
    return f"/{intent}"


def deep_link_payload(argument: str | None) -> str | None:
    """`partner` -> /become_partner; `deadlines-NPQH` -> /ask_deadlines{"npq": "NPQH"}."""
    if not argument:
        return None
    journey, _, code = argument.partition("-")
    intent = DEEP_LINKS.get(journey.lower())
    if intent is None:
        return None
    code = code.upper()
    return journey_payload(intent, "npq", code) if PROGRAMME_CODE.match(code) else f"/{intent}"


async def register_menu(bot: ExtBot[Any]) -> None:
    """The command menu Telegram shows beside the message box."""
    await bot.set_my_commands(COMMANDS)


async def start(update: Update, context: BotContext) -> None:
    """/start: a deep link opens its journey; newcomers get Rasa's greeting, returning users
    a welcome back."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None:
        return
    name = user.first_name if user else None
    deep = deep_link_payload(context.args[0] if context.args else None)
    if deep:
        await context.conversation.turn(chat.id, deep, typed=False, name=name)
        return
    try:
        returning = await context.services.rasa.has_history(sender_id(chat.id))
    except RasaUnavailable:
        returning = False  # greet as new; the turn below keeps the message if Rasa is down
    if not returning:
        await context.conversation.turn(chat.id, "/greet", typed=False, name=name)
        return
    keyboard = await context.services.buttons.keyboard(
        [RasaButton(title, payload) for title, payload in RETURNING_BUTTONS])
    await context.services.outbox.send(chat.id, [(WELCOME_BACK.format(name=name or "there"),
                                                  keyboard)])


async def help_command(update: Update, context: BotContext) -> None:
    """/help: what the assistant can do (and, for staff, the staff commands)."""
    if update.effective_message:
        staff = is_staff(update, context.services.settings.staff_user_ids)
        await context.services.outbox.say(update.effective_message.chat_id,
                                          HELP_TEXT + (STAFF_HELP if staff else ""))


async def journey(update: Update, context: BotContext) -> None:
    """/programmes, /hubs, /deadlines, /partner, /remind, /stop, /forget."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None or not message.text:
        return
    command = message.text.split()[0][1:].split("@")[0].lower()
    intent, entity = JOURNEYS[command]
    argument = " ".join(context.args or [])
    if entity == "npq":
        argument = argument.upper()
    await context.conversation.turn(chat.id, journey_payload(intent, entity, argument),
                                    typed=False, name=_name(update))


async def done(update: Update, context: BotContext) -> None:
    """/done: end a chat with the team."""
    chat = update.effective_chat
    if chat is not None and not await context.services.handoff.end_for_user(chat.id):
        await context.services.outbox.say(chat.id, "You're not chatting with anyone from our "
                                                   "team right now. Ask me anything, or send "
                                                   "/help.")


def _name(update: Update) -> str | None:
    return update.effective_user.first_name if update.effective_user else None
