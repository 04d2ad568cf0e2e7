"""Staff on Telegram, through the real PTB HTTP path (stand-in Bot API on 127.0.0.1, Rasa faked
at the transport): the staff commands and file uploads exist for STAFF_USER_IDS in a private
chat only, /stats, catalogue uploads, /retrain and /rollback with ops.retrain substituted, the
daily purge, the staff menu. /review, turn logging and thumbs: test_bot_review.py."""

from __future__ import annotations

import csv
import datetime as dt
import io
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.buttons import REVIEW
from bot.render import ERROR, EXPIRED_BUTTON, GROUP, NOT_TEXT, UNKNOWN_COMMAND
from bot.review import LABEL
from bot.staff import STAFF_COMMANDS
from npq.db import session_scope
from npq.db.models import Cohort, Hub, MessageLog, ModelPromotion
from npq.message_log import record_turn
from npq.model_history import log_model_action
from ops.evaluation import HELDOUT
from ops.gate import Scores
from ops.paths import ROOT
from ops.retrain import Outcome, RetrainError
from tests.support.bot_harness import Harness, running_bot, training_copy
from tests.support.fake_bot_api import UploadedFile
from tests.support.updates import (
    DEFAULT_GROUP_ID,
    DEFAULT_USER_ID,
    callback_update,
    document_update,
    group_text_update,
    text_update,
)

STAFF, STAFF_NAME = 31337, "Jo"
STAFF_ID = f"telegram:{STAFF} {STAFF_NAME}"
STAFF_COMMAND_NAMES = ["/review", "/retrain", "/rollback", "/stats"]
CATALOGUE = ROOT / "data" / "catalogue"
SERVING, CANDIDATE = "npq-20270101.tar.gz", "npq-20270208.tar.gz"
BEFORE, AFTER = Scores(0.9, 0.85, 0.8), Scores(0.92, 0.87, 0.8)
WORSE = Scores(0.85, 0.8, 0.8)


@dataclass
class Trainer:
    """ops.retrain's retrain and rollback as Training lets tests substitute them: progress as
    the real ones report it, then `outcome` (or `error`); `hold` keeps one running."""

    outcome: Outcome | None = None
    error: Exception | None = None
    hold: threading.Event = field(default_factory=threading.Event)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.hold.set()

    def retrain(self, factory: Any, **kwargs: Any) -> Outcome:
        self.calls.append(("retrain", kwargs))
        progress = kwargs["progress"]
        progress("1 new example(s), 0 left out.")
        progress("training: DIETClassifier")
        progress("training: CRFEntityExtractor")
        return self._finish()

    def rollback(self, factory: Any, **kwargs: Any) -> Outcome:
        self.calls.append(("rollback", kwargs))
        kwargs["progress"](f"Rolling back from {CANDIDATE} to {SERVING}...")
        if self.error is None:  # the real one logs it with the scores it knew
            with session_scope(factory) as session:
                log_model_action(session, action="rollback", model_file=SERVING,
                                 previous_model=CANDIDATE, staff_id=kwargs["staff_id"],
                                 scores_before=AFTER.as_dict(), scores_after=BEFORE.as_dict(),
                                 now=kwargs["clock"]())
        return self._finish()

    def _finish(self) -> Outcome:
        assert self.hold.wait(30), "the test never let the retrain finish"
        if self.error is not None:
            raise self.error
        assert self.outcome is not None
        return self.outcome


@pytest.fixture
def trainer() -> Trainer:
    return Trainer()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "project").mkdir()
    return tmp_path / "project"


@pytest.fixture
async def bot(database: str, trainer: Trainer, project: Path) -> AsyncIterator[Harness]:
    training = training_copy(project, validate=None, retrain=trainer.retrain,
                             rollback=trainer.rollback)
    async with running_bot(database, training=training, staff_user_ids=frozenset({STAFF}),
                           retrain_tolerance=0.02, message_retention_days=30) as harness:
        try:
            yield harness
        finally:
            trainer.hold.set()  # a test that failed while one was held: let the thread end


