"""The benchmarks' bookkeeping (ops/bench.py, ops/bench_load.py): which reply answers a message,
percentiles, and the profile's top table. The benchmarks themselves print figures; nothing here
times anything."""

from __future__ import annotations

import math

from ops.bench import percentile, top_table
from ops.bench_load import Load
from ops.fake_bot_api import ApiCall, FakeBotAPI

BUTTONS = {"inline_keyboard": [[{"text": "About NPQH", "callback_data": "x"}]]}


async def test_a_message_is_answered_by_the_first_reply_with_buttons() -> None:
    async with FakeBotAPI() as fake:
        load = Load()
        message = load.send(fake, 7, "is there a hub near Leeds")
        assert fake.updates[-1]["message"]["text"] == "is there a hub near Leeds"
        load.observe(ApiCall("sendChatAction", {"chat_id": 7, "action": "typing"}))
        load.observe(ApiCall("sendMessage", {"chat_id": 7, "text": "Still working…"}))
        assert message.first_reply is not None and message.answered is None
        assert load.idle(range(7, 8)) == []
        load.observe(ApiCall("sendMessage", {"chat_id": 8, "text": "someone else's",
                                             "reply_markup": BUTTONS}))
        assert message.answered is None
        load.observe(ApiCall("sendMessage", {"chat_id": 7, "text": "Hubs near Leeds: ...",
                                             "reply_markup": BUTTONS}))
        assert message.answered is not None and message.answered >= message.first_reply
        assert load.done.is_set() and not load.outstanding


def test_percentiles_count_a_lost_message_as_never() -> None:
    assert percentile([0.1, 0.2, 0.3, 0.4], 0.5) == 0.2
    assert percentile([0.1, math.inf], 0.99) == math.inf
    assert math.isnan(percentile([], 0.5))


def test_the_profile_table_names_where_the_samples_were() -> None:
    collapsed = "\n".join([
        "main (rasa/__main__.py:1);run (rasa/core/actions/action.py:9);"
        "validate (/x/site-packages/jsonschema/validators.py:3) 6",
        "main (rasa/__main__.py:1);process (rasa/nlu/classifiers/x.py:2) 3",
        "main (rasa/__main__.py:1) 1",
    ])
    table = top_table(collapsed)
    assert "profile: 10 samples" in table
    assert "| 60% | 60% | validate (jsonschema/validators.py) |" in table
    assert "| 60% | jsonschema |" in table and "| 30% | rasa/nlu |" in table
    assert "main (rasa/__main__.py)" not in table  # in every sample: the server's loop
