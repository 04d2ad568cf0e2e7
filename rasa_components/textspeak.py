"""Text-speak read as the words it stands for: "wats near derby", "r there any spaces left",
"cn our school deliver the courses", "can u get some1 to ring me abt it".

People type on phones in text-speak; the n-gram features and the sentence encoder know "what",
"are", "can", "someone", but the short forms only where someone happened to write them into
nlu_data, so a message full of them reads as something else (on the phone-style tuning set,
tests/nlu/dev_fresh_phone.yml, "wats near derby" read as out_of_scope and "wats ehco" as inform).

`NormalisingWhitespaceTokenizer` is Rasa's WhitespaceTokenizer whose tokens carry the full word
as their text and lemma (the features the featurizers and the CRF read), while their start and
end stay on the characters the user typed, so entities still point at the original text.
`normalise_text` gives the same reading of a whole message, for the sentence encoder
(rasa_components/featurizer.py). Only short forms with one meaning are listed: not "2", "4",
"n", "hw" or "k".
"""

from __future__ import annotations

import re
from typing import Any

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message

SHORT_FORMS: dict[str, str] = {
    "u": "you", "ur": "your", "r": "are", "y": "why",
    "wat": "what", "wot": "what", "wut": "what", "wats": "whats", "wots": "whats",
    "wen": "when", "wens": "whens", "whr": "where", "hw2": "how to",
    "cn": "can", "cud": "could", "wud": "would", "shud": "should", "shd": "should",
    "abt": "about", "bout": "about", "some1": "someone", "any1": "anyone",
    "every1": "everyone", "pls": "please", "plz": "please", "pleez": "please",
    "thx": "thanks", "thnx": "thanks", "thanx": "thanks", "tho": "though", "thru": "through",
    "ppl": "people", "yr": "year", "yrs": "years", "hv": "have",
    "bc": "because", "cos": "because", "coz": "because", "cuz": "because",
    "skl": "school", "schl": "school", "nr": "near", "tmrw": "tomorrow", "2moro": "tomorrow",
    "wk": "week", "wks": "weeks", "mnth": "month", "mnths": "months", "gd": "good",
    "dunno": "don't know", "wanna": "want to", "gonna": "going to",
    "qual": "qualification", "quals": "qualifications",
}
WORD = re.compile(r"[\w']+")


def normalise_word(word: str) -> str:
    """The full word for a short form (keeping a capital first letter), else the word."""
    full = SHORT_FORMS.get(word.lower())
    if full is None:
        return word
    return full.capitalize() if word[:1].isupper() else full


def normalise_text(text: str) -> str:
    """The message with every short form written out: "wats near derby" -> "whats near derby"."""
    return WORD.sub(lambda match: normalise_word(match.group(0)), text)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class NormalisingWhitespaceTokenizer(WhitespaceTokenizer):
    """WhitespaceTokenizer, with each token's text and lemma the full word of a short form."""

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> NormalisingWhitespaceTokenizer:
        return cls(config)

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        tokens: list[Token] = super().tokenize(message, attribute)
        for token in tokens:
            full = normalise_word(token.text)
            if full != token.text:
                token.text = token.lemma = full
        return tokens
