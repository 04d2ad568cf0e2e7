"""Write a validated catalogue to the database in one transaction.

Each file is the full truth for its table: rows are matched on their natural key (programme
code, hub slug, programme + hub + intake), updated in place so ids stay stable, inserted when
new and deleted when gone from the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from npq.catalogue.parse import Catalogue, Known, Problem
from npq.catalogue.readers import read_catalogue
from npq.db.models import Cohort, FundingRule, Hub, NetworkSetting, PartnerContent, Programme


class CatalogueInvalid(Exception):
    """The files have problems; nothing was written."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the catalogue")
        self.problems = problems


@dataclass(frozen=True)
class ImportSummary:
    counts: dict[str, int]

    def __str__(self) -> str:
        return ", ".join(f"{n} {table}" for table, n in self.counts.items())


def import_catalogue(session: Session, paths: list[Path]) -> ImportSummary:
    """Validate `paths` (files or a folder) and write them, or raise CatalogueInvalid.

    The caller owns the transaction and must roll it back on CatalogueInvalid (session_scope
    does): validation problems are found before anything is written.
    """
    known = Known(
        programmes=dict(session.execute(select(Programme.code, Programme.status)).tuples().all()),
        hubs=frozenset(session.scalars(select(Hub.slug))),
    )
    catalogue = read_catalogue(paths, known)
    if catalogue.problems:
        raise CatalogueInvalid(sorted(catalogue.problems, key=lambda p: (p.file, p.line)))
    counts: dict[str, int] = {}
    try:
        if catalogue.programmes is not None:
            counts["programmes"] = _write_programmes(session, catalogue.programmes)
        if catalogue.hubs is not None:
            counts["hubs"] = _write_hubs(session, catalogue.hubs)
        if catalogue.cohorts is not None:
            counts["cohorts"] = _write_cohorts(session, catalogue.cohorts)
        if catalogue.funding_rules is not None:
            counts["funding rules"] = _write_funding_rules(session, catalogue.funding_rules)
        if catalogue.partner is not None:
            counts["partner entries"] = _write_partner(session, catalogue.partner)
        if catalogue.network is not None:
            counts["network settings"] = _write_network(session, catalogue.network)
        session.flush()
    except IntegrityError as error:
        raise CatalogueInvalid([Problem("database", 0, _integrity_reason(error))]) from error
    return ImportSummary(counts)


TABLE_OF_FILE = {"programmes.yaml": Programme, "hubs.csv": Hub, "cohorts.csv": Cohort,
                 "funding_rules.yaml": FundingRule, "partner.yaml": PartnerContent,
                 "network.yaml": NetworkSetting}


def unseeded_files(session: Session) -> list[str]:
    """The catalogue files whose tables are still empty (a new database, or a file added in a
    later version), in import order."""
    return [name for name, model in TABLE_OF_FILE.items()
            if session.scalar(select(model).limit(1)) is None]


def _integrity_reason(error: IntegrityError) -> str:
    text = str(error.orig).splitlines()[0]
    if "FOREIGN KEY" in text.upper():
        return ("a row you removed is still referenced (for example a programme with leads or "
                f"reminder subscriptions, or a hub with cohorts): {text}")
    return text


def _fields(record: dict[str, Any], *skip: str) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "__line__" and k not in skip}


def _write_programmes(session: Session, records: list[dict[str, Any]]) -> int:
    existing = {p.code: p for p in session.scalars(select(Programme))}
    for record in records:
        programme = existing.pop(record["code"], None) or Programme(code=record["code"])
        for name, value in _fields(record, "successors").items():
            setattr(programme, name, value)
        session.add(programme)
    session.flush()
    by_code = {p.code: p for p in session.scalars(select(Programme))}
    for record in records:
        by_code[record["code"]].successors = [by_code[c] for c in record["successors"]]
    for stale in existing.values():
        session.delete(stale)
    return len(records)


def _write_hubs(session: Session, records: list[dict[str, Any]]) -> int:
    programmes = {p.code: p for p in session.scalars(select(Programme))}
    existing = {h.slug: h for h in session.scalars(select(Hub))}
    for record in records:
        hub = existing.pop(record["slug"], None) or Hub(slug=record["slug"])
        for name, value in _fields(record, "programmes").items():
            setattr(hub, name, value)
        hub.programmes = [programmes[c] for c in record["programmes"]]
        session.add(hub)
    for stale in existing.values():
        session.delete(stale)
    return len(records)


def _write_cohorts(session: Session, records: list[dict[str, Any]]) -> int:
    session.flush()
    hub_ids = dict(session.execute(select(Hub.slug, Hub.id)).tuples().all())
    existing = {(c.programme_code, c.hub_id, c.intake): c for c in session.scalars(select(Cohort))}
    for record in records:
        hub_id = hub_ids[record["hub"]] if record["hub"] else None
        key = (record["programme_code"], hub_id, record["intake"])
        cohort = existing.pop(key, None) or Cohort()
        for name, value in _fields(record, "hub").items():
            setattr(cohort, name, value)
        cohort.hub_id = hub_id
        session.add(cohort)
    for stale in existing.values():
        session.delete(stale)
    return len(records)


def _write_funding_rules(session: Session, records: list[dict[str, Any]]) -> int:
    session.execute(delete(FundingRule))
    count = 0
    for record in records:
        for code in record["programmes"]:
            session.add(FundingRule(programme_code=code, **_fields(record, "programmes")))
            count += 1
    return count


def _write_partner(session: Session, records: list[dict[str, Any]]) -> int:
    session.execute(delete(PartnerContent))
    session.add_all(PartnerContent(**_fields(record)) for record in records)
    return len(records)


def _write_network(session: Session, records: list[dict[str, Any]]) -> int:
    session.execute(delete(NetworkSetting))
    session.add_all(NetworkSetting(**_fields(record)) for record in records)
    return len(records)


def read_only(paths: list[Path], known: Known | None = None) -> Catalogue:
    """Validate without a database (used by tests and `python -m npq check`)."""
    return read_catalogue(paths, known or Known())
