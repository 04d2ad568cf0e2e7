"""What time it is, for every action: one seam, so a test freezes time in one place.

Actions call `clock.now()` and `clock.today()` (looked up when called), so replacing `now` here
(tests/action_server/conftest.py does) moves both.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def now() -> dt.datetime:
    """This moment, in UTC (what the database stores)."""
    return dt.datetime.now(dt.timezone.utc)


def today() -> dt.date:
    """Today's date in England, where deadlines fall."""
    return now().astimezone(LONDON).date()
