"""Talk to the Rasa server's REST channel over HTTP (our code never imports `rasa`)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

WEBHOOK = "/webhooks/rest/webhook"
METADATA_KEY = "npq_key"  # the bot's key for a user message, in the message's metadata
EXPECTED_WAIT = "/front/wait"  # answered by the front (ops/rasa_front.py), not by Rasa


class RasaUnavailable(Exception):
    """Rasa (or the action server behind it) did not answer in time or answered with an error."""


@dataclass(frozen=True)
class RasaButton:
    title: str
    payload: str


@dataclass(frozen=True)
class RasaReply:
    text: str | None
    buttons: tuple[RasaButton, ...] = ()
    image: str | None = None
    custom: dict[str, Any] | None = None  # instructions for the front end, never shown


def wants_erasure(replies: list[RasaReply]) -> bool:
    """The user confirmed "forget me": the front end must erase Rasa's copy of the chat too."""
    return any(r.custom and r.custom.get("erase_conversation") is True for r in replies)


def wants_location(replies: list[RasaReply]) -> bool:
    """The assistant asked where: a front end may offer a "share my location" button."""
    return any(r.custom and r.custom.get("ask_location") is True for r in replies)


def is_command(text: str) -> bool:
    """Rasa reads a leading '/' as a forced intent, so such text must never reach it as typed."""
    return text.lstrip().startswith("/")


def parse_replies(body: Any) -> list[RasaReply]:
    if not isinstance(body, list):
        raise RasaUnavailable(f"unexpected reply from Rasa: {type(body).__name__}")
    replies = []
    for item in body:
        if not isinstance(item, dict):
            continue
        buttons = tuple(
            RasaButton(str(b.get("title", "")), str(b.get("payload", "")))
            for b in item.get("buttons") or [] if isinstance(b, dict) and b.get("payload")
        )
        custom = item.get("custom") if isinstance(item.get("custom"), dict) else None
        if item.get("text") or buttons or item.get("image") or custom:
            replies.append(RasaReply(item.get("text"), buttons, item.get("image"), custom))
    return replies


