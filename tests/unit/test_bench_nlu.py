"""make bench-nlu's pipelines (ops/bench_nlu.py): config.yml's, the sparse-only one, and the
encoder variants it compares. Nothing here trains or times anything."""

from __future__ import annotations

import argparse

import pytest
import yaml

from ops.bench_nlu import EMBEDDINGS, parse_encoders, pipeline_config


def embeddings(config: str) -> list[dict[str, object]]:
    return [c for c in yaml.safe_load(config)["pipeline"] if c["name"] == EMBEDDINGS]


def test_the_sparse_pipeline_has_no_embeddings_and_config_has_some() -> None:
    assert embeddings(pipeline_config("sparse")) == []
    assert embeddings(pipeline_config("config"))


def test_encoder_variants_replace_the_embeddings_in_order_with_their_scales() -> None:
    variant = embeddings(pipeline_config("config", encoders=parse_encoders("int8:16+use:8")))
    assert variant == [{"name": EMBEDDINGS, "weights": "int8", "scale": 16.0},
                       {"name": EMBEDDINGS, "weights": "use", "scale": 8.0}]
    names = [c["name"] for c in yaml.safe_load(pipeline_config("config"))["pipeline"]]
    variant_names = [c["name"] for c in yaml.safe_load(pipeline_config(
        "config", encoders=parse_encoders("use:4")))["pipeline"]]
    assert [n for n in variant_names if n != EMBEDDINGS] == [n for n in names if n != EMBEDDINGS]
    assert variant_names.index(EMBEDDINGS) == names.index(EMBEDDINGS)


def test_weights_override_only_the_first_encoder_and_drop_its_pinned_hash() -> None:
    first, second = embeddings(pipeline_config(
        "config", scale=4.0, weights="fp32", encoders=parse_encoders("int8:16+use:8")))
    assert first == {"name": EMBEDDINGS, "weights": "fp32", "scale": 4.0}
    assert second["weights"] == "use" and second["scale"] == 8.0


@pytest.mark.parametrize("spec", ["int4:16", "int8", "int8:16+bert:2"])
def test_an_unknown_encoder_or_a_missing_scale_is_refused(spec: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="WEIGHTS:SCALE"):
        parse_encoders(spec)
