"""The Rasa graph component (rasa_components/featurizer.py): the features it adds to a message,
config.yml naming it with the pinned weights, and an intent classifier trained on its features
alone understanding paraphrases it never saw. Run with the engine's Python (make test)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from rasa_components import encoder
from rasa_components.featurizer import SentenceEmbeddingFeaturizer

ROOT = Path(__file__).resolve().parents[2]
NAME = "rasa_components.featurizer.SentenceEmbeddingFeaturizer"


def context() -> ExecutionContext:
    return ExecutionContext(GraphSchema({}), node_name="sentence_embeddings")


def featurizer(**config: Any) -> SentenceEmbeddingFeaturizer:
    return SentenceEmbeddingFeaturizer.create(
        {**SentenceEmbeddingFeaturizer.get_default_config(), **config}, None,  # type: ignore[arg-type]
        Resource("sentence_embeddings"), context())


def test_each_message_gets_scaled_sentence_features_and_no_sequence_features() -> None:
    messages = [Message(data={TEXT: "when do applications close"}), Message(data={TEXT: "hi"})]
    featurizer(scale=3.0).process(messages)
    for message in messages:
        sequence, sentence = message.get_dense_features(TEXT)
        assert sequence is None and sentence is not None
        assert sentence.features.shape == (1, 384)
        assert np.linalg.norm(sentence.features) == pytest.approx(3.0, abs=1e-4)


def test_config_yml_names_the_component_with_the_pinned_weights() -> None:
    pipeline = yaml.safe_load((ROOT / "config.yml").read_text())["pipeline"]
    components = [c for c in pipeline if c["name"] == NAME]
    assert components
    for component in components:
        assert component["model_sha256"] == encoder.WEIGHTS[component["weights"]]
        assert encoder.sha256(encoder.weights_file(component["weights"])) == component[
            "model_sha256"]


def test_two_encoders_features_are_concatenated() -> None:
    message = Message(data={TEXT: "when do applications close"})
    featurizer(scale=2.0).process([message])
    featurizer(weights="use", scale=3.0).process([message])
    _, sentence = message.get_dense_features(TEXT)
    assert sentence is not None and sentence.features.shape == (1, 384 + 512)
    assert np.linalg.norm(sentence.features[0, :384]) == pytest.approx(2.0, abs=1e-4)
    assert np.linalg.norm(sentence.features[0, 384:]) == pytest.approx(3.0, abs=1e-4)


def test_a_model_hash_that_is_not_the_installed_files_is_a_config_error() -> None:
    with pytest.raises(InvalidConfigException, match="not the pinned file"):
        featurizer(model_sha256="f" * 64)
    with pytest.raises(InvalidConfigException, match="weights"):
        featurizer(weights="fp16")


TRAINING = {
    "ask_deadlines": ["when is the deadline", "when do applications close",
                      "last day to apply?", "how long have I got to send my application"],
    "talk_to_human": ["can I speak to someone", "I want a human",
                      "put me through to a member of staff", "is there a person I can talk to"],
    "greet": ["hello", "hi there", "good morning", "hey"],
}


def test_a_classifier_on_the_embeddings_understands_unseen_paraphrases(tmp_path: Path) -> None:
    storage = LocalModelStorage(tmp_path)
    examples = [Message(data={TEXT: text, INTENT: intent})
                for intent, texts in TRAINING.items() for text in texts]
    embeddings = featurizer(scale=4.0)
    embeddings.process_training_data(TrainingData(training_examples=examples))
    classifier = LogisticRegressionClassifier.create(
        LogisticRegressionClassifier.get_default_config(), storage, Resource("intents"),
        context())
    classifier.train(TrainingData(training_examples=examples))
    unseen = {"what's the cut-off for applying": "ask_deadlines",
              "could a real person call me back": "talk_to_human", "hiya": "greet"}
    messages = [Message(data={TEXT: text}) for text in unseen]
    classifier.process(embeddings.process(messages))
    assert {m.get(TEXT): m.get(INTENT)["name"] for m in messages} == unseen
