"""The intent groups (npq/intents.py) against domain.yml, and every other place that names
intents against the groups."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import yaml

from actions.small_talk import INTENT_TITLES, REPLIED_BY_NAME
from bot.commands import DEEP_LINKS
from bot.commands import JOURNEYS as COMMAND_JOURNEYS
from bot.review import TITLES
from npq.intents import (
    ANSWERS,
    ASKS_SOMETHING_ELSE,
    ENDINGS,
    FALLBACK,
    INTENTS,
    JOURNEYS,
    NO_FEEDBACK,
    OUT_OF_SCOPE,
    SMALL_TALK,
)

DOMAIN = yaml.safe_load((Path(__file__).resolve().parents[2] / "domain.yml").read_text())


def test_every_domain_intent_is_in_exactly_one_group() -> None:
    grouped = Counter([*SMALL_TALK, *JOURNEYS, *ENDINGS, *ANSWERS, OUT_OF_SCOPE])
    assert [name for name, count in grouped.items() if count > 1] == []
    assert set(grouped) == set(DOMAIN["intents"]) == set(INTENTS)
    assert FALLBACK not in DOMAIN["intents"]  # the FallbackClassifier's, never trained


def test_inside_a_form_only_answers_and_out_of_scope_can_answer_its_question() -> None:
    assert set(INTENTS) - ASKS_SOMETHING_ELSE == {*ANSWERS, OUT_OF_SCOPE}


def test_only_the_journeys_answers_ask_whether_they_helped() -> None:
    assert {*INTENTS, FALLBACK} - set(JOURNEYS) == NO_FEEDBACK


def test_intents_named_elsewhere_are_domain_intents() -> None:
    named = {*TITLES, *INTENT_TITLES, *REPLIED_BY_NAME, *DEEP_LINKS.values(),
             *(intent for intent, _ in COMMAND_JOURNEYS.values())}
    assert named - set(INTENTS) == set()
    assert set(TITLES) == set(INTENTS)  # reviewers can label with any intent
