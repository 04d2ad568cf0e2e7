"""Pure rendering between Rasa and Telegram: keyboards, payloads and fixed texts."""

from __future__ import annotations

import json

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.rasa_client import RasaButton

HELP_TEXT = (
    "I can help you with the National Professional Qualifications (NPQs) for teachers and school "
    "leaders in England.\n\n"
    "Ask me things like:\n"
    "• Is there a hub near Keighley?\n"
    "• Where's my nearest hub to BD21?\n"
    "• What is NPQH?\n"
    "• What replaced NPQML?\n\n"
    "You can also share your location (📎 → Location) and I'll find the nearest hubs.\n\n"
    "Commands: /start to begin again, /help for this message."
)
UNKNOWN_COMMAND = "I don't know that command. Try /help to see what I can do."
UNAVAILABLE = ("Sorry, I'm having trouble answering right now. Please try again in a minute "
               "or two.")
# Rasa answers an empty list when an action failed (it logs the error and carries on).
NO_ANSWER = ("Sorry, I couldn't find an answer to that just now. Try asking another way, or "
             "send /help to see what I can do.")
EXPIRED_BUTTON = "That button has expired. Please ask me again, or send /help."
NOT_TEXT = ("I can only read text messages and shared locations. Ask me about an NPQ, or where "
            "your nearest hub is. Send /help for examples.")


def inline_keyboard(buttons: tuple[RasaButton, ...]) -> InlineKeyboardMarkup | None:
    """One button a row. The callback data is the RasaButton itself: PTB's arbitrary callback
    data keeps it server-side, so payloads are never limited to 64 bytes nor forgeable."""
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(button.title[:64], callback_data=button)] for button in buttons]
    )


def location_payload(latitude: float, longitude: float) -> str:
    """The message that asks Rasa for the nearest hubs to a shared location."""
    return "/find_hub" + json.dumps({"latitude": round(latitude, 5), "longitude": round(longitude, 5)})


def sender_id(chat_id: int) -> str:
    """The Rasa conversation id for a Telegram chat."""
    return str(chat_id)
