"""One reader per catalogue file: rows in, validated records (or problems) out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from npq.catalogue.parse import (
    CODE,
    COHORT_COLUMNS,
    EMAIL,
    EMAIL_SETTINGS,
    FILES,
    HUB_COLUMNS,
    INTAKE,
    LATITUDES,
    LONGITUDES,
    NETWORK_KEY,
    REGIONS,
    REQUIRED_LINKS,
    REQUIRED_TEXTS,
    SLUG,
    URL,
    Catalogue,
    Known,
    Problem,
    RowError,
    _choice,
    _csv_rows,
    _date,
    _each,
    _flag,
    _text,
    _yaml_items,
)
from npq.db.models import (
    DELIVERY_MODES,
    FUNDING_CONDITIONS,
    FUNDING_STATUSES,
    PROGRAMME_GROUPS,
    SETTINGS,
)
from npq.geo import normalise_postcode


def read_catalogue(paths: list[Path], known: Known) -> Catalogue:
    """Read the given files (or every catalogue file in a given folder) and cross-check them."""
    files: dict[str, Path] = {}
    catalogue = Catalogue()
    for path in paths:
        if path.is_dir():
            files.update({name: path / name for name in FILES if (path / name).exists()})
        elif path.name in FILES:
            files[path.name] = path
        else:
            catalogue.problems.append(Problem(path.name, 1,
                                              f"not a catalogue file ({', '.join(FILES)})"))
    for name, path in files.items():
        if not path.exists():
            catalogue.problems.append(Problem(name, 1, "file not found"))
    files = {name: path for name, path in files.items() if path.exists()}
    problems = catalogue.problems

    programmes = dict(known.programmes)
    if "programmes.yaml" in files:
        catalogue.programmes = _programmes(files["programmes.yaml"], problems)
        programmes = {p["code"]: p["status"] for p in catalogue.programmes}
    hubs = set(known.hubs)
    if "hubs.csv" in files:
        catalogue.hubs = _hubs(files["hubs.csv"], programmes, problems)
        hubs = {h["slug"] for h in catalogue.hubs}
    if "cohorts.csv" in files:
        catalogue.cohorts = _cohorts(files["cohorts.csv"], programmes, hubs, problems)
    if "funding_rules.yaml" in files:
        catalogue.funding_rules = _funding_rules(files["funding_rules.yaml"], programmes, problems)
    if "partner.yaml" in files:
        catalogue.partner = _partner(files["partner.yaml"], problems)
    if "network.yaml" in files:
        catalogue.network = _network(files["network.yaml"], problems)
    return catalogue


def _codes(value: Any, programmes: dict[str, str], *, current_only: bool) -> list[str]:
    codes = value.split() if isinstance(value, str) else list(value or [])
    if not codes:
        raise RowError("'programmes' is empty")
    for code in codes:
        if code not in programmes:
            raise RowError(f"unknown programme {code!r}")
        if current_only and programmes[code] != "current":
            raise RowError(f"{code} is a legacy programme and cannot be offered")
    return codes


def _programmes(path: Path, problems: list[Problem]) -> list[dict[str, Any]]:
    def parse(item: dict[str, Any]) -> dict[str, Any]:
        code = _text(item, "code") or ""
        if not CODE.match(code):
            raise RowError(f"'code' must be capitals like NPQH (got {code!r})")
        length = item.get("length_months")
        if not isinstance(length, int) or not 1 <= length <= 36:
            raise RowError("'length_months' must be a whole number of months between 1 and 36")
        synonyms = item.get("synonyms") or []
        if not isinstance(synonyms, list) or not all(isinstance(s, str) for s in synonyms):
            raise RowError("'synonyms' must be a list of phrases")
        return {
            "code": code,
            "name": _text(item, "name"),
            "group": _choice(_text(item, "group"), "group", PROGRAMME_GROUPS),
            "audience": _text(item, "audience"),
            "length_months": length,
            "assessment": _text(item, "assessment"),
            "format": _text(item, "format"),
            "summary": _text(item, "summary"),
            "status": _choice(_text(item, "status"), "status", ("current", "legacy")),
            "introduced": item.get("introduced"),
            "prerequisite": _text(item, "prerequisite", required=False),
            "synonyms": [s.strip().lower() for s in synonyms if s.strip()],
            "successors": list(item.get("successors") or []),
        }

    items = [(item["__line__"], item) for item in _yaml_items(path, "programmes", problems)]
    records = _each(path.name, items, parse, lambda r: r["code"], problems)
    codes = {r["code"] for r in records}
    owner: dict[str, str] = {}
    for record in records:
        for successor in record["successors"]:
            if successor not in codes:
                problems.append(Problem(path.name, record["__line__"],
                                        f"successor {successor!r} is not in programmes.yaml"))
        for synonym in record["synonyms"]:
            if owner.setdefault(synonym, record["code"]) != record["code"]:
                problems.append(Problem(path.name, record["__line__"],
                                        f"synonym {synonym!r} also belongs to {owner[synonym]}"))
    return records


def _hubs(path: Path, programmes: dict[str, str], problems: list[Problem]) -> list[dict[str, Any]]:
    def parse(row: dict[str, Any]) -> dict[str, Any]:
        slug = _text(row, "slug") or ""
        if not SLUG.match(slug):
            raise RowError(f"'slug' must be lower-case letters, digits and hyphens (got {slug!r})")
        postcode = normalise_postcode(_text(row, "postcode") or "")
        if postcode is None or " " not in postcode:
            raise RowError(f"'postcode' must be a full UK postcode (got {row['postcode']!r})")
        try:
            latitude, longitude = float(row["latitude"]), float(row["longitude"])
        except ValueError:
            raise RowError("'latitude' and 'longitude' must be decimal degrees") from None
        if not (LATITUDES[0] <= latitude <= LATITUDES[1]
                and LONGITUDES[0] <= longitude <= LONGITUDES[1]):
            raise RowError(f"coordinates {latitude}, {longitude} are not in England")
        email = _text(row, "contact_email") or ""
        if not EMAIL.match(email):
            raise RowError(f"'contact_email' is not an email address (got {email!r})")
        return {
            "slug": slug,
            "name": _text(row, "name"),
            "lead_organisation": _text(row, "lead_organisation"),
            "town": _text(row, "town"),
            "postcode": postcode,
            "latitude": latitude,
            "longitude": longitude,
            "region": _choice(_text(row, "region"), "region", REGIONS),
            "contact_email": email,
            "contact_phone": _text(row, "contact_phone", required=False),
            "programmes": _codes(row["programmes"], programmes, current_only=True),
            "delivery_mode": _choice(_text(row, "delivery_mode"), "delivery_mode", DELIVERY_MODES),
            "session_times": _text(row, "session_times", required=False),
            "is_demo": _flag(row["demo"], "demo"),
        }

    return _each(path.name, _csv_rows(path, HUB_COLUMNS, problems), parse,
                 lambda r: r["slug"], problems)


def _cohorts(path: Path, programmes: dict[str, str], hubs: set[str],
             problems: list[Problem]) -> list[dict[str, Any]]:
    def parse(row: dict[str, Any]) -> dict[str, Any]:
        code = _codes(row["programme"], programmes, current_only=True)[0]
        hub = _text(row, "hub") or ""
        if hub != "online" and hub not in hubs:
            raise RowError(f"unknown hub {hub!r} (a slug from hubs.csv, or 'online')")
        intake = _text(row, "intake") or ""
        if not INTAKE.match(intake):
            raise RowError("'intake' must look like 2027a (spring) or 2027b (autumn), "
                           f"got {intake!r}")
        opens = _date(row["applications_open"], "applications_open")
        closes = _date(row["applications_close"], "applications_close")
        starts = _date(row["start_date"], "start_date")
        if not opens <= closes <= starts:
            raise RowError("dates must run applications_open <= applications_close <= start_date")
        places, left = _places(row, "places"), _places(row, "places_left", zero=True)
        if places is not None and left is not None and left > places:
            raise RowError(f"'places_left' ({left}) is more than 'places' ({places})")
        return {
            "programme_code": code, "hub": None if hub == "online" else hub, "intake": intake,
            "start_date": starts, "applications_open": opens, "applications_close": closes,
            "funding": _choice(row["funding"], "funding", FUNDING_STATUSES),
            "places": places, "places_left": left, "is_demo": _flag(row["demo"], "demo"),
        }

    return _each(path.name, _csv_rows(path, COHORT_COLUMNS, problems), parse,
                 lambda r: (r["programme_code"], r["hub"] or "online", r["intake"]), problems)


def _places(row: dict[str, Any], name: str, *, zero: bool = False) -> int | None:
    """A count of places, or None when the cell is empty (not known)."""
    value = row[name]
    if not value:
        return None
    if not value.isdigit() or (int(value) == 0 and not zero):
        kind = "a whole number" if zero else "a positive whole number"
        raise RowError(f"'{name}' must be {kind} or empty (got {value!r})")
    return int(value)


def _funding_rules(path: Path, programmes: dict[str, str],
                   problems: list[Problem]) -> list[dict[str, Any]]:
    def parse(item: dict[str, Any]) -> dict[str, Any]:
        intake = str(item.get("intake", ""))
        if not INTAKE.match(intake):
            raise RowError(f"'intake' must look like 2027a or 2027b (got {intake!r})")
        if not isinstance(item.get("funded"), bool):
            raise RowError("'funded' must be true or false")
        if not isinstance(item.get("provisional"), bool):
            raise RowError("'provisional' must be true (a projection, not yet published by the "
                           "DfE) or false (published guidance)")
        return {
            "intake": intake,
            "programmes": _codes(item.get("programmes"), programmes, current_only=True),
            "setting": _choice(_text(item, "setting"), "setting", SETTINGS),
            "condition": _choice(_text(item, "condition"), "condition", FUNDING_CONDITIONS),
            "funded": item["funded"],
            "note": _text(item, "note", required=False) or "",
            "provisional": item["provisional"],
            "source": _text(item, "source"),
        }

    items = [(item["__line__"], item) for item in _yaml_items(path, "rules", problems)]
    records = _each(path.name, items, parse,
                    lambda r: (r["intake"], tuple(r["programmes"]), r["setting"], r["condition"]),
                    problems)
    seen: dict[tuple[str, str, str, str], int] = {}
    for record in records:
        for code in record["programmes"]:
            key = (record["intake"], code, record["setting"], record["condition"])
            if key in seen:
                problems.append(Problem(path.name, record["__line__"],
                                        f"{code} already has this rule at line {seen[key]}"))
            seen.setdefault(key, record["__line__"])
    return records


def _partner(path: Path, problems: list[Problem]) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for section, kind in (("criteria", "criterion"), ("benefits", "benefit"), ("steps", "step")):
        def parse(item: dict[str, Any], kind: str = kind) -> dict[str, Any]:
            question = _text(item, "question", required=kind == "criterion")
            return {"kind": kind, "key": _text(item, "key"), "title": _text(item, "title"),
                    "description": _text(item, "description"), "question": question}

        items = [(item["__line__"], item) for item in _yaml_items(path, section, problems)]
        parsed = _each(path.name, items, parse, lambda r: r["key"], problems)
        for position, record in enumerate(parsed):
            record["position"] = position
        records.extend(parsed)
    return records


def _network(path: Path, problems: list[Problem]) -> list[dict[str, Any]]:
    """Links (`links:`, each an https URL) and plain settings (`settings:`), keyed uniquely."""
    records: list[dict[str, Any]] = []
    for section, kind, required in (("links", "link", REQUIRED_LINKS),
                                    ("settings", "text", REQUIRED_TEXTS)):
        def parse(item: dict[str, Any], kind: str = kind) -> dict[str, Any]:
            key = _text(item, "key") or ""
            if not NETWORK_KEY.match(key):
                raise RowError(f"'key' must be lower-case letters, digits and underscores "
                               f"(got {key!r})")
            value = _text(item, "url" if kind == "link" else "value") or ""
            if kind == "link" and not URL.match(value):
                raise RowError(f"'url' must be a full https:// address (got {value!r})")
            if key in EMAIL_SETTINGS and not EMAIL.match(value):
                raise RowError(f"'value' of {key} is not an email address (got {value!r})")
            return {"kind": kind, "key": key, "title": _text(item, "title"), "value": value,
                    "checked": _flag(item.get("checked", False), "checked")}

        items = [(item["__line__"], item) for item in _yaml_items(path, section, problems)]
        parsed = _each(path.name, items, parse, lambda r: r["key"], problems)
        keys = {str(item.get("key", "")).strip() for _, item in items}  # bad rows reported above
        for missing in (k for k in required if k not in keys):
            problems.append(Problem(path.name, 1, f"'{section}:' must include the key {missing}"))
        records.extend(parsed)
    seen: dict[str, int] = {}
    for position, record in enumerate(records):
        record["position"] = position
        if record["key"] in seen:
            problems.append(Problem(path.name, record["__line__"],
                                    f"duplicate of line {seen[record['key']]} ({record['key']})"))
        seen.setdefault(record["key"], record["__line__"])
    return records
