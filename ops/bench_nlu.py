"""The NLU pipeline on public intent benchmarks: 10 examples per intent of BANKING77, HWU64 and
CLINC150 (../shared/benchmarks, see its README), trained with config.yml's pipeline and with the
same pipeline without the sentence embeddings (sparse n-grams only).

    python -m ops.bench_nlu                       (make bench-nlu) every dataset, both pipelines
    python -m ops.bench_nlu --datasets HWU64 --pipelines config
    python -m ops.bench_nlu --split valid --scale 2 4 8    tune the embeddings' scale (valid only)
    python -m ops.bench_nlu --weights fp32        the original fp32 weights instead of int8
    python -m ops.bench_nlu --pipelines config --encoders int8:16 use:16 int8:16+use:8
                                                  other encoders (WEIGHTS:SCALE, + concatenates)

For each dataset and pipeline: accuracy on the `test` split (or `valid`), the time Rasa takes to
train the NLU model (two cores, a fresh training cache) and the parse latency, one message at a
time through the loaded model (p50/p95 of 300 messages). The work is done in the engine
environment by rasa_components/bench.py; figures go to results/bench-nlu/<split>.json. Run it
alone on the machine when the timings matter (on our machines: /work/bin/cpu-exclusive).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from ops.paths import ROOT

ENGINE_PYTHON = ROOT / ".venv-engine" / "bin" / "python"
BENCHMARKS = ROOT.parent / "shared" / "benchmarks"
DATASETS = ("BANKING77", "HWU64", "CLINC150")
EMBEDDINGS = "rasa_components.featurizer.SentenceEmbeddingFeaturizer"
OUT_DIR = ROOT / "results" / "bench-nlu"
# Published 10-shot test accuracy with pre-trained sentence encoders (../shared/benchmarks):
# USE+ConveRT and CPFT.
ANCHORS = {"BANKING77": (0.8519, 0.8720), "HWU64": (0.8583, 0.8713),
           "CLINC150": (0.9326, 0.9418)}
TARGETS = {"BANKING77": 0.85, "HWU64": 0.85, "CLINC150": 0.93}
ENCODERS = ("int8", "fp32", "use")  # rasa_components.encoder.WEIGHTS


def read_split(folder: Path) -> tuple[list[str], list[str]]:
    texts = (folder / "seq.in").read_text().splitlines()
    labels = (folder / "label").read_text().splitlines()
    if len(texts) != len(labels):
        raise ValueError(f"{folder}: {len(texts)} messages but {len(labels)} labels")
    return texts, labels


def nlu_yaml(texts: list[str], labels: list[str]) -> str:
    """Rasa NLU training data, one block per intent."""
    by_intent: dict[str, list[str]] = {}
    for text, label in zip(texts, labels, strict=True):
        by_intent.setdefault(label, []).append(text)
    return yaml.safe_dump({"version": "3.1", "nlu": [
        {"intent": intent, "examples": "".join(f"- {t}\n" for t in examples)}
        for intent, examples in by_intent.items()]}, sort_keys=False, width=1000)


def parse_encoders(spec: str) -> list[tuple[str, float]]:
    """"int8:16+use:8" -> [("int8", 16.0), ("use", 8.0)]."""
    encoders = []
    for part in spec.split("+"):
        weights, _, scale = part.partition(":")
        if weights not in ENCODERS or not scale:
            raise argparse.ArgumentTypeError(
                f"{part!r}: WEIGHTS:SCALE with WEIGHTS one of {', '.join(ENCODERS)}")
        encoders.append((weights, float(scale)))
    return encoders


def pipeline_config(name: str, scale: float | None = None, weights: str | None = None,
                    encoders: list[tuple[str, float]] | None = None) -> str:
    """config.yml's pipeline as shipped ("config"), or without the embeddings ("sparse");
    `scale`/`weights` override the first embeddings component's settings; `encoders` replaces
    every embeddings component by one per (weights, scale), in that order."""
    config = yaml.safe_load((ROOT / "config.yml").read_text())
    pipeline = config["pipeline"]
    if name == "sparse":
        pipeline = [c for c in pipeline if c["name"] != EMBEDDINGS]
    if encoders is not None and name == "config":
        first = next(i for i, c in enumerate(pipeline) if c["name"] == EMBEDDINGS)
        pipeline = [c for c in pipeline if c["name"] != EMBEDDINGS]
        # model_sha256 left out: the component checks the hash pinned for those weights
        pipeline[first:first] = [{"name": EMBEDDINGS, "weights": w, "scale": x}
                                 for w, x in encoders]
    embeddings = [c for c in pipeline if c["name"] == EMBEDDINGS]
    if embeddings:
        if scale is not None:
            embeddings[0]["scale"] = scale
        if weights is not None:  # checked against the hash pinned for those weights
            embeddings[0]["weights"] = weights
            embeddings[0].pop("model_sha256", None)
    return yaml.safe_dump({"recipe": "default.v1", "language": "en", "pipeline": pipeline},
                          sort_keys=False)


def run_one(dataset: Path, split: str, config: str, work: Path) -> dict[str, Any]:
    """Train on `dataset`'s train_10 with `config` and measure on `split`, in the engine."""
    (work / "config.yml").write_text(config)
    (work / "train.yml").write_text(nlu_yaml(*read_split(dataset / "train_10")))
    texts, labels = read_split(dataset / split)
    (work / "eval.json").write_text(json.dumps({"texts": texts, "labels": labels}))
    environment = {**os.environ, "RASA_CACHE_DIRECTORY": str(work / "cache"),
                   "TF_CPP_MIN_LOG_LEVEL": "3", "LOG_LEVEL": "WARNING"}
    with (work / "engine.log").open("w") as log:
        done = subprocess.run(
            [str(ENGINE_PYTHON), "-m", "rasa_components.bench", str(work / "config.yml"),
             str(work / "train.yml"), str(work / "eval.json"), str(work / "out.json")],
            cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT)
    if done.returncode:
        sys.stderr.write((work / "engine.log").read_text()[-5000:])
        raise SystemExit(f"the engine failed on {dataset.name} (its log is above)")
    result: dict[str, Any] = json.loads((work / "out.json").read_text())
    return result


