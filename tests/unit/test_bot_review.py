"""What the model made of each typed message, through the real PTB HTTP path (stand-in Bot API
on 127.0.0.1, Rasa faked at the transport with the parse its tracker reports): turns logged,
thumbs up/down under answers, and staff labelling the review queue with /review until the labels
are written into a copy of the training data."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.conversation import SESSION_EVENTS
from bot.feedback import NOT_YOURS, PROMPT, THANKED, THANKS_DOWN, THANKS_UP
from bot.review import EMPTY, title
from npq.db.models import MessageLog
from npq.message_log import masked, record_turn
from npq.review_queue import review_queue
from ops.paths import ROOT
from ops.retrain import exclusive
from ops.training_data import REVIEWED, known_intents, read_reviewed
from tests.support.bot_harness import FakeRasa, Harness, running_bot, training_copy
from tests.support.fake_bot_api import ApiCall
from tests.support.updates import DEFAULT_USER_ID, callback_update, text_update

JSON = dict[str, Any]
STAFF, STAFF_NAME = 31337, "Jo"
QUESTION, ANSWER = "What does NPQH involve?", "NPQH is the headship NPQ: 18 months, ..."
UNSURE = "umm the leadership thing for new heads maybe"
PARSES: dict[str, JSON] = {  # what the model makes of each message
    QUESTION: {"intent": {"name": "programme_info", "confidence": 0.93},
               "intent_ranking": [{"name": "programme_info", "confidence": 0.93},
                                  {"name": "recommend_npq", "confidence": 0.04}],
               "entities": [{"entity": "npq", "value": "NPQH", "start": 10, "end": 14,
                             "extractor": "RegexEntityExtractor"}]},
    UNSURE: {"intent": {"name": "recommend_npq", "confidence": 0.31},
             "intent_ranking": [{"name": "recommend_npq", "confidence": 0.31},
                                {"name": "programme_info", "confidence": 0.22}]},
    "hello": {"intent": {"name": "greet", "confidence": 0.99}},
    "sam@school.org": {"intent": {"name": "inform", "confidence": 0.97}},
    "please call me back about NPQH": {"intent": {"name": "register_interest",
                                                  "confidence": 0.95}},
    "any hubs?": {"intent": {"name": "find_hub", "confidence": 0.96}},
    "how much is NPQH?": {"intent": {"name": "ask_funding", "confidence": 0.9}},
}
REPLIES: dict[str, list[JSON]] = {
    QUESTION: [{"text": ANSWER, "buttons": [{"title": "How to apply",
                                             "payload": "/how_to_apply"}]}],
    UNSURE: [{"text": "NPQH might suit you."}],
    "hello": [{"text": "Hello! Ask me about NPQs."}],
    "sam@school.org": [{"text": "Thanks. What's your school?"}],
    "please call me back about NPQH": [{"text": "What's your e-mail address?"}],
    "any hubs?": [{"text": "Where are you?"}, {"custom": {"ask_location": True}}],
    "how much is NPQH?": [{"text": "NPQH is funded for most state schools."}],
}


def parse(message: str) -> JSON:
    forced = message.removeprefix("/").partition("{")[0]  # a payload forces its intent
    return PARSES.get(message) or {"intent": {"name": forced, "confidence": 1.0}}


def assistant() -> FakeRasa:
    return FakeRasa(parse=parse, answer=lambda sender, message: REPLIES.get(
        message, [{"text": f"answer to {message}"}]))


@pytest.fixture
def validated() -> list[Path]:
    return []


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "project").mkdir()
    return tmp_path / "project"


@pytest.fixture
async def bot(database: str, project: Path, validated: list[Path]) -> AsyncIterator[Harness]:
    def validate(root: Path) -> list[str]:  # `rasa data validate` takes a minute: a stand-in
        validated.append(root)
        return [] if "(broken)" not in (root / REVIEWED).read_text() else ["ERROR broken data"]

    async with running_bot(database, rasa=assistant(), training=training_copy(
            project, validate=validate), staff_user_ids=frozenset({STAFF})) as harness:
        yield harness


def rows(bot: Harness, *columns: Any) -> list[tuple[Any, ...]]:
    with bot.session() as session:
        return [tuple(r) for r in session.execute(select(*columns).order_by(MessageLog.id))]


def keyboard(markup: JSON | None) -> list[list[str]]:
    return [[b["text"] for b in row] for row in (markup or {}).get("inline_keyboard", [])]


def press(bot: Harness, shown: ApiCall | JSON, button: str, *, markup: JSON | None = None,
          user_id: int = STAFF) -> int:
    """Press the button titled `button` on a message the bot sent (`markup`: its keyboard as
    an edit left it); the update id."""
    params = shown.params if isinstance(shown, ApiCall) else shown
    markup = markup or params["reply_markup"]
    data = next(b["callback_data"] for row in markup["inline_keyboard"] for b in row
                if b["text"] == button)
    return bot.fake.push_update(callback_update(
        data, message_text=params["text"], reply_markup=markup, user_id=user_id,
        first_name=STAFF_NAME if user_id == STAFF else "Sam"))


# --- turns logged ------------------------------------------------------------------------------

async def test_typed_messages_are_logged_with_the_parse_and_the_reply(bot: Harness) -> None:
    answer = await bot.say(QUESTION)
    await bot.say(UNSURE)
    assert rows(bot, MessageLog.chat_id, MessageLog.text, MessageLog.intent,
                MessageLog.confidence, MessageLog.reply, MessageLog.needs_review) == [
        (str(DEFAULT_USER_ID), QUESTION, "programme_info", 0.93, ANSWER, False),
        (str(DEFAULT_USER_ID), UNSURE, "recommend_npq", 0.31, "NPQH might suit you.", True)]
    [(entities, ranking)] = rows(bot, MessageLog.entities, MessageLog.ranking)[:1]
    assert entities == [{"entity": "npq", "value": "NPQH", "start": 10, "end": 14}]
    assert ranking == [{"name": "programme_info", "confidence": 0.93},
                       {"name": "recommend_npq", "confidence": 0.04}]
    with bot.session() as session:  # the unsure one waits for review
        assert [(i.text, i.reasons) for i in review_queue(session)] == [
            (UNSURE, ("low_confidence",))]
    mark = bot.mark()  # a button's payload, commands, a location: nothing typed to log
    await bot.handled(press(bot, answer, "How to apply", user_id=DEFAULT_USER_ID))
    for command in ("/start partner", "/hubs Leeds", "/programmes"):
        await bot.handled(bot.fake.push_update(text_update(command)))
    payloads = [m["message"] for m in bot.rasa.received[2:]]
    assert len(payloads) == 4 and payloads[0] == "/how_to_apply"
    assert all(p.startswith("/") for p in payloads) and len(bot.sent(mark)) >= 4
    with bot.session() as session:
        assert session.scalar(select(func.count()).select_from(MessageLog)) == 2


async def test_a_message_rasa_no_longer_remembers_is_answered_but_not_logged(
        bot: Harness) -> None:
    bot.rasa.parse = None  # the tracker's latest message is not this one (e.g. restarted)
    assert (await bot.say(QUESTION)).params["text"] == ANSWER
    assert rows(bot, MessageLog.id) == []


# --- thumbs up and down ------------------------------------------------------------------------

async def test_an_answer_to_a_question_can_be_rated_by_its_chat_only(bot: Harness) -> None:
    answer = await bot.say(QUESTION)
    assert keyboard(answer.params["reply_markup"]) == [["How to apply"], ["👍", "👎"]]
    mark = bot.mark()
    await bot.handled(press(bot, answer, "👎", user_id=424243))  # another chat: replayed
    [refused] = [c.params for c in bot.fake.calls[mark:] if c.method == "answerCallbackQuery"]
    assert refused["text"] == NOT_YOURS
    assert [c.method for c in bot.fake.calls[mark:] if c.method.startswith("edit")] == []
    assert rows(bot, MessageLog.feedback, MessageLog.needs_review) == [(None, False)]

    mark = bot.mark()
    await bot.handled(press(bot, answer, "👎", user_id=DEFAULT_USER_ID))
    thanked = await bot.fake.wait_for("answerCallbackQuery", after=mark)
    assert thanked.params["text"] == THANKS_DOWN
    tidied = await bot.fake.wait_for("editMessageReplyMarkup", after=mark)
    assert keyboard(tidied.params["reply_markup"]) == [["How to apply"]]  # its own buttons stay
    assert bot.sent(mark) == [] and len(bot.rasa.received) == 1
    assert rows(bot, MessageLog.feedback, MessageLog.needs_review) == [("down", True)]
    with bot.session() as session:
        assert [(i.text, i.reasons) for i in review_queue(session)] == [
            (QUESTION, ("unhelpful",))]


async def test_thumbs_go_on_their_own_message_when_the_answer_removes_a_keyboard(
        bot: Harness) -> None:
    await bot.say("any hubs?")  # the share-location keyboard shows
    mark = bot.mark()
    await bot.handled(bot.fake.push_update(text_update("how much is NPQH?")))
    answer, prompt = bot.sent(mark)  # a message carries one keyboard: the removal goes first
    assert answer["text"] == "NPQH is funded for most state schools."
    assert answer["reply_markup"] == {"remove_keyboard": True}
    assert prompt["text"] == PROMPT and keyboard(prompt["reply_markup"]) == [["👍", "👎"]]
    mark = bot.mark()
    await bot.handled(press(bot, prompt, "👍", user_id=DEFAULT_USER_ID))
    assert (await bot.fake.wait_for("answerCallbackQuery", after=mark)).params["text"] == \
        THANKS_UP
    thanked = await bot.fake.wait_for("editMessageText", after=mark)
    assert thanked.params["text"] == THANKED and "reply_markup" not in thanked.params
    assert rows(bot, MessageLog.text, MessageLog.feedback, MessageLog.needs_review)[-1] == (
        "how much is NPQH?", "up", False)


@pytest.mark.parametrize(("said", "state"), [
    ("hello", {}),  # small talk
    ("sam@school.org", {}),  # a form answer
    ("please call me back about NPQH", {"active_loop": {"name": "register_interest_form"}}),
    ("any hubs?", {}),  # the assistant asks where
    (QUESTION, {"slots": {"pending": "find_hub"}}),  # it waits for an answer
], ids=["small talk", "form answer", "form asking", "location asked", "pending"])
async def test_no_thumbs_when_the_reply_is_not_an_answer(bot: Harness, said: str,
                                                         state: JSON) -> None:
    bot.rasa.state = state
    mark = bot.mark()
    await bot.handled(bot.fake.push_update(text_update(said)))
    sent = bot.sent(mark)
    assert sent and all("👍" not in str(p.get("reply_markup")) for p in sent)
    # logged all the same (an e-mail address as [email]: npq/message_log.py masked)
    assert rows(bot, MessageLog.text) == [(masked(said),)]


# --- /review -------------------------------------------------------------------------------------

PARKING = [{"name": "find_hub", "confidence": 0.35}, {"name": "ask_deadlines", "confidence": 0.2},
           {"name": "how_to_apply", "confidence": 0.1}, {"name": "greet", "confidence": 0.05}]
TA = [{"name": "ask_eligibility", "confidence": 0.38}, {"name": "recommend_npq", "confidence": 0.3}]
GUESSES = ["Nearest hub · find_hub (35%)", "Deadlines · ask_deadlines (20%)",
           "How to apply · how_to_apply (10%)"]
WHICH = "Which intent is it? The model's best guesses first."


def queue(bot: Harness, *items: tuple[str, list[JSON], str], minutes_ago: int = 1) -> None:
    """Messages the model was unsure about (text, ranking, chat), oldest last."""
    with bot.session() as session:
        for n, (text, ranking, chat) in enumerate(items):
            intent = ranking[0] if ranking else {"name": "nlu_fallback", "confidence": 0.7}
            record_turn(session, chat_id=chat, text=text, reply="...", threshold=0.4,
                        parse={"intent": intent, "intent_ranking": ranking},
                        now=bot.clock() - dt.timedelta(minutes=minutes_ago + n))


def labels(bot: Harness) -> dict[str, tuple[Any, ...]]:
    return {text: tuple(rest) for text, *rest in rows(
        bot, MessageLog.text, MessageLog.review_label, MessageLog.reviewed_by,
        MessageLog.needs_review)}


async def review(bot: Harness) -> ApiCall:
    """/review from the staff member: the first item shown."""
    mark = bot.mark()
    bot.fake.push_update(text_update("/review", user_id=STAFF, first_name=STAFF_NAME))
    return await bot.fake.wait_for("sendMessage", after=mark)


async def decide(bot: Harness, shown: ApiCall, button: str, *, markup: JSON | None = None,
                 ) -> tuple[str, ApiCall]:
    """Press a button of an item: the item's text as edited, and the next message."""
    mark = bot.mark()
    press(bot, shown, button, markup=markup)
    edit = await bot.fake.wait_for("editMessageText", after=mark)
    return edit.params["text"], await bot.fake.wait_for("sendMessage", after=mark)


