"""Where things are: the checkout the assistant runs from, and the two environments' programs
(`.venv` runs our code, `.venv-engine` runs Rasa; `make setup` creates both)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_PYTHON = ROOT / ".venv" / "bin" / "python"
RASA = ROOT / ".venv-engine" / "bin" / "rasa"
