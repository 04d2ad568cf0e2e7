"""`rasa data validate` (in the engine environment) accepts our nlu_data, config and domain with
no warning of its own: no response that no story or rule uses (ours live in actions/replies.yml,
said by custom actions), no unused intent, no conflicting rules. Python's deprecation warnings
from Rasa's dependencies (TensorFlow, SQLAlchemy, pkg_resources) are not Rasa's findings and do
not count. About 20 s."""

from __future__ import annotations

import re
import subprocess

import pytest

from ops.paths import RASA, ROOT

pytestmark = pytest.mark.e2e

ANSI = re.compile(r"\x1b\[[0-9;]*m")
RASA_WARNING = re.compile(r"\bWARNING\s+rasa\.")  # a log line: "<date> <time> WARNING  rasa..."


def validator_warnings(output: str) -> list[str]:
    """Rasa's warnings in its output: its UserWarnings (`raise_warning`, e.g. "The utterance
    'utter_x' is not used in any story or rule.") and its WARNING log lines (story conflicts)."""
    lines = ANSI.sub("", output).splitlines()
    return [line.strip() for line in lines if "UserWarning" in line or RASA_WARNING.search(line)]


def test_validator_warnings_are_told_apart_from_dependency_warnings() -> None:
    output = (
        "/x/site-packages/rasa/core/tracker_store.py:1044: MovedIn20Warning: Deprecated API\n"
        "/x/site-packages/pkg_resources/__init__.py:3117: DeprecationWarning: Deprecated call\n"
        "2026-11-23 11:54:35 INFO     rasa.validator  - Validating utterances...\n"
        "\x1b[93m/x/rasa/shared/utils/io.py:100: UserWarning: The utterance 'utter_help' is not "
        "used in any story or rule.\n\x1b[0m"
        "2026-11-23 11:54:35 WARNING  rasa.validator  - Story structure conflict after intent\n")
    assert validator_warnings(output) == [
        "/x/rasa/shared/utils/io.py:100: UserWarning: The utterance 'utter_help' is not used in "
        "any story or rule.",
        "2026-11-23 11:54:35 WARNING  rasa.validator  - Story structure conflict after intent"]


def test_rasa_data_validate_passes_without_warnings() -> None:
    done = subprocess.run([str(RASA), "data", "validate", "--data", "nlu_data", "--config",
                           "config.yml", "--domain", "domain.yml", "--fail-on-warnings"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    output = done.stdout + done.stderr
    warnings = validator_warnings(output)
    assert warnings == [], "\n".join(warnings)
    assert done.returncode == 0, output[-3000:]
    assert "Validating utterances..." in output  # it did check them
