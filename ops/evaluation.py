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
from dataclasses import asdict, dataclass, field

import yaml

from npq.intents import FALLBACK
from ops.paths import ROOT

HELDOUT = ROOT / "tests" / "nlu" / "heldout.yml"
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


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def intent_metrics(true: list[str], pred: list[str]) -> dict:
    """Accuracy, per-intent precision/recall/F1/support, macro F1 and support-weighted F1."""
    hits = Counter(t for t, p in zip(true, pred, strict=True) if t == p)
    true_n, pred_n, total = Counter(true), Counter(pred), len(true) or 1
    per = {label: {**_prf(hits[label], pred_n[label] - hits[label], true_n[label] - hits[label]),
                   "support": true_n[label]} for label in sorted(true_n | pred_n)}
    return {"accuracy": sum(hits.values()) / total,
            "macro_f1": sum(m["f1"] for m in per.values()) / (len(per) or 1),
            "weighted_f1": sum(m["f1"] * m["support"] for m in per.values()) / total,
            "per_intent": per}


def same_entity(a: Entity, b: Entity) -> bool:
    """Same type, same value (ignoring case and spacing), overlapping spans."""
    values = {" ".join(x.value.casefold().split()) for x in (a, b)}
    return a.entity == b.entity and len(values) == 1 and a.start < b.end and b.start < a.end


def match_entities(gold: list[Entity], pred: list[Entity]) -> tuple[list[Entity], ...]:
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


def entity_metrics(gold: list[list[Entity]], pred: list[list[Entity]]) -> dict:
    """Precision/recall/F1 overall and per entity type (support = annotations of that type), and
    the errors: (example index, missed annotations, spurious predictions)."""
    tp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    errors = []
    for index, (wanted, predictions) in enumerate(zip(gold, pred, strict=True)):
        found, missed, spurious = match_entities(wanted, predictions)
        tp.update(e.entity for e in found)
        fn.update(e.entity for e in missed)
        fp.update(e.entity for e in spurious)
        errors += [(index, missed, spurious)] if missed or spurious else []
    per = {name: {**_prf(tp[name], fp[name], fn[name]), "support": tp[name] + fn[name]}
           for name in sorted(tp | fn | fp)}
    overall = _prf(sum(tp.values()), sum(fp.values()), sum(fn.values()))
    return {**overall, "support": sum(tp.values()) + sum(fn.values()), "per_entity": per,
            "errors": errors}


def best_intent(parse: dict) -> tuple[str, float]:
    """The best intent other than nlu_fallback (the FallbackClassifier's), with its confidence."""
    ranking = [r for r in parse.get("intent_ranking") or [parse["intent"]] if r["name"] != FALLBACK]
    best = max(ranking, key=lambda r: float(r["confidence"]), default=None)
    return (str(best["name"]), float(best["confidence"])) if best else (FALLBACK, 0.0)


def confusions(true: list[str], pred: list[str], texts: list[str], top: int = 10) -> dict:
    """The confusion matrix (rows true, columns predicted) and the `top` most frequent mistakes
    (true -> predicted, count, one example message)."""
    labels, pairs = sorted(set(true) | set(pred)), Counter(zip(true, pred, strict=True))
    worst = sorted(((n, t, p) for (t, p), n in pairs.items() if t != p), key=lambda c: -c[0])
    return {"labels": labels, "counts": [[pairs[(t, p)] for p in labels] for t in labels],
            "worst": [{"true": t, "predicted": p, "count": n, "example": next(
                x for x, a, b in zip(texts, true, pred, strict=True) if (a, b) == (t, p))}
                for n, t, p in worst[:top]]}


def evaluate(examples: list[Example], parses: list[dict], threshold: float) -> dict:
    """Every figure and error of the report, from the held-out examples and their parses."""
    best = [best_intent(p) for p in parses]
    true, pred = [e.intent for e in examples], [name for name, _ in best]
    texts = [e.text for e in examples]
    found = [[Entity(e["entity"], str(e.get("value")), e["start"], e["end"])
              for e in p.get("entities") or []] for p in parses]
    intents = intent_metrics(true, pred)
    entities = entity_metrics([e.entities for e in examples], found)
    figures = {"intent_accuracy": intents["accuracy"], "macro_f1": intents["macro_f1"],
               "entity_recall": entities["recall"]}
    return {"examples": len(examples), "figures": figures, "targets": TARGETS,
            "met": {key: figures[key] >= target for key, target in TARGETS.items()},
            "intent": intents, "entities": entities,
            "fallback_threshold": threshold,
            "below_threshold": sum(confidence < threshold for _, confidence in best),
            "confusions": confusions(true, pred, texts),
            "intent_errors": [{"text": x, "true": t, "predicted": p, "confidence": c}
                              for x, t, (p, c) in zip(texts, true, best, strict=True) if t != p],
            "entity_errors": [{"text": texts[i], "missed": [asdict(e) for e in missed],
                               "spurious": [asdict(e) for e in spurious]}
                              for i, missed, spurious in entities.pop("errors")]}
