"""Sentence features for the classifier experiments in candidates.py (engine environment).

    .venv-engine/bin/python scripts/nlu_candidates/features.py JOB.json OUT.pkl

JOB.json (written by jobs.py): {"pipeline": config.yml's featurizers without the embeddings,
"train": [[text, intent], ...], "extra_train_items": [regex/lookup/synonym items], "evals":
{name: [texts]}}. Trains those featurizers with Rasa's own training on "train" (so the n-gram
vocabulary is the fold's, as in ops/calibrate.py), then stores for the training messages and
every evaluation list the sparse sentence features exactly as Rasa's logistic regression sees
them, and the all-MiniLM-L6-v2 int8 embeddings (unscaled; cached by text in
results/nlu-candidates/embeddings.pkl: the encoder is deterministic).
"""

from __future__ import annotations

import json
import os
import pickle
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import yaml

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "results" / "nlu-candidates"
CACHE = OUT / "embeddings.pkl"
CLASSIFIER = "rasa_components.intents.ArrayLogisticRegressionClassifier"


def embeddings(texts: list[str]) -> Any:
    cache = pickle.loads(CACHE.read_bytes()) if CACHE.exists() else {}
    missing = sorted({t for t in texts if t not in cache})
    if missing:
        sys.path.insert(0, str(ROOT))
        from rasa_components import encoder

        vectors = encoder.load("int8", encoder.INT8_SHA256, 2).embed(missing)
        cache.update(zip(missing, vectors, strict=True))
        OUT.mkdir(parents=True, exist_ok=True)
        CACHE.write_bytes(pickle.dumps(cache))
    if not texts:
        return np.zeros((0, 384), np.float32)
    return np.stack([cache[t] for t in texts])


def main(job_path: str, out_path: str) -> None:
    from rasa.core.agent import Agent
    from rasa.core.channels.channel import UserMessage
    from rasa.engine.constants import PLACEHOLDER_MESSAGE, PLACEHOLDER_TRACKER
    from rasa.model_training import train_nlu
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.shared.nlu.constants import TEXT
    from rasa.shared.nlu.training_data.loading import load_data

    job = json.loads(Path(job_path).read_text())
    by_intent: dict[str, list[str]] = {}
    for text, intent in job["train"]:
        by_intent.setdefault(intent, []).append(text)
    items = list(job.get("extra_train_items", [])) + [
        {"intent": i, "examples": "".join(f"- {t}\n" for t in ts)} for i, ts in by_intent.items()]
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        # a classifier is needed for Rasa to train; one iteration, never used
        pipeline = job["pipeline"] + [{"name": CLASSIFIER, "max_iter": 1}]
        (work / "config.yml").write_text(yaml.safe_dump(
            {"recipe": "default.v1", "language": "en", "pipeline": pipeline}))
        (work / "train.yml").write_text(yaml.safe_dump({"version": "3.1", "nlu": items},
                                                       sort_keys=False, width=100000))
        os.environ["RASA_CACHE_DIRECTORY"] = str(work / "cache")
        model = train_nlu(str(work / "config.yml"), str(work / "train.yml"), str(work),
                          fixed_model_name="m")
        agent = Agent.load(str(model))
        pairs = [(m.get(TEXT), m.get("intent")) for m in load_data(str(work / "train.yml"))
                 .intent_examples if m.get(TEXT) and m.get("intent")]
    processor = agent.processor
    schema = processor.model_metadata.predict_schema
    classifier = next(n for n, node in schema.nodes.items()
                      if node.uses.__name__ == CLASSIFIER.rsplit(".", 1)[1])
    target = next(iter(schema.nodes[classifier].needs.values()))

    def sparse(texts: list[str]) -> Any:
        if not texts:
            return sp.csr_matrix((0, 0))
        messages = processor.graph_runner.run(
            inputs={PLACEHOLDER_MESSAGE: [UserMessage(t) for t in texts],
                    PLACEHOLDER_TRACKER: DialogueStateTracker("x", [])},
            targets=[target])[target]
        rows = [sp.csr_matrix(m.get_sparse_features(attribute=TEXT)[1].features)
                for m in messages]
        width = Counter(r.shape[1] for r in rows).most_common(1)[0][0]
        # an empty message has no features at all: a row of zeros
        rows = [r if r.shape[1] == width else sp.csr_matrix((1, width)) for r in rows]
        return sp.vstack(rows).tocsr()

    out: dict[str, Any] = {"train_texts": [t for t, _ in pairs],
                           "train_labels": [i for _, i in pairs]}
    out["train_sparse"] = sparse(out["train_texts"])
    out["train_emb"] = embeddings(out["train_texts"])
    out["evals"] = {name: {"texts": texts, "sparse": sparse(texts), "emb": embeddings(texts)}
                    for name, texts in job["evals"].items()}
    Path(out_path).write_bytes(pickle.dumps(out))


if __name__ == "__main__":
    main(*sys.argv[1:3])
