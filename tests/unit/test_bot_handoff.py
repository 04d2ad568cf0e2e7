"""Talking to a person: office hours (npq.handoffs, table tests), the request forwarded to the
staff group, replies relayed both ways until either side ends the chat, and the promise made to
the user out of hours or with no staff chat."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from bot.handoff import Request, card
from bot.render import ERROR
from npq.db import make_engine, make_session_factory, session_scope
from npq.db.models import HandoffRequest
from npq.handoffs import (
    LONDON,
    clock_phrase,
    contact_promise,
    handoff_answer,
    parse_office_hours,
    record_handoff,
)
from npq.network import load_network, office_contact
from tests.support.bot_harness import Clock, FakeRasa, Harness, running_bot
from tests.support.fake_bot_api import FakeBotAPI
from tests.support.updates import (
    DEFAULT_USER_ID,
    callback_update,
    group_text_update,
    photo_update,
    text_update,
)

STAFF = -100555
ALEX = 777
HOURS = "Monday to Friday, 8.30am to 4.30pm"  # network.yaml
HANDED_OVER = ("I've passed your question to our team. You can also contact our office: "
               "npq@network-office.example.org or 0113 496 0000.")


# --- office hours ----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "spans"), [
    ("Mon-Fri 08:30-16:30", [({0, 1, 2, 3, 4}, "08:30", "16:30")]),
    ("Monday to Friday, 8.30am to 4.30pm", [({0, 1, 2, 3, 4}, "08:30", "16:30")]),
    ("Mon-Thu 9-5; Fri 9am-1pm", [({0, 1, 2, 3}, "09:00", "17:00"), ({4}, "09:00", "13:00")]),
    ("Sat 10:00-12:00", [({5}, "10:00", "12:00")]),
    ("Fri-Mon 10-14", [({4, 5, 6, 0}, "10:00", "14:00")]),
])
def test_office_hours_read_as_people_write_them(text: str, spans: list[Any]) -> None:
    hours = parse_office_hours(text)
    assert [(set(days), f"{start:%H:%M}", f"{end:%H:%M}") for days, start, end
            in hours.spans] == spans


@pytest.mark.parametrize("text", ["", "whenever", "Mon-Fri 17:00-09:00"])
def test_unreadable_office_hours_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_office_hours(text)


def london(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2027, 2, day, hour, minute, tzinfo=LONDON)  # 1 February 2027: Monday


@pytest.mark.parametrize(("now", "is_open", "opens"), [
    (london(1, 10), True, "today at 8.30am"),  # (the next opening after now: tomorrow)
    (london(1, 8, 29), False, "today at 8.30am"),
    (london(1, 16, 30), False, "tomorrow at 8.30am"),
    (london(5, 17), False, "on Monday at 8.30am"),
    (london(6, 12), False, "on Monday at 8.30am"),
])
def test_open_or_when_the_office_opens(now: dt.datetime, is_open: bool, opens: str) -> None:
    hours = parse_office_hours(HOURS)
    assert hours.is_open(now) is is_open
    if not is_open:
        assert clock_phrase(hours.next_opening(now), now) == opens


def test_what_the_user_is_promised() -> None:
    hours = parse_office_hours(HOURS)
    assert contact_promise(hours, london(1, 10), staff_chat=True, office_contact="x@y.org") \
        .startswith("Someone from our team will reply here in this chat")
    closed = contact_promise(hours, london(5, 18), staff_chat=True, office_contact="x@y.org")
    assert closed == (f"Our office is closed just now ({HOURS}). Someone will reply here in this "
                      "chat after we open, on Monday at 8.30am. Until then, you can keep asking "
                      "me questions.")  # the hours once; the contact is in the assistant's reply
    assert contact_promise(hours, london(1, 10), staff_chat=False, office_contact="") \
        .startswith(f"Our team reads these requests during office hours ({HOURS}).")


def test_the_staff_card_escapes_what_people_wrote_and_keeps_the_latest_context() -> None:
    said = [{"from": "user", "text": f"message {n} " + "x" * 400} for n in range(20)]
    said.append({"from": "assistant", "text": "<b>NPQH</b> & more"})
    text = card(Request(12, "42", "open", "a <script> person", said, None, None, None),
                "Sam <Admin>")
    assert text.startswith('🙋 <b>Request #12</b> from <a href="tg://user?id=42">'
                           "Sam &lt;Admin&gt;</a>\n“a &lt;script&gt; person”")
    assert "🤖 &lt;b&gt;NPQH&lt;/b&gt; &amp; more" in text
    assert "message 19" in text and "message 0 " not in text and len(text) < 4096


# --- the bot ---------------------------------------------------------------------------------

def assistant(database: str) -> FakeRasa:
    """Rasa whose talk_to_human action stores the request, as actions/people.py does."""
    def answer(sender: str, message: str) -> list[dict[str, Any]]:
        if "person" not in message:
            return [{"text": f"answer to {message}"}]
        engine = make_engine(database)
        with session_scope(make_session_factory(engine)) as session:
            record_handoff(session, chat_id=sender, reason=message, now=dt.datetime.now(
                dt.timezone.utc), context=[{"from": "user", "text": "what is <NPQH>?"},
                                           {"from": "user", "text": message}])
            reply = handoff_answer(office_contact(load_network(session), hours=False)).text
        engine.dispose()
        return [{"text": reply}]
    return FakeRasa(answer=answer)


def requests(bot: Harness) -> list[tuple[str, int | None]]:
    with bot.session() as session:
        return [(r.status, r.staff_user_id) for r in session.scalars(select(HandoffRequest))]


def last_message(fake: FakeBotAPI, chat_id: int) -> dict[str, Any]:
    return fake.messages[max((key for key in fake.messages if key[0] == chat_id),
                             key=lambda key: key[1])]


async def ask_for_a_person(bot: Harness) -> dict[str, Any]:
    """The user asks for a person; the card the staff group got."""
    mark = bot.mark()
    bot.fake.push_update(text_update("can I talk to a person?"))
    await bot.fake.wait_for("sendMessage", lambda p: p["chat_id"] == STAFF, after=mark)
    await bot.chat_idle()
    return last_message(bot.fake, STAFF)


async def test_a_handoff_relays_both_ways_until_the_user_ends_it(database: str) -> None:
    async with running_bot(database, rasa=assistant(database), staff_chat_id=STAFF,
                           staff_user_ids=frozenset({ALEX})) as bot:
        mark = bot.mark()
        posted = await ask_for_a_person(bot)
        user_sees = [p["text"] for p in bot.sent(mark, DEFAULT_USER_ID)]
        assert user_sees[0] == HANDED_OVER
        assert user_sees[1].startswith("Someone from our team will reply here in this chat")
        [staff_card] = bot.sent(mark, STAFF)
        assert staff_card["parse_mode"] == "HTML"
        assert staff_card["text"].startswith('🙋 <b>Request #1</b> from <a href="tg://user?id='
                                             f'{DEFAULT_USER_ID}">Sam</a>')
        assert "👤 what is &lt;NPQH&gt;?" in staff_card["text"]
        assert staff_card["reply_markup"]["inline_keyboard"][0][0]["text"] == "Close request"
        assert requests(bot) == [("forwarded", None)]

        mark = bot.mark()  # Alex answers on the card
        bot.fake.push_update(group_text_update("Hi Sam, happy to help <3", chat_id=STAFF,
                                               user_id=ALEX, first_name="Alex", reply_to=posted))
        relayed = await bot.fake.wait_for("sendMessage", lambda p: "💬" in p["text"], after=mark)
        assert [p["text"] for p in bot.sent(mark)] == [
            "You're now chatting with Alex from our team. Your messages go to them until one "
            "of you ends the chat (/done).",
            "💬 <b>Alex</b> (NPQ team):\nHi Sam, happy to help &lt;3"]
        assert relayed.params["parse_mode"] == "HTML"
        assert relayed.params["reply_markup"]["inline_keyboard"][0][0]["text"] == \
            "End chat with the team"
        assert requests(bot) == [("active", ALEX)]

        asked = len(bot.rasa.received)  # the user's next message goes to Alex, not Rasa
        mark = bot.mark()
        bot.fake.push_update(text_update("Thanks! <i>When</i> does it start?"))
        to_staff = await bot.fake.wait_for("sendMessage", after=mark)
        assert to_staff.params["chat_id"] == STAFF
        assert to_staff.params["text"] == (
            f'<a href="tg://user?id={ALEX}">Alex</a>: <b>Sam</b> (#1) wrote:\n'
            "Thanks! &lt;i&gt;When&lt;/i&gt; does it start?")
        assert to_staff.params["reply_parameters"]["message_id"] == posted["message_id"]
        assert len(bot.rasa.received) == asked
        await bot.chat_idle()  # the relayed message is linked to the request

        mark = bot.mark()  # Alex replies to that relayed message
        bot.fake.push_update(group_text_update("Next month.", chat_id=STAFF, user_id=ALEX,
                                               first_name="Alex",
                                               reply_to=last_message(bot.fake, STAFF)))
        again = await bot.fake.wait_for("sendMessage", after=mark)
        assert (again.params["chat_id"], again.params["text"]) == (
            DEFAULT_USER_ID, "💬 <b>Alex</b> (NPQ team):\nNext month.")

        mark = bot.mark()
        bot.fake.push_update(text_update("/done"))
        await bot.fake.wait_for("editMessageReplyMarkup", after=mark)
        assert [(p["chat_id"], p["text"]) for p in bot.sent(mark)] == [
            (DEFAULT_USER_ID, "This chat with our team has ended. I'm back: ask me anything, "
                              "or send /help."),
            (STAFF, "✅ Request #1 closed by the user.")]
        assert requests(bot) == [("closed", ALEX)]
        answer = await bot.say("and the deadline?")
        assert answer.params["text"] == "answer to and the deadline?"


async def test_staff_can_close_a_request_with_its_button(database: str) -> None:
    async with running_bot(database, rasa=assistant(database), staff_chat_id=STAFF,
                           staff_user_ids=frozenset({ALEX})) as bot:
        posted = await ask_for_a_person(bot)
        data = posted["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        mark = bot.mark()
        bot.fake.push_update(callback_update(data, chat_id=STAFF, user_id=ALEX,
                                             first_name="Alex", message_id=posted["message_id"],
                                             message_text=posted["text"],
                                             reply_markup=posted["reply_markup"]))
        await bot.fake.wait_for("sendMessage", lambda p: p["chat_id"] == STAFF, after=mark)
        assert [p["text"] for p in bot.sent(mark)] == [
            "This chat with our team has ended. I'm back: ask me anything, or send /help.",
            "✅ Request #1 closed by Alex."]
        assert requests(bot) == [("closed", None)]
        mark = bot.mark()
        bot.fake.push_update(group_text_update("one more thing", chat_id=STAFF, user_id=ALEX,
                                               first_name="Alex", reply_to=posted))
        late = await bot.fake.wait_for("sendMessage", after=mark)
        assert (late.params["chat_id"], late.params["text"]) == (
            STAFF, "Request #1 has ended; they can ask again.")


async def test_out_of_hours_the_user_is_told_when_someone_will_reply(database: str) -> None:
    saturday = Clock(dt.datetime(2027, 2, 6, 11, 0, tzinfo=dt.timezone.utc))
    async with running_bot(database, rasa=assistant(database), clock=saturday,
                           staff_chat_id=STAFF,
                           staff_user_ids=frozenset({ALEX})) as bot:
        mark = bot.mark()
        await ask_for_a_person(bot)
        reply, promise = (m["text"] for m in bot.sent(mark, DEFAULT_USER_ID)[:2])
        assert reply == HANDED_OVER
        assert promise.startswith(f"Our office is closed just now ({HOURS}). Someone will "
                                  "reply here in this chat after we open, on Monday at 8.30am.")
        said = f"{reply}\n{promise}"  # regression: the hours and the contact came twice
        assert said.count(HOURS) == 1 and said.count("npq@network-office.example.org") == 1
        assert requests(bot) == [("forwarded", None)]


async def test_without_a_staff_chat_the_request_is_kept_and_the_user_told_how(
        database: str) -> None:
    async with running_bot(database, rasa=assistant(database)) as bot:
        mark = bot.mark()
        bot.fake.push_update(text_update("can I talk to a person?"))
        promise = await bot.fake.wait_for("sendMessage", lambda p: p["text"] != HANDED_OVER,
                                          after=mark)
        assert promise.params["text"].startswith("Our team reads these requests during office "
                                                 f"hours ({HOURS}).")
        await bot.chat_idle()
        assert requests(bot) == [("queued", None)]
        mark = bot.mark()
        await bot.say("thanks")
        assert [p["text"] for p in bot.sent(mark)] == ["answer to thanks"]  # said once
        assert {p["chat_id"] for p in bot.sent()} == {DEFAULT_USER_ID}


async def test_a_request_made_while_the_bot_was_away_is_forwarded(database: str) -> None:
    engine = make_engine(database)
    with session_scope(make_session_factory(engine)) as session:
        record_handoff(session, chat_id=str(DEFAULT_USER_ID), reason="call me", context=[],
                       now=dt.datetime.now(dt.timezone.utc))
        record_handoff(session, chat_id="terminal-1a2b", reason="from the terminal",
                       context=[], now=dt.datetime.now(dt.timezone.utc))
    engine.dispose()
    async with running_bot(database, staff_chat_id=STAFF, pending_retry_seconds=0.2) as bot:
        staff_card = await bot.fake.wait_for("sendMessage", lambda p: p["chat_id"] == STAFF)
        assert "“call me”" in staff_card.params["text"]
        await bot.fake.wait_for("sendMessage", lambda p: p["chat_id"] == DEFAULT_USER_ID)
        with bot.session() as session:
            assert {(r.chat_id, r.status) for r in session.scalars(select(HandoffRequest))} == {
                (str(DEFAULT_USER_ID), "forwarded"), ("terminal-1a2b", "open")}


async def test_a_reply_that_cannot_be_delivered_closes_the_request(database: str) -> None:
    async with running_bot(database, rasa=assistant(database), staff_chat_id=STAFF,
                           staff_user_ids=frozenset({ALEX})) as bot:
        posted = await ask_for_a_person(bot)
        bot.fake.fail_next("sendMessage", error_code=403,
                           description="Forbidden: bot was blocked by the user")
        mark = bot.mark()
        bot.fake.push_update(group_text_update("Hello?", chat_id=STAFF, user_id=ALEX,
                                               first_name="Alex", reply_to=posted))
        note = await bot.fake.wait_for("sendMessage", lambda p: p["chat_id"] == STAFF,
                                       after=mark)
        assert note.params["text"].startswith("Not delivered: they have blocked the bot")
        await bot.chat_idle(STAFF)
        assert requests(bot) == [("closed", ALEX)]


async def test_a_staff_chat_that_cannot_be_reached_is_tried_again_later(database: str) -> None:
    async with running_bot(database, rasa=assistant(database), staff_chat_id=STAFF,
                           staff_user_ids=frozenset({ALEX}), pending_retry_seconds=0.2) as bot:
        bot.fake.fail_next("sendMessage", error_code=400, description="Bad Request: chat not "
                           "found", when=lambda p: p["chat_id"] == STAFF)
        mark = bot.mark()
        bot.fake.push_update(text_update("can I talk to a person?"))
        failed = await bot.fake.wait_for("sendMessage", lambda p: p["chat_id"] == STAFF,
                                         after=mark)
        assert failed.error_code == 400
        forwarded = await bot.fake.wait_for("sendMessage", lambda p: p["chat_id"] == STAFF,
                                            after=bot.index(failed) + 1)
        assert forwarded.ok and forwarded.params["text"].startswith("🙋 <b>Request #1</b>")
        assert [p["text"] for p in bot.sent(mark, DEFAULT_USER_ID)][0] == HANDED_OVER
        assert ERROR not in [p["text"] for p in bot.sent(mark, DEFAULT_USER_ID)]


# --- nothing lost: relays and notices go through the outbox ----------------------------------

TOO_MANY = {"error_code": 429, "description": "Too Many Requests: retry after 1",
            "retry_after": 1, "times": 4}  # the first try and the rate limiter's three retries


async def accepted(bot: Harness, predicate: Any, after: int, timeout: float = 20.0) -> Any:
    """The first sendMessage matching `predicate` that Telegram accepted (refusals skipped)."""
    while True:
        call = await bot.fake.wait_for("sendMessage", predicate, after=after, timeout=timeout)
        if call.ok:
            return call
        after = bot.index(call) + 1


def received(bot: Harness, chat_id: int, after: int = 0) -> list[str]:
    """What a chat really got, in order: accepted sends and copies."""
    return [c.params.get("text", "(copy)") for c in bot.fake.calls[after:]
            if c.method in ("sendMessage", "copyMessage") and c.ok
            and c.params["chat_id"] == chat_id]


async def answered_by_alex(bot: Harness, posted: dict[str, Any], text: str) -> None:
    mark = bot.mark()
    bot.fake.push_update(group_text_update(text, chat_id=STAFF, user_id=ALEX,
                                           first_name="Alex", reply_to=posted))
    await accepted(bot, lambda p: p["text"].endswith(text), after=mark)
    await bot.chat_idle(STAFF)


async def test_the_promise_to_the_user_waits_out_telegrams_429(database: str) -> None:
    async with running_bot(database, rasa=assistant(database), staff_chat_id=STAFF,
                           staff_user_ids=frozenset({ALEX}), outbox_retry_seconds=0.1) as bot:
        promised = "Someone from our team will reply here in this chat"
        bot.fake.fail_next("sendMessage", **TOO_MANY,
                           when=lambda p: str(p["text"]).startswith(promised))
        mark = bot.mark()
        bot.fake.push_update(text_update("can I talk to a person?"))
        await accepted(bot, lambda p: p["text"].startswith(promised), after=mark)
        await bot.chat_idle()
        user_sees = received(bot, DEFAULT_USER_ID, mark)
        assert len(user_sees) == 2 and user_sees[0] == HANDED_OVER
        assert user_sees[1].startswith(promised)  # once, after the assistant's reply
        assert ERROR not in user_sees


async def test_a_staff_reply_telegram_holds_back_reaches_the_user_later_in_order(
        database: str) -> None:
    async with running_bot(database, rasa=assistant(database), staff_chat_id=STAFF,
                           staff_user_ids=frozenset({ALEX}), outbox_retry_seconds=0.1) as bot:
        posted = await ask_for_a_person(bot)
        bot.fake.fail_next("sendMessage", **TOO_MANY,
                           when=lambda p: p["chat_id"] == DEFAULT_USER_ID)
        mark = bot.mark()
        bot.fake.push_update(group_text_update("Hi Sam", chat_id=STAFF, user_id=ALEX,
                                               first_name="Alex", reply_to=posted))
        await accepted(bot, lambda p: "💬" in p["text"], after=mark)
        await bot.chat_idle(STAFF)
        assert received(bot, DEFAULT_USER_ID, mark) == [
            "You're now chatting with Alex from our team. Your messages go to them until one "
            "of you ends the chat (/done).",
            "💬 <b>Alex</b> (NPQ team):\nHi Sam"]
        assert received(bot, STAFF, mark) == []  # nobody asked to send it again
        assert requests(bot) == [("active", ALEX)]


async def test_a_users_message_left_unrelayed_by_a_stopped_bot_reaches_staff_and_their_reply(
        database: str) -> None:
    async with FakeBotAPI() as fake:
        async with running_bot(database, fake=fake, rasa=assistant(database),
                               staff_chat_id=STAFF, staff_user_ids=frozenset({ALEX})) as bot:
            posted = await ask_for_a_person(bot)
            await answered_by_alex(bot, posted, "Hi Sam")
            fake.fail_next("sendMessage", error_code=502, description="Bad Gateway", times=4,
                           when=lambda p: p["chat_id"] == STAFF)
            mark, asked = bot.mark(), len(bot.rasa.received)
            await bot.handled(fake.push_update(text_update("Is it online?")))
            await bot.chat_idle()
            assert received(bot, STAFF, mark) == []  # Telegram would not take it
            assert received(bot, DEFAULT_USER_ID, mark) == []  # not "send it again"
            assert len(bot.rasa.received) == asked  # nor answered by the assistant
        async with running_bot(database, fake=fake, rasa=assistant(database),
                               staff_chat_id=STAFF, staff_user_ids=frozenset({ALEX}),
                               outbox_retry_seconds=0.1) as bot:
            relayed = await accepted(bot, lambda p: p["chat_id"] == STAFF, after=mark)
            assert relayed.params["text"] == (f'<a href="tg://user?id={ALEX}">Alex</a>: '
                                              "<b>Sam</b> (#1) wrote:\nIs it online?")
            assert relayed.params["reply_parameters"]["message_id"] == posted["message_id"]
            await bot.chat_idle(STAFF)  # linked to the request once sent
            await answered_by_alex(bot, last_message(fake, STAFF), "Yes, online.")
            assert received(bot, DEFAULT_USER_ID, mark) == [
                "💬 <b>Alex</b> (NPQ team):\nYes, online."]
            assert bot.rasa.received == []


async def test_a_photo_is_copied_to_staff_and_a_reply_to_the_copy_reaches_the_user(
        database: str) -> None:
    async with running_bot(database, rasa=assistant(database), staff_chat_id=STAFF,
                           staff_user_ids=frozenset({ALEX})) as bot:
        posted = await ask_for_a_person(bot)
        await answered_by_alex(bot, posted, "Hi Sam")
        mark = bot.mark()
        bot.fake.push_update(photo_update(caption="my certificate"))
        copied = await bot.fake.wait_for("copyMessage", after=mark)
        assert (copied.params["chat_id"], copied.params["from_chat_id"]) == (STAFF,
                                                                             DEFAULT_USER_ID)
        assert copied.params["reply_parameters"]["message_id"] == posted["message_id"]
        await bot.chat_idle()
        await answered_by_alex(bot, last_message(bot.fake, STAFF), "Thanks, got it.")
        assert received(bot, DEFAULT_USER_ID, mark) == [
            "💬 <b>Alex</b> (NPQ team):\nThanks, got it."]


async def test_a_request_left_half_posted_by_a_stopped_bot_is_posted_again(
        database: str) -> None:
    clock = Clock()
    engine = make_engine(database)
    with session_scope(make_session_factory(engine)) as session:
        for reason, taken in (("call me", clock.now - dt.timedelta(minutes=11)),  # it stopped
                              ("busy now", clock.now - dt.timedelta(seconds=5))):  # posting
            record_handoff(session, chat_id=str(DEFAULT_USER_ID), reason=reason, context=[],
                           now=taken).status = "forwarding"
        session.flush()
        for request in session.scalars(select(HandoffRequest)):
            request.forwarded_at = request.created_at
    engine.dispose()
    async with running_bot(database, clock=clock, staff_chat_id=STAFF,
                           pending_retry_seconds=0.2) as bot:
        staff_card = await bot.fake.wait_for("sendMessage", lambda p: p["chat_id"] == STAFF)
        assert "“call me”" in staff_card.params["text"]
        await bot.fake.wait_for("sendMessage", lambda p: p["chat_id"] == DEFAULT_USER_ID)
        await bot.app.job_queue.get_jobs_by_name("retry kept messages")[0].run(bot.app)
        assert [p["text"] for p in bot.sent(chat_id=STAFF)] == [staff_card.params["text"]]
        with bot.session() as session:
            assert {(r.reason, r.status) for r in session.scalars(select(HandoffRequest))} == {
                ("call me", "forwarded"), ("busy now", "forwarding")}
