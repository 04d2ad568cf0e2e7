"""rasa_components/no_words.py: a message with no letter or digit (an emoji, "?", "...") is read
as out_of_scope at full confidence, whatever the classifier guessed (it has no features for such
a message: "🤔" read as affirm, 0.94, and confirmed "delete everything"). Run with the engine's
Python."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from rasa_components.no_words import NoWordsClassifier, readable

ROOT = Path(__file__).resolve().parents[2]
GUESS = {"name": "affirm", "confidence": 0.94}


def _read(text: str) -> Message:
    message = Message(data={TEXT: text, INTENT: GUESS, INTENT_RANKING_KEY: [GUESS],
                            ENTITIES: [{"entity": "location", "value": "x"}]})
    (read,) = NoWordsClassifier(NoWordsClassifier.get_default_config()).process([message])
    return read


@pytest.mark.parametrize("text", ["🤔", "👍", "😂😂😂", "❤️", "?", "...", "!!!", "?!?!", "-",
                                  ":)", "¯\\_(ツ)_/¯", "  ", "你好", "مرحبا، كيف حالك؟",
                                  "آپ کیسے ہیں؟", "Привет"])
def test_a_message_without_words_it_can_read_is_out_of_scope_for_sure(text: str) -> None:
    read = _read(text)
    assert read.get(INTENT) == {"name": "out_of_scope", "confidence": 1.0}
    assert read.get(INTENT_RANKING_KEY) == [{"name": "out_of_scope", "confidence": 1.0}]
    assert read.get(ENTITIES) == []
    assert read.as_dict_nlu()["intent"]["name"] == "out_of_scope"  # what Rasa's parse returns


@pytest.mark.parametrize("text", ["ok", "42", "07700 900123", "Cześć", "Bore da", "👍 yes", "£££?",
                                  "NPQH?", "<3", "NPQH? 你好"])
def test_a_message_in_latin_letters_or_digits_is_left_to_the_model(text: str) -> None:
    assert readable(text)
    read = _read(text)
    assert read.get(INTENT) == GUESS
    assert read.get(ENTITIES) == [{"entity": "location", "value": "x"}]


def test_config_yml_runs_it_after_the_classifier_and_before_the_fallback() -> None:
    names = [c["name"] for c in yaml.safe_load((ROOT / "config.yml").read_text())["pipeline"]]
    ours = names.index("rasa_components.no_words.NoWordsClassifier")
    assert names.index("rasa_components.intents.ArrayLogisticRegressionClassifier") < ours
    assert ours == names.index("FallbackClassifier") - 1
