"""Measure the trained NLU model on the held-out messages (tests/nlu/heldout.yml and the
phone-style tests/nlu/heldout_phone.yml).

    python -m ops.nlu_report [--check]     (make nlu-report; --check: exit 1 on a missed target)
    python -m ops.nlu_report --model FILE  measure another model file (results in a folder
                                           named after it)
    python -m ops.nlu_report --files PATH ...
                                           measure other annotated NLU files instead, e.g. the
                                           tuning sets tests/nlu/dev_fresh*.yml (results under
                                           results/nlu-report/<file stem>/)

Trains the model only if its inputs changed (ops.model.ensure), starts the Rasa server alone on
a free loopback port, sends every held-out message to POST /model/parse (what users get: every
extractor combined, synonyms applied), stops the server, prints each file's figures beside their
targets and writes results/nlu-report/report.json (every figure and error) and
confusion_matrix.png for heldout.yml, and the same under results/nlu-report/heldout_phone/.
How each figure is counted: ops/evaluation.py.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import httpx

from ops import model
from ops.evaluation import (
    HELDOUT,
    HELDOUT_FILES,
    TARGETS,
    ParseLatency,
    Prf,
    Report,
    evaluate,
    fallback_threshold,
    load_examples,
)
from ops.paths import ROOT
from ops.ports import free_port
from ops.stack import Stack

OUT_DIR = ROOT / "results" / "nlu-report"


def format_report(report: Report, heldout: Path = HELDOUT, *, examples: bool = True) -> str:
    """The report as text; `examples=False` leaves the held-out messages out (the test logs:
    a held-out message read in every test run becomes something to tune on)."""
    intents, entities, met = report.intent, report.entities, report.met
    n = report.examples

    def target(key: str) -> str:
        return f"  (target >= {TARGETS[key]:.2f}: {'met' if met[key] else 'MISSED'})"

    def row(label: str, m: Prf) -> str:
        return f"{label:<22}{m.precision:>6.2f}{m.recall:>6.2f}{m.f1:>6.2f}{m.support:>6}"
    header = f"{'':<22}{'prec':>6}{'rec':>6}{'F1':>6}{'supp':>6}"
    latency = report.parse_ms
    return "\n".join([
        f"{'held-out examples' if heldout in HELDOUT_FILES else 'examples'}: {n} "
        f"({os.path.relpath(heldout, ROOT)})",
        f"intent accuracy   {intents.accuracy:.3f}{target('intent_accuracy')}",
        f"macro F1          {intents.macro_f1:.3f}{target('macro_f1')}",
        f"weighted F1       {intents.weighted_f1:.3f}",
        f"entity precision  {entities.precision:.3f}",
        f"entity recall     {entities.recall:.3f}{target('entity_recall')}",
        f"entity F1         {entities.f1:.3f}",
        f"below the fallback threshold ({report.fallback_threshold}): "
        f"{report.below_threshold} of {n} (they would get a clarifying question)",
        f"wrong answers at or above the threshold: {report.confident_wrong} of "
        f"{len(report.intent_errors)} wrong (answered wrongly rather than asked about)",
        *([f"parse latency     median {latency.median} ms, p95 {latency.p95} ms (one message "
           "at a time, through Rasa's HTTP API)"] if latency else []),
        "", "entity" + header[6:], *(row(k, m) for k, m in entities.per_entity.items()),
        "", "intent" + header[6:], *(row(k, m) for k, m in intents.per_intent.items()),
        "", f"worst confusions (true -> predicted, count{', one example' if examples else ''}):",
        *([f"  {c.true} -> {c.predicted}  {c.count}"
           + (f"  \"{c.example}\"" if examples else "")
           for c in report.confusions.worst] or ["  none"])])


def plot_confusion_matrix(report: Report, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")  # no display
    import matplotlib.pyplot as plt

    labels, counts = report.confusions.labels, report.confusions.counts
    figure, axes = plt.subplots(figsize=(13, 11))
    axes.imshow(counts, cmap="Blues")
    axes.set_xticks(range(len(labels)), labels, rotation=90)
    axes.set_yticks(range(len(labels)), labels)
    axes.set(xlabel="predicted intent", ylabel="true intent",
             title=f"{report.examples} held-out messages: intent accuracy "
                   f"{report.intent.accuracy:.3f}")
    for i, counts_row in enumerate(counts):
        for j, count in enumerate(counts_row):
            if count:
                axes.text(j, i, str(count), ha="center", va="center", fontsize=7,
                          color="black" if i == j else "crimson")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def evaluate_files(model_file: Path | None = None,
                   files: Sequence[Path] = HELDOUT_FILES) -> dict[Path, Report]:
    """Each file's report (default: the held-out files), from one Rasa server for `model_file`
    (default: the current model, trained if needed)."""
    model_file = model_file or model.ensure()
    print(f"==> parsing {', '.join(path.name for path in files)} with {model_file.name}")
    with Stack(rasa_port=free_port(), action_port=free_port(), model=model_file,
               log_dir=ROOT / "var" / "log" / "nlu-report") as stack:
        return {path: run_evaluation(stack.rasa_url, heldout=path, token=stack.rasa_token)
                for path in files}


def run_evaluation(rasa_url: str | None = None, model_file: Path | None = None,
                   heldout: Path = HELDOUT, token: str | None = None) -> Report:
    """Parse every message of `heldout` with the Rasa server at `rasa_url` (default: start one for
    `model_file`, or for the current model, trained if needed) and return the report, with the
    parse latency (one message at a time) as seen from here."""
    if rasa_url is None:
        return evaluate_files(model_file, (heldout,))[heldout]
    examples = load_examples(heldout.read_text())
    parses, seconds = [], []
    with httpx.Client(base_url=rasa_url, timeout=60.0,
                      params={"token": token} if token else None) as client:
        for example in examples:
            started = time.perf_counter()
            parses.append(client.post("/model/parse", json={"text": example.text})
                          .raise_for_status().json())
            seconds.append(time.perf_counter() - started)
    report = evaluate(examples, parses, fallback_threshold((ROOT / "config.yml").read_text()))
    ordered = sorted(seconds)
    return replace(report, parse_ms=ParseLatency(
        median=round(1000 * ordered[len(ordered) // 2], 1),
        p95=round(1000 * ordered[int(len(ordered) * 0.95)], 1)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Measure the NLU model on the held-out files")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--model", type=Path,
                        help="measure this model file (e.g. one trained with another config) "
                             "instead of the current one; results go to a folder named after it")
    parser.add_argument("--files", type=Path, nargs="+", metavar="PATH",
                        help="annotated NLU files to measure instead of the held-out ones "
                             "(Rasa NLU YAML; results under results/nlu-report/<file stem>/)")
    args = parser.parse_args(argv)
    files = tuple(path.resolve() for path in args.files) if args.files else HELDOUT_FILES
    missing = [str(path) for path in files if not path.is_file()]
    if missing:
        parser.error(f"no such file: {', '.join(missing)}")
    reports = evaluate_files(args.model, files)
    missed = False
    for heldout, report in reports.items():
        print(format_report(report, heldout) + "\n")
        out = OUT_DIR / args.model.name.split(".")[0] if args.model else OUT_DIR
        out = out if heldout == HELDOUT else out / heldout.stem
        out.mkdir(parents=True, exist_ok=True)
        (out / "report.json").write_text(json.dumps(report.as_json(), indent=2) + "\n")
        plot_confusion_matrix(report, out / "confusion_matrix.png")
        print(f"==> wrote {os.path.relpath(out, ROOT)}/report.json and confusion_matrix.png\n")
        missed = missed or not all(report.met.values())
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
