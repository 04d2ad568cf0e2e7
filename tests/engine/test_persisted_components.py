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
from rasa.nlu.extractors.crf_entity_extractor import CRFEntityExtractor

MESSAGES = ["when is the closing date for NPQSL", "how much is NPQH", "hello there",
            "whats the cutoff for NPQEL", "price for npqlt please"]


def _parse(model: Path) -> list[dict[str, Any]]:
    agent = Agent.load(str(model))
    return [asyncio.run(agent.parse_message(text)) for text in MESSAGES]


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
