"""Rasa 3.6's logistic-regression intent classifier, stored as plain arrays.

Rasa's LogisticRegressionClassifier stores the fitted scikit-learn model with skops, whose import
walks every scikit-learn module to list the types it trusts: about a quarter of a Rasa server's
start here (sampled with py-spy), on every start. A fitted logistic regression is its classes,
coefficients and intercepts; this one stores those as .npy files (no pickle: `allow_pickle` is
off both ways) and a JSON list, and rebuilds the estimator with the configured settings at load.
Training and predictions are Rasa's: config.yml names it by module path in place of
LogisticRegressionClassifier, with the same settings.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.utils.io import dump_obj_as_json_to_file, read_json_file

CLASSES, COEFFICIENTS, INTERCEPTS = "classes.json", "coef.npy", "intercept.npy"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class ArrayLogisticRegressionClassifier(LogisticRegressionClassifier):
    """LogisticRegressionClassifier persisted as arrays rather than with skops."""

    def persist(self) -> None:
        with self._model_storage.write_to(self._resource) as model_dir:
            dump_obj_as_json_to_file(model_dir / CLASSES, [str(c) for c in self.clf.classes_])
            np.save(model_dir / COEFFICIENTS, self.clf.coef_, allow_pickle=False)
            np.save(model_dir / INTERCEPTS, self.clf.intercept_, allow_pickle=False)

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> LogisticRegressionClassifier:
        component = cls(config, execution_context.node_name, model_storage, resource)
        try:
            with model_storage.read_from(resource) as model_dir:
                if not (model_dir / CLASSES).is_file():  # not trained by this class: Rasa's way
                    return super().load(config, model_storage, resource, execution_context,
                                        **kwargs)
                classes = read_json_file(model_dir / CLASSES)
                coef = np.load(model_dir / COEFFICIENTS, allow_pickle=False)
                intercept = np.load(model_dir / INTERCEPTS, allow_pickle=False)
        except ValueError:  # nothing persisted (no training data): an untrained classifier
            return component
        clf = component.clf
        clf.classes_ = np.array(classes)
        clf.coef_, clf.intercept_ = coef, intercept
        clf.n_features_in_ = coef.shape[1]
        return component
