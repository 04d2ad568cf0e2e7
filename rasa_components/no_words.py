"""A message with no words the model can read is `out_of_scope`, never what the model guesses.

An emoji, a sticker-like symbol, "?" or "..." on its own has no letter or digit, so the tokenizer
gives the classifier no features and its answer is its bias: on the model of 2026-12-05 "👍",
"🤔", "😂😂😂" and "❤️" all read as `affirm` at 0.94, so "🤔" in answer to "Shall I delete
everything?" deleted everything and "😂" gave consent to keep an e-mail address. Text in another
script than the Latin alphabet fares no better (the model knows English only: "你好" read as
affirm at 0.92). After the intent classifier, this component replaces the reading of a message
with neither Latin letters nor digits, or with more letters of other scripts than those, by the
configured intent (`out_of_scope`) at full confidence, and drops any entity; anything else
("ok", "42", "Cześć", "NPQH? 你好") is left to the model. The actions answer such a message with
a reply of their own (actions/small_talk.py); a form asks its question again.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData


def readable(text: object) -> bool:
    """Whether text holds Latin letters, digits or currency signs ("£££?" asks the cost), and
    no more letters of other scripts."""
    if not isinstance(text, str):
        return False
    known = other = 0
    for char in text:
        if unicodedata.category(char)[0] == "N" or unicodedata.category(char) == "Sc" or (
                char.isalpha() and unicodedata.name(char, "").startswith("LATIN")):
            known += 1
        elif char.isalpha():
            other += 1
    return known > 0 and known >= other


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class NoWordsClassifier(GraphComponent):
    """Reads a message the model cannot read as `intent` (default out_of_scope), surely."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"intent": "out_of_scope"}

    def __init__(self, config: dict[str, Any]) -> None:
        self.intent = str(config.get("intent") or "out_of_scope")

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> NoWordsClassifier:
        return cls(config)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            if readable(message.get(TEXT)) or not message.get(TEXT):
                continue
            reading = {"name": self.intent, "confidence": 1.0}
            message.set(INTENT, reading, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [reading], add_to_output=True)
            message.set(ENTITIES, [], add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
