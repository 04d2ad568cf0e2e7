"""rasa_components/entities.py and intents.py: a model trained with them understands messages
exactly as one trained with Rasa's own CRFEntityExtractor and LogisticRegressionClassifier, and
loads without fitting the CRF again or importing skops. Run with the engine's Python."""

from __future__ import annotations

import asyncio
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest
from rasa.core.agent import Agent
from rasa.model_training import train_nlu
from rasa.nlu.extractors.crf_entity_extractor import CRFEntityExtractor

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
MESSAGES = ["when is the closing date for NPQSL", "how much is NPQH", "hello there",
            "whats the cutoff for NPQEL", "price for npqlt please"]


def _train(tmp_path: Path, name: str, components: dict[str, str]) -> Path:
    data = tmp_path / "nlu.yml"
    data.write_text(NLU)
    config = tmp_path / f"{name}.yml"
    config.write_text(PIPELINE.format(**components))
    model = train_nlu(str(config), str(data), str(tmp_path / "models"), fixed_model_name=name)
    assert model is not None
    return Path(model)


def _parse(model: Path) -> list[dict[str, Any]]:
    agent = Agent.load(str(model))
    return [asyncio.run(agent.parse_message(text)) for text in MESSAGES]


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp_path = tmp_path_factory.mktemp("persisted")
    return _train(tmp_path, "ours", OURS), _train(tmp_path, "rasas", RASAS)


def test_the_model_understands_as_rasas_own_components_do(models: tuple[Path, Path]) -> None:
    ours, rasas = (_parse(model) for model in models)
    for mine, theirs in zip(ours, rasas, strict=True):
        assert mine["intent"]["name"] == theirs["intent"]["name"]
        assert mine["intent"]["confidence"] == pytest.approx(theirs["intent"]["confidence"])
        assert [(e["entity"], e["value"], round(e["confidence_entity"], 6))
                for e in mine["entities"]] == [
            (e["entity"], e["value"], round(e["confidence_entity"], 6))
            for e in theirs["entities"]]
    assert ours[0]["intent"]["name"] == "ask_deadline"
    assert [(e["entity"], e["value"]) for e in ours[0]["entities"]] == [("npq", "NPQSL")]
    assert ours[2]["intent"]["name"] == "greet"


def test_the_model_stores_the_fitted_crf_and_plain_arrays(models: tuple[Path, Path]) -> None:
    with tarfile.open(models[0]) as archive:
        names = [Path(name).name for name in archive.getnames()]
    assert "crf_entity.crfsuite" in names
    assert "coef.npy" in names and "classes.json" in names
    assert not [name for name in names if name.endswith(".skops")]


def test_loading_fits_nothing_and_needs_no_skops(models: tuple[Path, Path],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    def refit(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the CRF was fitted again at load")

    monkeypatch.setattr(CRFEntityExtractor, "train_model", classmethod(refit))
    monkeypatch.setitem(sys.modules, "skops.io", None)  # importing it now fails
    (parsed, *_) = _parse(models[0])
    assert [(e["entity"], e["value"]) for e in parsed["entities"]] == [("npq", "NPQSL")]


def test_a_model_trained_with_rasas_extractor_still_loads(models: tuple[Path, Path],
                                                          tmp_path: Path) -> None:
    # the same files minus ours: what a model trained before these components holds
    source, trimmed = models[0], tmp_path / "old.tar.gz"
    with tarfile.open(source) as archive, tarfile.open(trimmed, "w:gz") as out:
        for member in archive.getmembers():
            if member.name.endswith(".crfsuite"):
                continue
            out.addfile(member, archive.extractfile(member) if member.isfile() else None)
    (parsed, *_) = _parse(trimmed)
    assert [(e["entity"], e["value"]) for e in parsed["entities"]] == [("npq", "NPQSL")]
