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

Sentence features only (no token sequence): the CRF entity extractor keeps its own features.
"""

from __future__ import annotations

from typing import Any

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

from rasa_components import encoder
from rasa_components.textspeak import normalise_text


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
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

    def __init__(self, config: dict[str, Any], name: str) -> None:
        super().__init__(name, config)
        self._scale = float(config["scale"])
        self._textspeak = bool(config.get("textspeak"))
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
        return cls(config, execution_context.node_name)

    def featurize(self, messages: list[Message]) -> None:
        """Add each message's scaled embedding as its sentence features (one batch for all)."""
        texts = [m for m in messages if isinstance(m.get(TEXT), str)]
        read = [normalise_text(m.get(TEXT)) if self._textspeak else m.get(TEXT) for m in texts]
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
