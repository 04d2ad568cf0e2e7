"""Where things are: the checkout the assistant runs from, and the two environments' programs
(`.venv` runs our code, `.venv-engine` runs Rasa; `make setup` creates both)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_PYTHON = ROOT / ".venv" / "bin" / "python"
RASA = ROOT / ".venv-engine" / "bin" / "rasa"
ENGINE_PYTHON = ROOT / ".venv-engine" / "bin" / "python"
# How the Rasa servers start: Rasa's own command line, without JAX (rasa_components/serve.py)
RASA_SERVE = (str(ENGINE_PYTHON), "-m", "rasa_components.serve")
