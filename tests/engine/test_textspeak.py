"""rasa_components/textspeak.py: text-speak tokens carry the full word as their text and lemma
(what the featurizers and the CRF read), with offsets on what was typed. Run with the engine's
Python."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from rasa_components.textspeak import NormalisingWhitespaceTokenizer, normalise_text

ROOT = Path(__file__).resolve().parents[2]


def tokens(text: str) -> list[tuple[str, str, int, int]]:
    tokenizer = NormalisingWhitespaceTokenizer(NormalisingWhitespaceTokenizer.get_default_config())
    return [(t.text, t.lemma, t.start, t.end) for t in tokenizer.tokenize(
        Message(data={TEXT: text}), TEXT)]


def test_short_forms_are_read_as_words_and_keep_the_typed_offsets() -> None:
    text = "wats near derby, cn u help"
    assert tokens(text) == [("whats", "whats", 0, 4), ("near", "near", 5, 9),
                            ("derby", "derby", 10, 15), ("can", "can", 17, 19),
                            ("you", "you", 20, 21), ("help", "help", 22, 26)]
    assert [text[start:end] for _, _, start, end in tokens(text)] == [
        "wats", "near", "derby", "cn", "u", "help"]


@pytest.mark.parametrize("text", ["NPQH in Leeds", "is it 2 years or 4", "hw due k"])
def test_words_and_ambiguous_short_forms_are_left_alone(text: str) -> None:
    assert [t[0] for t in tokens(text)] == text.split()
    assert normalise_text(text) == text


def test_the_whole_message_for_the_encoder() -> None:
    assert normalise_text("R there any spaces left? can some1 ring me abt it") == (
        "Are there any spaces left? can someone ring me about it")


def test_config_yml_tokenizes_with_it_and_the_encoder_reads_the_same_words() -> None:
    pipeline = yaml.safe_load((ROOT / "config.yml").read_text())["pipeline"]
    assert pipeline[0]["name"] == "rasa_components.textspeak.NormalisingWhitespaceTokenizer"
    [encoder] = [c for c in pipeline if c["name"].endswith("SentenceEmbeddingFeaturizer")]
    assert encoder["textspeak"] is True
