"""What the engine tests share: two small models trained once per run, one with our stored
CRF and classifier (rasa_components/entities.py, intents.py), one with Rasa's own."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.model_training import train_nlu

NLU = """version: "3.1"
nlu:
- intent: ask_deadline
  examples: |
    - when is the deadline for [NPQH](npq)
    - closing date for [NPQSL](npq) applications
    - when do applications for [NPQLT](npq) close
    - what is the cut-off for the [NPQH](npq)
    - last day to apply
    - how long have i got to apply for [NPQEL](npq)
- intent: ask_cost
  examples: |
    - how much does the [NPQH](npq) cost
    - is the [NPQSL](npq) free
    - what is the fee for [NPQLT](npq)
    - will my school have to pay for the [NPQEL](npq)
    - is it funded
    - price of the course
- intent: greet
  examples: |
    - hello
    - hi there
    - good morning
    - hey
    - hiya
    - morning all
"""

PIPELINE = """language: en
assistant_id: test
pipeline:
  - name: WhitespaceTokenizer
  - name: CountVectorsFeaturizer
    analyzer: char_wb
    min_ngram: 2
    max_ngram: 4
  - name: {crf}
    max_iterations: 30
  - name: {classifier}
    random_state: 42
policies: []
"""

OURS = {"crf": "rasa_components.entities.FittedCRFEntityExtractor",
        "classifier": "rasa_components.intents.ArrayLogisticRegressionClassifier"}
RASAS = {"crf": "CRFEntityExtractor", "classifier": "LogisticRegressionClassifier"}


def _train(tmp_path: Path, name: str, components: dict[str, str]) -> Path:
    data = tmp_path / "nlu.yml"
    data.write_text(NLU)
    config = tmp_path / f"{name}.yml"
    config.write_text(PIPELINE.format(**components))
    model = train_nlu(str(config), str(data), str(tmp_path / "models"), fixed_model_name=name)
    assert model is not None
    return Path(model)


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp_path = tmp_path_factory.mktemp("persisted")
    return _train(tmp_path, "ours", OURS), _train(tmp_path, "rasas", RASAS)
