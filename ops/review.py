"""Review in the terminal, then write what staff labelled into the training data.

    python -m ops.review              label the queue one message at a time, then write the
                                      labelled messages to nlu_data/nlu/reviewed.yml (make review)
    python -m ops.review --limit 50   at most 50 messages this time
    python -m ops.review export       only write the labelled messages (and validate)

For each message: a number picks one of the model's top intents, a name any intent, `n` marks it
not relevant (never trained on), `s` skips it, `?` lists the intents, `q` stops. What is written,
and what is left out: ops/training_data.py. On Telegram staff review with /review (bot/review.py).
"""

from __future__ import annotations

import argparse
import datetime as dt
import difflib
import getpass
import sys
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from npq.db import make_engine, make_session_factory, session_scope
from npq.message_log import NOT_RELEVANT, SKIP
from npq.review_queue import QueueItem, label, review_queue
from npq.settings import Settings
from ops.training_data import REVIEWED, DataInvalid, Export, export_reviewed, known_intents


def describe(item: QueueItem, position: int, total: int) -> str:
    """One queue item as the terminal shows it."""
    times = f"  (x{item.count})" if item.count > 1 else ""
    guesses = "   ".join(f"{n}. {name} {confidence:.2f}"
                         for n, (name, confidence) in enumerate(item.top_intents[:3], 1))
    return (f"[{position}/{total}] {item.text!r}{times}  - {', '.join(item.reasons)}\n"
            f"    {guesses or 'no guesses stored'}")


def decide(answer: str, item: QueueItem, intents: list[str]) -> str | None:
    """A typed answer -> an intent, NOT_RELEVANT, SKIP, "quit", "list", or None (unclear)."""
    answer = answer.strip().lower()
    if answer in ("q", "quit"):
        return "quit"
    if answer in ("?", "l", "list"):
        return "list"
    if answer in ("n", "not relevant", NOT_RELEVANT):
        return NOT_RELEVANT
    if answer in ("s", SKIP, ""):
        return SKIP
    if answer.isdigit() and 1 <= int(answer) <= min(3, len(item.top_intents)):
        return item.top_intents[int(answer) - 1][0]
    return answer if answer in intents else None


def review_in_terminal(factory: sessionmaker[Session], *, staff_id: str, intents: list[str],
                       limit: int, ask: Callable[[str], str] = input,
                       say: Callable[[str], None] = print,
                       clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc),
                       ) -> int:
    """Label the queue one item at a time (each decision committed at once); returns how many
    items got an intent."""
    with session_scope(factory) as session:
        items = review_queue(session, limit=limit)
    if not items:
        say("Nothing waits for review.")
        return 0
    say(f"{len(items)} message(s) to review. A number or an intent name labels it; "
        "n = not relevant, s = skip, ? = list intents, q = stop.")
    labelled = 0
    for position, item in enumerate(items, 1):
        say(describe(item, position, len(items)))
        while True:
            answer = ask("    intent> ")
            choice = decide(answer, item, intents)
            if choice == "list":
                say("    " + ", ".join(intents))
            elif choice is None:
                near = difflib.get_close_matches(answer.strip().lower(), intents, n=3)
                say("    Not an intent." + (f" Did you mean {', '.join(near)}?" if near else "")
                    + " ? lists them.")
            else:
                break
        if choice == "quit":
            break
        with session_scope(factory) as session:
            label(session, item, intent=choice, staff_id=staff_id, now=clock(), intents=intents)
        labelled += choice not in (NOT_RELEVANT, SKIP)
    return labelled


def _report(export: Export, say: Callable[[str], None]) -> None:
    say(f"Added {len(export.added)} example(s) to {REVIEWED}.")
    for text, why in export.skipped:
        say(f"  left out {text[:60]!r}: {why}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.review", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", choices=("review", "export"),
                        default="review")
    parser.add_argument("--limit", type=int, default=100, help="at most this many messages")
    parser.add_argument("--staff", default=f"terminal:{getpass.getuser()}",
                        help="who is reviewing (recorded with each label)")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    try:
        if args.command == "review":
            count = review_in_terminal(factory, staff_id=args.staff, intents=known_intents(),
                                       limit=args.limit)
            print(f"Labelled {count} message(s) with an intent.")
        print("Writing labelled messages to the training data, then `rasa data validate` ...")
        with session_scope(factory) as session:
            export = export_reviewed(session)
        _report(export, print)
        if export.added:
            print("Next: `make retrain` trains a new model and puts it in service if it is not "
                  "worse on the held-out messages.")
        return 0
    except DataInvalid as invalid:
        print("Rasa found errors; the training data was left as it was:", file=sys.stderr)
        for error in invalid.errors:
            print(f"  {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopped; what you labelled is kept.")
        return 130
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
