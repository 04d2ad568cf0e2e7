"""The quality gate a retrained model passes before it is put in service: its held-out scores
against those of the model in service.

The candidate is promoted unless its intent accuracy, macro F1 or entity F1 on the held-out
messages is lower than the model in service's by more than the tolerance (RETRAIN_TOLERANCE,
default 0.01). Pure: ops/retrain.py measures both models and acts on the decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

from ops.evaluation import Report

TOLERANCE = 0.01


@dataclass(frozen=True)
class Scores:
    intent_accuracy: float
    macro_f1: float
    entity_f1: float

    LABELS = {"intent_accuracy": "intent accuracy", "macro_f1": "macro F1",
              "entity_f1": "entity F1"}

    @classmethod
    def of(cls, report: Report) -> Scores:
        """From a held-out report."""
        return cls(report.intent.accuracy, report.intent.macro_f1, report.entities.f1)

    def as_dict(self) -> dict[str, float]:
        return {key: round(value, 4) for key, value in asdict(self).items()}

    def __str__(self) -> str:
        return ", ".join(f"{self.LABELS[k]} {v:.3f}" for k, v in asdict(self).items())


@dataclass(frozen=True)
class Decision:
    promote: bool
    reasons: tuple[str, ...]


def gate(before: Scores, after: Scores, tolerance: float) -> Decision:
    """Promote unless a score fell by more than `tolerance`; the reasons say which and by how
    much (or, when promoting, what changed)."""
    falls, changes = [], []
    for key, label in Scores.LABELS.items():
        old, new = getattr(before, key), getattr(after, key)
        change = f"{label} {old:.3f} -> {new:.3f} ({new - old:+.3f})"
        changes.append(change)
        if new < old - tolerance - 1e-9:
            falls.append(f"{change}, more than the tolerance of {tolerance:.3f}")
    if falls:
        return Decision(False, tuple(falls))
    return Decision(True, tuple(changes))


def tolerance_from_env(environ: Mapping[str, str]) -> float:
    """RETRAIN_TOLERANCE: how much lower a score may be (0 to 0.5; 0.01 when unset)."""
    raw = environ.get("RETRAIN_TOLERANCE") or ""
    if not raw:
        return TOLERANCE
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"RETRAIN_TOLERANCE must be a number such as 0.01, not {raw!r}") from None
    if not 0 <= value <= 0.5:
        raise ValueError(f"RETRAIN_TOLERANCE must be between 0 and 0.5, not {raw!r}")
    return value