class RasaClient:
    """One shared HTTP client per process; `aclose()` it on shutdown. `action_server_url` (its
    webhook URL) lets `healthy()` tell an action server that is down from an action that failed."""

    def __init__(self, base_url: str, *, timeout: float = 30.0,
                 transport: httpx.AsyncBaseTransport | None = None,
                 action_server_url: str | None = None, token: str | None = None) -> None:
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport,
                                       params={"token": token} if token else None)
        self._timeout = timeout
        self._action_health = (action_server_url.rstrip("/").removesuffix("/webhook") + "/health"
                               if action_server_url else None)

    async def healthy(self, *, actions: bool = True) -> bool:
        """Whether Rasa answers (and the action server, when its URL is known), within 3 s."""
        urls = ["/"] + ([self._action_health] if actions and self._action_health else [])
        for url in urls:
            try:
                response = await self._http.get(url, timeout=3.0)
            except httpx.HTTPError:
                return False
            if response.status_code != 200:
                return False
        return True

    async def wait_until_healthy(self, timeout: float, *, every: float = 0.5) -> bool:
        """Wait for Rasa (its model loaded) and the action server to answer, at most `timeout`
        seconds: `make run` starts the bot while Rasa loads, and the first message should find
        it ready. Whether they answered."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not await self.healthy():
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(every)  # a readiness probe interval, not synchronisation
        return True

    @property
    def knows_action_server(self) -> bool:
        return self._action_health is not None

    async def tracker_state(self, sender: str) -> dict[str, Any]:
        """The conversation's current state without its events: `latest_message` (the parse of
        the user's last message: text, intent, intent_ranking, entities), `active_loop`
        (the form asking questions, if any), `slots`."""
        try:
            response = await self._http.get(f"/conversations/{quote(sender, safe='')}/tracker",
                                            params={"include_events": "NONE"}, timeout=5.0)
            response.raise_for_status()
            state = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise RasaUnavailable(f"{type(error).__name__}: {error}") from error
        if not isinstance(state, dict):
            raise RasaUnavailable(f"unexpected tracker from Rasa: {type(state).__name__}")
        return state

    async def has_history(self, sender: str) -> bool:
        """Whether Rasa remembers this person saying anything (a returning user)."""
        latest = (await self.tracker_state(sender)).get("latest_message") or {}
        if not isinstance(latest, dict):
            return False
        return bool(latest.get("text") or (latest.get("intent") or {}).get("name"))

    async def expected_wait(self, sender: str) -> float | None:
        """How many seconds a turn of `sender` sent now is expected to take, queue included, as
        the front before the Rasa servers estimates it; None without a front (or no answer)."""
        try:
            response = await self._http.get(EXPECTED_WAIT, params={"sender": sender},
                                            timeout=2.0)
            if response.status_code != 200:
                return None
            seconds = response.json().get("seconds")
        except (httpx.HTTPError, ValueError, AttributeError):
            return None
        return float(seconds) if isinstance(seconds, (int, float)) else None

    async def send_text(self, sender: str, text: str, *, key: str | None = None,
                        queued: float = 0.0) -> list[RasaReply]:
        """Forward what a user typed. Refuses text Rasa would read as a forced intent. `key`
        goes with it as the message's metadata (see `finished_turn`). `queued`: seconds the
        turn is expected to wait in the front, added to the timeout (a queue is not Rasa
        failing)."""
        if is_command(text):
            raise ValueError("user text starting with '/' must be handled as a command")
        return await self._post(sender, text, key, queued)

    async def send_payload(self, sender: str, payload: str, *, key: str | None = None,
                           queued: float = 0.0) -> list[RasaReply]:
        """Send a payload we built ourselves or that Rasa gave us on a button."""
        return await self._post(sender, payload, key, queued)

    async def finished_turn(self, sender: str, key: str) -> list[RasaReply] | None:
        """The replies of the turn Rasa ran for the message sent with `key` (its metadata), if
        Rasa ran it: a turn that finished after the bot stopped waiting is not run again. None
        when Rasa never saw the message; RasaUnavailable while that turn is still running."""
        try:
            response = await self._http.get(f"/conversations/{quote(sender, safe='')}/tracker",
                                            params={"include_events": "AFTER_RESTART"},
                                            timeout=10.0)
            response.raise_for_status()
            events = response.json().get("events") or []
        except (httpx.HTTPError, ValueError, AttributeError) as error:
            raise RasaUnavailable(f"{type(error).__name__}: {error}") from error
        start = next((i for i, e in enumerate(events) if isinstance(e, dict)
                      and e.get("event") == "user"
                      and (e.get("metadata") or {}).get(METADATA_KEY) == key), None)
        if start is None:
            return None
        replies: list[dict[str, Any]] = []
        for event in events[start + 1:]:
            if not isinstance(event, dict) or event.get("event") == "user":
                break
            if event.get("event") == "bot":
                data = event.get("data") or {}
                replies.append({"text": event.get("text"), **{
                    k: data[k] for k in ("buttons", "image", "custom") if data.get(k)}})
        else:
            last = events[-1] if events else {}
            if not (isinstance(last, dict) and last.get("event") == "action"
                    and last.get("name") == "action_listen"):
                raise RasaUnavailable("Rasa is still working on that turn")
        return parse_replies(replies)

    async def _post(self, sender: str, message: str, key: str | None,
                    queued: float = 0.0) -> list[RasaReply]:
        body: dict[str, Any] = {"sender": sender, "message": message}
        if key:
            body["metadata"] = {METADATA_KEY: key}
        try:
            response = await self._http.post(WEBHOOK, json=body, timeout=self._timeout + queued)
            response.raise_for_status()
            return parse_replies(response.json())
        except (httpx.HTTPError, ValueError) as error:
            raise RasaUnavailable(f"{type(error).__name__}: {error}") from error

    async def start_session(self, sender: str) -> None:
        """Start a new Rasa session for `sender`: Rasa's own action_session_start, which
        carries the slots over (domain.yml's session_config), as after a long silence."""
        try:
            response = await self._http.post(
                f"/conversations/{quote(sender, safe='')}/execute",
                params={"include_events": "NONE"}, json={"name": "action_session_start"})
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise RasaUnavailable(f"{type(error).__name__}: {error}") from error

    async def erase_conversation(self, sender: str) -> None:
        """Replace the conversation Rasa keeps for `sender` with nothing, then restart it.
        Rasa's SQL tracker store only ever appends, so there the replacement changes nothing
        and the restart hides what was said from the dialogue; bot.tracker.TrackerStore
        deletes the stored rows."""
        events = f"/conversations/{quote(sender, safe='')}/tracker/events"
        try:
            response = await self._http.put(events, json=[])
            response.raise_for_status()
            response = await self._http.post(events, json=[{"event": "restart"}])
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise RasaUnavailable(f"{type(error).__name__}: {error}") from error

    async def aclose(self) -> None:
        await self._http.aclose()