async def test_staff_label_the_queue_and_the_labels_reach_the_training_data(
        bot: Harness, project: Path, validated: list[Path]) -> None:
    real = (ROOT / REVIEWED).read_text() if (ROOT / REVIEWED).exists() else None
    queue(bot, ("Is there parking at the venue", PARKING, "556"),
          ("is there  parking at the venue", PARKING, "555"),  # the same, as far as review goes
          ("can my TA do the SENCO one", TA, "557"), ("asdfgh", [], "558"))
    first = await review(bot)
    assert first.params["chat_id"] == STAFF
    assert first.params["text"] == ("To review (3 waiting): “Is there parking at the venue” "
                                    f"(sent 2 times)\nWhy: the model was unsure\n{WHICH}")
    assert keyboard(first.params["reply_markup"]) == [
        *([g] for g in GUESSES), ["Other intent…"], ["Not relevant", "Skip", "Stop"]]

    edited, second = await decide(bot, first, GUESSES[0])
    assert edited == f"{first.params['text']}\n\n» {GUESSES[0].split(' (')[0]} (2 messages)"
    assert labels(bot)["is there  parking at the venue"] == (
        "find_hub", f"telegram:{STAFF} {STAFF_NAME}", False)
    assert second.params["text"] == ("To review (2 waiting): “can my TA do the SENCO one”\n"
                                      f"Why: the model was unsure\n{WHICH}")

    mark = bot.mark()  # "Other intent…": every intent of domain.yml, then back to the guesses
    press(bot, second, "Other intent…")
    others = (await bot.fake.wait_for("editMessageReplyMarkup", after=mark)).params
    intents = known_intents(project)
    assert keyboard(others["reply_markup"]) == [
        *([title(i)] for i in intents), ["‹ Back to the guesses"]]
    edited, third = await decide(bot, second, title("ask_eligibility"),
                                 markup=others["reply_markup"])
    assert edited.endswith("\n\n» Can I apply · ask_eligibility (1 message)")
    assert third.params["text"].startswith("To review (1 waiting): “asdfgh”\nWhy: not understood")

    edited, writing = await decide(bot, third, "Not relevant")
    assert edited.endswith("\n\n» not relevant (1 message)")
    assert writing.params["text"].startswith("Writing the labelled messages to the training data")
    done = await bot.fake.wait_for("sendMessage", after=bot.index(writing) + 1)
    assert done.params["text"] == (
        f"Added 2 example(s) to {REVIEWED} (Rasa checked it).\nSend /retrain to train a model "
        "on them and put it in service if it is not worse.")
    assert read_reviewed((project / REVIEWED).read_text()) == {
        "ask_eligibility": ["can my TA do the SENCO one"],
        "find_hub": ["Is there parking at the venue"]}
    assert validated == [project]
    assert labels(bot)["asdfgh"][0] == "not_relevant"
    with bot.session() as session:
        assert review_queue(session) == []
    assert ((ROOT / REVIEWED).read_text() if (ROOT / REVIEWED).exists() else None) == real


