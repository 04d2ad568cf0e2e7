"""Contrastive fine-tuning of all-MiniLM-L6-v2 on a 10-shot benchmark, then the pipeline's
linear head (sparse word + char_wb 3-5 counts beside the scaled embedding, logistic regression
as Rasa's LogisticRegressionClassifier fits it) on frozen and on fine-tuned embeddings.

    python scripts/finetune/run.py --dataset HWU64 --split valid --epochs 2 --lr 5e-5
    python scripts/finetune/run.py --dataset HWU64 --split test ...   (final settings only)
    python scripts/finetune/run.py --nlu-timing ...   time the fine-tuning on nlu_data's texts

Appends one JSON line per run to results/finetune/runs.jsonl. Needs the Python 3.11 torch venv
(RESULTS.md); the frozen baseline uses the same code path with zero training steps.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, str(Path(__file__).parent))
import minilm  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = Path("/work/shared/benchmarks")
OUT = ROOT / "results" / "finetune"


def read_split(dataset: str, split: str) -> tuple[list[str], list[str]]:
    folder = BENCHMARKS / dataset / split
    texts = (folder / "seq.in").read_text().splitlines()
    labels = (folder / "label").read_text().splitlines()
    assert len(texts) == len(labels)
    return texts, labels


def nlu_texts(paths: list[Path] | None = None) -> tuple[list[str], list[str]]:
    """Examples with their intents from Rasa NLU files: nlu_data/nlu/*.yml by default (never
    tests/nlu/heldout*.yml)."""
    texts, labels, intent = [], [], ""
    for path in paths or sorted((ROOT / "nlu_data" / "nlu").glob("*.yml")):
        assert "heldout" not in path.name
        for line in path.read_text().splitlines():
            m = re.match(r"\s*-\s*intent:\s*(\S+)", line)
            if m:
                intent = m.group(1)
                continue
            if re.match(r"\s*-\s*(synonym|lookup|regex):", line):
                intent = ""
                continue
            m = re.match(r"\s{4,}-\s+(.+)", line)
            if m and intent:
                texts.append(re.sub(r"\[([^\]]+)\]\([^)]*\)|\[([^\]]+)\]\{[^}]*\}",
                                    lambda x: x.group(1) or x.group(2), m.group(1)))
                labels.append(intent)
    return texts, labels


def batches_supcon(labels: list[str], per_class: int, batch: int,
                   rng: random.Random) -> list[list[int]]:
    """One epoch: every example once, in batches of `batch` made of groups of `per_class`
    examples of one intent (so each anchor has positives in its batch)."""
    by_class: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by_class[label].append(i)
    groups = []
    for members in by_class.values():
        members = members[:]
        rng.shuffle(members)
        for start in range(0, len(members), per_class):
            group = members[start:start + per_class]
            if len(group) >= 2:
                groups.append(group)
    rng.shuffle(groups)
    out, current = [], []
    for group in groups:
        current.extend(group)
        if len(current) >= batch:
            out.append(current)
            current = []
    if len(current) >= 2 * per_class:
        out.append(current)
    return out


def batches_mnrl(labels: list[str], batch: int, rng: random.Random) -> list[list[tuple[int, int]]]:
    """One epoch: every example once as an anchor, paired with another example of its intent;
    within a batch no two pairs share an intent (in-batch negatives are true negatives)."""
    by_class: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by_class[label].append(i)
    pairs = []
    for i, label in enumerate(labels):
        others = [j for j in by_class[label] if j != i]
        pairs.append((i, rng.choice(others)))
    rng.shuffle(pairs)
    out: list[list[tuple[int, int]]] = []
    pending = pairs
    while pending:
        current, seen, rest = [], set(), []
        for pair in pending:
            if len(current) < batch and labels[pair[0]] not in seen:
                current.append(pair)
                seen.add(labels[pair[0]])
            else:
                rest.append(pair)
        out.append(current)
        pending = rest
    return out


def supcon_loss(z: torch.Tensor, y: torch.Tensor, temperature: float) -> torch.Tensor:
    sim = z @ z.T / temperature
    n = z.shape[0]
    self_mask = torch.eye(n, dtype=torch.bool)
    sim = sim.masked_fill(self_mask, -1e9)
    log_prob = sim - torch.logsumexp(sim, dim=1, keepdim=True)
    positives = (y[:, None] == y[None, :]) & ~self_mask
    counts = positives.sum(1).clamp(min=1)
    return -(log_prob * positives).sum(1).div(counts).mean()


def finetune(model: minilm.MiniLM, tokenizer, texts: list[str], labels: list[str],
             args: argparse.Namespace) -> dict:
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    if args.freeze_words:
        model.words.weight.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    optim = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    label_ids = {label: i for i, label in enumerate(sorted(set(labels)))}
    y_all = torch.tensor([label_ids[label] for label in labels])
    plans = []
    for _ in range(args.epochs):
        if args.loss == "supcon":
            plans.extend(batches_supcon(labels, args.per_class, args.batch, rng))
        else:
            plans.extend(batches_mnrl(labels, args.batch // 2, rng))
    if args.max_steps:
        plans = plans[:args.max_steps]
    total = len(plans)
    warmup = max(1, int(0.1 * total))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optim, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup))))
    model.train()
    start = time.perf_counter()
    losses = []
    for plan in plans:
        if args.loss == "supcon":
            ids, mask = minilm.batch_tensors(tokenizer, [texts[i] for i in plan])
            loss = supcon_loss(model(ids, mask), y_all[plan], args.temperature)
        else:
            anchors = [texts[a] for a, _ in plan]
            positives = [texts[p] for _, p in plan]
            ids, mask = minilm.batch_tensors(tokenizer, anchors + positives)
            z = model(ids, mask)
            a, p = z[:len(plan)], z[len(plan):]
            scores = a @ p.T / args.temperature
            loss = torch.nn.functional.cross_entropy(scores, torch.arange(len(plan)))
        optim.zero_grad()
        loss.backward()
        optim.step()
        schedule.step()
        losses.append(float(loss.detach()))
    seconds = time.perf_counter() - start
    model.eval()
    return {"steps": total, "train_seconds": round(seconds, 1),
            "loss_first": round(float(np.mean(losses[:5])), 3) if losses else None,
            "loss_last": round(float(np.mean(losses[-5:])), 3) if losses else None}


def sparse_features(train: list[str], other: list[str]) -> tuple[csr_matrix, csr_matrix]:
    """CountVectorsFeaturizer twice, as config.yml: words, and char_wb 3-5 with min_df 2."""
    words = CountVectorizer(token_pattern=r"(?u)\b\w+\b", lowercase=True)
    chars = CountVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=2, lowercase=True)
    a = hstack([words.fit_transform(train), chars.fit_transform(train)]).tocsr()
    b = hstack([words.transform(other), chars.transform(other)]).tocsr()
    return a, b


def head_accuracy(train_emb: np.ndarray, other_emb: np.ndarray, sparse: tuple | None,
                  y_train: list[str], y_other: list[str], scale: float) -> float:
    a, b = csr_matrix(train_emb * scale), csr_matrix(other_emb * scale)
    if sparse is not None:
        a, b = hstack([sparse[0], a]).tocsr(), hstack([sparse[1], b]).tocsr()
    clf = LogisticRegression(C=1.0, solver="lbfgs", max_iter=200, tol=1e-4,
                             class_weight="balanced", random_state=42)
    clf.fit(a, y_train)
    return float(np.mean(clf.predict(b) == np.array(y_other)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="HWU64")
    parser.add_argument("--split", default="valid", choices=["valid", "test"])
    parser.add_argument("--loss", default="supcon", choices=["supcon", "mnrl"])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--max-steps", type=int, default=0)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--per-class", type=int, default=4)
    parser.add_argument("--temperature", type=float, default=0.05)
    parser.add_argument("--freeze-words", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--scales", type=float, nargs="+", default=[8, 16, 32])
    parser.add_argument("--frozen", action="store_true", help="also score the frozen encoder")
    parser.add_argument("--frozen-scales", type=float, nargs="+",
                        help="scales for the frozen encoder (default: --scales)")
    parser.add_argument("--nlu-timing", action="store_true",
                        help="time the fine-tuning on nlu_data's examples; no evaluation")
    parser.add_argument("--nlu-eval", action="store_true",
                        help="train on nlu_data, score the tuning sets tests/nlu/dev_fresh*.yml")
    parser.add_argument("--save", type=Path, help="save the fine-tuned state_dict here")
    parser.add_argument("--load", type=Path,
                        help="score a saved fine-tuned state_dict (no training)")
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    OUT.mkdir(parents=True, exist_ok=True)
    tokenizer = minilm.load_tokenizer()
    record: dict = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}

    if args.nlu_timing:
        texts, labels = nlu_texts()
        record.update(dataset="nlu_data", examples=len(texts), intents=len(set(labels)))
        model = minilm.load_model()
        record.update(finetune(model, tokenizer, texts, labels, args))
        print(json.dumps(record))
        with (OUT / "runs.jsonl").open("a") as out:
            out.write(json.dumps(record) + "\n")
        return

    if args.nlu_eval:
        args.dataset, args.split = "nlu_data", "dev_fresh"
        train_x, train_y = nlu_texts()
        other_x, other_y = nlu_texts([ROOT / "tests" / "nlu" / "dev_fresh.yml",
                                      ROOT / "tests" / "nlu" / "dev_fresh_phone.yml"])
    else:
        train_x, train_y = read_split(args.dataset, "train_10")
        other_x, other_y = read_split(args.dataset, args.split)
    sparse = sparse_features(train_x, other_x)
    record.update(dataset=args.dataset, examples=len(train_x))
    model = minilm.load_model()
    if args.frozen:
        t, o = minilm.embed(model, tokenizer, train_x), minilm.embed(model, tokenizer, other_x)
        record["frozen"] = {f"x{s:g}": round(head_accuracy(t, o, sparse, train_y, other_y, s), 4)
                            for s in (args.frozen_scales or args.scales)}
        record["frozen"]["dense_only"] = round(
            head_accuracy(t, o, None, train_y, other_y, 16), 4)
        print("frozen", record["frozen"], flush=True)
    if args.load:
        model.load_state_dict(torch.load(args.load))
    if args.epochs > 0 or args.load:
        if not args.load:
            record.update(finetune(model, tokenizer, train_x, train_y, args))
        start = time.perf_counter()
        t = minilm.embed(model, tokenizer, train_x)
        record["embed_train_seconds"] = round(time.perf_counter() - start, 1)
        o = minilm.embed(model, tokenizer, other_x)
        record["tuned"] = {f"x{s:g}": round(head_accuracy(t, o, sparse, train_y, other_y, s), 4)
                           for s in args.scales}
        record["tuned"]["dense_only"] = round(head_accuracy(t, o, None, train_y, other_y, 16), 4)
        if args.save:
            torch.save(model.state_dict(), args.save)
    print(json.dumps(record), flush=True)
    with (OUT / "runs.jsonl").open("a") as out:
        out.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
