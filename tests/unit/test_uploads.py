"""Catalogue files staff send on Telegram (npq/uploads.py): imported all or nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from npq.db.models import Hub
from npq.uploads import format_upload, import_upload

ROOT = Path(__file__).resolve().parents[2]


def test_a_valid_upload_is_imported(session: Session) -> None:
    data = (ROOT / "data" / "catalogue" / "hubs.csv").read_bytes()
    changed = data.replace(b"Tyneside NPQ Hub,", b"Tyneside and Wearside NPQ Hub,", 1)
    result = import_upload(session, name="C:\\Users\\jo\\Desktop\\hubs.csv", data=changed)
    assert result.ok and result.name == "hubs.csv" and "hubs" in (result.imported or "")
    session.commit()
    assert session.scalar(select(Hub.name).where(Hub.slug == "tyneside")) == \
        "Tyneside and Wearside NPQ Hub"
    assert format_upload(result).startswith("Imported hubs.csv:")


def test_an_invalid_upload_changes_nothing_and_says_what_to_fix(session: Session) -> None:
    hubs = session.scalar(select(func.count()).select_from(Hub))
    data = (ROOT / "data" / "catalogue" / "hubs.csv").read_bytes()
    broken = data.replace(b",North East,", b",Narnia,", 1)
    result = import_upload(session, name="hubs.csv", data=broken)
    assert not result.ok and any("region" in p and "line 2" in p for p in result.problems)
    assert session.scalar(select(func.count()).select_from(Hub)) == hubs  # session still usable
    assert "Nothing was imported from hubs.csv" in format_upload(result)


@pytest.mark.parametrize(("name", "data", "problem"), [
    ("photo.jpg", b"\xff\xd8", "not a catalogue file"),
    ("../../etc/passwd", b"x", "not a catalogue file"),
    ("hubs.csv", b"slug,name\n\xff\xfe", "not UTF-8"),
])
def test_uploads_that_are_not_catalogue_files(session: Session, name: str, data: bytes,
                                              problem: str) -> None:
    result = import_upload(session, name=name, data=data)
    assert not result.ok and problem in result.problems[0]