async def test_skipped_items_come_back_at_the_next_review(bot: Harness, project: Path) -> None:
    queue(bot, ("is there parking at the venue", PARKING, "555"),
          ("can my TA do the SENCO one", TA, "557"))
    first = await review(bot)
    edited, second = await decide(bot, first, "Skip")
    assert edited.endswith("\n\n» skipped (1 message)")
    assert "can my TA do the SENCO one" in second.params["text"]
    _, writing = await decide(bot, second, title("ask_eligibility") + " (38%)")
    done = await bot.fake.wait_for("sendMessage", after=bot.index(writing) + 1)
    assert done.params["text"].startswith(f"Added 1 example(s) to {REVIEWED}")
    assert read_reviewed((project / REVIEWED).read_text()) == {
        "ask_eligibility": ["can my TA do the SENCO one"]}
    assert labels(bot)["is there parking at the venue"][::2] == ("skip", True)
    again = await review(bot)  # a new session: the skipped one again
    assert again.params["text"].startswith(
        "To review (1 waiting): “is there parking at the venue”")


async def test_other_intents_and_back_to_the_guesses(bot: Harness) -> None:
    queue(bot, ("is there parking at the venue", PARKING, "555"))
    first = await review(bot)
    mark = bot.mark()
    press(bot, first, "Other intent…")
    others = await bot.fake.wait_for("editMessageReplyMarkup", after=mark)
    assert len(keyboard(others.params["reply_markup"])) == len(bot.services.intents) + 1
    press(bot, first, "‹ Back to the guesses", markup=others.params["reply_markup"])
    back = await bot.fake.wait_for("editMessageReplyMarkup", after=bot.index(others) + 1)
    assert back.params["reply_markup"] == first.params["reply_markup"]
    assert labels(bot)["is there parking at the venue"][0] is None


