"""The threshold calibration's pure parts (ops/calibrate.py): folds of the training data and the
choice of threshold from cross-validated predictions."""

from __future__ import annotations

import pytest

from ops.calibrate import ambiguity_table, folds, table

ITEMS: list[dict[str, object]] = [
    {"intent": "find_hub", "examples": "- hub near [Leeds](location)\n- nearest hub\n- hubs?\n"},
    {"regex": "postcode", "examples": "- [A-Z]{1,2}[0-9]\n"},
]


def test_each_fold_holds_out_every_kth_example_and_trains_on_the_rest() -> None:
    (train_0, held_0), (train_1, held_1) = folds(ITEMS, 2)
    assert held_0 == [("hub near Leeds", "find_hub"), ("hubs?", "find_hub")]
    assert held_1 == [("nearest hub", "find_hub")]
    assert train_1[0] == {"intent": "find_hub",
                          "examples": "- hub near [Leeds](location)\n- hubs?\n"}
    assert ITEMS[1] in train_0 and ITEMS[1] in train_1  # regexes are always trained on


def test_the_threshold_is_the_highest_that_loses_few_right_answers(
        capsys: pytest.CaptureFixture[str]) -> None:
    right = [(True, 0.95)] * 97 + [(True, 0.55)] * 3
    wrong = [(False, 0.5), (False, 0.62), (False, 0.9)]
    assert table(right + wrong) == 0.55  # at 0.60, 3% of the right answers would fall back
    assert "103 messages, 3 wrong" in capsys.readouterr().out


def test_an_ambiguity_threshold_also_withholds_answers_whose_runner_up_is_close(
        capsys: pytest.CaptureFixture[str]) -> None:
    scored = [(True, 0.9, 0.8), (True, 0.6, 0.05), (False, 0.7, 0.08), (False, 0.55, 0.3),
              (False, 0.3, 0.01)]
    ambiguity_table(scored, 0.5)
    rows = {line.split()[0]: line.split()[1:] for line in capsys.readouterr().out.splitlines()
            if line.strip()[:1].isdigit()}
    assert rows["0.00"] == ["2", "0", "(0.0%)"]  # the threshold alone: two wrong answers given
    # a runner-up within 0.1: one more wrong and one more right answer fall back
    assert rows["0.10"] == ["1", "1", "(50.0%)"]