def staff_says(text: str) -> dict[str, Any]:
    return text_update(text, user_id=STAFF, first_name=STAFF_NAME)


async def reply_to(bot: Harness, update: dict[str, Any], chat_id: int) -> list[str]:
    """Every text the chat got once the bot has handled `update`."""
    mark = bot.mark()
    await bot.handled(bot.fake.push_update(update))
    return [p["text"] for p in bot.sent(mark, chat_id=chat_id)]


def queue(bot: Harness, text: str, chat: str = "555") -> int:
    """A message the model was unsure about, waiting for review; its message_log id."""
    parse = {"intent": {"name": "find_hub", "confidence": 0.3},
             "intent_ranking": [{"name": "find_hub", "confidence": 0.3}]}
    with bot.session() as session:
        return record_turn(session, chat_id=chat, text=text, parse=parse, reply="Hubs: ...",
                           now=bot.clock(), threshold=0.4).id


def labels(bot: Harness) -> list[tuple[str | None, str | None]]:
    with bot.session() as session:
        return list(session.execute(select(MessageLog.review_label, MessageLog.reviewed_by)))


def edited(name: str, changes: dict[int, dict[str, str]]) -> bytes:
    """The shipped catalogue file `name` with some fields changed (by file line number)."""
    with open(CATALOGUE / name, newline="") as source:
        rows = list(csv.DictReader(source))
    for line, fields in changes.items():
        rows[line - 2].update(fields)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def hubs(bot: Harness) -> list[tuple[str, str, str]]:
    with bot.session() as session:
        return list(session.execute(select(Hub.slug, Hub.name, Hub.region).order_by(Hub.slug)))


# --- only staff, only in a private chat -------------------------------------------------------

async def test_staff_commands_do_not_exist_for_anyone_else(bot: Harness, trainer: Trainer) -> None:
    queue(bot, "is there parking")
    unknown = await reply_to(bot, text_update("/nonsense"), DEFAULT_USER_ID)
    assert unknown == [UNKNOWN_COMMAND]
    for command in STAFF_COMMAND_NAMES:
        assert await reply_to(bot, text_update(command), DEFAULT_USER_ID) == unknown, command
    assert [c.method for c in bot.fake.calls if c.method in ("sendPhoto", "editMessageText")] == []
    assert labels(bot) == [(None, None)] and trainer.calls == []
    assert bot.rasa.received == []


async def test_a_file_from_anyone_else_is_a_file_the_assistant_cannot_open(
        bot: Harness) -> None:
    before = hubs(bot)
    broken = (CATALOGUE / "hubs.csv").read_bytes().replace(b"Tyneside NPQ Hub,", b"Hacked,", 1)
    update = document_update(document=bot.fake.user_file(broken, "hubs.csv"))
    assert await reply_to(bot, update, DEFAULT_USER_ID) == ["I can't open files. " + NOT_TEXT]
    assert hubs(bot) == before
    assert [c for c in bot.fake.calls if c.method == "getFile"] == []


async def test_a_staff_member_in_a_group_is_treated_like_anyone_there(bot: Harness,
                                                                     trainer: Trainer) -> None:
    queue(bot, "is there parking")
    for command in STAFF_COMMAND_NAMES:
        said = await reply_to(bot, group_text_update(f"{command}@npq_assistant_bot",
                                                     user_id=STAFF), DEFAULT_GROUP_ID)
        assert said == [GROUP], command
    before = hubs(bot)
    changed = (CATALOGUE / "hubs.csv").read_bytes().replace(b"Tyneside NPQ Hub,", b"X Hub,", 1)
    document = bot.fake.user_file(changed, "hubs.csv")
    update = document_update(document=document, user_id=STAFF, chat_id=DEFAULT_GROUP_ID,
                             chat_type="supergroup")
    assert await reply_to(bot, update, DEFAULT_GROUP_ID) == []  # not addressed: nothing said
    assert hubs(bot) == before and labels(bot) == [(None, None)] and trainer.calls == []
    assert [c.method for c in bot.fake.calls if c.method in ("getFile", "sendPhoto")] == []


