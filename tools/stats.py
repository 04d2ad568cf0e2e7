"""The staff report in the terminal (what /stats shows in Telegram).

    python -m tools.stats                    the last 30 days (make stats)
    python -m tools.stats --days 7
    python -m tools.stats --chart stats.png  also draw messages per day and the top intents

The figures come from npq.stats, read from DATABASE_URL.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from npq.db import make_engine, make_session_factory, session_scope
from npq.settings import Settings
from npq.stats import chart_png, collect_stats, format_stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.stats", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=30, help="how many days, today included")
    parser.add_argument("--chart", type=Path, help="write a PNG chart to this path")
    args = parser.parse_args(argv)
    if args.days < 1:
        parser.error("--days must be at least 1")
    engine = make_engine(Settings.from_env().database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            stats = collect_stats(session, now=dt.datetime.now(dt.timezone.utc), days=args.days)
    finally:
        engine.dispose()
    print(format_stats(stats))
    if args.chart:
        args.chart.parent.mkdir(parents=True, exist_ok=True)
        args.chart.write_bytes(chart_png(stats))
        print(f"==> chart written to {args.chart}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
