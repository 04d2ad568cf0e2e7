"""A Rasa 3.6 dense featurizer: every message's sentence embedding (all-MiniLM-L6-v2, or the
Universal Sentence Encoder multilingual v3), beside the sparse n-gram features, for the intent
classifier. config.yml names it by module path, once per encoder (Rasa concatenates the sentence
features of every featurizer):

    - name: rasa_components.featurizer.SentenceEmbeddingFeaturizer
      weights: int8            # or fp32 (the original safetensors, numpy forward pass: slower),
                               # or use (USE multilingual v3, 512 dimensions)
      model_sha256: 8199...    # the weights file's sha256: checked at load; being part of the
                               # component's config, it changes Rasa's training-cache key too
      scale: 4.0               # embeddings are L2-normalised: this sets their weight against
                               # the n-gram counts under the classifier's fixed regularisation
      textspeak: true          # embed text-speak as the words it stands for ("wats" -> "whats")
      hide_places: [location, postcode]  # lookup tables / regexes of the training data whose
                               # names and matches the encoder reads as `place_phrase` (places.py)
      place_phrase: the area
      keep_places: [Reading]   # names in those tables that are everyday words: never hidden

Sentence features only (no token sequence): the CRF entity extractor keeps its own features.
The hidden places come from the training data (its lookup tables and regexes) and are stored in
the model, so training and parsing hide the same ones.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.shared.utils.io import dump_obj_as_json_to_file, read_json_file

from rasa_components import encoder
from rasa_components.places import PlaceMask
from rasa_components.textspeak import normalise_text

PLACES = "places.json"  # {"names": [...], "regexes": [...]}: what training hid


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class SentenceEmbeddingFeaturizer(DenseFeaturizer, GraphComponent):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            **DenseFeaturizer.get_default_config(),
            "weights": "int8",
            "model_sha256": None,  # None: the hash pinned for `weights` (encoder.WEIGHTS)
            "scale": 1.0,
            "threads": 1,  # onnxruntime threads: one message at a time gains nothing from more
            "textspeak": False,  # embed "wats near derby" as "whats near derby" (textspeak.py)
            "hide_places": [],  # lookup tables / regexes whose places the encoder does not see
            "place_phrase": "the area",  # what it reads instead
            "keep_places": [],  # names never hidden (everyday words: "reading")
        }

    @staticmethod
    def required_packages() -> list[str]:
        return ["onnxruntime", "tokenizers"]

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        if config.get("weights") not in encoder.WEIGHTS:
            raise InvalidConfigException(
                f"weights must be one of {sorted(encoder.WEIGHTS)}, not {config.get('weights')!r}")
        if not float(config.get("scale", 0)) > 0:
            raise InvalidConfigException("scale must be a positive number")
        if config.get("hide_places") and not str(config.get("place_phrase") or "").strip():
            raise InvalidConfigException("hide_places needs a place_phrase")

    def __init__(self, config: dict[str, Any], name: str, model_storage: ModelStorage,
                 resource: Resource, places: dict[str, list[str]] | None = None) -> None:
        super().__init__(name, config)
        self._model_storage, self._resource = model_storage, resource
        self._scale = float(config["scale"])
        self._textspeak = bool(config.get("textspeak"))
        self._places = places or {"names": [], "regexes": []}
        self._hide = PlaceMask(self._places["names"], self._places["regexes"],
                               str(config.get("place_phrase") or ""))
        try:
            weights = str(config["weights"])
            self._encoder = encoder.load(
                weights, str(config["model_sha256"] or encoder.WEIGHTS[weights]),
                int(config["threads"]))
        except encoder.WeightsError as error:
            raise InvalidConfigException(str(error)) from error

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> SentenceEmbeddingFeaturizer:
        return cls(config, execution_context.node_name, model_storage, resource)

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> SentenceEmbeddingFeaturizer:
        try:
            with model_storage.read_from(resource) as model_dir:
                places = cast(dict[str, list[str]], read_json_file(model_dir / PLACES))
        except (ValueError, FileNotFoundError):  # a model from before hide_places: none hidden
            places = None
        return cls(config, execution_context.node_name, model_storage, resource, places)

    def train(self, training_data: TrainingData) -> Resource:
        """Store the places to hide: the names of the `hide_places` lookup tables (less
        `keep_places`) and the patterns of the `hide_places` regexes."""
        wanted = set(self._config["hide_places"] or [])
        kept = {" ".join(name.lower().split()) for name in self._config["keep_places"] or []}
        names = sorted({str(name) for table in training_data.lookup_tables
                        if table.get("name") in wanted and isinstance(table.get("elements"), list)
                        for name in table["elements"]
                        if " ".join(str(name).lower().split()) not in kept})
        regexes = [str(regex["pattern"]) for regex in training_data.regex_features
                   if regex.get("name") in wanted]
        with self._model_storage.write_to(self._resource) as model_dir:
            dump_obj_as_json_to_file(model_dir / PLACES, {"names": names, "regexes": regexes})
        return self._resource

    def featurize(self, messages: list[Message]) -> None:
        """Add each message's scaled embedding as its sentence features (one batch for all)."""
        texts = [m for m in messages if isinstance(m.get(TEXT), str)]
        read = [self._hide(m.get(TEXT)) for m in texts]
        read = [normalise_text(text) if self._textspeak else text for text in read]
        vectors = self._encoder.embed(read) * np.float32(self._scale)
        for message, vector in zip(texts, vectors, strict=True):
            self.add_features_to_message(sequence=None, sentence=vector[None, :],
                                         attribute=TEXT, message=message)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.featurize(list(training_data.training_examples))
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        self.featurize(messages)
        return messages
