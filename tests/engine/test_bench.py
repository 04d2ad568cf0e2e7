"""The benchmark worker's pure parts (rasa_components/bench.py)."""

from __future__ import annotations

from rasa_components.bench import best_intent, margin


def test_the_margin_is_the_lead_of_the_best_intent_over_the_second_fallback_aside() -> None:
    ranking = [{"name": "nlu_fallback", "confidence": 0.9}, {"name": "greet", "confidence": 0.6},
               {"name": "thank", "confidence": 0.25}, {"name": "deny", "confidence": 0.15}]
    assert best_intent(ranking) == "greet"
    assert abs(margin(ranking) - 0.35) < 1e-9
    assert margin([{"name": "greet", "confidence": 0.4}]) == 1.0