def row(dataset: str, label: str, result: dict[str, Any], split: str) -> str:
    target = TARGETS[dataset]
    verdict = "" if split != "test" or label == "sparse" else (
        f"  (target >= {target:.2f}: {'met' if result['accuracy'] >= target else 'MISSED'})")
    return (f"{dataset:<10}{label:<22}{result['accuracy']:>9.3f}{result['train_seconds']:>9.1f}"
            f"{result['parse_ms']['p50']:>8.1f}{result['parse_ms']['p95']:>8.1f}{verdict}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=BENCHMARKS, help="the benchmarks folder")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--pipelines", nargs="+", default=["config", "sparse"],
                        choices=["config", "sparse"])
    parser.add_argument("--split", default="test", choices=["test", "valid"])
    parser.add_argument("--scale", type=float, nargs="+", default=[None],
                        help="the embeddings' scale(s) to try instead of config.yml's")
    parser.add_argument("--weights", choices=ENCODERS, help="instead of config.yml's")
    parser.add_argument("--encoders", type=parse_encoders, nargs="+", default=[None],
                        metavar="WEIGHTS:SCALE[+WEIGHTS:SCALE]",
                        help="instead of config.yml's embeddings, each in turn (`+` concatenates)")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"error: no benchmarks at {args.data} (--data DIR)", file=sys.stderr)
        return 2
    print(f"10 examples per intent; accuracy on `{args.split}`; training and parse on this "
          "machine\n")
    print(f"{'dataset':<10}{'pipeline':<22}{'accuracy':>9}{'train s':>9}{'p50 ms':>8}"
          f"{'p95 ms':>8}")
    results: dict[str, dict[str, Any]] = {}
    for dataset in args.datasets:
        for pipeline in args.pipelines:
            variants = [(s, e) for s in args.scale for e in args.encoders]
            for scale, encoders in variants if pipeline == "config" else [(None, None)]:
                label = pipeline if scale is None else f"{pipeline} x{scale:g}"
                label += f" {args.weights}" if args.weights and pipeline == "config" else ""
                if encoders is not None and pipeline == "config":
                    label = "+".join(f"{w}:{x:g}" for w, x in encoders)
                config = pipeline_config(pipeline, scale, args.weights, encoders)
                with tempfile.TemporaryDirectory() as work:
                    result = run_one(args.data / dataset, args.split, config, Path(work))
                results[f"{dataset}/{label}"] = result
                print(row(dataset, label, result, args.split), flush=True)
    if args.split == "test":
        print("\npublished 10-shot test accuracy (USE+ConveRT / CPFT): " + "; ".join(
            f"{d} {a:.3f} / {b:.3f}" for d, (a, b) in ANCHORS.items()))
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    out = OUT_DIR / f"{args.split}.json"
    out.write_text(json.dumps({k: {**{f: x for f, x in v.items() if f != "predictions"},
                                   "errors": v["errors"][:50]} for k, v in results.items()},
                              indent=1) + "\n")
    print(f"==> wrote {os.path.relpath(out, ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
