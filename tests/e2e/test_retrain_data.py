"""Labelled messages, however hostile, become training data Rasa itself accepts (`rasa data
validate` in the engine environment), on a copy of nlu_data; and a file Rasa rejects is put back.
About a minute (two validations)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from npq.message_log import record_turn
from npq.review_queue import label, review_queue
from ops.evaluation import load_examples
from ops.training_data import REVIEWED, DataInvalid, export_reviewed, validate_data
from tests.support.logged_turns import HOSTILE

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 11, 22, 9, 15, tzinfo=dt.timezone.utc)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in ("config.yml", "domain.yml"):
        shutil.copyfile(ROOT / name, tmp_path / name)
    for folder in ("nlu_data", "rasa_components"):
        shutil.copytree(ROOT / folder, tmp_path / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / REVIEWED).unlink(missing_ok=True)
    return tmp_path


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_hostile_messages_pass_rasa_data_validate(session: Session, project: Path) -> None:
    entities = [{"entity": "location", "value": "Leeds", "start": 20, "end": 25}]
    record_turn(session, chat_id="c", text="is there a hub near Leeds?? {x} [y]", now=NOW,
                reply=None, threshold=0.4,
                parse={"intent": {"name": "nlu_fallback", "confidence": 0.3},
                       "entities": entities})
    for n, text in enumerate(HOSTILE):
        record_turn(session, chat_id=f"c{n}", text=f"{text} (hostile {n})", reply=None, now=NOW,
                    threshold=0.4, parse={"intent": {"name": "nlu_fallback", "confidence": 0.3}})
    session.commit()
    for item in review_queue(session, limit=100):
        annotated = item.text.startswith("is there a hub near Leeds??")
        label(session, item, intent="find_hub" if annotated else "out_of_scope", staff_id="s",
              now=NOW)
    session.commit()

    export = export_reviewed(session, root=project)  # raises DataInvalid on any Rasa error
    assert len(export.added) == len(HOSTILE) + 1 and export.skipped == []
    written = load_examples((project / REVIEWED).read_text())
    [leeds] = [e for e in written if e.intent == "find_hub"]
    assert [(e.entity, e.value) for e in leeds.entities] == [("location", "Leeds")]


def test_what_rasa_rejects_is_reported(project: Path) -> None:
    (project / REVIEWED).write_text('version: "3.1"\nnlu:\n  - intent: greet\n    examples: [1\n')
    assert validate_data(project) != []
    (project / REVIEWED).unlink()
    assert validate_data(project) == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_rejected_export_leaves_the_data_as_it_was(session: Session, project: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    record_turn(session, chat_id="c", text="howdy partner", now=NOW, reply=None, threshold=0.4,
                parse={"intent": {"name": "nlu_fallback", "confidence": 0.3}})
    session.commit()
    label(session, review_queue(session)[0], intent="greet", staff_id="s", now=NOW)
    session.commit()
    (project / "config.yml").write_text("this: is: not: valid: yaml\n")  # Rasa refuses it
    with pytest.raises(DataInvalid):
        export_reviewed(session, root=project)
    assert not (project / REVIEWED).exists()