async def test_a_review_button_pressed_by_anyone_else_has_expired(bot: Harness) -> None:
    message_id = queue(bot, "is there parking")
    mark = bot.mark()
    bot.fake.push_update(staff_says("/review"))
    shown = await bot.fake.wait_for("sendMessage", after=mark)
    data = shown.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    forged = bot.services.buttons.local(REVIEW, f"{LABEL}{message_id}:greet")  # signed, even
    for pressed in (data, forged):
        update = callback_update(pressed, reply_markup=shown.params["reply_markup"],
                                 message_text=shown.params["text"])
        assert await reply_to(bot, update, DEFAULT_USER_ID) == [EXPIRED_BUTTON]
    assert labels(bot) == [(None, None)]
    assert [c for c in bot.fake.calls[mark:] if c.method == "editMessageText"] == []


async def test_staff_get_their_menu_in_their_chat_only(bot: Harness) -> None:
    await bot.app.post_init(bot.app)
    menus = {scope: [c["command"] for c in commands]
             for scope, commands in bot.fake.commands.items()}
    staff_menu = next(m for s, m in menus.items() if f'"chat_id": {STAFF}' in s)
    everyone = next(m for s, m in menus.items() if '"default"' in s)
    assert staff_menu == everyone + [c.command for c in STAFF_COMMANDS]
    assert not {"review", "retrain", "rollback", "stats"} & set(everyone)
    assert len(menus) == 2


# --- /stats -----------------------------------------------------------------------------------

async def test_stats_sends_the_report_then_its_chart(bot: Harness) -> None:
    with bot.session() as session:
        for text, intent, confidence in (("hub near leeds", "find_hub", 0.9),
                                         ("hubs in york", "find_hub", 0.8),
                                         ("blorp", "nlu_fallback", 0.2)):
            record_turn(session, chat_id="555", text=text, reply=None, now=bot.clock(),
                        parse={"intent": {"name": intent, "confidence": confidence}},
                        threshold=0.4)
    mark = bot.mark()
    bot.fake.push_update(staff_says("/stats"))
    text = await bot.fake.wait_for("sendMessage", after=mark)
    photo = await bot.fake.wait_for("sendPhoto", after=mark)
    assert bot.index(text) < bot.index(photo) and bot.sent(mark) == [report := text.params]
    assert report["chat_id"] == STAFF == photo.params["chat_id"]
    lines = report["text"].splitlines()
    assert lines[0] == "Last 30 days (10 Jan to 08 Feb 2027)"
    assert lines[1].startswith("Messages: 3 ")
    assert "Not understood (fallback): 1 (33.3%)" in lines
    assert "Waiting for review: 1" in lines and "  find_hub: 2" in lines
    png = photo.params["photo"]
    assert isinstance(png, UploadedFile) and png.filename == "stats.png"
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n") and png.size > 1000
    assert photo.params["caption"] == "Messages per day and top intents, 10 Jan to 08 Feb"


# --- catalogue files ---------------------------------------------------------------------------

async def test_a_valid_catalogue_file_from_staff_is_imported(bot: Harness) -> None:
    data = edited("cohorts.csv", {2: {"places": "25"}})  # NPQLBC at tyneside, 2027a: was 19
    update = document_update(document=bot.fake.user_file(data, "cohorts.csv"), user_id=STAFF)
    [said] = await reply_to(bot, update, STAFF)
    assert said.startswith("Imported cohorts.csv: ") and "cohorts" in said.split(":", 1)[1]
    with bot.session() as session:
        places = session.scalar(select(Cohort.places).join(Cohort.hub).where(
            Cohort.programme_code == "NPQLBC", Hub.slug == "tyneside", Cohort.intake == "2027a"))
    assert places == 25


