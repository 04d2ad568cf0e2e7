"""Build the feature sets candidates.py compares (app environment; the work is done by
features.py in the engine environment):

    .venv/bin/python scripts/nlu_candidates/jobs.py BANKING77|HWU64|CLINC150 [AUG]
    .venv/bin/python scripts/nlu_candidates/jobs.py cv [AUG]

A benchmark: its train_10 split, evaluated on `valid` and `test`. `cv`: ops/calibrate.py's three
folds of nlu_data (every third example of each intent held out), each evaluated on its held-out
examples ("held") and on phone-style copies of them ("held_phone": augment.phone with its own
seed and its own list of openings, never in any training fold). AUG (augment.py) adds copies of
the TRAINING messages only. Output: results/nlu-candidates/<name>[_AUG].pkl. config.yml and
nlu_data are this checkout's, or those in the folder NLU_CANDIDATES_DATA names (to compare
versions of the data: the output names then need telling apart by hand).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(ROOT), str(HERE)]

import augment  # noqa: E402

from ops.evaluation import parse_annotated  # noqa: E402

# where config.yml and nlu_data are read from: this checkout, or another (NLU_CANDIDATES_DATA)
DATA = Path(os.environ.get("NLU_CANDIDATES_DATA", str(ROOT)))
BENCHMARKS = ROOT.parent / "shared" / "benchmarks"
OUT = ROOT / "results" / "nlu-candidates"
DROP = {"FallbackClassifier", "EntitySynonymMapper", "RegexEntityExtractor",
        "rasa_components.entities.FittedCRFEntityExtractor",
        "rasa_components.featurizer.SentenceEmbeddingFeaturizer",
        "rasa_components.intents.ArrayLogisticRegressionClassifier"}


def pipeline() -> list[dict[str, Any]]:
    config = yaml.safe_load((DATA / "config.yml").read_text())
    return [c for c in config["pipeline"] if c["name"] not in DROP]


def read_split(folder: Path) -> tuple[list[str], list[str]]:
    return ((folder / "seq.in").read_text().splitlines(),
            (folder / "label").read_text().splitlines())


def nlu_items() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for path in sorted((DATA / "nlu_data" / "nlu").glob("*.yml")):
        items += (yaml.safe_load(path.read_text()) or {}).get("nlu") or []
    return items


def cv_folds(items: list[dict[str, Any]], k: int = 3) -> list[tuple[list[tuple[str, str]],
                                                                      list[tuple[str, str]]]]:
    """As ops.calibrate.folds: (training (annotated text, intent), held (plain text, intent))."""
    out = []
    for fold in range(k):
        training, held = [], []
        for item in items:
            if "intent" not in item:
                continue
            lines = [x.strip()[2:].strip() for x in str(item["examples"]).splitlines()
                     if x.strip().startswith("- ")]
            for i, line in enumerate(lines):
                (held if i % k == fold else training).append((line, str(item["intent"])))
        out.append((training, [(parse_annotated(t)[0], y) for t, y in held]))
    return out


def phone_copies(held: list[tuple[str, str]]) -> list[str]:
    rng = random.Random(999)
    return [augment.phone(t, rng, prefix=y not in augment.NO_PREFIX, prefixes=augment.EVAL_PREFIX)
            for t, y in held]


def run(job: dict[str, Any], out: Path) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    job_file = out.with_suffix(".json")
    job_file.write_text(json.dumps(job))
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "LOG_LEVEL": "WARNING",
                   "PYTHONPATH": str(ROOT)}
    with out.with_suffix(".log").open("w") as log:
        done = subprocess.run([str(ROOT / ".venv-engine" / "bin" / "python"),
                               str(HERE / "features.py"), str(job_file), str(out)],
                              cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT)
    if done.returncode:
        raise SystemExit(f"features.py failed for {out.name}: {out.with_suffix('.log')}")


def main(what: str, aug: str | None) -> None:
    suffix = f"_{aug}" if aug else ""
    if what == "cv":
        other = [i for i in nlu_items() if "intent" not in i]
        for n, (training, held) in enumerate(cv_folds(nlu_items())):
            training = augment.augment(training, aug) if aug else training
            run({"pipeline": pipeline(), "train": training, "extra_train_items": other,
                 "evals": {"held": [t for t, _ in held], "held_phone": phone_copies(held)}},
                OUT / f"cv{n}{suffix}.pkl")
            (OUT / f"cv{n}{suffix}.labels.json").write_text(json.dumps([y for _, y in held]))
        return
    training = list(zip(*read_split(BENCHMARKS / what / "train_10"), strict=True))
    training = augment.augment(training, aug) if aug else training
    run({"pipeline": pipeline(), "train": training,
         "evals": {s: read_split(BENCHMARKS / what / s)[0] for s in ("valid", "test")}},
        OUT / f"{what}{suffix}.pkl")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
