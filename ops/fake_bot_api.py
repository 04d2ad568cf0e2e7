"""A stand-in for the Telegram Bot API, served over HTTP on 127.0.0.1 by tornado (the tests' and
the load benchmark's: ops/bench_load.py).

Point python-telegram-bot at it and its real HTTP path (``HTTPXRequest``) is exercised::

    async with FakeBotAPI() as fake:                  # or: await fake.start() / fake.stop()
        app = ApplicationBuilder().base_url(fake.base_url).token(fake.token).build()
        ...                                           # PTB appends the token to base_url
        fake.push_update(text_update("hello"))        # served by getUpdates
        call = await fake.wait_for("sendMessage", lambda p: p["text"] == "hello")

The server runs in the event loop of the test. In an end-to-end test the bot runs as a
subprocess and the fake stays in the test process; the subprocess is told where it is::

    async with FakeBotAPI() as fake:
        env = {**os.environ, "TELEGRAM_API_BASE_URL": fake.base_url,
               "TELEGRAM_BOT_TOKEN": fake.token}
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", env=env)
        try:
            await fake.wait_for("getUpdates")          # the bot is up and polling
            fake.push_update(text_update("hi"))
            await fake.wait_for("sendMessage")
        finally:
            proc.terminate()
            await proc.wait()

Wait only with ``await``: ``subprocess.run`` or ``time.sleep`` would block the loop that serves
the bot. PTB sends parameters as form fields (multipart when uploading); ``str`` values go as
they are, everything else JSON-encoded. ``ApiCall.params`` therefore holds JSON-decoded values,
except free-text fields (``text``, ``caption``...) which stay strings, and uploads, which are
:class:`UploadedFile`. A file a user sends is made with ``fake.user_file(content, name)``
(the ``document`` of an update); ``getFile`` and the file URL serve it, as they serve what the
bot uploaded. ``parse_mode`` is not interpreted. Unknown methods answer 404, which PTB
reports as ``InvalidToken`` (``EndPointNotFound`` from ``bot.do_api_request``). A long poll the
client abandoned is answered 409 when the next getUpdates arrives, as Telegram does.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http.client import responses
from typing import Any

from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler

JSON = dict[str, Any]
BOT_USER: JSON = {
    "id": 123456,
    "is_bot": True,
    "first_name": "NPQ Assistant",
    "username": "npq_assistant_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
_TEXT_FIELDS = frozenset({  # sent verbatim by PTB, so never JSON-decoded here
    "text", "caption", "parse_mode", "callback_query_id", "inline_message_id", "url",
    "secret_token", "language_code", "action", "description", "short_description", "name",
    "title", "query", "emoji", "business_connection_id", "message_effect_id", "ip_address",
    "photo", "document", "first_name", "last_name", "phone_number"})
_MESSAGE_KEYS = ("message", "edited_message", "channel_post", "edited_channel_post")


@dataclass(frozen=True)
class UploadedFile:
    filename: str
    content_type: str
    size: int
    content: bytes = field(repr=False)


@dataclass
class ApiCall:
    method: str
    params: dict[str, Any]
    error_code: int | None = None  # set when the fake answered with an error

    @property
    def ok(self) -> bool:
        return self.error_code is None


class ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.body: JSON = {"ok": False, "error_code": code, "description": description}
        if retry_after is not None:
            self.body["parameters"] = {"retry_after": retry_after}
        self.code = code


def _decode(name: str, raw: bytes) -> Any:
    text = raw.decode("utf-8", "replace")
    if name not in _TEXT_FIELDS:
        with contextlib.suppress(ValueError):
            return json.loads(text)
    return text


class _Handler(RequestHandler):
    def initialize(self, fake: FakeBotAPI) -> None:
        self.fake = fake

    async def post(self, token: str, method: str) -> None:
        params = {name: _decode(name, vals[-1]) for name, vals in self.request.arguments.items()}
        for name, files in self.request.files.items():
            f = files[-1]
            params[name] = UploadedFile(f.filename, f.content_type, len(f.body), f.body)
        status, body = await self.fake._handle(token, method, params)
        self.set_status(status, None if status in responses else "Error")
        self.set_header("Content-Type", "application/json")
        with contextlib.suppress(Exception):  # the client may have gone (cancelled long poll)
            await self.finish(json.dumps(body))

    get = post


class _FileHandler(RequestHandler):
    """Downloads: GET {base_file_url}{token}/{file_path}, file_path as getFile gave it."""

    def initialize(self, fake: FakeBotAPI) -> None:
        self.fake = fake

    def get(self, token: str, file_path: str) -> None:
        upload = self.fake.uploads.get(file_path.rpartition("/")[2])
        if token != self.fake.token or upload is None:
            self.set_status(404)
            self.finish(json.dumps({"ok": False, "error_code": 404, "description": "Not Found"}))
            return
        self.set_header("Content-Type", upload.content_type)
        self.finish(upload.content)


class FakeBotAPI:
    """A stand-in for the Telegram Bot API on 127.0.0.1 for one bot token."""

    def __init__(self, token: str = "123456:TEST-TOKEN", bot_user: JSON | None = None) -> None:
        self.token = token
        bot_id = token.split(":", 1)[0]  # a token starts with the bot's user id
        self.bot_user: JSON = dict(bot_user) if bot_user else (
            {**BOT_USER, "id": int(bot_id)} if bot_id.isdigit() else dict(BOT_USER))
        self.calls: list[ApiCall] = []
        self.observer: Callable[[ApiCall], None] | None = None  # told of every call on arrival
        self.updates: list[JSON] = []  # unconfirmed updates, oldest first
        self.messages: dict[tuple[Any, int], JSON] = {}  # (chat id, message_id) -> Message
        self.chats: dict[Any, JSON] = {}
        self.commands: dict[str, list[JSON]] = {}  # scope + language -> BotCommand dicts
        self.webhook: JSON = {"url": ""}
        self.uploads: dict[str, UploadedFile] = {}  # file_id -> upload
        self._callback_ids: set[str] = set()
        self._failures: dict[str, deque[tuple[ApiError, Callable[[JSON], bool] | None]]] = {}
        self._next_update_id, self._file_ids = 1, itertools.count(1)
        self._changed = asyncio.Event()  # replaced on every change; waiters hold the old one
        self._poll_generation = self._inflight = self._port = 0
        self._stopping = False
        self._server: HTTPServer | None = None
        self._methods: dict[str, Callable[[JSON], Any]] = {
            "getme": lambda p: self.bot_user, "getupdates": self._get_updates,
            "setwebhook": self._set_webhook, "getwebhookinfo": self._get_webhook_info,
            "deletewebhook": lambda p: self._set_webhook({**p, "url": ""}),
            "sendmessage": self._send_message, "sendchataction": lambda p: True,
            "editmessagetext": lambda p: self._edit(p, text=_text(p)),
            "editmessagereplymarkup": self._edit, "answercallbackquery": self._answer_callback,
            "setmycommands": self._set_commands,
            "getmycommands": lambda p: self.commands.get(_scope(p), []),
            "deletemycommands": lambda p: bool(self.commands.pop(_scope(p), None) or True),
            "copymessage": self._copy_message,
            "sendphoto": lambda p: self._send_file(p, "photo"),
            "senddocument": lambda p: self._send_file(p, "document"),
            "getfile": self._get_file,
            "close": lambda p: True, "logout": lambda p: True,
        }

    async def start(self) -> None:
        sockets = bind_sockets(0, "127.0.0.1")
        self._port = sockets[0].getsockname()[1]
        app = Application([(r"/bot([^/]*)/(\w+)/?", _Handler, {"fake": self}),
                           (r"/file/bot([^/]*)/(.+)", _FileHandler, {"fake": self})],
                          log_function=lambda handler: None)
        self._server, self._stopping = HTTPServer(app), False
        self._server.add_sockets(sockets)

    async def stop(self) -> None:
        """Release pending long polls (they answer ``[]``), then close every connection."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping = True
        self._notify()
        while self._inflight:
            await self._wait_change(5.0)
        server.stop()
        await server.close_all_connections()

    async def __aenter__(self) -> FakeBotAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/file/bot"

    def push_update(self, update: JSON) -> int:
        """Queue a raw Update dict for getUpdates; assigns ``update_id`` if missing."""
        update = {"update_id": self._next_update_id, **update}
        self._next_update_id = max(self._next_update_id, update["update_id"] + 1)
        query = update.get("callback_query") or {}
        if query:
            self._callback_ids.add(query["id"])
        for msg in [update.get(k) for k in _MESSAGE_KEYS] + [query.get("message")]:
            if msg:  # remembered so that the bot can reply to / edit them
                self.chats[msg["chat"]["id"]] = msg["chat"]
                self.messages[(msg["chat"]["id"], msg["message_id"])] = msg
        self.updates.append(update)
        self._notify()
        return int(update["update_id"])

    def user_file(self, content: bytes, file_name: str, *,
                  mime_type: str = "text/csv") -> JSON:
        """A file a user sends: the ``document`` for an update (see updates.document_update);
        getFile and the file URL then serve ``content``."""
        n = next(self._file_ids)
        file_id = f"BQACAgQAAxkBAAIF{n:06d}"
        self.uploads[file_id] = UploadedFile(file_name, mime_type, len(content), content)
        return {"file_id": file_id, "file_unique_id": f"U{n}", "file_name": file_name,
                "mime_type": mime_type, "file_size": len(content)}

    def fail_next(self, method: str, *, error_code: int, description: str,
                  retry_after: int | None = None, times: int = 1,
                  when: Callable[[JSON], bool] | None = None) -> None:
        """Answer the next ``times`` calls of ``method`` (whose params match ``when``, if
        given) with a Bot API error."""
        queue = self._failures.setdefault(method.lower(), deque())
        queue.extend((ApiError(error_code, description, retry_after), when)
                     for _ in range(times))

    async def wait_for(self, method: str, predicate: Callable[[JSON], bool] | None = None, *,
                       timeout: float = 30.0, after: int = 0) -> ApiCall:
        """The first call of ``method`` at index >= ``after`` whose params match ``predicate``."""
        deadline = asyncio.get_running_loop().time() + timeout
        start = after
        while True:
            for call in self.calls[start:]:
                if call.method.lower() == method.lower() and (
                        predicate is None or predicate(call.params)):
                    return call
            start = max(start, len(self.calls))
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0 or not await self._wait_change(remaining):
                seen = "\n".join(f"  [{i}] {c.method}{'' if c.ok else f' -> {c.error_code}'} "
                                 f"{str(c.params)[:200]}" for i, c in enumerate(self.calls))
                raise TimeoutError(
                    f"no {method} call{' matching the predicate' if predicate else ''} at "
                    f"index >= {after} within {timeout}s; calls seen:\n{seen or '  (none)'}")

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_change(self, timeout: float) -> bool:
        with contextlib.suppress(asyncio.TimeoutError):
            return await asyncio.wait_for(self._changed.wait(), timeout)
        return False

    async def _handle(self, token: str, method: str, params: JSON) -> tuple[int, JSON]:
        call = ApiCall(method, params)
        self.calls.append(call)
        if self.observer is not None:
            self.observer(call)
        self._inflight += 1
        self._notify()
        try:
            if token != self.token:
                raise ApiError(401, "Unauthorized")
            failures = self._failures.get(method.lower()) or deque()
            for failure in failures:
                error, when = failure
                if when is None or when(params):
                    failures.remove(failure)
                    raise error
            impl = self._methods.get(method.lower())
            if impl is None:
                raise ApiError(404, "Not Found: method not implemented in FakeBotAPI")
            result = impl(params)
            return 200, {"ok": True, "result": await result
                         if isinstance(result, Awaitable) else result}
        except Exception as exc:  # a crash in the fake still answers JSON, so PTB shows it
            err = exc if isinstance(exc, ApiError) else ApiError(500, f"FakeBotAPI: {exc!r}")
            call.error_code = err.code
            return err.code, err.body
        finally:
            self._inflight -= 1
            self._notify()

    async def _get_updates(self, p: JSON) -> list[JSON]:
        if self.webhook["url"]:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")
        offset, limit = int(p.get("offset", 0)), int(p.get("limit", 100))
        if offset:  # confirms the updates below it; a negative one keeps the last -offset
            self.updates = (self.updates[offset:] if offset < 0 else
                            [u for u in self.updates if u["update_id"] >= offset])
        self._poll_generation += 1
        generation = self._poll_generation
        deadline = asyncio.get_running_loop().time() + float(p.get("timeout", 0))
        while not self.updates and not self._stopping:
            if generation != self._poll_generation:  # the older poll loses, as on Telegram
                raise ApiError(409, "Conflict: terminated by other getUpdates request; "
                                    "make sure that only one bot instance is running")
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            await self._wait_change(remaining)
        return self.updates[: max(1, min(limit, 100))]

    def _set_webhook(self, p: JSON) -> bool:
        if p.get("drop_pending_updates"):
            self.updates.clear()
        self.webhook = {"url": "", **{k: v for k, v in p.items() if k != "drop_pending_updates"}}
        return True

    def _get_webhook_info(self, p: JSON) -> JSON:
        url = self.webhook["url"]
        return {"url": url, "has_custom_certificate": False,
                "pending_update_count": len(self.updates),
                **({"max_connections": self.webhook.get("max_connections", 40)} if url else {})}

    def _chat(self, chat_id: Any) -> JSON:
        if chat_id in (None, ""):
            raise ApiError(400, "Bad Request: chat_id is empty")
        if chat_id not in self.chats:  # never seen in an update: make up a plausible chat
            if isinstance(chat_id, str):  # "@channelusername"
                chat = {"id": -1_000_000_000_000 - len(self.chats), "type": "channel",
                        "title": chat_id, "username": chat_id.lstrip("@")}
            elif chat_id > 0:
                chat = {"id": chat_id, "type": "private", "first_name": "User"}
            else:
                chat = {"id": chat_id, "type": "supergroup", "title": f"Chat {chat_id}"}
            self.chats[chat_id] = chat
        return self.chats[chat_id]

    def _new_message(self, p: JSON, **content: Any) -> JSON:
        chat = self._chat(p.get("chat_id"))
        last = max((m for c, m in self.messages if c == chat["id"]), default=0)
        msg: JSON = {"message_id": last + 1, "from": self.bot_user, "chat": chat,
                     "date": int(time.time()), **content, **_inline_markup(p)}
        self.messages[(chat["id"], msg["message_id"])] = msg
        return msg

    def _send_message(self, p: JSON) -> JSON:
        if len(text := _text(p)) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        return self._new_message(p, text=text)

    def _copy_message(self, p: JSON) -> JSON:
        source = self.messages.get((self._chat(p.get("from_chat_id"))["id"],
                                    p.get("message_id", 0)))
        if source is None:
            raise ApiError(400, "Bad Request: message to copy not found")
        content = {k: v for k, v in source.items()
                   if k not in ("message_id", "from", "chat", "date", "reply_markup",
                                "reply_to_message", "edit_date", "entities")}
        return {"message_id": self._new_message(p, **content)["message_id"]}

    def _send_file(self, p: JSON, kind: str) -> JSON:
        if not (value := p.get(kind)):
            raise ApiError(400, f"Bad Request: there is no {kind} in the request")
        n = next(self._file_ids)
        meta: JSON = {"file_id": value if isinstance(value, str) else f"{kind.upper()}-{n}",
                      "file_unique_id": f"U{n}"}
        if isinstance(value, UploadedFile):
            self.uploads[meta["file_id"]] = value
            meta["file_size"] = value.size
        media: Any = [{**meta, "width": 1280, "height": 960}] if kind == "photo" else {
            **meta, "file_name": getattr(value, "filename", "file"),
            "mime_type": getattr(value, "content_type", "application/octet-stream")}
        caption = {"caption": p["caption"]} if p.get("caption") else {}
        return self._new_message(p, **{kind: media}, **caption)

    def _edit(self, p: JSON, **changes: Any) -> JSON | bool:
        if p.get("inline_message_id"):
            return True
        msg = self.messages.get((self._chat(p.get("chat_id"))["id"], p.get("message_id", 0)))
        if msg is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if msg.get("from", {}).get("id") != self.bot_user["id"]:
            raise ApiError(400, "Bad Request: message can't be edited")
        changes["reply_markup"] = _inline_markup(p).get("reply_markup")
        if all(msg.get(k) == v for k, v in changes.items()):
            raise ApiError(400, "Bad Request: message is not modified: specified new message "
                                "content and reply markup are exactly the same as a current "
                                "content and reply markup of the message")
        msg.update(changes, edit_date=int(time.time()))
        if msg["reply_markup"] is None:
            del msg["reply_markup"]
        return msg

    def _get_file(self, p: JSON) -> JSON:
        file_id = str(p.get("file_id") or "")
        upload = self.uploads.get(file_id)
        if upload is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        return {"file_id": file_id, "file_unique_id": f"U{file_id}", "file_size": upload.size,
                "file_path": f"documents/{file_id}"}

    def _answer_callback(self, p: JSON) -> bool:
        if p.get("callback_query_id") not in self._callback_ids:
            raise ApiError(400, "Bad Request: query is too old and response timeout expired "
                                "or query ID is invalid")
        return True

    def _set_commands(self, p: JSON) -> bool:
        for c in p.get("commands", []):
            if not re.fullmatch(r"[a-z0-9_]{1,32}", c.get("command", "")):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(c.get("description", "")) <= 256:
                raise ApiError(400, "Bad Request: command description is empty")
        self.commands[_scope(p)] = p.get("commands", [])
        return True


def _text(p: JSON) -> str:
    if not str(p.get("text", "")).strip():
        raise ApiError(400, "Bad Request: message text is empty")
    return str(p["text"])


def _inline_markup(p: JSON) -> JSON:
    """Telegram echoes only inline keyboards in the Message it returns."""
    markup = p.get("reply_markup")
    return {"reply_markup": markup} if isinstance(markup, dict) and "inline_keyboard" in markup \
        else {}


def _scope(p: JSON) -> str:
    return json.dumps([p.get("scope", {"type": "default"}), p.get("language_code", "")],
                      sort_keys=True)