async def test_an_invalid_catalogue_file_changes_nothing_and_says_what_to_fix(
        bot: Harness) -> None:
    before = hubs(bot)
    data = edited("hubs.csv", {2: {"name": "Tyneside and Wearside NPQ Hub"},  # a fine change
                               4: {"region": "Narnia"}, 6: {"delivery_mode": "by pigeon"}})
    update = document_update(document=bot.fake.user_file(data, "hubs.csv"), user_id=STAFF)
    [said] = await reply_to(bot, update, STAFF)
    head, *problems = said.splitlines()
    assert head == "Nothing was imported from hubs.csv: 2 problem(s) to fix first."
    assert [p.split(":")[0] for p in problems] == ["• hubs.csv, line 4", "• hubs.csv, line 6"]
    assert "Narnia" in problems[0] and "pigeon" in problems[1]
    assert hubs(bot) == before  # all or nothing: the good line was not imported either


@pytest.mark.parametrize(("name", "size", "problem"), [
    ("cv.pdf", None, "cv.pdf is not a catalogue file; send one of: "),
    ("hubs.csv", 6 * 1024 * 1024, "hubs.csv is 6144 KB; the limit is 5120 KB."),
])
async def test_a_file_that_is_not_a_catalogue_file_is_refused(
        bot: Harness, name: str, size: int | None, problem: str) -> None:
    document = bot.fake.user_file(b"%PDF-1.4", name)
    mark = bot.mark()
    [said] = await reply_to(bot, document_update(
        document={**document, "file_size": size or document["file_size"]}, user_id=STAFF), STAFF)
    assert said.startswith(f"Nothing was imported from {name}: 1 problem(s)") and problem in said
    if size:  # too big: not even downloaded
        assert [c for c in bot.fake.calls[mark:] if c.method == "getFile"] == []


# --- /retrain and /rollback --------------------------------------------------------------------

PROMOTED = [f"✅ Promoted by {STAFF_NAME}: {CANDIDATE} is in service.",
            "Held-out scores (in service → candidate):", "• intent accuracy: 0.900 → 0.920",
            "• macro F1: 0.850 → 0.870", "• entity F1: 0.800 → 0.800"]
REFUSED = [f"❌ Not promoted ({STAFF_NAME}'s retrain): the candidate {CANDIDATE} scored worse "
           "on the held-out messages.", "Held-out scores (in service → candidate):",
           "• intent accuracy: 0.900 → 0.850", "• macro F1: 0.850 → 0.800",
           "• entity F1: 0.800 → 0.800", "• intent accuracy 0.900 -> 0.850 (-0.050)",
           f"{SERVING} stays in service."]


@pytest.mark.parametrize(("outcome", "summary"), [
    (Outcome("promote", CANDIDATE, CANDIDATE, BEFORE, AFTER), PROMOTED),
    (Outcome("refuse", SERVING, CANDIDATE, BEFORE, WORSE,
             ("intent accuracy 0.900 -> 0.850 (-0.050)",)), REFUSED),
], ids=["promote", "refuse"])
async def test_retrain_shows_progress_then_the_decision_with_the_scores(
        bot: Harness, trainer: Trainer, project: Path, outcome: Outcome,
        summary: list[str]) -> None:
    trainer.outcome = outcome
    mark = bot.mark()
    bot.fake.push_update(staff_says("/retrain"))
    done = await bot.fake.wait_for("sendMessage", lambda p: p["text"].startswith(summary[0][:4]),
                                   after=mark)
    assert done.params["text"].splitlines() == summary
    shown = [(c.method, c.params["text"]) for c in bot.fake.calls[mark:]
             if c.method in ("sendMessage", "editMessageText")]
    assert shown == [("sendMessage", "1 new example(s), 0 left out."),
                     ("sendMessage", "Training: DIETClassifier"),
                     ("editMessageText", "Training: DIETClassifier → CRFEntityExtractor"),
                     ("sendMessage", done.params["text"])]
    [(what, kwargs)] = trainer.calls
    assert what == "retrain" and kwargs["staff_id"] == STAFF_ID and kwargs["root"] == project
    assert (kwargs["heldout"], kwargs["tolerance"]) == (HELDOUT, 0.02)
    assert kwargs["rasa_url"] == bot.services.settings.rasa_url


