"""`make run` starts the bot while Rasa loads its model: `python -m bot --wait-for-rasa` waits
for Rasa and the action server to answer before it takes messages (bot/rasa_client.py)."""

from __future__ import annotations

import asyncio

from tests.support.bot_harness import FakeRasa


async def test_the_bot_waits_until_rasa_and_the_action_server_answer() -> None:
    rasa = FakeRasa(down=True)
    client = rasa.client()
    waiting = asyncio.ensure_future(client.wait_until_healthy(600.0, every=0.01))
    await asyncio.sleep(0.05)  # let it find Rasa down a few times
    assert not waiting.done()
    rasa.down, rasa.actions_down = False, True  # Rasa has loaded; the action server has not
    await asyncio.sleep(0.05)
    assert not waiting.done()
    rasa.actions_down = False
    assert await asyncio.wait_for(waiting, 30.0) is True
    await client.aclose()


async def test_a_rasa_that_never_comes_is_not_waited_for_forever() -> None:
    client = FakeRasa(down=True).client()
    assert await client.wait_until_healthy(0.05, every=0.01) is False
    await client.aclose()
