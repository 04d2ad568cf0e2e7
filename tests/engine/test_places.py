"""Place names hidden from the sentence encoder (rasa_components/places.py, featurizer.py): which
names match, and that the featurizer takes them from the training data, stores them in the model
and hides the same ones after loading. Run with the engine's Python (make test)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import yaml
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from rasa_components.featurizer import SentenceEmbeddingFeaturizer
from rasa_components.places import PlaceMask

ROOT = Path(__file__).resolve().parents[2]
POSTCODE = yaml.safe_load((ROOT / "nlu_data/nlu/regex.yml").read_text())["nlu"][0]
NAMES = ["Newcastle", "Newcastle upon Tyne", "Stoke-on-Trent", "Stoke on Trent", "York",
         "Bolton"]


def test_names_are_hidden_whole_any_case_and_longest_first() -> None:
    hide = PlaceMask(NAMES, [], "the town")
    assert hide("hubs near NEWCASTLE UPON TYNE?") == "hubs near the town?"
    assert hide("newcastle-upon-tyne or newcastle") == "the town or the town"
    assert hide("stoke on  trent, York and Leeds") == "the town, the town and Leeds"
    assert hide("Yorkshire and new york") == "Yorkshire and new the town"
    assert hide("mail me at office@highfield.bolton.sch.uk") == (
        "mail me at office@highfield.bolton.sch.uk")


def test_postcodes_are_hidden_as_the_postcode_regex_matches_them() -> None:
    assert POSTCODE["regex"] == "postcode"
    hide = PlaceMask([], [POSTCODE["examples"].strip()[2:]], "the town")
    assert hide("I'm in BD21 1AA") == "I'm in the town"
    assert hide("near ls6 please") == "near the town please"
    assert hide("remind me b4 the deadline about NPQH in KS2") == (
        "remind me b4 the deadline about NPQH in KS2")


def context() -> ExecutionContext:
    return ExecutionContext(GraphSchema({}), node_name="sentence_embeddings")


def component(storage: LocalModelStorage, **config: Any) -> SentenceEmbeddingFeaturizer:
    return SentenceEmbeddingFeaturizer.create(
        {**SentenceEmbeddingFeaturizer.get_default_config(), **config}, storage,
        Resource("sentence_embeddings"), context())


def embedding(featurizer: SentenceEmbeddingFeaturizer, text: str) -> np.ndarray:
    message = Message(data={TEXT: text})
    featurizer.process([message])
    _, sentence = message.get_dense_features(TEXT)
    assert sentence is not None
    return np.asarray(sentence.features)


def test_the_trained_places_are_stored_and_hidden_after_loading(tmp_path: Path) -> None:
    storage = LocalModelStorage(tmp_path)
    config = {**SentenceEmbeddingFeaturizer.get_default_config(),
              "hide_places": ["location", "postcode"], "place_phrase": "the town",
              "keep_places": ["reading"]}
    data = TrainingData(
        lookup_tables=[{"name": "location", "elements": ["Derby", "York", "Reading"]},
                       {"name": "npq", "elements": ["NPQH"]}],
        regex_features=[{"name": "postcode", "pattern": POSTCODE["examples"].strip()[2:]}])
    resource = component(storage, **config).train(data)
    loaded = SentenceEmbeddingFeaturizer.load(config, storage, resource, context())
    derby, york = (embedding(loaded, f"courses for head teachers around {town}")
                   for town in ("Derby", "YORK"))
    assert np.array_equal(derby, york)
    assert np.array_equal(embedding(loaded, "hub near bd21 1aa"),
                          embedding(loaded, "hub near the town"))
    assert not np.array_equal(embedding(loaded, "is there much reading"),
                              embedding(loaded, "is there much the town"))
    assert not np.array_equal(embedding(loaded, "tell me about NPQH"),
                              embedding(loaded, "tell me about the town"))


def test_off_by_default_and_a_model_without_stored_places_hides_nothing(tmp_path: Path) -> None:
    storage = LocalModelStorage(tmp_path)
    default = SentenceEmbeddingFeaturizer.get_default_config()
    assert default["hide_places"] == []
    data = TrainingData(lookup_tables=[{"name": "location", "elements": ["Derby", "York"]}])
    trained = SentenceEmbeddingFeaturizer.load(
        default, storage, component(storage).train(data), context())
    assert not np.array_equal(embedding(trained, "around Derby"), embedding(trained, "around York"))
    older = SentenceEmbeddingFeaturizer.load(
        {**default, "hide_places": ["location"]}, storage, Resource("never_trained"), context())
    assert not np.array_equal(embedding(older, "around Derby"), embedding(older, "around York"))
