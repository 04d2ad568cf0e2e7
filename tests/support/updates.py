"""Factories for raw Telegram ``Update`` dicts, shaped like the Bot API's JSON.

Feed them to :meth:`tests.support.fake_bot_api.FakeBotAPI.push_update` (which fills in
``update_id``) or to ``telegram.Update.de_json(update, bot)`` in unit tests. Commands get a
``bot_command`` entity, as Telegram adds one; PTB's ``CommandHandler`` relies on it.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from ops.fake_bot_api import BOT_USER

JSON = dict[str, Any]

DEFAULT_USER_ID = 424242
DEFAULT_GROUP_ID = -1001234567890
DEFAULT_CHANNEL_ID = -1009876543210

_message_ids = itertools.count(1)
_ids = itertools.count(1)


def _user(user_id: int, first_name: str) -> JSON:
    return {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "en"}


def _chat(chat_id: int, chat_type: str, first_name: str, title: str) -> JSON:
    if chat_type == "private":
        return {"id": chat_id, "type": "private", "first_name": first_name}
    return {"id": chat_id, "type": chat_type, "title": title}


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _message(
    *,
    chat_id: int | None,
    user_id: int,
    first_name: str,
    chat_type: str,
    message_id: int | None,
    title: str = "Staff room",
    **content: Any,
) -> JSON:
    chat = _chat(user_id if chat_id is None else chat_id, chat_type, first_name, title)
    message: JSON = {
        "message_id": next(_message_ids) if message_id is None else message_id,
        "from": _user(user_id, first_name),
        "chat": chat,
        "date": int(time.time()),
    }
    text = content.get("text")
    if isinstance(text, str) and text.startswith("/"):
        command = text.split(maxsplit=1)[0]
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": _utf16_len(command)}]
    return {**message, **content}


def text_update(
    text: str,
    *,
    chat_id: int | None = None,
    user_id: int = DEFAULT_USER_ID,
    first_name: str = "Sam",
    chat_type: str = "private",
    message_id: int | None = None,
) -> JSON:
    """A text message (``chat_id`` defaults to the user's private chat)."""
    return {
        "message": _message(
            chat_id=chat_id, user_id=user_id, first_name=first_name, chat_type=chat_type,
            message_id=message_id, text=text,
        )
    }


def group_text_update(
    text: str,
    *,
    chat_id: int = DEFAULT_GROUP_ID,
    title: str = "Staff room",
    chat_type: str = "supergroup",
    user_id: int = DEFAULT_USER_ID,
    first_name: str = "Sam",
    message_id: int | None = None,
    reply_to: JSON | None = None,
) -> JSON:
    """A text message in a group or supergroup; ``reply_to`` is the Message it answers (e.g.
    one the bot sent, as FakeBotAPI.messages holds it)."""
    content: JSON = {"text": text}
    if reply_to is not None:
        content["reply_to_message"] = reply_to
    return {
        "message": _message(
            chat_id=chat_id, user_id=user_id, first_name=first_name, chat_type=chat_type,
            message_id=message_id, title=title, **content,
        )
    }


def voice_update(*, chat_id: int | None = None, user_id: int = DEFAULT_USER_ID,
                 first_name: str = "Sam", duration: int = 4) -> JSON:
    """A voice message."""
    n = next(_ids)
    voice = {"file_id": f"AwACAgQAAxkBAAIV{n:06d}", "file_unique_id": f"AgADV{n:06d}",
             "duration": duration, "mime_type": "audio/ogg", "file_size": 9_876}
    return {"message": _message(chat_id=chat_id, user_id=user_id, first_name=first_name,
                                chat_type="private", message_id=None, voice=voice)}


def document_update(*, file_name: str = "cv.pdf", chat_id: int | None = None,
                    user_id: int = DEFAULT_USER_ID, first_name: str = "Sam",
                    chat_type: str = "private", document: JSON | None = None) -> JSON:
    """A file sent as a document (``document``: one FakeBotAPI.user_file made, to download)."""
    n = next(_ids)
    document = document or {
        "file_id": f"BQACAgQAAxkBAAID{n:06d}", "file_unique_id": f"AgADD{n:06d}",
        "file_name": file_name, "mime_type": "application/pdf", "file_size": 54_321}
    return {"message": _message(chat_id=chat_id, user_id=user_id, first_name=first_name,
                                chat_type=chat_type, message_id=None, document=document)}


def edited_text_update(
    text: str,
    *,
    message_id: int,
    chat_id: int | None = None,
    user_id: int = DEFAULT_USER_ID,
    first_name: str = "Sam",
    chat_type: str = "private",
) -> JSON:
    """An ``edited_message``: the user changed the text of ``message_id``."""
    message = _message(
        chat_id=chat_id, user_id=user_id, first_name=first_name, chat_type=chat_type,
        message_id=message_id, text=text,
    )
    message["edit_date"] = message["date"]
    message["date"] -= 60
    return {"edited_message": message}


def location_update(
    latitude: float,
    longitude: float,
    *,
    chat_id: int | None = None,
    user_id: int = DEFAULT_USER_ID,
    first_name: str = "Sam",
    message_id: int | None = None,
    horizontal_accuracy: float | None = None,
) -> JSON:
    """A shared (static) location."""
    location: JSON = {"latitude": latitude, "longitude": longitude}
    if horizontal_accuracy is not None:
        location["horizontal_accuracy"] = horizontal_accuracy
    return {
        "message": _message(
            chat_id=chat_id, user_id=user_id, first_name=first_name, chat_type="private",
            message_id=message_id, location=location,
        )
    }


def sticker_update(
    *,
    emoji: str = "👍",
    chat_id: int | None = None,
    user_id: int = DEFAULT_USER_ID,
    first_name: str = "Sam",
    message_id: int | None = None,
) -> JSON:
    """A (static, regular) sticker message."""
    n = next(_ids)
    sticker = {
        "file_id": f"CAACAgIAAxkBAAIS{n:06d}", "file_unique_id": f"AgADS{n:06d}",
        "type": "regular", "width": 512, "height": 512, "is_animated": False,
        "is_video": False, "emoji": emoji, "set_name": "SchoolStickers", "file_size": 23_456,
    }
    return {
        "message": _message(
            chat_id=chat_id, user_id=user_id, first_name=first_name, chat_type="private",
            message_id=message_id, sticker=sticker,
        )
    }


def photo_update(
    *,
    caption: str | None = None,
    chat_id: int | None = None,
    user_id: int = DEFAULT_USER_ID,
    first_name: str = "Sam",
    message_id: int | None = None,
) -> JSON:
    """A photo message; ``photo`` lists the sizes smallest first, as Telegram does."""
    n = next(_ids)
    photo = [
        {"file_id": f"AgACAgQAAxkBAAIP{n:06d}{w}", "file_unique_id": f"AQADP{n:06d}{w}",
         "width": w, "height": h, "file_size": size}
        for w, h, size in ((90, 68, 1_402), (320, 240, 18_220), (1280, 960, 146_804))
    ]
    content: JSON = {"photo": photo}
    if caption is not None:
        content["caption"] = caption
    return {
        "message": _message(
            chat_id=chat_id, user_id=user_id, first_name=first_name, chat_type="private",
            message_id=message_id, **content,
        )
    }


def callback_update(
    data: str,
    *,
    message_text: str = "Which NPQ are you interested in?",
    chat_id: int | None = None,
    user_id: int = DEFAULT_USER_ID,
    first_name: str = "Sam",
    message_id: int | None = None,
    reply_markup: JSON | None = None,
    bot_user: JSON | None = None,
) -> JSON:
    """A ``callback_query``: the user pressed an inline button on one of the bot's messages.

    The bot message carries ``reply_markup`` (by default one button whose callback_data is
    ``data``); the FakeBotAPI remembers it, so the bot may edit it or answer the query.
    """
    markup = reply_markup or {"inline_keyboard": [[{"text": data, "callback_data": data}]]}
    chat = _chat(user_id if chat_id is None else chat_id, "private", first_name, "")
    message: JSON = {
        "message_id": next(_message_ids) if message_id is None else message_id,
        "from": dict(bot_user or BOT_USER),
        "chat": chat,
        "date": int(time.time()) - 30,
        "text": message_text,
        "reply_markup": markup,
    }
    n = next(_ids)
    return {
        "callback_query": {
            "id": f"{4_382_000_000_000_000_000 + n}",
            "from": _user(user_id, first_name),
            "message": message,
            "chat_instance": f"-{7_000_000_000_000_000_000 + chat['id']}",
            "data": data,
        }
    }


def channel_post_update(
    text: str,
    *,
    chat_id: int = DEFAULT_CHANNEL_ID,
    title: str = "NPQ News",
    username: str | None = "npq_news",
    message_id: int | None = None,
) -> JSON:
    """A post in a channel the bot administers (no ``from``; ``sender_chat`` is the channel)."""
    chat: JSON = {"id": chat_id, "type": "channel", "title": title}
    if username:
        chat["username"] = username
    post: JSON = {
        "message_id": next(_message_ids) if message_id is None else message_id,
        "sender_chat": chat,
        "chat": chat,
        "date": int(time.time()),
        "text": text,
    }
    return {"channel_post": post}
