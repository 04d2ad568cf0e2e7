"""Rasa conversation tests (tests/conversations/*.yml): real user text must be understood as the
stories say, and the dialogue must take the stories' actions, including questions asked in the
middle of a form and low-confidence fallbacks. Runs `rasa test core` in the engine environment."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from ops.model import model_path
from ops.paths import RASA, ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("trained_model")]
STORIES = ROOT / "tests" / "conversations"


def test_every_conversation_story_passes(tmp_path: Path) -> None:
    model = model_path()
    assert model.exists(), f"no trained model at {model}: run `make model` (make test does)"
    result = subprocess.run(
        [str(RASA), "test", "core", "--stories", str(STORIES), "--model", str(model),
         "--out", str(tmp_path), "--no-plot"],
        cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    failed = yaml.safe_load((tmp_path / "failed_test_stories.yml").read_text()) or {}
    assert not failed.get("stories"), (tmp_path / "failed_test_stories.yml").read_text()
    stories = sum(len(yaml.safe_load(p.read_text())["stories"]) for p in STORIES.glob("*.yml"))
    report = json.loads((tmp_path / "story_report.json").read_text())
    assert report["conversation_accuracy"] == {"accuracy": 1.0, "correct": stories,
                                               "with_warnings": 0, "total": stories}
