"""Train the Rasa model only when its inputs changed.

    python -m ops.model ensure     train unless models/ already holds the model for these inputs
    python -m ops.model path       print the model for the current inputs (fails if not trained)

The inputs are config.yml, domain.yml, every file under nlu_data/, the graph components a model
runs (rasa_components/) and the engine's pins and weights; their
SHA-256 names the model file (models/npq-<fingerprint>.tar.gz). A trained model is also kept in
a cache folder (NPQ_MODEL_CACHE, default ~/.cache/npq-assistant/models; `off` disables it) so a
fresh clone with the same inputs reuses it. CI turns the cache off so every run trains.

Staff retraining (ops/retrain.py) records the model it put in service in models/serving.json,
with the fingerprint of the inputs at the time: while the inputs are unchanged, that model (a
promoted candidate, or the model kept or rolled back to) is the one to serve, so `make run`
starts with it; once a developer changes the inputs, the model trained on them is.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ops.paths import RASA, ROOT

MODELS = ROOT / "models"
# rasa_components: every module a trained model runs (a new component changes the fingerprint
# without being listed here); the benchmark worker and the server launcher are not such modules
INPUTS = ("config.yml", "domain.yml", "nlu_data", "rasa_components", "requirements/engine.txt",
          "requirements/encoder.txt")
NOT_MODEL_INPUTS = frozenset({"rasa_components/bench.py", "rasa_components/serve.py"})
REGISTRY = "serving.json"
TRAIN_TIMEOUT = 3 * 3600.0  # seconds; a training takes minutes here, hours means it is stuck


def fingerprint(root: Path = ROOT) -> str:
    digest = hashlib.sha256()
    for name in INPUTS:
        path = root / name
        files = sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                       and str(p.relative_to(root)) not in NOT_MODEL_INPUTS) \
            if path.is_dir() else [path]
        for file in files:
            digest.update(str(file.relative_to(root)).encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def trained_model_path(root: Path = ROOT) -> Path:
    """Where the model trained on the current inputs is (or goes)."""
    return root / "models" / f"npq-{fingerprint(root)}.tar.gz"


def model_path(root: Path = ROOT) -> Path:
    """The model to serve: the one staff put in service for exactly these inputs, if any
    (models/serving.json), else the one trained on them."""
    return pinned_model(root) or trained_model_path(root)


@dataclass(frozen=True)
class Registry:
    """models/serving.json: the model staff put in service (a file name in models/), the
    fingerprint of the inputs when they did, and the models in service before it, latest last."""

    model: str | None = None
    inputs: str | None = None
    history: list[str] = field(default_factory=list)


def read_registry(root: Path = ROOT) -> Registry:
    """What models/serving.json records; an empty Registry when there is none."""
    try:
        recorded = json.loads((root / "models" / REGISTRY).read_text())
    except (FileNotFoundError, ValueError):
        return Registry()
    if not isinstance(recorded, dict):
        return Registry()
    return Registry(model=str(recorded["model"]) if recorded.get("model") else None,
                    inputs=str(recorded["inputs"]) if recorded.get("inputs") else None,
                    history=[str(m) for m in recorded.get("history") or []])


def write_registry(registry: Registry, root: Path = ROOT) -> None:
    target = root / "models" / REGISTRY
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(".tmp")
    temporary.write_text(json.dumps(asdict(registry), indent=2) + "\n")
    os.replace(temporary, target)


def pinned_model(root: Path = ROOT) -> Path | None:
    """The model staff put in service, while the inputs are those it was recorded with."""
    registry = read_registry(root)
    model = root / "models" / (registry.model or "-")
    if registry.inputs == fingerprint(root) and model.is_file():
        return model
    return None


def train_command(out: Path, rasa: Path = RASA) -> list[str]:
    """`rasa train` into `out` (a .tar.gz path), run from the project root."""
    return [str(rasa), "train", "--data", "nlu_data", "--config", "config.yml", "--domain",
            "domain.yml", "--out", str(out.parent), "--fixed-model-name",
            out.name.removesuffix(".tar.gz")]


def _cache_dir() -> Path | None:
    setting = os.environ.get("NPQ_MODEL_CACHE", "")
    if setting.lower() in ("off", "0", "false", "no"):
        return None
    if setting:
        return Path(setting).expanduser()
    return Path.home() / ".cache" / "npq-assistant" / "models"


def train(out: Path, *, root: Path = ROOT, rasa: Path = RASA) -> float:
    """Train into `out` with the engine environment; returns the seconds it took."""
    started = time.monotonic()
    try:
        subprocess.run(train_command(out, rasa), cwd=root, check=True, timeout=TRAIN_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"rasa train did not finish within {TRAIN_TIMEOUT:.0f} s") from None
    return time.monotonic() - started


def ensure() -> Path:
    pinned = pinned_model()
    if pinned:
        print(f"==> model in service (put there by staff): {pinned.relative_to(ROOT)}")
        return pinned
    target = trained_model_path()
    if target.exists():
        print(f"==> model up to date: {target.relative_to(ROOT)}")
        return target
    MODELS.mkdir(exist_ok=True)
    cache = _cache_dir()
    cached = cache / target.name if cache else None
    if cached and cached.exists():
        shutil.copyfile(cached, target)
        print(f"==> model reused from {cache}: {target.relative_to(ROOT)}")
        return target
    print("==> training the model (inputs changed)")
    seconds = train(target)
    print(f"==> trained {target.relative_to(ROOT)} in {seconds:.0f} s")
    if cached:
        cached.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(target, cached.with_suffix(".tmp"))
        os.replace(cached.with_suffix(".tmp"), cached)
    return target


def main(argv: list[str]) -> int:
    if argv[1:] == ["ensure"]:
        ensure()
        return 0
    if argv[1:] == ["path"]:
        target = model_path()
        if not target.exists():
            print("No model for the current training data: run `make model`.", file=sys.stderr)
            return 1
        print(target)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
