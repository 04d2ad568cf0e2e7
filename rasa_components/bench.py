"""Train one NLU pipeline on one benchmark split and measure it, in the engine environment:

    python -m rasa_components.bench CONFIG TRAIN.yml EVAL.json OUT.json [--no-latency]

EVAL.json: {"texts": [...], "labels": [...]}. Trains with Rasa's own NLU training (the graph
config.yml describes) into a temporary folder, loads the model as `rasa run` does, predicts every
evaluation message in one batch through the model's graph (the best intent other than
nlu_fallback), then parses `LATENCY_SAMPLE` of them one at a time as the server does, and writes
{"accuracy", "train_seconds", "parse_ms": {"p50", "p95"}, "errors": [...], "predictions":
[[intent, confidence], ...], "margins": [best minus second best confidence, ...]} to OUT.json.
The orchestration, the data and the report are ops/bench_nlu.py's (make bench-nlu) and
ops/calibrate.py's.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

LATENCY_SAMPLE = 300


def best_intent(ranking: list[dict[str, Any]]) -> str:
    named = [r for r in ranking if r.get("name") != "nlu_fallback"]
    return str(max(named, key=lambda r: float(r["confidence"]))["name"]) if named else ""


def margin(ranking: list[dict[str, Any]]) -> float:
    """How far the best intent other than nlu_fallback is ahead of the second (1.0 alone): what
    the FallbackClassifier's ambiguity_threshold compares."""
    named = sorted((float(r["confidence"]) for r in ranking if r.get("name") != "nlu_fallback"),
                   reverse=True)
    return named[0] - named[1] if len(named) > 1 else 1.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def measure(config: Path, train: Path, evaluation: Path, latency: bool = True) -> dict[str, Any]:
    from rasa.core.agent import Agent
    from rasa.core.channels.channel import UserMessage
    from rasa.engine.constants import PLACEHOLDER_MESSAGE, PLACEHOLDER_TRACKER
    from rasa.engine.runner.interface import GraphRunner
    from rasa.model_training import train_nlu
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY

    data = json.loads(evaluation.read_text())
    texts, labels = list(data["texts"]), list(data["labels"])
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        model = train_nlu(str(config), str(train), out, fixed_model_name="bench")
        train_seconds = time.perf_counter() - started
        agent = Agent.load(str(model))
    processor = agent.processor
    assert processor is not None
    runner: GraphRunner = processor.graph_runner
    target = processor.model_metadata.nlu_target
    parsed = runner.run(inputs={PLACEHOLDER_MESSAGE: [UserMessage(t) for t in texts],
                                PLACEHOLDER_TRACKER: DialogueStateTracker("bench", [])},
                        targets=[target])[target]
    predicted = [best_intent(m.get(INTENT_RANKING_KEY) or [m.get(INTENT) or {}]) for m in parsed]
    errors = [{"text": t, "true": y, "predicted": p}
              for t, y, p in zip(texts, labels, predicted, strict=True) if y != p]
    confidences = [float(next((r["confidence"] for r in m.get(INTENT_RANKING_KEY) or []
                               if r["name"] == p), 0.0)) for m, p in zip(parsed, predicted,
                                                                        strict=True)]
    margins = [margin(m.get(INTENT_RANKING_KEY) or []) for m in parsed]
    seconds = []
    for text in texts[:LATENCY_SAMPLE if latency else 0]:
        began = time.perf_counter()
        asyncio.run(agent.parse_message(text))
        seconds.append(time.perf_counter() - began)
    return {"accuracy": 1 - len(errors) / len(texts), "train_seconds": round(train_seconds, 1),
            "parse_ms": {"p50": round(1000 * percentile(seconds, 0.5), 1),
                         "p95": round(1000 * percentile(seconds, 0.95), 1)} if seconds else None,
            "examples": len(texts), "errors": errors,
            "predictions": [[p, round(c, 4)] for p, c in zip(predicted, confidences,
                                                             strict=True)],
            "margins": [round(x, 4) for x in margins]}


def main(argv: list[str]) -> int:
    latency = "--no-latency" not in argv
    config, train, evaluation, out = (Path(a) for a in argv if a != "--no-latency")
    out.write_text(json.dumps(measure(config, train, evaluation, latency), indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
