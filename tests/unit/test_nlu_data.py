"""The held-out messages stay unseen: none of them (ignoring case, spacing and punctuation) is
also a training example, so `make nlu-report` measures generalisation, not memory. Replies of
up to three words ("hi", "yes please", "how do I apply") are what everyone writes, so both
sets may hold them."""

from __future__ import annotations

import re
from pathlib import Path

from ops.evaluation import HELDOUT, load_examples

ROOT = Path(__file__).resolve().parents[2]
SHORT_WORDS = 3


def normalised(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def test_no_heldout_message_is_trained_on() -> None:
    trained = {normalised(e.text) for path in sorted((ROOT / "nlu_data").rglob("*.yml"))
               for e in load_examples(path.read_text())}
    heldout = [e.text for e in load_examples(HELDOUT.read_text())]
    assert len(heldout) > 500 and len(trained) > 1000
    leaked = [text for text in heldout
              if len(text.split()) > SHORT_WORDS and normalised(text) in trained]
    assert not leaked, f"{len(leaked)} held-out message(s) are in nlu_data: {leaked[:10]}"
