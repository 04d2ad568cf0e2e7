"""The held-out messages stay unseen: none of them (ignoring case, spacing and punctuation) is
also a training example, so `make nlu-report` measures generalisation, not memory. Replies of
up to three words ("hi", "yes please", "how do I apply") are what everyone writes, so the
training data and the held-out files may share them. The same holds between the two held-out
files, so that each one measures something the other does not.

The tuning sets tests/nlu/dev_fresh*.yml (issue 10: what misses are studied on, so their wording
must stay unseen too) obey the same rule against nlu_data: new training examples are written in
other words, never copied from them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ops.evaluation import HELDOUT, HELDOUT_FILES, HELDOUT_PHONE, load_examples

ROOT = Path(__file__).resolve().parents[2]
SHORT_WORDS = 3
FEWEST = {HELDOUT: 500, HELDOUT_PHONE: 250}  # messages a file must hold to mean anything
DEV_FILES = tuple(ROOT / "tests" / "nlu" / name
                  for name in ("dev_fresh.yml", "dev_fresh_phone.yml", "dev_fresh3.yml"))
DEV_FEWEST = 200


def normalised(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def longer_messages(path: Path) -> list[str]:
    return [e.text for e in load_examples(path.read_text()) if len(e.text.split()) > SHORT_WORDS]


def trained() -> set[str]:
    return {normalised(e.text) for path in sorted((ROOT / "nlu_data").rglob("*.yml"))
            for e in load_examples(path.read_text())}


@pytest.mark.parametrize("heldout_file", HELDOUT_FILES, ids=lambda path: path.name)
def test_no_heldout_message_is_trained_on(heldout_file: Path) -> None:
    trained_on = trained()
    heldout = [e.text for e in load_examples(heldout_file.read_text())]
    assert len(heldout) > FEWEST[heldout_file] and len(trained_on) > 1000
    leaked = [text for text in heldout
              if len(text.split()) > SHORT_WORDS and normalised(text) in trained_on]
    # the count only: a held-out message printed in a test log becomes something to tune on
    assert not leaked, f"{len(leaked)} held-out message(s) are in nlu_data"


def test_the_heldout_files_share_no_message() -> None:
    first = {normalised(text) for text in longer_messages(HELDOUT)}
    shared = [text for text in longer_messages(HELDOUT_PHONE) if normalised(text) in first]
    assert not shared, f"in both held-out files: {shared[:10]}"


@pytest.mark.parametrize("dev_file", DEV_FILES, ids=lambda path: path.name)
def test_no_dev_tuning_message_is_trained_on(dev_file: Path) -> None:
    trained_on = trained()
    dev = [e.text for e in load_examples(dev_file.read_text())]
    assert len(dev) > DEV_FEWEST and len(trained_on) > 1000
    leaked = [text for text in dev
              if len(text.split()) > SHORT_WORDS and normalised(text) in trained_on]
    assert not leaked, f"{len(leaked)} dev tuning message(s) are in nlu_data: {leaked[:10]}"