async def test_labels_wait_while_a_retrain_holds_the_training_data(bot: Harness,
                                                                   project: Path) -> None:
    queue(bot, ("is there parking at the venue", PARKING, "555"))
    first = await review(bot)
    with exclusive(project / "models", "telegram:1 Alex"):  # e.g. a /retrain elsewhere
        _, writing = await decide(bot, first, GUESSES[0])
        done = await bot.fake.wait_for("sendMessage", after=bot.index(writing) + 1)
    assert done.params["text"].startswith("A retrain or rollback is running, so the training "
                                          "data was not changed now. Your labels are saved")
    assert not (project / REVIEWED).exists()
    assert labels(bot)["is there parking at the venue"][0] == "find_hub"


async def test_two_presses_on_one_item_label_it_once(bot: Harness) -> None:
    queue(bot, ("is there parking at the venue", PARKING, "555"),
          ("can my TA do the SENCO one", TA, "557"))
    first = await review(bot)
    await decide(bot, first, GUESSES[0])
    labelled = labels(bot)
    mark = bot.mark()
    again = press(bot, first, GUESSES[1])  # the same keyboard, pressed again
    edit = await bot.fake.wait_for("editMessageText", after=mark)
    await bot.handled(again)
    assert edit.params["text"].endswith("\n\nAlready reviewed.")
    assert bot.sent(after=mark) == []  # the next item is not shown twice
    assert labels(bot) == labelled
    assert labelled["is there parking at the venue"][0] == "find_hub"


