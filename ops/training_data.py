"""Write what staff labelled into the training data, and check it with Rasa.

Labelled messages (npq.review_queue.labelled_examples) go to ONE file, nlu_data/nlu/reviewed.yml,
once each: a message already in nlu_data (ignoring case, spacing and punctuation), in a
held-out set (tests/nlu/heldout.yml and heldout_phone.yml, never trained on) or holding an
e-mail address or phone number is left out, with the reason. Text is cleaned so it cannot break
the YAML or Rasa's annotation syntax; then `rasa data validate` checks the data, and the file is
put back as it was if Rasa finds an error. Staff review in the terminal (ops/review.py) or on
Telegram (bot/review.py); retraining (ops/retrain.py) exports before it trains.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.orm import Session

from npq.message_log import EMAIL_IN_TEXT, PHONE_IN_TEXT
from npq.review_queue import Labelled, labelled_examples
from ops.evaluation import HELDOUT, HELDOUT_FILES, load_examples, parse_annotated
from ops.paths import RASA, ROOT

VALIDATE_TIMEOUT = 600.0  # seconds; `rasa data validate` takes well under a minute here
REVIEWED = Path("nlu_data") / "nlu" / "reviewed.yml"
HEADER = """version: "3.1"

# Messages staff labelled in review (`make review`, or /review in Telegram), written by
# ops/training_data.py: one example per line, each once across nlu_data, never a held-out message.
"""
EMAIL, PHONE = EMAIL_IN_TEXT, PHONE_IN_TEXT  # npq/message_log.py


class DataInvalid(Exception):
    """`rasa data validate` found errors; the training data was put back as it was."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors) or "rasa data validate failed")
        self.errors = errors


@dataclass
class Export:
    added: list[tuple[str, str]] = field(default_factory=list)  # (example line, intent)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (text, why)


# --- Writing examples ---------------------------------------------------------------------------

