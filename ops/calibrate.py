"""Choose the FallbackClassifier threshold on data the model never trained on, without touching the
held-out files: k-fold cross-validation of the training data itself.

    python -m ops.calibrate [--folds 3]

Each fold trains config.yml's NLU pipeline (the engine, rasa_components/bench.py) on nlu_data
less that fold's examples (every regex, lookup and synonym kept) and predicts the fold. The
components that only extract entities (ENTITY_ONLY: the CRF, the synonym mapper, the regex
extractor) are left out: nothing of theirs reaches the intent classifier, so the intents and
confidences are the same and the folds train faster. Over all
folds it prints, for each threshold, how many wrong answers would still be given (confidence at
or above it) and how many right ones would fall back instead, and names the highest threshold
at which at most MAX_LOST of the right answers fall back; then, at config.yml's threshold, what
each FallbackClassifier ambiguity_threshold would add (a message also falls back when its best
intent is less than that far ahead of the second). It changes nothing: config.yml is set by hand
from these tables. Every prediction (text, intent, predicted, confidence, margin over the second
intent) goes to results/calibrate/predictions.json, to read the misses of nlu_data's own
examples.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from ops.bench_nlu import ENGINE_PYTHON
from ops.evaluation import fallback_threshold, parse_annotated
from ops.paths import ROOT

MAX_LOST = 0.02  # at most 2% of right answers turned into a clarifying question
THRESHOLDS = [round(0.20 + 0.05 * i, 2) for i in range(15)]  # 0.20 ... 0.90
# Graph components whose output never reaches the intent classifier.
AMBIGUITIES = [0.0, 0.05, 0.1, 0.15, 0.2, 0.3]
ENTITY_ONLY = {"CRFEntityExtractor", "EntitySynonymMapper", "RegexEntityExtractor"}
OUT_DIR = ROOT / "results" / "calibrate"


def folds(items: list[dict[str, object]], k: int) -> list[tuple[list[dict[str, object]],
                                                                 list[tuple[str, str]]]]:
    """(training items, [(text, intent)] to predict) per fold; every k-th example of each intent
    is held out, regexes, lookups and synonyms are always trained on."""
    out = []
    for fold in range(k):
        training, held = [], []
        for item in items:
            if "intent" not in item:
                training.append(item)
                continue
            lines = [x.strip()[2:].strip() for x in str(item["examples"]).splitlines()
                     if x.strip().startswith("- ")]
            kept = [x for i, x in enumerate(lines) if i % k != fold]
            held += [(parse_annotated(x)[0], str(item["intent"]))
                     for i, x in enumerate(lines) if i % k == fold]
            training.append({"intent": item["intent"],
                             "examples": "".join(f"- {x}\n" for x in kept)})
        out.append((training, held))
    return out


def table(scored: list[tuple[bool, float]]) -> float:
    """Print, per threshold, the wrong answers still given and the right ones lost; return the
    highest threshold losing at most MAX_LOST of the right answers."""
    right = sum(ok for ok, _ in scored)
    wrong = len(scored) - right
    print(f"\n{len(scored)} messages, {wrong} wrong\n{'threshold':>9}{'wrong answered':>16}"
          f"{'right lost':>12}")
    best = THRESHOLDS[0]
    for threshold in THRESHOLDS:
        answered = sum(not ok and c >= threshold for ok, c in scored)
        lost = sum(ok and c < threshold for ok, c in scored)
        print(f"{threshold:>9.2f}{answered:>16}{lost:>8} ({lost / max(right, 1):.1%})")
        best = threshold if lost <= MAX_LOST * right else best
    print(f"\nhighest threshold losing at most {MAX_LOST:.0%} of right answers: {best:.2f}",
          flush=True)
    return best


def ambiguity_table(scored: list[tuple[bool, float, float]], threshold: float) -> None:
    """Print, at `threshold`, the wrong answers still given and the right ones lost for each
    ambiguity threshold (scored: (right?, confidence, margin over the second intent))."""
    right = sum(ok for ok, _, _ in scored)
    print(f"\nat threshold {threshold:.2f}, with an ambiguity threshold as well\n"
          f"{'ambiguity':>9}{'wrong answered':>16}{'right lost':>12}")
    for ambiguity in AMBIGUITIES:
        answered = [ok for ok, confidence, margin in scored
                    if confidence >= threshold and margin >= ambiguity]
        lost = right - sum(answered)
        print(f"{ambiguity:>9.2f}{len(answered) - sum(answered):>16}{lost:>8} "
              f"({lost / max(right, 1):.1%})", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Calibrate the fallback threshold by CV")
    parser.add_argument("--folds", type=int, default=3)
    args = parser.parse_args(argv)
    items: list[dict[str, object]] = []
    for path in sorted((ROOT / "nlu_data" / "nlu").glob("*.yml")):
        items += (yaml.safe_load(path.read_text()) or {}).get("nlu") or []
    config = yaml.safe_load((ROOT / "config.yml").read_text())
    pipeline = [c for c in config["pipeline"]
                if c["name"] != "FallbackClassifier" and c["name"] not in ENTITY_ONLY]
    scored: list[tuple[bool, float, float]] = []
    records: list[dict[str, object]] = []
    for number, (training, held) in enumerate(folds(items, args.folds), start=1):
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as folder:
            work = Path(folder)
            (work / "config.yml").write_text(yaml.safe_dump(
                {"recipe": "default.v1", "language": "en", "pipeline": pipeline}))
            (work / "train.yml").write_text(yaml.safe_dump({"version": "3.1", "nlu": training},
                                                           sort_keys=False, width=1000))
            (work / "eval.json").write_text(json.dumps({"texts": [t for t, _ in held],
                                                        "labels": [i for _, i in held]}))
            with (work / "engine.log").open("w") as log:
                done = subprocess.run(
                    [str(ENGINE_PYTHON), "-m", "rasa_components.bench", str(work / "config.yml"),
                     str(work / "train.yml"), str(work / "eval.json"), str(work / "out.json"),
                     "--no-latency"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                    env={**os.environ, "RASA_CACHE_DIRECTORY": str(work / "cache")})
            if done.returncode:
                sys.stderr.write((work / "engine.log").read_text()[-5000:])
                return 1
            result = json.loads((work / "out.json").read_text())
        scored += [(p == intent, c, m) for (_, intent), (p, c), m
                   in zip(held, result["predictions"], result["margins"], strict=True)]
        records += [{"text": text, "intent": intent, "predicted": p, "confidence": c,
                     "margin": m, "fold": number}
                    for (text, intent), (p, c), m in zip(held, result["predictions"],
                                                         result["margins"], strict=True)]
        print(f"fold {number}/{args.folds}: {len(held)} messages, accuracy "
              f"{result['accuracy']:.3f} ({time.perf_counter() - started:.0f} s)", flush=True)
        if number < args.folds:
            table([(ok, c) for ok, c, _ in scored])  # so far: a run cut short still says something
    table([(ok, c) for ok, c, _ in scored])
    ambiguity_table(scored, fallback_threshold((ROOT / "config.yml").read_text()))
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "predictions.json").write_text(json.dumps(records, indent=1) + "\n")
    print(f"==> wrote {(OUT_DIR / 'predictions.json').relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
