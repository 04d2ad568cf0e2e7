"""Classifier-side candidates measured on data the model never trained on (engine environment;
features from jobs.py first):

    .venv-engine/bin/python scripts/nlu_candidates/candidates.py combine
    .venv-engine/bin/python scripts/nlu_candidates/candidates.py balanced
    .venv-engine/bin/python scripts/nlu_candidates/candidates.py focus
    .venv-engine/bin/python scripts/nlu_candidates/candidates.py augment - phone prefix
    .venv-engine/bin/python scripts/nlu_candidates/candidates.py data before none

The classifier is Rasa's LogisticRegressionClassifier as config.yml sets it (C=1,
class_weight="balanced", lbfgs, max_iter 200, random_state 42) on the sparse sentence features
and the embedding x16, so "lr" reproduces `make bench-nlu` and `python -m ops.calibrate`.
- combine: LR probabilities mixed with a softmax over the embeddings' cosine similarity to each
  intent's nearest training example ("knn") or to its mean ("cen"), weight w, temperature T;
  accuracy on the benchmarks' valid and test splits and over the three CV folds, with the
  highest fallback threshold losing at most 2% of right answers (ops/calibrate.py's rule) and
  the wrong answers still given there.
- balanced: class_weight "balanced" (Rasa's) against none, in CV.
- focus: the embedding of the last sentence of a message of several averaged into the whole
  message's (the question after its context).
- augment: CV accuracy on the held-out examples and on their phone-style copies, per training
  augmentation (jobs.py cv AUG first; "-" = none).
- data OLD NEW: CV on the examples both feature sets hold out (nlu_data before and after new
  examples are appended: earlier examples keep their folds).
"""

from __future__ import annotations

import json
import pickle
import re
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, str(Path(__file__).resolve().parent))

from features import embeddings  # noqa: E402

warnings.filterwarnings("ignore")
ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "results" / "nlu-candidates"
BENCHMARKS = ROOT.parent / "shared" / "benchmarks"
DATASETS = ("BANKING77", "HWU64", "CLINC150")
SCALE = 16.0
THRESHOLDS = [round(0.20 + 0.05 * i, 2) for i in range(15)]
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def load_bench(name: str) -> dict[str, Any]:
    d: dict[str, Any] = pickle.loads((OUT / f"{name}.pkl").read_bytes())
    for split in ("valid", "test"):
        d["evals"][split]["labels"] = (BENCHMARKS / name / split / "label").read_text().split()
    return d


def load_cv(n: int, suffix: str = "") -> dict[str, Any]:
    d: dict[str, Any] = pickle.loads((OUT / f"cv{n}{suffix}.pkl").read_bytes())
    labels = json.loads((OUT / f"cv{n}{suffix}.labels.json").read_text())
    for name in d["evals"]:
        d["evals"][name]["labels"] = labels
    return d


def features(sparse: Any, emb: Any) -> Any:
    return sp.hstack([sparse, sp.csr_matrix(emb * SCALE)]).tocsr()


def fit(d: dict[str, Any], emb: Any = None, balanced: bool = True) -> LogisticRegression:
    clf = LogisticRegression(C=1.0, max_iter=200, class_weight="balanced" if balanced else None,
                             random_state=42, solver="lbfgs")
    clf.fit(features(d["train_sparse"], d["train_emb"] if emb is None else emb),
            d["train_labels"])
    return clf


def similarity(d: dict[str, Any], classes: list[str], emb: Any, how: str) -> Any:
    labels = np.array(d["train_labels"])
    if how == "cen":
        centres = np.stack([d["train_emb"][labels == c].mean(0) for c in classes])
        return emb @ (centres / np.linalg.norm(centres, axis=1, keepdims=True)).T
    sims = emb @ d["train_emb"].T
    return np.stack([sims[:, labels == c].max(1) for c in classes], axis=1)


def softmax(z: Any) -> Any:
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def mixtures(d: dict[str, Any], clf: LogisticRegression, e: dict[str, Any]) -> Iterator[
        tuple[str, Any]]:
    probabilities = clf.predict_proba(features(e["sparse"], e["emb"]))
    yield "lr", probabilities
    classes = list(clf.classes_)
    sims = {how: similarity(d, classes, e["emb"], how) for how in ("knn", "cen")}
    for t in (5, 10, 15, 20):
        for w in (0.1, 0.2, 0.3):
            for how, s in sims.items():
                yield f"{how} T{t} w{w}", (1 - w) * probabilities + w * softmax(s * t)


def right(p: Any, classes: Any, labels: list[str]) -> Any:
    return np.asarray(classes)[p.argmax(1)] == np.array(labels)


def fallback(ok: Any, confidence: Any) -> tuple[float, int, int]:
    """ops/calibrate.py's rule: the highest threshold losing at most 2% of right answers, the
    wrong answers still given there and the right ones lost."""
    best = (THRESHOLDS[0], 0, 0)
    for t in THRESHOLDS:
        lost = int((ok & (confidence < t)).sum())
        if lost <= 0.02 * ok.sum():
            best = (t, int((~ok & (confidence >= t)).sum()), lost)
    return best


