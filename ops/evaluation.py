"""How well a model understands: the held-out messages (tests/nlu/heldout.yml, never trained
on), Rasa's NLU YAML annotations, and the figures `make nlu-report` (ops/nlu_report.py) and the
retraining gate (ops/retrain.py) compare models by.

Intents: the prediction is the best intent other than nlu_fallback; messages under config.yml's
FallbackClassifier threshold are counted too (users would get a clarifying question).
Entities: a prediction is correct when its type and value equal an annotation's (ignoring case and
spacing) and their character spans overlap; an annotation matches one prediction at most.
Precision = correct / predicted, recall = correct / annotated. Same-type, same-value predictions
with overlapping spans count once (the CRF and the regex extractor often both find a postcode).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import yaml

from npq.intents import FALLBACK
from ops.paths import ROOT

HELDOUT = ROOT / "tests" / "nlu" / "heldout.yml"
HELDOUT_PHONE = ROOT / "tests" / "nlu" / "heldout_phone.yml"  # phone-style, written 2026-12-05
HELDOUT_FILES = (HELDOUT, HELDOUT_PHONE)  # never trained or tuned on, never written to nlu_data
TARGETS = {"intent_accuracy": 0.95, "macro_f1": 0.93, "entity_recall": 0.95}
ANNOTATION = re.compile(r"\[(?P<text>[^\]]+)\](?:\((?P<name>[^)]+)\)|(?P<spec>\{[^}]*\}))")


@dataclass(frozen=True)
class Entity:
    entity: str
    value: str
    start: int
    end: int


@dataclass
class Example:
    text: str
    intent: str
    entities: list[Entity] = field(default_factory=list)


def parse_annotated(line: str) -> tuple[str, list[Entity]]:
    """`in [Leeds](location)` or `[DHT]{"entity": "role", "value": "deputy_head"}` -> text and
    entities (character spans in the plain text)."""
    text, entities, last = "", [], 0
    for match in ANNOTATION.finditer(line):
        text += line[last:match.start()]
        span = match["text"]
        if match["spec"]:
            spec = json.loads(match["spec"])
            name, value = spec["entity"], str(spec.get("value", span))
        else:
            name, _, value = match["name"].partition(":")  # also the old [x](entity:value)
        entities.append(Entity(name, value or span, len(text), len(text) + len(span)))
        text, last = text + span, match.end()
    return text + line[last:], entities


def load_examples(source: str) -> list[Example]:
    """Every intent example of a Rasa 3 NLU YAML document, annotations parsed."""
    examples = []
    for item in (yaml.safe_load(source) or {}).get("nlu") or []:
        for line in str(item.get("examples", "")).splitlines() if "intent" in item else []:
            if line.strip().startswith("- "):
                text, entities = parse_annotated(line.strip()[2:].strip())
                examples.append(Example(text, item["intent"], entities))
    return examples


def fallback_threshold(config: str) -> float:
    """The FallbackClassifier threshold in a config.yml (0.3, Rasa's default, when not set)."""
    pipeline = (yaml.safe_load(config) or {}).get("pipeline") or []
    found = [c for c in pipeline if c.get("name") == "FallbackClassifier"]
    return float(found[0].get("threshold", 0.3)) if found else 0.0


@dataclass(frozen=True)
class Prf:
    """Precision, recall and F1 of one label (or of all), and how many examples it has."""

    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class IntentMetrics:
    accuracy: float
    macro_f1: float
    weighted_f1: float  # by support
    per_intent: dict[str, Prf]


@dataclass(frozen=True)
class EntityMetrics:
    precision: float
    recall: float
    f1: float
    support: int  # annotations
    per_entity: dict[str, Prf]


@dataclass(frozen=True)
class Confusion:
    true: str
    predicted: str
    count: int
    example: str  # one message it happened to


@dataclass(frozen=True)
class Confusions:
    labels: list[str]
    counts: list[list[int]]  # rows true, columns predicted, in the order of labels
    worst: list[Confusion]  # most frequent first


@dataclass(frozen=True)
class IntentError:
    text: str
    true: str
    predicted: str
    confidence: float


@dataclass(frozen=True)
class EntityError:
    text: str
    missed: list[Entity]
    spurious: list[Entity]


@dataclass(frozen=True)
class ParseLatency:
    """Milliseconds per message, one message at a time through Rasa's HTTP API."""

    median: float
    p95: float


@dataclass(frozen=True)
class Report:
    """Every figure and error of a held-out evaluation."""

    examples: int
    figures: dict[str, float]  # the figures with a target
    targets: dict[str, float]
    met: dict[str, bool]
    intent: IntentMetrics
    entities: EntityMetrics
    fallback_threshold: float
    below_threshold: int  # messages that would get a clarifying question
    confusions: Confusions
    intent_errors: list[IntentError]
    entity_errors: list[EntityError]
    # wrong answers given with confidence at or above the fallback threshold: answered wrongly
    # rather than asked about, the worst kind of mistake
    confident_wrong: int = 0
    parse_ms: ParseLatency | None = None  # when measured through a Rasa server

    def as_json(self) -> dict[str, Any]:
        """report.json's content."""
        document = asdict(self)
        if self.parse_ms is None:
            del document["parse_ms"]
        return document


def _prf(tp: int, fp: int, fn: int, support: int) -> Prf:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Prf(precision, recall, f1, support)


def intent_metrics(true: list[str], pred: list[str]) -> IntentMetrics:
    """Accuracy, per-intent precision/recall/F1/support, macro F1 and support-weighted F1."""
    hits = Counter(t for t, p in zip(true, pred, strict=True) if t == p)
    true_n, pred_n, total = Counter(true), Counter(pred), len(true) or 1
    per = {label: _prf(hits[label], pred_n[label] - hits[label], true_n[label] - hits[label],
                       true_n[label]) for label in sorted(true_n | pred_n)}
    return IntentMetrics(accuracy=sum(hits.values()) / total,
                         macro_f1=sum(m.f1 for m in per.values()) / (len(per) or 1),
                         weighted_f1=sum(m.f1 * m.support for m in per.values()) / total,
                         per_intent=per)


def same_entity(a: Entity, b: Entity) -> bool:
    """Same type, same value (ignoring case and spacing), overlapping spans."""
    values = {" ".join(x.value.casefold().split()) for x in (a, b)}
    return a.entity == b.entity and len(values) == 1 and a.start < b.end and b.start < a.end


def match_entities(gold: list[Entity],
                   pred: list[Entity]) -> tuple[list[Entity], list[Entity], list[Entity]]:
    """(annotations found, annotations missed, spurious predictions), duplicates counted once."""
    unique: list[Entity] = []
    for entity in pred:
        if not any(same_entity(entity, kept) for kept in unique):
            unique.append(entity)
    found: list[Entity] = []
    missed: list[Entity] = []
    for annotation in gold:
        hit = next((p for p in unique if same_entity(annotation, p)), None)
        (found if hit else missed).append(annotation)
        if hit:
            unique.remove(hit)
    return found, missed, unique


EntityMistakes = list[tuple[int, list[Entity], list[Entity]]]  # example index, missed, spurious


def entity_metrics(gold: list[list[Entity]],
                   pred: list[list[Entity]]) -> tuple[EntityMetrics, EntityMistakes]:
    """Precision/recall/F1 overall and per entity type (support = annotations of that type), and
    the mistakes: (example index, missed annotations, spurious predictions)."""
    tp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    mistakes: EntityMistakes = []
    for index, (wanted, predictions) in enumerate(zip(gold, pred, strict=True)):
        found, missed, spurious = match_entities(wanted, predictions)
        tp.update(e.entity for e in found)
        fn.update(e.entity for e in missed)
        fp.update(e.entity for e in spurious)
        mistakes += [(index, missed, spurious)] if missed or spurious else []
    per = {name: _prf(tp[name], fp[name], fn[name], tp[name] + fn[name])
           for name in sorted(tp | fn | fp)}
    overall = _prf(sum(tp.values()), sum(fp.values()), sum(fn.values()),
                   sum(tp.values()) + sum(fn.values()))
    return EntityMetrics(overall.precision, overall.recall, overall.f1, overall.support,
                         per), mistakes


def best_intent(parse: Mapping[str, Any]) -> tuple[str, float]:
    """The best intent other than nlu_fallback (the FallbackClassifier's), with its confidence."""
    ranking = [r for r in parse.get("intent_ranking") or [parse["intent"]] if r["name"] != FALLBACK]
    best = max(ranking, key=lambda r: float(r["confidence"]), default=None)
    return (str(best["name"]), float(best["confidence"])) if best else (FALLBACK, 0.0)


def confusions(true: list[str], pred: list[str], texts: list[str], top: int = 10) -> Confusions:
    """The confusion matrix (rows true, columns predicted) and the `top` most frequent mistakes
    (true -> predicted, count, one example message)."""
    labels, pairs = sorted(set(true) | set(pred)), Counter(zip(true, pred, strict=True))
    worst = sorted(((n, t, p) for (t, p), n in pairs.items() if t != p), key=lambda c: -c[0])
    return Confusions(labels, [[pairs[(t, p)] for p in labels] for t in labels],
                      [Confusion(t, p, n, next(x for x, a, b in zip(texts, true, pred, strict=True)
                                               if (a, b) == (t, p)))
                       for n, t, p in worst[:top]])


def evaluate(examples: list[Example], parses: list[Mapping[str, Any]],
             threshold: float) -> Report:
    """Every figure and error of the report, from the held-out examples and their parses."""
    best = [best_intent(p) for p in parses]
    true, pred = [e.intent for e in examples], [name for name, _ in best]
    texts = [e.text for e in examples]
    found = [[Entity(e["entity"], str(e.get("value")), e["start"], e["end"])
              for e in p.get("entities") or []] for p in parses]
    intents = intent_metrics(true, pred)
    entities, mistakes = entity_metrics([e.entities for e in examples], found)
    figures = {"intent_accuracy": intents.accuracy, "macro_f1": intents.macro_f1,
               "entity_recall": entities.recall}
    return Report(
        examples=len(examples), figures=figures, targets=TARGETS,
        met={key: figures[key] >= target for key, target in TARGETS.items()},
        intent=intents, entities=entities, fallback_threshold=threshold,
        below_threshold=sum(confidence < threshold for _, confidence in best),
        confusions=confusions(true, pred, texts),
        intent_errors=[IntentError(x, t, p, c)
                       for x, t, (p, c) in zip(texts, true, best, strict=True) if t != p],
        entity_errors=[EntityError(texts[i], missed, spurious)
                       for i, missed, spurious in mistakes],
        confident_wrong=sum(t != p and c >= threshold
                            for t, (p, c) in zip(true, best, strict=True)))
