"""Rasa 3.6's CRF entity extractor, loaded in milliseconds instead of trained again.

Rasa's own CRFEntityExtractor keeps only its training set in the model and fits the CRF again
every time the model is loaded: the largest part of a Rasa server's start (about 40% of it here,
sampled with py-spy). This one also stores each fitted CRF (crfsuite's own binary model file,
exactly what training produced) and, at load, opens it from memory; a model trained before this
component existed, without those files, is loaded the old way (fitted again). Training,
features, predictions and every option are Rasa's: config.yml names it by module path in place of
CRFEntityExtractor, with the same settings.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pycrfsuite
import sklearn_crfsuite
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.crf_entity_extractor import CRFEntityExtractor, CRFToken
from rasa.shared.utils.io import dump_obj_as_json_to_file, read_json_file

DATASET, ORDER = "crf_dataset.json", "crf_order.json"  # Rasa's own files, kept as they are

# Rasa's recipe validator looks for CRFEntityExtractor by exact type, so with this subclass in
# the pipeline it would warn, wrongly, that nothing extracts entities or uses the lookup tables.
# This module is imported only when a config names it: then both warnings are false.
for _false_alarm in ("You have defined training data consisting of entity examples, but your "
                     "NLU configuration does not include an entity extractor",
                     "You have defined training data consisting of lookup tables, but your NLU "
                     "configuration does not include any components that uses"):
    warnings.filterwarnings("ignore", message=_false_alarm, category=UserWarning)


def _model_file(tag_name: str) -> str:
    return f"crf_{tag_name}.crfsuite"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class FittedCRFEntityExtractor(CRFEntityExtractor):
    """CRFEntityExtractor whose fitted taggers are part of the model."""

    def persist(self, dataset: list[list[CRFToken]]) -> None:
        with self._model_storage.write_to(self._resource) as model_dir:
            # Rasa's files first: the model still loads (slowly) with Rasa's own extractor
            dump_obj_as_json_to_file(model_dir / DATASET,
                                     [[token.to_dict() for token in tokens] for tokens in dataset])
            dump_obj_as_json_to_file(model_dir / ORDER, self.crf_order)
            for tag_name, tagger in (self.entity_taggers or {}).items():
                fitted = Path(tagger.modelfile.name)  # where crfsuite wrote the fitted model
                (model_dir / _model_file(tag_name)).write_bytes(fitted.read_bytes())

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> CRFEntityExtractor:
        try:
            with model_storage.read_from(resource) as model_dir:
                crf_order: list[str] = read_json_file(model_dir / ORDER)
                files = [model_dir / _model_file(tag_name) for tag_name in crf_order]
                fitted = [file.read_bytes() for file in files if file.is_file()]
        except ValueError:  # nothing persisted (no entity examples): Rasa's way says so
            fitted, crf_order = [], []
        if not crf_order or len(fitted) != len(crf_order):  # an older model: fit again
            return super().load(config, model_storage, resource, execution_context, **kwargs)
        taggers = OrderedDict((tag_name, _opened(data, config))
                              for tag_name, data in zip(crf_order, fitted, strict=True))
        extractor = cls(config, model_storage, resource, taggers)
        extractor.crf_order = crf_order
        return extractor


def _opened(model: bytes, config: dict[str, Any]) -> sklearn_crfsuite.CRF:
    """A fitted sklearn_crfsuite.CRF from crfsuite's model bytes, with the estimator's settings
    as Rasa's train_model sets them (only the tagger is used to predict)."""
    crf = sklearn_crfsuite.CRF(algorithm="lbfgs", c1=config["L1_c"], c2=config["L2_c"],
                               max_iterations=config["max_iterations"],
                               all_possible_transitions=True)
    tagger = pycrfsuite.Tagger()
    tagger.open_inmemory(model)  # crfsuite reads the bytes in place, without copying them:
    crf.model_bytes = model  # they must live as long as the tagger
    crf._tagger = tagger  # what the `tagger_` property opens from a file: here from memory
    return crf
