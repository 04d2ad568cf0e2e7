"""English counties: the names people type for them, their main towns, and a point to measure
from (the mean of the main towns' gazetteer coordinates; see the header of counties.csv)."""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from npq.geo.gazetteer import ENGLAND_WEIGHT, TIER_NAME, gazetteer, name_key

log = logging.getLogger(__name__)

COUNTIES_CSV = Path(__file__).with_name("counties.csv")
COUNTY_KIND = "county"


@dataclass(frozen=True)
class County:
    """A county as a place: its name, its point, and the main towns that point comes from."""

    name: str
    latitude: float
    longitude: float
    towns: tuple[str, ...]  # gazetteer names, as resolve_place finds them
    town_points: tuple[tuple[float, float], ...]  # each town's latitude and longitude
    population: int  # of the main towns together: ranks a county above small fuzzy namesakes
    country: str = "England"

    @property
    def rank(self) -> float:
        return self.population * ENGLAND_WEIGHT


@dataclass(frozen=True)
class CountyRow:
    name: str
    also: tuple[str, ...]
    towns: tuple[str, ...]


def county_rows(path: Path = COUNTIES_CSV) -> list[CountyRow]:
    """The counties file as written (comment lines skipped)."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(line for line in handle if not line.startswith("#"))
        return [CountyRow(r["name"].strip(), _list(r["also"]), _list(r["towns"])) for r in rows]


@cache
def counties() -> dict[str, County]:
    """Every name a county goes by (as a name key: "co durham", "north yorkshire") -> county."""
    found: dict[str, County] = {}
    for row in county_rows():
        county = _build(row)
        if county is None:
            continue
        for name in (row.name, *row.also):
            found[name_key(name)] = county
    return found


def county_named(name: str) -> County | None:
    """The county a name (any of its names, in any case) stands for, else None."""
    return counties().get(name_key(name)) if isinstance(name, str) else None


def _build(row: CountyRow) -> County | None:
    """The county with its point at the mean of its main towns; towns missing from the gazetteer
    are left out (logged), and a county with none is left out."""
    towns, keys = gazetteer().towns, gazetteer().keys
    located = []
    for name in row.towns:
        matches = [m for m in keys.get(name_key(name), ()) if m[1] == TIER_NAME]
        english = [towns[i] for i, _ in matches if towns[i].country == "England"]
        if not english:
            log.warning("county %s: no English town %r in the gazetteer", row.name, name)
            continue
        located.append(max(english, key=lambda t: t.rank))
    if not located:
        return None
    return County(
        row.name,
        round(sum(t.latitude for t in located) / len(located), 5),
        round(sum(t.longitude for t in located) / len(located), 5),
        tuple(t.name for t in located),
        tuple((t.latitude, t.longitude) for t in located),
        sum(t.population for t in located),
    )


def _list(cell: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (cell or "").split(";") if part.strip())