def dedup_key(text: str) -> str:
    """Same example for training purposes: case, spacing and punctuation ignored."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


def _printable(text: str) -> str:
    """Drop what a YAML document cannot hold (control characters, surrogates, BOM, U+FFFE/F)
    and turn every kind of line or paragraph break and tab into a space."""
    kept = []
    for char in text:
        if char.isspace():
            kept.append(" ")
        elif unicodedata.category(char) in ("Cc", "Cs", "Cn") or char in "\ufeff\ufffe\uffff":
            continue
        else:
            kept.append(char)
    return "".join(kept)


def _plain(text: str) -> str:
    # Square brackets start Rasa's entity annotations ([text](entity)); round ones never do.
    return re.sub(" +", " ", _printable(text).replace("[", "(").replace("]", ")"))


def example_line(text: str, entities: Iterable[Mapping[str, Any]] = ()) -> str:
    """One training example: the user's text, cleaned, with the entities found in it annotated
    ([Leeds](location), or the JSON form when the value differs from the text)."""
    spans = sorted((e for e in entities if isinstance(e.get("start"), int)
                    and isinstance(e.get("end"), int) and 0 <= e["start"] < e["end"] <= len(text)),
                   key=lambda e: (e["start"], -e["end"]))
    pieces, last = [], 0
    for entity in spans:
        if entity["start"] < last:
            continue  # overlaps the one before (e.g. the CRF and the regex both found it)
        surface = _plain(text[entity["start"]:entity["end"]]).strip()
        name, value = str(entity.get("entity") or ""), str(entity.get("value") or "")
        if not surface or not re.fullmatch(r"[a-z_]+", name) or "}" in value or "]" in value:
            continue
        pieces.append(_plain(text[last:entity["start"]]))
        if value == surface or not value:
            pieces.append(f"[{surface}]({name})")
        else:
            pieces.append(f"[{surface}]" + json.dumps({"entity": name, "value": value},
                                                      ensure_ascii=False))
        last = entity["end"]
    pieces.append(_plain(text[last:]))
    return " ".join("".join(pieces).split())


def render_reviewed(examples: dict[str, list[str]]) -> str:
    """reviewed.yml for example lines by intent (intents sorted, lines in the given order)."""
    if not any(examples.values()):
        return HEADER + "nlu: []\n"
    blocks = []
    for intent in sorted(examples):
        if examples[intent]:
            lines = "".join(f"      - {line}\n" for line in examples[intent])
            blocks.append(f"  - intent: {intent}\n    examples: |\n{lines}")
    return HEADER + "nlu:\n" + "\n".join(blocks)


def read_reviewed(source: str) -> dict[str, list[str]]:
    """Example lines by intent, annotations kept, from a reviewed.yml."""
    found: dict[str, list[str]] = {}
    for item in (yaml.safe_load(source) or {}).get("nlu") or []:
        if "intent" in item:
            lines = [line.strip()[2:].strip() for line in str(item.get("examples", "")).splitlines()
                     if line.strip().startswith("- ")]
            found.setdefault(str(item["intent"]), []).extend(lines)
    return found


def known_examples(data_dir: Path, skip: Path | None = None) -> dict[str, tuple[str, str]]:
    """Every training example in data_dir: dedup key -> (intent, file)."""
    known: dict[str, tuple[str, str]] = {}
    for path in sorted(data_dir.rglob("*.yml")):
        if path != skip:
            for example in load_examples(path.read_text()):
                known.setdefault(dedup_key(example.text), (example.intent, path.name))
    return known


def plan_export(labelled: Iterable[Labelled], current: dict[str, list[str]],
                known: dict[str, tuple[str, str]], heldout: set[str],
                intents: Iterable[str] | None = None) -> tuple[dict[str, list[str]], Export]:
    """What reviewed.yml becomes: its current lines plus each labelled message that is new."""
    allowed = set(intents) if intents is not None else None
    merged = {intent: list(lines) for intent, lines in current.items()}
    seen = dict(known)
    for intent, lines in current.items():
        for line in lines:
            seen.setdefault(dedup_key(parse_annotated(line)[0]), (intent, REVIEWED.name))
    export = Export()
    for item in labelled:
        line = example_line(item.text, item.entities)
        key = dedup_key(parse_annotated(line)[0])
        why = ("nothing left to learn from once cleaned" if not key
               else "held-out message (never trained on)" if key in heldout
               else "holds an e-mail address or phone number" if EMAIL.search(item.text)
               or PHONE.search(item.text)
               else f"not an intent of domain.yml: {item.intent}" if allowed is not None
               and item.intent not in allowed else None)
        if why is None and key in seen:
            intent, where = seen[key]
            why = (f"already in {where}" if intent == item.intent
                   else f"already in {where} as {intent}, not {item.intent}")
        if why:
            export.skipped.append((item.text, why))
            continue
        merged.setdefault(item.intent, []).append(line)
        seen[key] = (item.intent, REVIEWED.name)
        export.added.append((line, item.intent))
    return merged, export


def validate_data(root: Path, rasa: Path = RASA) -> list[str]:
    """`rasa data validate` on root's nlu_data, config and domain: its errors ([] when valid).
    Our data validates without warnings (tests/e2e/test_validate_data.py); only errors block an
    export, so a warning about a labelled message (e.g. the same text under two intents) is
    left for `make validate` to show."""
    try:
        done = subprocess.run([str(rasa), "data", "validate", "--data", "nlu_data", "--config",
                               "config.yml", "--domain", "domain.yml"], cwd=root,
                              capture_output=True, text=True, timeout=VALIDATE_TIMEOUT)
    except subprocess.TimeoutExpired:
        return [f"rasa data validate did not finish within {VALIDATE_TIMEOUT:.0f} s"]
    if done.returncode == 0:
        return []
    output = (done.stdout + done.stderr).splitlines()
    errors = [line.strip() for line in output if "ERROR" in line or "Error" in line]
    return errors[-10:] or output[-10:] or [f"exit code {done.returncode}"]


def known_intents(root: Path = ROOT) -> list[str]:
    """The intents of domain.yml, in its order."""
    listed = (yaml.safe_load((root / "domain.yml").read_text()) or {}).get("intents") or []
    return [next(iter(i)) if isinstance(i, dict) else str(i) for i in listed]


def export_reviewed(session: Session, *, root: Path = ROOT, heldout: Path = HELDOUT,
                    validate: Callable[[Path], list[str]] | None = validate_data) -> Export:
    """Write every labelled message not yet in the training data to reviewed.yml (under root,
    whose nlu_data, config.yml and domain.yml Rasa reads), then validate. Raises DataInvalid
    (with the file put back) when Rasa finds an error. A message in `heldout` or in any of the
    repository's held-out files is never written, whichever file the caller measures with."""
    target = root / REVIEWED
    before = target.read_text() if target.exists() else None
    current = read_reviewed(before or "")
    merged, export = plan_export(
        labelled_examples(session), current, known_examples(root / "nlu_data", skip=target),
        heldout_keys((heldout, *HELDOUT_FILES)), known_intents(root))
    if not export.added:
        return export
    rendered = render_reviewed(merged)
    if read_reviewed(rendered) != merged:  # what Rasa will read back is what we meant
        raise DataInvalid(["the examples did not survive a round trip through YAML"])
    target.parent.mkdir(parents=True, exist_ok=True)
    _write(target, rendered)
    errors = validate(root) if validate else []
    if errors:
        if before is None:
            target.unlink()
        else:
            _write(target, before)
        raise DataInvalid(errors)
    return export


def remove_examples(root: Path, texts: Iterable[str]) -> int:
    """A person asked to be forgotten: take every example made from one of `texts` (the
    messages of theirs staff labelled) out of reviewed.yml under root, compared as exports
    compare them (case, spacing and punctuation ignored). Returns how many lines went. The
    next retrain trains without them; the caller holds the retrain lock."""
    target = root / REVIEWED
    keys = {dedup_key(parse_annotated(example_line(text))[0]) for text in texts} - {""}
    if not keys or not target.exists():
        return 0
    current = read_reviewed(target.read_text())
    kept = {intent: [line for line in lines if dedup_key(parse_annotated(line)[0]) not in keys]
            for intent, lines in current.items()}
    removed = sum(map(len, current.values())) - sum(map(len, kept.values()))
    if removed:
        _write(target, render_reviewed(kept))
    return removed


def heldout_keys(paths: Iterable[Path]) -> set[str]:
    """The dedup keys of every message in the held-out files (each file read once)."""
    return {dedup_key(e.text) for path in dict.fromkeys(paths)
            for e in load_examples(path.read_text())}


def _write(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
