"""Export a (fine-tuned) MiniLM to ONNX as the engine's runner reads it (inputs input_ids and
attention_mask, output last_hidden_state), quantise it (onnxruntime dynamic int8), and compare
onnxruntime's pooled embeddings with torch's (cosine) and the head's accuracy on each.

    python scripts/finetune/export_onnx.py --state /work/ft-data/HWU64.pt --dataset HWU64 \
        --split valid --scale 16 --out /work/ft-data/onnx-HWU64
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from onnxruntime.quantization import QuantType, quantize_dynamic

sys.path.insert(0, str(Path(__file__).parent))
import minilm  # noqa: E402
from run import OUT, head_accuracy, read_split, sparse_features  # noqa: E402


class Hidden(torch.nn.Module):
    def __init__(self, model: minilm.MiniLM) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model.hidden(input_ids, attention_mask)


def ort_embed(path: Path, tokenizer, texts: list[str], threads: int) -> np.ndarray:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    lengths = [len(e.ids) for e in tokenizer.encode_batch(texts)]
    order = sorted(range(len(texts)), key=lengths.__getitem__)
    out = np.zeros((len(texts), minilm.DIMS), dtype=np.float32)
    for start in range(0, len(order), 32):
        chunk = order[start:start + 32]
        ids, mask = minilm.batch_tensors(tokenizer, [texts[i] for i in chunk])
        hidden = session.run(["last_hidden_state"], {"input_ids": ids.numpy(),
                                                     "attention_mask": mask.numpy()})[0]
        m = mask.numpy()[:, :, None].astype(np.float32)
        pooled = (hidden * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        out[chunk] = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--state", type=Path, help="fine-tuned state_dict (default: frozen)")
    parser.add_argument("--dataset", default="HWU64")
    parser.add_argument("--split", default="valid")
    parser.add_argument("--scale", type=float, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    tokenizer = minilm.load_tokenizer()
    model = minilm.load_model()
    if args.state:
        model.load_state_dict(torch.load(args.state))
    model.eval()
    record: dict = {"dataset": args.dataset, "split": args.split, "state": str(args.state),
                    "scale": args.scale}

    fp32, int8 = args.out / "model.onnx", args.out / "model-int8.onnx"
    int8_pc = args.out / "model-int8-perchannel.onnx"
    ids, mask = minilm.batch_tensors(tokenizer, ["where do i apply", "how long is the course"])
    start = time.perf_counter()
    torch.onnx.export(Hidden(model), (ids, mask), str(fp32), input_names=["input_ids",
                      "attention_mask"], output_names=["last_hidden_state"],
                      dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                                    "attention_mask": {0: "batch", 1: "tokens"},
                                    "last_hidden_state": {0: "batch", 1: "tokens"}},
                      opset_version=17, dynamo=False)
    record["export_seconds"] = round(time.perf_counter() - start, 2)
    start = time.perf_counter()
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
    record["quantise_seconds"] = round(time.perf_counter() - start, 2)
    # per-channel weight scales, MatMuls only (the embedding tables stay fp32)
    quantize_dynamic(str(fp32), str(int8_pc), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul"])
    record["fp32_mb"] = round(fp32.stat().st_size / 1e6, 1)
    record["int8_mb"] = round(int8.stat().st_size / 1e6, 1)
    record["int8_perchannel_mb"] = round(int8_pc.stat().st_size / 1e6, 1)

    train_x, train_y = read_split(args.dataset, "train_10")
    other_x, other_y = read_split(args.dataset, args.split)
    sparse = sparse_features(train_x, other_x)
    embeddings = {"torch": (minilm.embed(model, tokenizer, train_x),
                            minilm.embed(model, tokenizer, other_x))}
    for name, path in (("onnx_fp32", fp32), ("onnx_int8", int8),
                       ("onnx_int8_perchannel_matmul", int8_pc)):
        embeddings[name] = (ort_embed(path, tokenizer, train_x, args.threads),
                            ort_embed(path, tokenizer, other_x, args.threads))
    reference = embeddings["torch"][1]
    for name, (t, o) in embeddings.items():
        cosine = (o * reference).sum(1)
        record[name] = {"accuracy": round(head_accuracy(t, o, sparse, train_y, other_y,
                                                        args.scale), 4),
                        "cosine_min": round(float(cosine.min()), 4),
                        "cosine_mean": round(float(cosine.mean()), 4)}
    print(json.dumps(record), flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    with (OUT / "onnx.jsonl").open("a") as out:
        out.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
