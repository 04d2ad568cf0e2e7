"""The trained model on the held-out messages (tests/nlu/heldout.yml, never trained on) meets the
targets: intent accuracy >= 0.95, macro F1 >= 0.93, entity recall >= 0.95. Starts the Rasa server
with the current model (`make test` builds it first); `make nlu-report` shows the details."""

from __future__ import annotations

import sys

import pytest

from tools.model import model_path
from tools.nlu_report import TARGETS, format_report, run_evaluation

pytestmark = pytest.mark.e2e


def test_model_meets_the_heldout_targets(capsys: pytest.CaptureFixture[str]) -> None:
    assert model_path().exists(), f"no trained model at {model_path()}: run `make model`"
    report = run_evaluation()
    with capsys.disabled():
        print("\n[nlu] " + format_report(report).replace("\n", "\n[nlu] "), file=sys.stderr)
    missed = {key: f"{report['figures'][key]:.3f} < {TARGETS[key]}"
              for key, met in report["met"].items() if not met}
    assert not missed, f"held-out targets missed: {missed} (make nlu-report for the errors)"
