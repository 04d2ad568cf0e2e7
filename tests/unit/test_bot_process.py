"""The real `python -m bot` process against the stand-in Bot API (Rasa unreachable on purpose):
the menu registered at start, long polling and webhook modes, a clean stop on SIGTERM, and
nothing secret or personal in its logs."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from bot.render import UNAVAILABLE
from bot.webhook import SECRET_HEADER
from ops.paths import APP_PYTHON, ROOT
from ops.ports import free_port
from tests.support.fake_bot_api import FakeBotAPI
from tests.support.updates import text_update

MENU = ["start", "help", "programmes", "hubs", "deadlines", "partner", "remind", "stop", "forget"]
SECRET_TEXT = "my email is sam.patel@school.org.uk"



@asynccontextmanager
async def bot_process(fake: FakeBotAPI, database: str,
                      **env: str) -> AsyncIterator[asyncio.subprocess.Process]:
    environment = {**os.environ, "TELEGRAM_API_BASE_URL": fake.base_url,
                   "TELEGRAM_BOT_TOKEN": fake.token, "DATABASE_URL": database,
                   "RASA_URL": f"http://127.0.0.1:{free_port()}", "LOG_LEVEL": "INFO",
                   "PENDING_RETRY_SECONDS": "3600", "REMINDER_CHECK_SECONDS": "3600", **env}
    process = await asyncio.create_subprocess_exec(
        str(APP_PYTHON), "-m", "bot", cwd=ROOT, env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def stop(process: asyncio.subprocess.Process) -> str:
    """SIGTERM, then the exit code must be 0; the process's log."""
    process.send_signal(signal.SIGTERM)
    output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, output.decode()
    return output.decode()


async def test_polling_registers_the_menu_answers_and_stops_cleanly(database: str) -> None:
    async with FakeBotAPI() as fake, bot_process(fake, database) as process:
        menu = await fake.wait_for("setMyCommands", timeout=60)
        assert [c["command"] for c in menu.params["commands"]] == MENU
        await fake.wait_for("getUpdates", timeout=30)
        fake.push_update(text_update(SECRET_TEXT))
        apology = await fake.wait_for("sendMessage", timeout=30)  # Rasa is not there
        assert apology.params["text"] == UNAVAILABLE
        log = await stop(process)
    assert fake.token not in log and fake.token.split(":")[1] not in log
    assert SECRET_TEXT not in log and "sam.patel" not in log
    assert "Rasa unavailable, message kept" in log


async def test_webhook_mode_refuses_requests_without_the_secret(database: str) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    async with FakeBotAPI() as fake, bot_process(
            fake, database, WEBHOOK_URL=f"{url}/tg", WEBHOOK_PORT=str(port),
            WEBHOOK_SECRET="s3cret-token_for-tests") as process:
        registered = await fake.wait_for("setWebhook", timeout=60)
        assert registered.params["secret_token"] == "s3cret-token_for-tests"
        assert registered.params["url"] == f"{url}/tg"
        update = {"update_id": 1, **text_update("hub near leeds")}
        async with httpx.AsyncClient(base_url=url) as http:
            assert (await http.get("/healthz")).json() == {"status": "ok", "rasa": "down"}
            assert (await http.post("/tg", json=update)).status_code == 403
            assert (await http.post("/tg", json=update, headers={
                SECRET_HEADER: "s3cret-token_for-test"})).status_code == 403
            assert fake.calls[-1].method == "setWebhook"  # nothing was handled
            accepted = await http.post("/tg", json=update,
                                       headers={SECRET_HEADER: "s3cret-token_for-tests"})
            assert accepted.status_code == 200
        apology = await fake.wait_for("sendMessage", timeout=30)
        assert apology.params["text"] == UNAVAILABLE
        assert not [c for c in fake.calls if c.method == "getUpdates"]
        log = await stop(process)
    assert "s3cret" not in log and fake.token not in log
