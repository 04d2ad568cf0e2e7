"""The fp32 all-MiniLM-L6-v2 (BERT, 6 layers, 12 heads, 384 dimensions) as a numpy forward pass
over the original model.safetensors, so the int8 export can be compared with the weights it was
made from without installing torch. Slower than onnxruntime; used to choose, not to serve."""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy.special import erf

Matrix = npt.NDArray[np.float32]
IntMatrix = npt.NDArray[np.int64]
Forward = Callable[[IntMatrix, IntMatrix, IntMatrix], Matrix]  # as rasa_components.encoder's

LAYERS, HEADS, EPS = 6, 12, 1e-12


def read_safetensors(path: Path) -> dict[str, Matrix]:
    """Every F32 tensor of a .safetensors file (an 8-byte header length, a JSON header, data)."""
    data = path.read_bytes()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + size])
    tensors = {}
    for name, spec in header.items():
        if name == "__metadata__" or spec["dtype"] != "F32":
            continue
        start, end = spec["data_offsets"]
        raw = data[8 + size + start:8 + size + end]
        tensors[name] = np.frombuffer(raw, dtype="<f4").reshape(spec["shape"]).copy()
    return tensors


def layer_norm(x: Matrix, weight: Matrix, bias: Matrix) -> Matrix:
    mean = x.mean(axis=-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return np.asarray((x - mean) / np.sqrt(variance + EPS) * weight + bias, dtype=np.float32)


def numpy_forward(path: Path) -> Forward:
    w = read_safetensors(path)

    def linear(x: Matrix, name: str) -> Matrix:
        return x @ w[f"{name}.weight"].T + w[f"{name}.bias"]

    def forward(ids: IntMatrix, mask: IntMatrix, types: IntMatrix) -> Matrix:
        batch, length = ids.shape
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][np.arange(length)][None]
             + w["embeddings.token_type_embeddings.weight"][types])
        x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        blocked = (1.0 - mask[:, None, None, :].astype(np.float32)) * -1e9
        dims = x.shape[-1] // HEADS
        for i in range(LAYERS):
            p = f"encoder.layer.{i}"

            def heads(t: Matrix) -> Matrix:
                return t.reshape(batch, length, HEADS, dims).transpose(0, 2, 1, 3)
            q, k, v = (heads(linear(x, f"{p}.attention.self.{n}")) for n in ("query", "key",
                                                                               "value"))
            scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(dims) + blocked
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, -1)
            x = layer_norm(x + linear(context, f"{p}.attention.output.dense"),
                           w[f"{p}.attention.output.LayerNorm.weight"],
                           w[f"{p}.attention.output.LayerNorm.bias"])
            inner = linear(x, f"{p}.intermediate.dense")
            inner = 0.5 * inner * (1.0 + erf(inner / np.sqrt(2.0)))  # exact GELU
            x = layer_norm(x + linear(inner, f"{p}.output.dense"),
                           w[f"{p}.output.LayerNorm.weight"], w[f"{p}.output.LayerNorm.bias"])
        return np.asarray(x, dtype=np.float32)

    return forward