async def test_one_retrain_or_rollback_at_a_time(bot: Harness, trainer: Trainer) -> None:
    trainer.outcome = Outcome("promote", CANDIDATE, CANDIDATE, BEFORE, AFTER)
    trainer.hold.clear()
    mark = bot.mark()
    bot.fake.push_update(staff_says("/retrain"))
    await bot.fake.wait_for("editMessageText", after=mark)  # training, held
    busy = f"Busy: a retrain started by {STAFF_NAME} is still running. Try again when it has " \
           "finished."
    for command in ("/retrain", "/rollback"):  # answered from a task: wait for the answer
        asked = bot.mark()
        bot.fake.push_update(staff_says(command))
        await bot.fake.wait_for("sendMessage", lambda p: p["text"].startswith("Busy"),
                                after=asked)
        assert [p["text"] for p in bot.sent(asked)] == [busy]
    while_busy = bot.mark()
    assert await reply_to(bot, text_update("/nonsense"), DEFAULT_USER_ID) == [UNKNOWN_COMMAND]
    trainer.hold.set()
    await bot.fake.wait_for("sendMessage", lambda p: p["text"] == "\n".join(PROMOTED),
                            after=while_busy)
    assert [what for what, _ in trainer.calls] == ["retrain"]
    after = bot.mark()
    bot.fake.push_update(staff_says("/retrain"))  # free again
    await bot.fake.wait_for("sendMessage", lambda p: p["text"] == "\n".join(PROMOTED),
                            after=after)
    assert [what for what, _ in trainer.calls] == ["retrain", "retrain"]


async def test_rollback_says_which_model_is_back_with_the_scores(bot: Harness,
                                                                 trainer: Trainer) -> None:
    trainer.outcome = Outcome("rollback", SERVING, SERVING,
                              reasons=(f"rolled back from {CANDIDATE}",))
    mark = bot.mark()
    bot.fake.push_update(staff_says("/rollback"))
    done = await bot.fake.wait_for("sendMessage", lambda p: p["text"].startswith("↩️"),
                                   after=mark)
    assert [p["text"] for p in bot.sent(mark)] == [
        f"Rolling back from {CANDIDATE} to {SERVING}...", done.params["text"]]
    assert done.params["text"].splitlines() == [
        f"↩️ Rolled back by {STAFF_NAME}: {SERVING} is in service again (was {CANDIDATE}).",
        "Held-out scores (was → now):", "• intent accuracy: 0.920 → 0.900",
        "• macro F1: 0.870 → 0.850", "• entity F1: 0.800 → 0.800"]
    [(what, kwargs)] = trainer.calls
    assert what == "rollback" and kwargs["staff_id"] == STAFF_ID


async def test_a_rollback_that_cannot_go_ahead_says_why(bot: Harness, trainer: Trainer) -> None:
    trainer.error = RetrainError("There is no earlier model to go back to.")
    mark = bot.mark()
    bot.fake.push_update(staff_says("/rollback"))
    await bot.fake.wait_for("sendMessage", lambda p: "did not go ahead" in p["text"], after=mark)
    assert [p["text"] for p in bot.sent(mark)] == [
        f"Rolling back from {CANDIDATE} to {SERVING}...",
        "The rollback did not go ahead: There is no earlier model to go back to."]
    with bot.session() as session:
        assert session.scalars(select(ModelPromotion)).all() == []
    again = bot.mark()
    bot.fake.push_update(staff_says("/rollback"))  # not busy: it may be tried again
    await bot.fake.wait_for("sendMessage", lambda p: "did not go ahead" in p["text"], after=again)
    assert [what for what, _ in trainer.calls] == ["rollback", "rollback"]