async def test_stop_writes_what_was_labelled_and_rasa_errors_leave_the_data_alone(
        bot: Harness, project: Path, validated: list[Path]) -> None:
    queue(bot, ("where is the [broken] hub", PARKING, "555"),
          ("can my TA do the SENCO one", TA, "557"))
    first = await review(bot)
    _, second = await decide(bot, first, GUESSES[0])
    edited, writing = await decide(bot, second, "Stop")
    assert edited.endswith("\n\nStopped.") and writing.params["text"].startswith("Writing")
    done = await bot.fake.wait_for("sendMessage", after=bot.index(writing) + 1)
    assert done.params["text"].startswith("⚠️ Rasa found errors, so your labels were NOT "
                                          "written to the training data")
    assert done.params["text"].endswith("\n• ERROR broken data")
    assert validated == [project] and not (project / REVIEWED).exists()
    assert labels(bot)["where is the [broken] hub"][0] == "find_hub"  # the label is kept
    assert labels(bot)["can my TA do the SENCO one"][0] is None


async def test_an_empty_queue_says_so(bot: Harness) -> None:
    assert (await review(bot)).params["text"] == EMPTY


# --- long conversations ---------------------------------------------------------------------------

@pytest.mark.parametrize(("state", "new_session"), [
    ({}, True),
    ({"active_loop": {"name": "register_interest_form"}}, False),  # a form is asking: not now
], ids=["between forms", "in a form"])
async def test_a_long_conversation_starts_a_new_rasa_session(bot: Harness, state: JSON,
                                                             new_session: bool) -> None:
    sender = str(DEFAULT_USER_ID)
    for n in range(SESSION_EVENTS // 3):  # a user message, a form, a slot: three events a turn
        bot.rasa.store_turn(sender, f"message {n}", {"intent": {"name": "greet"}})
    bot.rasa.state = state
    assert (await bot.say(QUESTION)).params["text"] == ANSWER
    await bot.chat_idle()
    assert bot.rasa.executed == ([(sender, "action_session_start")] if new_session else [])
    assert rows(bot, MessageLog.text)[-1] == (QUESTION,)  # the turn is logged all the same


async def test_a_short_conversation_keeps_its_session(bot: Harness) -> None:
    for _ in range(3):
        assert (await bot.say(QUESTION)).params["text"] == ANSWER
    await bot.chat_idle()
    assert bot.rasa.executed == []
