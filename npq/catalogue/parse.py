"""Read and validate the staff-edited catalogue files, reporting every bad row.

Parsing never touches the database: it turns files into plain records or a list of `Problem`s
(file, line, reason). `npq.catalogue.load` writes the records, all or nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import yaml

REGIONS = (
    "North East", "North West", "Yorkshire and the Humber", "East Midlands", "West Midlands",
    "East of England", "London", "South East", "South West",
)
HUB_COLUMNS = (
    "slug", "name", "lead_organisation", "town", "postcode", "latitude", "longitude", "region",
    "contact_email", "contact_phone", "programmes", "delivery_mode", "session_times", "demo",
)
COHORT_COLUMNS = (
    "programme", "hub", "intake", "start_date", "applications_open", "applications_close",
    "funding", "places", "places_left", "demo",
)
INTAKE = re.compile(r"^\d{4}[ab]$")
CODE = re.compile(r"^[A-Z][A-Z0-9-]{1,15}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
# England's extent, generously: a hub outside it is a typo in the coordinates.
LATITUDES, LONGITUDES = (49.8, 55.9), (-6.5, 1.9)
FILES = ("programmes.yaml", "hubs.csv", "cohorts.csv", "funding_rules.yaml", "partner.yaml",
         "network.yaml")
NETWORK_KEY = re.compile(r"^[a-z][a-z0-9_]{1,47}$")
URL = re.compile(r"^https://[a-z0-9.-]+\.[a-z]{2,}(/\S*)?$", re.IGNORECASE)
# The assistant quotes these; an import without them would leave answers without their links.
REQUIRED_LINKS = ("npq_guidance", "funding_guidance", "registration_service", "find_trn",
                  "find_urn")
REQUIRED_TEXTS = ("office_email", "dfe_check_time", "partner_fee_note")
EMAIL_SETTINGS = ("office_email",)


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}, line {self.line}: {self.reason}"


class RowError(ValueError):
    """A reason a single row is invalid."""


@dataclass
class Catalogue:
    """Parsed records; a table absent from the import is None (left as it is)."""

    programmes: list[dict[str, Any]] | None = None
    hubs: list[dict[str, Any]] | None = None
    cohorts: list[dict[str, Any]] | None = None
    funding_rules: list[dict[str, Any]] | None = None
    partner: list[dict[str, Any]] | None = None
    network: list[dict[str, Any]] | None = None
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class Known:
    """Keys that already exist in the database, for files imported on their own."""

    programmes: dict[str, str] = field(default_factory=dict)  # code -> status
    hubs: frozenset[str] = frozenset()


class _LineLoader(yaml.SafeLoader):
    """A YAML loader that records each mapping's line as `__line__`."""


def _mapping_with_line(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = cast(dict[str, Any], loader.construct_mapping(node, deep=True))
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)


def _yaml_items(path: Path, key: str, problems: list[Problem]) -> list[dict[str, Any]]:
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problems.append(Problem(path.name, mark.line + 1 if mark else 1,
                                f"not valid YAML: {error}"))
        return []
    items = document.get(key) if isinstance(document, dict) else None
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        problems.append(Problem(path.name, 1, f"expected a list of entries under '{key}:'"))
        return []
    return items


def _csv_rows(path: Path, columns: tuple[str, ...], problems: list[Problem]):  # type: ignore[no-untyped-def]
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = tuple(name.strip() for name in reader.fieldnames or ())
        if header != columns:
            problems.append(Problem(path.name, 1, f"the header must be: {','.join(columns)}"))
            return
        for row in reader:
            if None in row or any(value is None for value in row.values()):
                problems.append(Problem(path.name, reader.line_num,
                                        f"expected {len(columns)} columns"))
                continue
            yield reader.line_num, {k.strip(): (v or "").strip() for k, v in row.items()}


def _text(item: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = item.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise RowError(f"'{name}' is missing")
        return None
    return str(value).strip()


def _choice(value: str | None, name: str, allowed: Iterable[str]) -> str:
    allowed = tuple(allowed)
    if value not in allowed:
        raise RowError(f"'{name}' must be one of {', '.join(allowed)} (got {value!r})")
    return value


def _date(value: str | None, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise RowError(f"'{name}' must be a date like 2027-01-31 (got {value!r})") from None


def _flag(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("yes", "true", "y", "1"):
        return True
    if text in ("no", "false", "n", "0", ""):
        return False
    raise RowError(f"'{name}' must be yes or no (got {value!r})")


def _each(file: str, rows: Iterable[tuple[int, dict[str, Any]]],
          parse: Callable[[dict[str, Any]], dict[str, Any]], key: Callable[[dict[str, Any]], Any],
          problems: list[Problem]) -> list[dict[str, Any]]:
    """Parse every row, collecting problems, and reject duplicate keys."""
    records: list[dict[str, Any]] = []
    seen: dict[Any, int] = {}
    for line, row in rows:
        try:
            record = parse(row)
        except RowError as error:
            problems.append(Problem(file, line, str(error)))
            continue
        k = key(record)
        if k in seen:
            problems.append(Problem(file, line, f"duplicate of line {seen[k]} ({k})"))
            continue
        seen[k] = line
        record["__line__"] = line
        records.append(record)
    return records
