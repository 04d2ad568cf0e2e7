"""Catalogue files staff send to the assistant (a document in Telegram): validated and imported
all or nothing by npq.catalogue, as `python -m npq import` does, or a list of what to fix.

    result = import_upload(session, name="hubs.csv", data=document_bytes)
    reply = format_upload(result)

The caller owns the session and commits; a refused file leaves it as it was (a savepoint).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from sqlalchemy.orm import Session

from npq.catalogue import CatalogueInvalid, import_catalogue
from npq.catalogue.parse import FILES

MAX_UPLOAD_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class UploadResult:
    name: str
    imported: str | None = None  # e.g. "12 hubs", when the file was imported
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.imported is not None


def import_upload(session: Session, *, name: str, data: bytes) -> UploadResult:
    """Validate one catalogue file (by its name: hubs.csv, cohorts.csv, ...) and import it."""
    base = PurePath(name.replace("\\", "/")).name
    if base not in FILES:
        return UploadResult(base, problems=[
            f"{base or 'The file'} is not a catalogue file; send one of: {', '.join(FILES)}."])
    if len(data) > MAX_UPLOAD_BYTES:
        return UploadResult(base, problems=[
            f"{base} is {len(data) // 1024} KB; the limit is {MAX_UPLOAD_BYTES // 1024} KB."])
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        return UploadResult(base, problems=[
            f"{base}: not UTF-8 text (byte {error.start}); save it as UTF-8 CSV or YAML."])
    with tempfile.TemporaryDirectory(prefix="npq-upload-") as folder:
        path = Path(folder) / base
        path.write_bytes(data)
        savepoint = session.begin_nested()
        try:
            summary = import_catalogue(session, [path])
        except CatalogueInvalid as invalid:
            savepoint.rollback()
            return UploadResult(base, problems=[str(p) for p in invalid.problems])
        savepoint.commit()
    return UploadResult(base, imported=str(summary))


def format_upload(result: UploadResult, *, shown: int = 20) -> str:
    """What to tell the person who sent the file."""
    if result.ok:
        return f"Imported {result.name}: {result.imported}."
    lines = [f"Nothing was imported from {result.name}: "
             f"{len(result.problems)} problem(s) to fix first."]
    lines += [f"• {problem}" for problem in result.problems[:shown]]
    if len(result.problems) > shown:
        lines.append(f"… and {len(result.problems) - shown} more.")
    return "\n".join(lines)
