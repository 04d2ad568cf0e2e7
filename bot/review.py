"""/review on Telegram: staff label the review queue one message at a time, then the labelled
messages are written into the training data.

Each item shows the text, how often it was sent and why it waits, with the model's top guesses
as buttons, then "Other intent…" (every intent of domain.yml), "Not relevant" (never trained on),
"Skip" (it stays, after the others) and "Stop". After a decision the message shows it and the
next item follows. When the queue is done (or on "Stop") ops.training_data.export_reviewed
writes the labels to nlu_data/nlu/reviewed.yml (once each, validated with `rasa data
validate`; if Rasa finds an error the file is put back and the staff member is told), holding
the retrain lock so it never changes the data under a training.

The buttons carry the id of the item's latest message (npq.review_queue.queue_item rebuilds the item
from it), so they work after a restart; two reviewers never label one item twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt

from sqlalchemy.orm import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.buttons import REVIEW, ButtonCodec
from bot.context import BotContext
from bot.render import EXPIRED_BUTTON
from bot.staff import is_staff, staff_id
from npq.db import session_scope
from npq.message_log import NOT_RELEVANT, SKIP
from npq.review_queue import QueueItem, label, queue_item, queue_size, review_queue
from ops.retrain import RetrainBusy, exclusive
from ops.training_data import REVIEWED, DataInvalid, Export, export_reviewed

LABEL, OTHER, TOP, STOP = "l", "o", "t", "x"
GUESSES = 3
TITLES = {  # what each intent means, for reviewers
    "greet": "Hello", "goodbye": "Goodbye", "thank": "Thanks", "affirm": "Yes", "deny": "No",
    "bot_challenge": "Are you a bot?", "help": "What can you do?",
    "recommend_npq": "Which NPQ suits me", "programme_info": "What an NPQ involves",
    "find_hub": "Nearest hub", "ask_deadlines": "Deadlines", "ask_funding": "Funding, fees",
    "ask_eligibility": "Can I apply", "how_to_apply": "How to apply",
    "register_interest": "Contact me", "subscribe_reminders": "Remind me",
    "unsubscribe": "Stop reminders", "become_partner": "Become a partner",
    "partner_requirements": "What a partner needs", "partner_benefits": "What partners get",
    "partner_fit_check": "Would we fit as a partner", "talk_to_human": "Talk to a person",
    "forget_me": "Delete my data", "stop": "Never mind, stop", "inform": "An answer (inform)",
    "out_of_scope": "Off topic",
}
REASONS = {"fallback": "not understood", "out_of_scope": "found out of scope",
           "low_confidence": "the model was unsure", "unhelpful": "a user rated the answer 👎"}
EMPTY = "Nothing waits for review. 🎉"
SHOWN = 1000  # characters of a message shown for review (a message may hold 4,096)


def shortened(text: str, limit: int = SHOWN) -> str:
    """At most `limit` UTF-16 units (Telegram counts those), with "…" when cut."""
    if len(text.encode("utf-16-le")) // 2 <= limit:
        return text
    kept, used = [], 0
    for char in text:
        used += len(char.encode("utf-16-le")) // 2
        if used > limit - 1:
            break
        kept.append(char)
    return "".join(kept).rstrip() + "…"


def title(intent: str) -> str:
    return f"{TITLES[intent]} · {intent}" if intent in TITLES else intent


def describe(item: QueueItem, waiting: int) -> str:
    """One queue item, for the reviewer (plain text: the user's words are shown as written)."""
    times = f" (sent {item.count} times)" if item.count > 1 else ""
    why = ", ".join(REASONS.get(reason, reason) for reason in item.reasons)
    return (f"To review ({waiting} waiting): “{shortened(item.text)}”{times}\n"
            f"Why: {why or 'queued'}\nWhich intent is it? The model's best guesses first.")


def guesses_keyboard(codec: ButtonCodec, item: QueueItem) -> InlineKeyboardMarkup:
    def button(text: str, action: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(text, callback_data=codec.local(REVIEW, action))

    rows = [[button(f"{title(name)} ({confidence:.0%})", f"{LABEL}{item.latest_id}:{name}")]
            for name, confidence in item.top_intents[:GUESSES]]
    rows.append([button("Other intent…", f"{OTHER}{item.latest_id}")])
    rows.append([button("Not relevant", f"{LABEL}{item.latest_id}:{NOT_RELEVANT}"),
                 button("Skip", f"{LABEL}{item.latest_id}:{SKIP}"),
                 button("Stop", STOP)])
    return InlineKeyboardMarkup(rows)


def intents_keyboard(codec: ButtonCodec, message_id: int,
                     intents: list[str]) -> InlineKeyboardMarkup:
    rows = [[InlineKeyboardButton(title(intent), callback_data=codec.local(
        REVIEW, f"{LABEL}{message_id}:{intent}"))] for intent in intents]
    rows.append([InlineKeyboardButton("‹ Back to the guesses",
                                      callback_data=codec.local(REVIEW, f"{TOP}{message_id}"))])
    return InlineKeyboardMarkup(rows)


def _next(session: Session, *, fresh_only: bool) -> tuple[QueueItem | None, int]:
    """The next item (after a decision, only one nobody skipped) and how many wait."""
    items = review_queue(session, limit=1000)
    if fresh_only:
        items = [item for item in items if not item.skipped]
    return (items[0] if items else None), queue_size(session)


async def start(update: Update, context: BotContext) -> None:
    """/review: the first item of the queue."""
    if update.effective_chat is not None:
        await _show_next(update.effective_chat.id, context, fresh_only=False)


async def _show_next(chat_id: int, context: BotContext, *, fresh_only: bool,
                     reviewer: str | None = None) -> None:
    item, waiting = await context.services.db.run(_next, fresh_only=fresh_only)
    if item is None:
        if not fresh_only:
            await context.bot.send_message(chat_id, EMPTY)
            return
        await _finish(chat_id, context, reviewer or "staff")
        return
    await context.bot.send_message(chat_id, describe(item, waiting),
                                   reply_markup=guesses_keyboard(context.services.buttons, item))


async def pressed(update: Update, context: BotContext, body: str) -> None:
    """A review button. Only staff can use one: for anyone else it is an expired button."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None:
        return
    if not is_staff(update, context.services.settings.staff_user_ids):
        await query.answer()
        await context.bot.send_message(chat.id, EXPIRED_BUTTON)
        return
    await query.answer()
    action, rest = body[:1], body[1:]
    reviewer = staff_id(update)
    if action == STOP:
        await _edit(update, note="Stopped.")
        await _finish(chat.id, context, reviewer)
        return
    message_id, _, intent = rest.partition(":")
    if not message_id.isdigit():
        return
    if action in (OTHER, TOP):
        await _switch(update, context, int(message_id), other=action == OTHER)
    elif action == LABEL:
        await _label(update, context, int(message_id), intent, reviewer)


async def _switch(update: Update, context: BotContext, message_id: int, *, other: bool) -> None:
    item = await context.services.db.run(queue_item, message_id)
    if item is None:
        await _edit(update, note="Already reviewed.")
        return
    codec = context.services.buttons
    markup = intents_keyboard(codec, message_id, context.services.intents) if other \
        else guesses_keyboard(codec, item)
    query = update.callback_query
    assert query is not None
    with contextlib.suppress(BadRequest):
        await query.edit_message_reply_markup(reply_markup=markup)


async def _label(update: Update, context: BotContext, message_id: int, intent: str,
                 reviewer: str) -> None:
    chat = update.effective_chat
    assert chat is not None
    services = context.services
    try:
        labelled = await services.db.run(_apply, message_id, intent, reviewer, services.clock(),
                                         services.intents)
    except ValueError:
        await _edit(update, note=f"{intent!r} is not an intent of domain.yml.")
        return
    if labelled is None:  # a second press, here or by another reviewer: the next item is out
        await _edit(update, note="Already reviewed.")
        return
    decision = {NOT_RELEVANT: "not relevant", SKIP: "skipped"}.get(intent, title(intent))
    await _edit(update, note=f"» {decision} ({labelled} message{'s' * (labelled != 1)})")
    await _show_next(chat.id, context, fresh_only=True, reviewer=reviewer)


def _apply(session: Session, message_id: int, intent: str, reviewer: str, now: dt.datetime,
           intents: list[str]) -> int | None:
    item = queue_item(session, message_id)
    if item is None:
        return None
    return label(session, item, intent=intent, staff_id=reviewer, now=now, intents=intents)


async def _edit(update: Update, *, note: str) -> None:
    """The item's message with the decision under it, and no buttons."""
    query = update.callback_query
    assert query is not None
    text = getattr(query.message, "text", None) or ""
    with contextlib.suppress(BadRequest):  # already tidied, or too old to edit
        await query.edit_message_text(f"{text}\n\n{note}" if text else note)


async def _finish(chat_id: int, context: BotContext, reviewer: str) -> None:
    """Write the labels into the training data and say how it went."""
    send = context.services.outbox.say  # the outcome of the reviewer's work: never lost
    await send(chat_id, "Writing the labelled messages to the training data and checking it "
                        "with Rasa…")
    try:
        export = await asyncio.to_thread(_export, context, reviewer)
    except RetrainBusy:
        await send(chat_id, "A retrain or rollback is running, so the training data was not "
                            "changed now. Your labels are saved: the next /review or /retrain "
                            "writes them.")
        return
    except DataInvalid as invalid:
        await send(chat_id, "⚠️ Rasa found errors, so your labels were NOT written to the "
                            "training data (it is as it was; the labels are saved). Please pass "
                            "this on to whoever maintains the training data:\n"
                   + "\n".join(f"• {error}" for error in invalid.errors[:10]))
        return
    await send(chat_id, report(export))


def _export(context: BotContext, reviewer: str) -> Export:
    training, factory = context.services.training, context.services.db.factory
    with exclusive(training.root / "models", f"review by {reviewer}"), \
            session_scope(factory) as session:
        return export_reviewed(session, root=training.root, heldout=training.heldout,
                               validate=training.validate)


def report(export: Export) -> str:
    """What the export did, for the reviewer."""
    lines = [f"Added {len(export.added)} example(s) to {REVIEWED} (Rasa checked it)."
             if export.added else "Nothing new for the training data."]
    news = [(text, why) for text, why in export.skipped if why != f"already in {REVIEWED.name}"]
    lines += [f"• left out “{text[:60]}”: {why}" for text, why in news[:15]]
    if export.added:
        lines.append("Send /retrain to train a model on them and put it in service if it is "
                     "not worse.")
    return "\n".join(lines)