async def test_a_retrain_that_crashes_is_apologised_for_and_frees_the_way(
        bot: Harness, trainer: Trainer) -> None:
    trainer.error = OSError("No space left on device")  # not a RetrainError: unexpected
    mark = bot.mark()
    bot.fake.push_update(staff_says("/retrain"))
    await bot.fake.wait_for("sendMessage", lambda p: p["text"] == ERROR, after=mark)
    assert [p["text"] for p in bot.sent(mark)] == [
        "1 new example(s), 0 left out.", "Training: DIETClassifier", ERROR]
    trainer.error, trainer.outcome = None, Outcome("promote", CANDIDATE, CANDIDATE, BEFORE, AFTER)
    again = bot.mark()
    bot.fake.push_update(staff_says("/retrain"))
    await bot.fake.wait_for("sendMessage", lambda p: p["text"] == "\n".join(PROMOTED),
                            after=again)


# --- the daily purge ---------------------------------------------------------------------------

async def test_the_daily_purge_removes_text_older_than_the_retention_period(
        bot: Harness) -> None:
    with bot.session() as session:
        for days, text in ((31, "old question"), (29, "recent question")):
            record_turn(session, chat_id="555", text=text, reply="an answer",
                        parse={"intent": {"name": "find_hub", "confidence": 0.9}},
                        now=bot.clock() - dt.timedelta(days=days), threshold=0.4)
    [job] = [j for j in bot.app.job_queue.jobs() if j.name == "purge expired messages"]
    assert job.job.trigger.interval == dt.timedelta(days=1)
    await job.run(bot.app)
    with bot.session() as session:
        rows = session.execute(select(MessageLog.text, MessageLog.reply, MessageLog.chat_id,
                                      MessageLog.intent).order_by(MessageLog.id)).all()
    assert rows == [(None, None, "", "find_hub"),  # the statistics still count it
                    ("recent question", "an answer", "555", "find_hub")]


# --- outcomes Telegram holds back arrive later -----------------------------------------------

async def test_a_retrains_outcome_telegram_holds_back_reaches_staff_later(
        database: str, trainer: Trainer, project: Path) -> None:
    trainer.outcome = Outcome("promote", CANDIDATE, CANDIDATE, BEFORE, AFTER)
    training = training_copy(project, validate=None, retrain=trainer.retrain,
                             rollback=trainer.rollback)
    async with running_bot(database, training=training, staff_user_ids=frozenset({STAFF}),
                           retrain_tolerance=0.02, outbox_retry_seconds=0.1) as bot:
        bot.fake.fail_next("sendMessage", error_code=429, description="Too Many Requests",
                           retry_after=1, times=4,  # the first try and the limiter's 3 retries
                           when=lambda p: str(p["text"]).startswith(PROMOTED[0]))
        mark = bot.mark()
        bot.fake.push_update(staff_says("/retrain"))
        after = mark
        while not (done := await bot.fake.wait_for(
                "sendMessage", lambda p: p["text"].startswith(PROMOTED[0]), after=after)).ok:
            after = bot.index(done) + 1
        assert done.params["text"].splitlines() == PROMOTED
        got = [c.params["text"] for c in bot.fake.calls[mark:]
               if c.method == "sendMessage" and c.ok]
        assert got.count(done.params["text"]) == 1 and ERROR not in got


async def test_an_import_report_telegram_holds_back_reaches_staff_later(
        database: str, project: Path) -> None:
    async with running_bot(database, training=training_copy(project),
                           staff_user_ids=frozenset({STAFF}), outbox_retry_seconds=0.1) as bot:
        bot.fake.fail_next("sendMessage", error_code=502, description="Bad Gateway", times=4)
        data = edited("cohorts.csv", {2: {"places": "25"}})
        upload = document_update(document=bot.fake.user_file(data, "cohorts.csv"),
                                 user_id=STAFF)
        mark = bot.mark()
        bot.fake.push_update(upload)
        after = mark
        while not (report := await bot.fake.wait_for("sendMessage", after=after)).ok:
            after = bot.index(report) + 1
        assert report.params["text"].startswith("Imported cohorts.csv: ")
        assert (report.params["chat_id"], len(bot.sent(mark))) == (STAFF, 5)  # 4 refused, 1 ok
