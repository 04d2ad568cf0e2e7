"""The sentence encoder (rasa_components/encoder.py) on the pinned weights: what it returns for
one message and for a batch, the int8 export against the original fp32 weights, and refusing a
weights file that is not the pinned one. Run with the engine's Python (make test)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rasa_components import encoder

DEADLINE = "when is the deadline to apply"
CUT_OFF = "whats the cut-off date for applications"
HUMAN = "can I talk to a real person please"


def test_one_message_gives_a_unit_vector_of_384_dimensions() -> None:
    vector = encoder.load().embed([DEADLINE])
    assert vector.shape == (1, 384)
    assert np.linalg.norm(vector[0]) == pytest.approx(1.0, abs=1e-5)


def test_a_message_in_a_batch_gets_the_same_vector_as_alone() -> None:
    model = encoder.load()
    texts = [DEADLINE, "hi", HUMAN * 3, CUT_OFF]
    batch = model.embed(texts)
    for text, row in zip(texts, batch, strict=True):
        assert np.allclose(row, model.embed([text])[0], atol=1e-4)


def test_paraphrases_are_closer_than_different_requests() -> None:
    deadline, cut_off, human = encoder.load().embed([DEADLINE, CUT_OFF, HUMAN])
    assert float(deadline @ cut_off) > float(deadline @ human) + 0.2


def test_the_int8_export_agrees_with_the_original_fp32_weights() -> None:
    texts = [DEADLINE, CUT_OFF, HUMAN, "I manage a nursery. Is there an NPQ for someone like me?"]
    int8 = encoder.load("int8", encoder.INT8_SHA256).embed(texts)
    fp32 = encoder.load("fp32", encoder.FP32_SHA256).embed(texts)
    cosines = (int8 * fp32).sum(axis=1)
    assert cosines.min() > 0.97


def test_mean_pooling_ignores_padding() -> None:
    hidden = np.array([[[3.0, 4.0], [100.0, 100.0]]], dtype=np.float32)
    pooled = encoder.mean_pool(hidden, np.array([[1, 0]], dtype=np.int64))
    assert np.allclose(pooled, [[0.6, 0.8]])


def test_weights_that_are_not_the_pinned_file_are_refused(tmp_path: Path) -> None:
    tampered = tmp_path / "model.onnx"
    tampered.write_bytes(b"not the model")
    with pytest.raises(encoder.WeightsError, match="not the pinned file"):
        encoder.verified(tampered, encoder.INT8_SHA256)
    with pytest.raises(encoder.WeightsError, match="sha256"):
        encoder.load("int8", "0" * 64)


def test_the_universal_sentence_encoder_gives_unit_vectors_of_512_dimensions() -> None:
    model = encoder.load("use", encoder.USE_SHA256)
    texts = [DEADLINE, "hi", CUT_OFF]
    batch = model.embed(texts)
    assert batch.shape == (3, 512)
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-4)
    for text, row in zip(texts, batch, strict=True):  # no n-gram leaks between messages
        assert np.allclose(row, model.embed([text])[0], atol=1e-4)
    assert model.embed([]).shape == (0, 512)


def test_the_universal_sentence_encoder_puts_paraphrases_closer() -> None:
    deadline, cut_off, human = encoder.load("use", encoder.USE_SHA256).embed(
        [DEADLINE, CUT_OFF, HUMAN])
    assert float(deadline @ cut_off) > float(deadline @ human) + 0.2


def test_the_universal_sentence_encoder_files_are_checked() -> None:
    with pytest.raises(encoder.WeightsError, match="not the pinned file"):
        encoder.load("use", encoder.INT8_SHA256)
    assert encoder.sha256(encoder.weights_file("use").parent / "sp.model") == (
        encoder.USE_TOKENIZER_SHA256)