def combine() -> None:
    rows: dict[str, list[str]] = {}
    for name in DATASETS:
        d = load_bench(name)
        clf = fit(d)
        for split in ("valid", "test"):
            e = d["evals"][split]
            for label, p in mixtures(d, clf, e):
                accuracy = right(p, clf.classes_, e["labels"]).mean()
                rows.setdefault(label, []).append(f"{name[:5]} {split} {accuracy:.4f}")
    oks: dict[str, list[Any]] = {}
    for n in range(3):
        d = load_cv(n)
        clf = fit(d)
        e = d["evals"]["held"]
        for label, p in mixtures(d, clf, e):
            oks.setdefault(label, []).append((right(p, clf.classes_, e["labels"]), p.max(1)))
    for label, row in rows.items():
        ok = np.concatenate([o for o, _ in oks[label]])
        confidence = np.concatenate([c for _, c in oks[label]])
        print(f"{label:14} {' | '.join(row)} | CV right {ok.sum()} of {len(ok)}, "
              f"fallback (threshold, wrong given, right lost) {fallback(ok, confidence)}")


def balanced() -> None:
    for weighting in (True, False):
        ok, confidence = [], []
        for n in range(3):
            d = load_cv(n)
            clf = fit(d, balanced=weighting)
            e = d["evals"]["held"]
            p = clf.predict_proba(features(e["sparse"], e["emb"]))
            ok.append(right(p, clf.classes_, e["labels"]))
            confidence.append(p.max(1))
        all_ok = np.concatenate(ok)
        print(f"balanced={weighting}: CV right {all_ok.sum()} of {len(all_ok)}, fallback "
              f"{fallback(all_ok, np.concatenate(confidence))}")


def focused(texts: list[str], emb: Any) -> Any:
    parts = [[p for p in SENTENCE_END.split(t.strip()) if re.search(r"\w", p)] for t in texts]
    rows = [i for i, p in enumerate(parts) if len(p) > 1]
    out = emb.copy()
    if rows:
        both = emb[rows] + embeddings([parts[i][-1] for i in rows])
        out[rows] = both / np.linalg.norm(both, axis=1, keepdims=True)
    return out


def focus() -> None:
    sets = [(name, load_bench(name), ("valid", "test")) for name in DATASETS]
    sets += [(f"cv{n}", load_cv(n), ("held", "held_phone")) for n in range(3)]
    for name, d, splits in sets:
        for mode in ("whole", "focus"):
            clf = fit(d) if mode == "whole" else fit(d, focused(d["train_texts"], d["train_emb"]))
            for split in splits:
                e = d["evals"][split]
                emb = e["emb"] if mode == "whole" else focused(e["texts"], e["emb"])
                p = clf.predict_proba(features(e["sparse"], emb))
                ok = right(p, clf.classes_, e["labels"])
                print(f"{name} {mode} {split}: {ok.sum()} of {len(ok)} ({ok.mean():.4f})")


def augment(names: list[str]) -> None:
    for aug in names:
        suffix = "" if aug == "-" else f"_{aug}"
        totals = {"held": [0, 0], "held_phone": [0, 0]}
        for n in range(3):
            d = load_cv(n, suffix)
            clf = fit(d)
            for split, total in totals.items():
                e = d["evals"][split]
                ok = right(clf.predict_proba(features(e["sparse"], e["emb"])), clf.classes_,
                           e["labels"])
                total[0] += int(ok.sum())
                total[1] += len(ok)
        print(aug, {k: f"{a}/{b} ({a / b:.4f})" for k, (a, b) in totals.items()})


def data(old: str, new: str) -> None:
    counts = {old: [0, 0, 0, 0], new: [0, 0, 0, 0]}  # right, of, wrong given, right lost
    for n in range(3):
        runs = {s: load_cv(n, "" if s == "-" else f"_{s}") for s in (old, new)}
        common = set(runs[old]["evals"]["held"]["texts"]) & set(runs[new]["evals"]["held"]["texts"])
        for s, d in runs.items():
            clf = fit(d)
            e = d["evals"]["held"]
            p = clf.predict_proba(features(e["sparse"], e["emb"]))
            keep = np.array([t in common for t in e["texts"]])
            ok, confidence = right(p, clf.classes_, e["labels"])[keep], p.max(1)[keep]
            c = counts[s]
            c[0] += int(ok.sum())
            c[1] += len(ok)
            c[2] += int((~ok & (confidence >= 0.5)).sum())
            c[3] += int((ok & (confidence < 0.5)).sum())
    for s, (r, total, given, lost) in counts.items():
        print(f"{s}: {r} of {total} right ({r / total:.4f}); at 0.5: {given} wrong given, "
              f"{lost} right lost")


if __name__ == "__main__":
    command, rest = sys.argv[1], sys.argv[2:]
    if command == "combine":
        combine()
    elif command == "balanced":
        balanced()
    elif command == "focus":
        focus()
    elif command == "augment":
        augment(rest)
    elif command == "data":
        data(*rest)
    else:
        raise SystemExit(__doc__)
