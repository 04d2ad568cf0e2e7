"""Staff and set-up commands for the programme database.

    python -m npq migrate              bring the database schema up to date (Alembic)
    python -m npq seed                 import the data/catalogue files whose tables are empty
    python -m npq import PATH...       validate and import catalogue files or a folder, all or
                                       nothing
    python -m npq check PATH...        validate catalogue files without writing anything
    python -m npq stats [--days N] [--chart PNG]
                                       the staff report (what /stats shows on Telegram): the last
                                       30 days by default, with a chart of messages per day and
                                       the top intents (make stats)
    python -m npq purge                remove every kind of personal data past its retention
                                       now (npq/retention.py; the bot does it daily)

The database is DATABASE_URL (default: an SQLite file in var/).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

from npq import geo
from npq.catalogue import CatalogueInvalid, import_catalogue, read_only, unseeded_files
from npq.db import make_engine, make_session_factory, session_scope
from npq.retention import purge_conversations, purge_personal_data
from npq.settings import PROJECT_ROOT, Settings
from npq.stats import chart_png, collect_stats, format_stats

CATALOGUE_DIR = PROJECT_ROOT / "data" / "catalogue"


def migrate(database_url: str) -> None:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["database_url"] = database_url
    command.upgrade(config, "head")


def _import(database_url: str, paths: list[Path], *, seeding: bool = False) -> int:
    """Import `paths`; when seeding, only the files whose tables are still empty."""
    engine = make_engine(database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            if seeding:
                paths = [p / name for p in paths for name in unseeded_files(session)
                         if (p / name).exists()]
                if not paths:
                    print("Database already holds the catalogue; `make import` re-imports "
                          "data/catalogue.")
                    return 0
            summary = import_catalogue(session, paths)
    except CatalogueInvalid as invalid:
        print(f"Nothing was imported: {len(invalid.problems)} problem(s) to fix first.",
              file=sys.stderr)
        for problem in invalid.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(f"Imported {summary}.")
    return 0


def _check(paths: list[Path]) -> int:
    catalogue = read_only(paths)
    for problem in catalogue.problems:
        print(f"  {problem}", file=sys.stderr)
    print("The files are valid." if not catalogue.problems else
          f"{len(catalogue.problems)} problem(s).")
    return 1 if catalogue.problems else 0


def _stats(database_url: str, days: int, chart: Path | None) -> int:
    engine = make_engine(database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            stats = collect_stats(session, now=dt.datetime.now(dt.timezone.utc), days=days)
    finally:
        engine.dispose()
    print(format_stats(stats))
    if chart:
        chart.parent.mkdir(parents=True, exist_ok=True)
        chart.write_bytes(chart_png(stats))
        print(f"==> chart written to {chart}")
    return 0


def _purge(settings: Settings) -> int:
    """Every kind of personal data past its retention (npq/retention.py), now."""
    retention, now = settings.retention, dt.datetime.now(dt.timezone.utc)
    engine = make_engine(settings.database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            purged = purge_personal_data(session, now=now, retention=retention)
    finally:
        engine.dispose()
    url = make_url(settings.effective_tracker_store_url)
    if url.get_backend_name() != "sqlite" or (url.database and Path(url.database).exists()):
        tracker = make_engine(settings.effective_tracker_store_url)
        try:
            purged["conversation events"] = purge_conversations(tracker, now=now,
                                                                days=retention.conversations)
        finally:
            tracker.dispose()
    for kind, count in purged.items():
        print(f"{kind}: {count} removed")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m npq", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="bring the schema up to date")
    sub.add_parser("seed", help="import the data/catalogue files whose tables are empty")
    for name in ("import", "check"):
        p = sub.add_parser(name, help=f"{name} catalogue files")
        p.add_argument("paths", nargs="+", type=Path)
    report = sub.add_parser("stats", help="the staff report (what /stats shows on Telegram)")
    report.add_argument("--days", type=int, default=30, help="how many days, today included")
    report.add_argument("--chart", type=Path, help="write a PNG chart to this path")
    sub.add_parser("purge", help="remove all personal data past its retention now")
    args = parser.parse_args(argv)
    if args.command == "stats" and args.days < 1:
        parser.error("--days must be at least 1")
    settings = Settings.from_env()

    if args.command == "migrate":
        migrate(settings.database_url)
        return 0
    if args.command == "seed":
        geo.warm_cache()  # build the gazetteer cache now rather than on a user's first question
        return _import(settings.database_url, [CATALOGUE_DIR], seeding=True)
    if args.command == "import":
        return _import(settings.database_url, args.paths)
    if args.command == "stats":
        return _stats(settings.database_url, args.days, args.chart)
    if args.command == "purge":
        return _purge(settings)
    return _check(args.paths)


if __name__ == "__main__":
    sys.exit(main())
