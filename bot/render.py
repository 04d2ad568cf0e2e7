"""Pure rendering between Rasa and Telegram: fixed texts, splitting long replies, keyboards,
payloads and escaping.

Rasa's replies are sent as plain text (no parse mode), so whatever a user typed and Rasa echoes
cannot turn into markup. Messages the bot formats itself use HTML, with every value that came
from a person passed through `escape`.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence

from telegram import KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove

MESSAGE_LIMIT = 4096  # Telegram's limit, in UTF-16 code units

HELP_TEXT = (
    "I can help you with the National Professional Qualifications (NPQs) for teachers and school "
    "leaders in England.\n\n"
    "Ask me things like:\n"
    "• Which NPQ suits me? I'm a head of year.\n"
    "• Is there a hub near Keighley?\n"
    "• When is the NPQH deadline? Is it funded?\n"
    "• What is NPQH? What replaced NPQML?\n"
    "• How can our school become a delivery partner?\n\n"
    "You can also share your location (📎 → Location) and I'll find the nearest hubs, or ask to "
    "talk to a person.\n\n"
    "/programmes the NPQs · /hubs your nearest hub · /deadlines application dates\n"
    "/remind deadline reminders · /stop stop them · /partner become a delivery partner\n"
    "/forget delete what I hold about you · /start begin again"
)
UNKNOWN_COMMAND = "I don't know that command. Try /help to see what I can do."
UNAVAILABLE = ("Sorry, I can't answer just now: part of me is having trouble. I've kept your "
               "message and will reply here as soon as I can.")
FLOODED = ("You've sent a lot of messages in a short time, so I'll answer the ones I already have "
           "and set the rest aside. Please wait for my answers, then send anything else again.")
DB_DOWN = ("Sorry, I'm having trouble with my records just now. I've kept your message and will "
           "reply here as soon as I can.")
TRY_AGAIN = ("Sorry, I'm having trouble answering right now. Please try again in a minute or "
             "two.")
ERROR = "Sorry, something went wrong on my side. Please try again in a minute, or send /help."
STILL_WORKING = "Sorry, this is taking longer than usual. I'm still working on your answer…"
BUSY = "Lots of people are asking me things right now: your answer is coming shortly."
GIVE_UP = ("Sorry, I still can't answer {what}. Please try asking again in a little while, or "
           "send /help.")
LATE_ANSWER = "Thanks for waiting. About {what}:"
# Rasa answers an empty list when an action failed (it logs the error and carries on).
NO_ANSWER = ("Sorry, I couldn't find an answer to that just now. Try asking another way, or "
             "send /help to see what I can do.")
EXPIRED_BUTTON = "That button has expired. Please ask me again, or send /help."
NOT_TEXT = ("I can only read text messages and shared locations. Ask me about an NPQ, or where "
            "your nearest hub is. Send /help for examples.")
NOT_TEXT_OPENING = {
    "sticker": "Thanks for the sticker! ",
    "voice": "I can't listen to voice messages. ",
    "audio": "I can't listen to audio. ",
    "photo": "I can't look at photos. ",
    "video": "I can't watch videos. ",
    "video_note": "I can't watch videos. ",
    "document": "I can't open files. ",
}
EDITED = ("I can't follow edits to earlier messages. Please send what you meant as a new "
          "message, and I'll answer that.")
GROUP = ("Hi! I answer questions about the NPQs (which suits you, nearest hubs, deadlines, "
         "funding, becoming a delivery partner) in a private chat, so your details stay between "
         "us. Tap below to start.")
CHANNEL = ("I'm the NPQ assistant: I can't answer in channels, but I can help anyone in a "
           "private chat with which NPQ suits them, nearest hubs, deadlines and funding. {link}")
SHARE_LOCATION = "📍 Share my location"
LOCATION_PROMPT = "Or tap the button below to share your location."
WELCOME_BACK = ("Welcome back, {name}! What would you like to do? You can also carry on where "
                "we left off.")
RETURNING_BUTTONS = (("Which NPQ suits me?", "/recommend_npq"),
                     ("Nearest hub", "/find_hub"),
                     ("Deadlines", "/ask_deadlines"),
                     ("Funding", "/ask_funding"),
                     ("Become a partner", "/become_partner"))
# Buttons share a keyboard row when their titles are short: a programme code fits three to a
# row on a phone, a short phrase two; anything longer gets a row of its own.
THREE_A_ROW, TWO_A_ROW = 8, 20


def escape(text: str) -> str:
    """Text from a person, safe inside an HTML-formatted message."""
    return html.escape(text, quote=False)


def quoted(text: str, limit: int = 80) -> str:
    """A user's message quoted in a reply: “like this…”."""
    text = " ".join(text.split())
    return f"“{text[:limit - 1]}…”" if len(text) > limit else f"“{text}”"


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _fit(text: str, limit: int) -> int:
    """The longest prefix of `text` (in characters) within `limit` UTF-16 units."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def split_text(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Pieces within Telegram's limit, cut at a paragraph, else a line, else a sentence, else a
    word, never in the first half of a piece when a later boundary exists."""
    pieces = []
    while _utf16(text) > limit:
        window = text[:_fit(text, limit)]
        cut = 0
        for boundary in ("\n\n", "\n", ". ", " "):
            at = window.rfind(boundary)
            if at >= len(window) // 2:
                cut = at + len(boundary)
                break
        cut = cut or len(window)
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text.strip():
        pieces.append(text)
    return pieces


def button_rows(titles: Sequence[str]) -> list[list[int]]:
    """The buttons' positions, row by row, in order: up to three a row while every title in
    the row is a short code (NPQH), two while each is a short phrase, otherwise one."""
    def fits(title: str) -> int:
        return 3 if len(title) <= THREE_A_ROW else 2 if len(title) <= TWO_A_ROW else 1

    rows: list[list[int]] = []
    for index, title in enumerate(titles):
        row = rows[-1] if rows else None
        if row is not None and len(row) < min(fits(t) for t in
                                              [*(titles[i] for i in row), title]):
            row.append(index)
        else:
            rows.append([index])
    return rows


def location_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup([[KeyboardButton(SHARE_LOCATION, request_location=True)]],
                               resize_keyboard=True, one_time_keyboard=True,
                               input_field_placeholder="Or type a town or postcode")


def remove_keyboard() -> ReplyKeyboardRemove:
    return ReplyKeyboardRemove()


def location_payload(latitude: float, longitude: float) -> str:
    """The message that asks Rasa for the nearest hubs to a shared location."""
    coordinates = {"latitude": round(latitude, 5), "longitude": round(longitude, 5)}
    return "/find_hub" + json.dumps(coordinates)


def sender_id(chat_id: int) -> str:
    """The Rasa conversation id for a Telegram chat."""
    return str(chat_id)
