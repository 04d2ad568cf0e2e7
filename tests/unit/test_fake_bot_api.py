"""python-telegram-bot 22 talks to tests.support.fake_bot_api.FakeBotAPI over real HTTP.

Synchronisation is by events only: ``fake.wait_for`` wakes when a request arrives. The few
``asyncio.wait_for(..., 10)`` calls are guards against a hang, never timing assertions.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import io
import logging
from collections.abc import AsyncIterator

import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.support import updates as U
from tests.support.fake_bot_api import FakeBotAPI, UploadedFile


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as api:
        yield api


@pytest.fixture
async def bot(fake: FakeBotAPI) -> AsyncIterator[Bot]:
    async with Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url) as b:
        yield b


def build_app(fake: FakeBotAPI) -> Application:
    return ApplicationBuilder().base_url(fake.base_url).token(fake.token).build()


@contextlib.asynccontextmanager
async def polling(app: Application, **kwargs: object) -> AsyncIterator[Application]:
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(**kwargs)  # type: ignore[arg-type]
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None and update.effective_message.text is not None
    await update.effective_message.reply_text(update.effective_message.text)


async def test_echo_bot_with_long_polling_then_clean_stop(
    fake: FakeBotAPI, caplog: pytest.LogCaptureFixture
) -> None:
    app = build_app(fake)
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    async with polling(app):
        await fake.wait_for("getUpdates")
        update_id = fake.push_update(U.text_update("Which NPQ suits me?", chat_id=777))
        reply = await fake.wait_for("sendMessage", lambda p: p["chat_id"] == 777)
        assert reply.params["text"] == "Which NPQ suits me?"
        # the next poll confirms the update by asking for offset = update_id + 1
        await fake.wait_for("getUpdates", lambda p: p.get("offset") == update_id + 1)

    assert [c.method for c in fake.calls[:3]] == ["getMe", "deleteWebhook", "getUpdates"]
    assert fake.calls[1].params == {}  # bootstrap: deleteWebhook without drop_pending_updates
    assert fake.updates == []
    await fake.stop()
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_drop_pending_updates_goes_through_delete_webhook(fake: FakeBotAPI) -> None:
    fake.push_update(U.text_update("stale"))
    app = build_app(fake)
    app.add_handler(MessageHandler(filters.TEXT, echo))
    async with polling(app, drop_pending_updates=True):
        assert (await fake.wait_for("deleteWebhook")).params == {"drop_pending_updates": True}
        fake.push_update(U.text_update("fresh"))
        first_reply = await fake.wait_for("sendMessage")
    assert first_reply.params["text"] == "fresh"  # "stale" was queued first, so it was dropped


async def test_callback_query_is_answered_and_message_edited(fake: FakeBotAPI) -> None:
    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer(f"Saved {query.data}")
        await query.edit_message_text(f"You chose {query.data}")

    app = build_app(fake)
    app.add_handler(CallbackQueryHandler(on_button, pattern=r"^npq:"))
    update = U.callback_update("npq:leading-teaching", chat_id=555)
    query_id = update["callback_query"]["id"]
    message_id = update["callback_query"]["message"]["message_id"]
    async with polling(app):
        fake.push_update(update)
        answer = await fake.wait_for("answerCallbackQuery")
        edit = await fake.wait_for("editMessageText")

    assert answer.ok and answer.params == {
        "callback_query_id": query_id, "text": "Saved npq:leading-teaching"}
    assert edit.ok and (edit.params["chat_id"], edit.params["message_id"]) == (555, message_id)
    assert fake.messages[(555, message_id)]["text"] == "You chose npq:leading-teaching"


async def test_set_my_commands_round_trip(bot: Bot, fake: FakeBotAPI) -> None:
    assert await bot.get_my_commands() == ()
    assert await bot.set_my_commands(
        [("start", "Start again"), BotCommand("find_npq", "Find an NPQ")])
    assert await bot.get_my_commands() == (
        BotCommand("start", "Start again"), BotCommand("find_npq", "Find an NPQ"))
    assert fake.calls[-2].params["commands"] == [
        {"command": "start", "description": "Start again"},
        {"command": "find_npq", "description": "Find an NPQ"}]
    assert await bot.get_my_commands(scope=BotCommandScopeChat(42)) == ()
    with pytest.raises(BadRequest, match="Bot_command_invalid"):  # PTB .capitalize()s it
        await bot.set_my_commands([("Start", "Telegram wants lower case")])
    assert await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()


@pytest.mark.parametrize(
    ("code", "description", "retry_after", "exc_type", "message"),
    [
        (429, "Too Many Requests: retry after 7", 7, RetryAfter, "Flood control exceeded"),
        (500, "Internal Server Error", None, NetworkError, "Internal Server Error"),
        # PTB strips "Bad Request: " and capitalizes the rest (only for that prefix)
        (400, "Bad Request: chat not found", None, BadRequest, "Chat not found"),
        (403, "Forbidden: bot was blocked by the user", None, Forbidden, "Forbidden: bot was"),
    ],
)
async def test_injected_errors_surface_as_ptb_exceptions(
    bot: Bot, fake: FakeBotAPI, monkeypatch: pytest.MonkeyPatch,
    code: int, description: str, retry_after: int | None, exc_type: type[Exception], message: str,
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")  # RetryAfter.retry_after as timedelta, no warning
    fake.fail_next("sendMessage", error_code=code, description=description,
                   retry_after=retry_after)
    with pytest.raises(exc_type) as info:
        await bot.send_message(42, "hello")
    assert type(info.value) is exc_type and str(info.value).startswith(message)
    if retry_after is not None:
        assert info.value.retry_after == dtm.timedelta(seconds=retry_after)  # type: ignore
    assert (await bot.send_message(42, "hello")).text == "hello"  # only the next call failed
    assert [c.error_code for c in fake.calls if c.method == "sendMessage"] == [code, None]


async def test_wrong_token_raises_invalid_token(fake: FakeBotAPI) -> None:
    app = ApplicationBuilder().base_url(fake.base_url).token("654321:WRONG").build()
    with pytest.raises(InvalidToken, match="654321:WRONG"):
        await app.initialize()
    await app.bot.shutdown()  # the failed initialize left the HTTP clients open
    assert (fake.calls[-1].method, fake.calls[-1].error_code) == ("getMe", 401)


async def test_long_poll_answers_as_soon_as_an_update_arrives(bot: Bot, fake: FakeBotAPI) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    call = await fake.wait_for("getUpdates")
    assert call.params["timeout"] == 30 and not poll.done()
    update_id = fake.push_update(U.text_update("ping"))
    updates = await asyncio.wait_for(poll, 10)  # hang guard; a 30 s poll must not be needed
    assert [u.update_id for u in updates] == [update_id]


async def test_stop_releases_a_pending_long_poll(fake: FakeBotAPI) -> None:
    async with Bot(fake.token, base_url=fake.base_url) as bot:
        poll = asyncio.create_task(bot.get_updates(timeout=30))
        await fake.wait_for("getUpdates")
        stopping = asyncio.create_task(fake.stop())
        assert await asyncio.wait_for(poll, 10) == ()  # released by stop(), not by its timeout
        await stopping
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []


async def test_offset_limit_and_webhook_conflict(bot: Bot, fake: FakeBotAPI) -> None:
    ids = [fake.push_update(U.text_update(text)) for text in ("a", "b", "c")]
    assert [u.update_id for u in await bot.get_updates(limit=2)] == ids[:2]
    assert [u.update_id for u in await bot.get_updates(offset=ids[1])] == ids[1:]
    assert (await bot.get_webhook_info()).pending_update_count == 2
    assert await bot.get_updates(offset=ids[2] + 1) == ()
    assert await bot.set_webhook("https://example.org/hook")
    assert (await bot.get_webhook_info()).url == "https://example.org/hook"
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates()
    assert await bot.delete_webhook()
    assert await bot.get_updates() == ()


async def test_uploads_and_parameter_encoding(bot: Bot, fake: FakeBotAPI) -> None:
    doc = await bot.send_document(42, b"%PDF-1.4 timetable", filename="timetable.pdf")
    upload = fake.calls[-1].params["document"]
    assert isinstance(upload, UploadedFile)
    assert (upload.filename, upload.size, upload.content_type) == (
        "timetable.pdf", 18, "application/pdf")
    assert doc.document is not None
    assert (doc.document.file_name, doc.document.file_size) == ("timetable.pdf", 18)
    photo = await bot.send_photo(42, io.BytesIO(b"\x89PNG fake"), caption="Our campus")
    assert photo.photo[-1].file_size == 9 and photo.caption == "Our campus"

    markup = InlineKeyboardMarkup.from_button(InlineKeyboardButton("Yes", callback_data="y"))
    sent = await bot.send_message(42, "123", reply_markup=markup)
    params = fake.calls[-1].params
    assert params == {"chat_id": 42, "text": "123", "reply_markup": markup.to_dict()}
    assert sent.reply_markup == markup and sent.from_user == await bot.get_me()
    keyboard = ReplyKeyboardMarkup([["Yes", "No"]])
    sent = await bot.send_message(42, "Pick one", reply_markup=keyboard)
    assert fake.calls[-1].params["reply_markup"] == keyboard.to_dict()
    assert sent.reply_markup is None  # Telegram only echoes inline keyboards
    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_text("Pick one", chat_id=42, message_id=sent.message_id)


async def test_a_file_a_user_sent_can_be_fetched_and_downloaded(bot: Bot,
                                                                fake: FakeBotAPI) -> None:
    document = fake.user_file(b"slug,name\n", "hubs.csv")
    update = Update.de_json({"update_id": 1, **U.document_update(document=document)}, bot)
    assert update.message is not None and update.message.document is not None
    file = await update.message.document.get_file()
    assert file.file_size == 10 and bytes(await file.download_as_bytearray()) == b"slug,name\n"
    with pytest.raises(BadRequest, match="(?i)invalid file_id"):
        await bot.get_file("no-such-file")


async def test_unimplemented_methods_are_recorded_and_answer_404(
    bot: Bot, fake: FakeBotAPI
) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("get_school_roster", api_kwargs={"school_id": 42})
    assert (fake.calls[-1].method, fake.calls[-1].error_code) == ("getSchoolRoster", 404)
    assert fake.calls[-1].params == {"school_id": 42}
    with pytest.raises(InvalidToken, match="not implemented"):  # PTB maps 404 to InvalidToken
        await bot.get_chat(42)


async def test_wait_for_times_out_listing_the_calls_seen(bot: Bot, fake: FakeBotAPI) -> None:
    with pytest.raises(TimeoutError, match=r"(?s)no sendMessage call.*\[0\] getMe"):
        await fake.wait_for("sendMessage", timeout=0.01)
    await bot.send_message(1, "one")
    await bot.send_message(1, "two")
    first = await fake.wait_for("sendMessage")
    second = await fake.wait_for("sendMessage", after=fake.calls.index(first) + 1)
    assert (first.params["text"], second.params["text"]) == ("one", "two")


def test_update_factories_parse_with_ptb() -> None:
    def parse(data: dict[str, object]) -> Update:
        return Update.de_json({"update_id": 1, **data}, None)

    u = parse(U.text_update("/start now"))
    assert filters.COMMAND.check_update(u) and u.effective_chat.type == "private"  # type: ignore
    u = parse(U.location_update(51.5072, -0.1276))
    assert u.message is not None and u.message.location.latitude == 51.5072  # type: ignore
    query = parse(U.callback_update("npq:x")).callback_query
    assert query is not None and query.data == "npq:x"
    assert query.message.from_user.is_bot  # type: ignore[union-attr]
    assert filters.Sticker.ALL.check_update(parse(U.sticker_update()))
    u = parse(U.photo_update(caption="Our campus"))
    assert filters.PHOTO.check_update(u) and u.message.caption == "Our campus"  # type: ignore
    u = parse(U.edited_text_update("fixed", message_id=7))
    assert u.edited_message is not None and u.edited_message.edit_date is not None
    u = parse(U.group_text_update("hi all"))
    assert filters.ChatType.SUPERGROUP.check_update(u)
    u = parse(U.channel_post_update("news"))
    assert u.channel_post is not None and u.effective_user is None
    assert u.channel_post.sender_chat.type == "channel"  # type: ignore
