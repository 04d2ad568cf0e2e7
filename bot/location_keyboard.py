"""The "Share my location" keyboard: offered when the assistant asks where someone is, and taken
away with the chat's next answer (a reply keyboard stays until a message removes it).

Which chats show it is remembered in this process only.
"""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, ReplyKeyboardMarkup, ReplyKeyboardRemove

from bot.rasa_client import RasaReply, wants_location
from bot.render import LOCATION_PROMPT, location_keyboard

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None
Outgoing = list[tuple[str, Markup]]  # the messages of one turn: text and keyboard


class LocationKeyboard:
    def __init__(self) -> None:
        self._showing: set[int] = set()  # chats showing the share-location keyboard

    def apply(self, chat_id: int, outgoing: Outgoing, replies: list[RasaReply]) -> None:
        """Offer the keyboard with this turn's messages when the assistant asked where, or
        remove it if the chat shows it."""
        if wants_location(replies):
            self._showing.add(chat_id)
            if outgoing[-1][1] is None:
                outgoing[-1] = (outgoing[-1][0], location_keyboard())
            else:
                outgoing.append((LOCATION_PROMPT, location_keyboard()))
        elif chat_id in self._showing:
            self._showing.discard(chat_id)
            _remove_location_keyboard(outgoing)


def _remove_location_keyboard(outgoing: Outgoing) -> None:
    """Put the removal on a message without inline buttons (a message carries one keyboard);
    if every one has buttons, the first text goes alone and its buttons follow."""
    for index, (text, markup) in enumerate(outgoing):
        if markup is None:
            outgoing[index] = (text, ReplyKeyboardRemove())
            return
    text, markup = outgoing[0]
    outgoing[0:1] = [(text, ReplyKeyboardRemove()), ("Choose one:", markup)]
