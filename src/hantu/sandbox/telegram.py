"""A Telegram Bot API sandbox: sendMessage, getUpdates and getMe on loopback, with fault injection.

Used by the tests (in-process, a thread on a free port) and the demo (`hantu sandbox telegram`). It behaves
like Telegram where our code depends on it:
  * HTML parse mode is parsed (unknown or unbalanced tags → 400 "can't parse entities"), and the parsed text
    must be 1..4,096 UTF-16 units (else 400 "message is too long");
  * limits are enforced: a second message to a chat within `per_chat_interval` seconds, or more than
    `global_per_second` in a second, gets a 429 with `retry_after` (and is counted in `rate_violations`);
  * every accepted message is recorded with its chat, text, `disable_notification` and receive time — taken
    from the sandbox's `Clock`, so a test on a simulated clock sees simulated times.
Faults: `set_down("error")` answers 502 (Telegram's gateway when its backend is down), `set_down("refuse")`
closes the Bot API listener (connection refused) until `set_down(None)`; `fail_next(...)` makes the next
calls of a method fail with a given status (e.g. 429 with retry_after), or with `drop=True` accept and
record the message but close the connection without answering (the "did it arrive?" case).
`inject_update(chat_id, text)` queues an incoming message from any chat for getUpdates.
Inline keyboards: a `reply_markup` with `inline_keyboard` is validated (callback_data 1..64 bytes, as Telegram
requires) and recorded with the message; `tap(message, data)` (or `inject_callback`) queues the
`callback_query` a user's tap on a button sends, and `answerCallbackQuery` answers are recorded
(`callback_answers`). `getUpdates` honours `allowed_updates`, as Telegram does: a bot that does not ask for
`callback_query` never sees a tap.

The control API (a second listener, never taken down) offers the same over HTTP for a sandbox run as a
subprocess: POST /down {"mode": "error"|"refuse"|null}, POST /fail {...}, POST /update {"chat_id", "text",
"from_id"?}, POST /callback {"chat_id", "message_id", "data", "from_id"?}, GET /messages[?chat_id=], GET /state, POST /reset.
"""

from __future__ import annotations

import json
import math
import re
import socket
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import datetime
from html import unescape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from hantu.clock import Clock, SystemClock

MAX_TEXT_UNITS = 4096
ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "code", "pre", "a", "tg-spoiler",
                "span", "blockquote", "tg-emoji"}
_TAG = re.compile(r"<(/?)([a-zA-Z-]+)((?:\s[^<>]*)?)>")
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")


class EntityParseError(ValueError):
    pass


def parse_html(text: str) -> str:
    """The plain text Telegram shows for an HTML parse-mode message; raises on markup Telegram rejects."""
    out: list[str] = []
    stack: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "<":
            match = _TAG.match(text, i)
            if not match:
                raise EntityParseError(f"Unsupported start tag at byte offset {i}")
            closing, name = match.group(1), match.group(2).lower()
            if name not in ALLOWED_TAGS:
                raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {i}')
            if closing:
                if not stack or stack[-1] != name:
                    raise EntityParseError(f'Unmatched end tag at byte offset {i}, expected "</{stack[-1] if stack else ""}>"')
                stack.pop()
            else:
                stack.append(name)
            i = match.end()
        elif ch == "&":
            match = _ENTITY.match(text, i)
            if not match:
                # Telegram tolerates a bare '&' only when it cannot start an entity; be strict like its docs.
                raise EntityParseError(f"Unescaped '&' at byte offset {i}")
            out.append(unescape(match.group(0)))
            i = match.end()
        elif ch == ">":
            raise EntityParseError(f"Unescaped '>' at byte offset {i}")
        else:
            out.append(ch)
            i += 1
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(out)


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class RecordedMessage:
    chat_id: str
    message_id: int
    text: str  # as sent (markup included)
    plain: str  # as the user sees it
    parse_mode: str | None
    disable_notification: bool
    received_at: datetime
    reply_markup: dict[str, Any] | None = None  # the inline keyboard sent with the message

    def buttons(self) -> list[dict[str, str]]:
        """The inline buttons, row by row flattened: [{text, callback_data}, ...]."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [dict(button) for row in rows for button in row]


@dataclass
class _Fault:
    method: str
    status: int
    count: int
    retry_after: int | None = None
    description: str | None = None
    drop: bool = False
    hold: float = 0.0  # accept, then wait this long (wall seconds) before answering


@dataclass
class SandboxState:
    messages: list[RecordedMessage] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    callback_answers: list[dict[str, Any]] = field(default_factory=list)
    next_update_id: int = 1
    next_message_id: dict[str, int] = field(default_factory=dict)
    last_accept: dict[str, datetime] = field(default_factory=dict)
    recent: deque[datetime] = field(default_factory=deque)
    rate_violations: int = 0
    requests: int = 0
    down: str | None = None
    faults: list[_Fault] = field(default_factory=list)


class _Server(ThreadingHTTPServer):
    """A threading HTTP server that knows its open connections, so that `stop` can cut kept-alive ones."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self.open_connections: set[socket.socket] = set()


class _Silent(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no 40 ms delayed-ACK stalls
        if isinstance(self.server, _Server):
            self.server.open_connections.add(self.connection)

    def finish(self) -> None:
        if isinstance(self.server, _Server):
            self.server.open_connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # request lines carry the bot token: never print them

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        params: dict[str, Any] = {k: v[-1] for k, v in parse_qs(urlparse(self.path).query).items()}
        if raw:
            ctype = self.headers.get("Content-Type", "")
            if "json" in ctype:
                params.update(json.loads(raw.decode("utf-8")))
            else:
                params.update({k: v[-1] for k, v in parse_qs(raw.decode("utf-8")).items()})
        return params

    def _send(self, status: int, payload: Any, content_type: str = "application/json") -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False,
                                                                     default=str).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _make_bot_handler(sandbox: TelegramSandbox) -> type[BaseHTTPRequestHandler]:
    class BotHandler(_Silent):
        def do_GET(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

        def _handle(self) -> None:
            path = urlparse(self.path).path
            match = re.fullmatch(r"/bot([^/]+)/([A-Za-z]+)", path)
            try:
                params = self._body()
            except (ValueError, UnicodeDecodeError):
                self._send(400, {"ok": False, "error_code": 400, "description": "Bad Request: invalid body"})
                return
            if not match:
                self._send(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                return
            token, method = match.groups()
            status, payload, drop, hold = sandbox.handle(token, method, params)
            if hold:
                time.sleep(hold)
            if drop:
                self.close_connection = True
                try:
                    self.connection.shutdown(2)
                except OSError:
                    pass
                return
            if isinstance(payload, bytes):
                self._send(status, payload, "text/html")
            else:
                self._send(status, payload)

    return BotHandler


def _make_control_handler(sandbox: TelegramSandbox) -> type[BaseHTTPRequestHandler]:
    class ControlHandler(_Silent):
        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            if url.path == "/messages":
                rows = sandbox.messages(query.get("chat_id"))
                self._send(200, [asdict(m) for m in rows])
            elif url.path == "/state":
                self._send(200, sandbox.state_summary())
            else:
                self._send(404, {"error": "unknown control path"})

        def do_POST(self) -> None:
            url = urlparse(self.path)
            body = self._body()
            if url.path == "/down":
                sandbox.set_down(body.get("mode"))
            elif url.path == "/fail":
                sandbox.fail_next(body["method"], int(body["status"]), int(body.get("count", 1)),
                                  body.get("retry_after"), body.get("description"), bool(body.get("drop")),
                                  float(body.get("hold", 0.0)))
            elif url.path == "/update":
                update_id = sandbox.inject_update(body["chat_id"], body["text"], body.get("from_id"),
                                                  body.get("username"))
                self._send(200, {"update_id": update_id})
                return
            elif url.path == "/callback":
                update_id = sandbox.inject_callback(body["chat_id"], int(body["message_id"]), body["data"],
                                                    body.get("from_id"), body.get("username"))
                self._send(200, {"update_id": update_id})
                return
            elif url.path == "/reset":
                sandbox.reset()
            else:
                self._send(404, {"error": "unknown control path"})
                return
            self._send(200, {"ok": True})

    return ControlHandler


class _Listener:
    """One HTTP server in a daemon thread; can be closed and reopened on the same port."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], host: str, port: int) -> None:
        self.handler, self.host, self.port = handler, host, port
        self.server: _Server | None = None
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        for _ in range(50):
            try:
                server = _Server((self.host, self.port), self.handler)
                break
            except OSError:  # the old socket may linger a moment after a close
                time.sleep(0.05)
        else:
            raise OSError(f"cannot bind {self.host}:{self.port}")
        self.server = server
        self.port = server.server_address[1]
        self.thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                       name=f"tg-sandbox-{self.port}", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            # Kept-alive connections would otherwise go on being served: cut them, as a dead server would.
            for conn in list(self.server.open_connections):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.server = None


class TelegramSandbox:
    """The sandbox itself; `start()` it, point `TELEGRAM_API_BASE` at `base_url`, `stop()` it."""

    def __init__(self, token: str | None = None, clock: Clock | None = None, host: str = "127.0.0.1",
                 port: int = 0, control_port: int = 0, per_chat_interval: float = 1.0,
                 global_per_second: int = 30, enforce_limits: bool = True, bot_username: str = "hantu_sandbox_bot") -> None:
        self.token = token
        self.clock: Clock = clock or SystemClock()
        self.per_chat_interval = per_chat_interval
        self.global_per_second = global_per_second
        self.enforce_limits = enforce_limits
        self.bot_username = bot_username
        self._lock = threading.Lock()
        self._updates_ready = threading.Condition(self._lock)
        self.state = SandboxState()
        self._bot = _Listener(_make_bot_handler(self), host, port)
        self._control = _Listener(_make_control_handler(self), host, control_port)
        self.host = host

    # --- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> TelegramSandbox:
        self._bot.start()
        self._control.start()
        return self

    def stop(self) -> None:
        with self._lock:
            self._updates_ready.notify_all()
        self._bot.stop()
        self._control.stop()

    def __enter__(self) -> TelegramSandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self._bot.port}"

    @property
    def control_url(self) -> str:
        return f"http://{self.host}:{self._control.port}"

    # --- control -----------------------------------------------------------------------------------
    def set_down(self, mode: str | None) -> None:
        """None: up; "error": every Bot API call gets 502; "refuse": the listener is closed."""
        if mode not in (None, "error", "refuse"):
            raise ValueError("mode must be None, 'error' or 'refuse'")
        with self._lock:
            previous, self.state.down = self.state.down, mode
        if mode == "refuse" and previous != "refuse":
            self._bot.stop()
        elif mode != "refuse" and previous == "refuse":
            self._bot.start()

    def fail_next(self, method: str, status: int, count: int = 1, retry_after: int | None = None,
                  description: str | None = None, drop: bool = False, hold: float = 0.0) -> None:
        """The next `count` calls of `method` fail with `status`; with `drop` they are accepted and recorded
        but the connection closes unanswered; with `hold` they are accepted and answered `hold` s later."""
        with self._lock:
            self.state.faults.append(_Fault(method, status, count, retry_after, description, drop, hold))

    def inject_update(self, chat_id: str | int, text: str, from_id: int | None = None,
                      username: str | None = None) -> int:
        """An incoming message from any chat, for getUpdates."""
        with self._lock:
            update_id = self.state.next_update_id
            self.state.next_update_id += 1
            sender = int(from_id if from_id is not None else chat_id)
            self.state.updates.append({
                "update_id": update_id,
                "message": {
                    "message_id": update_id, "date": int(self.clock.now().timestamp()), "text": text,
                    "chat": {"id": int(chat_id), "type": "private"},
                    "from": {"id": sender, "is_bot": False, "first_name": "user", "username": username or f"u{sender}"},
                    **({"entities": [{"type": "bot_command", "offset": 0,
                                      "length": len(text.split()[0])}]} if text.startswith("/") else {}),
                },
            })
            self._updates_ready.notify_all()
            return update_id

    def inject_callback(self, chat_id: str | int, message_id: int, data: str, from_id: int | None = None,
                        username: str | None = None) -> int:
        """A tap on an inline button of message `message_id` in `chat_id` (a `callback_query` update)."""
        with self._lock:
            update_id = self.state.next_update_id
            self.state.next_update_id += 1
            sender = int(from_id if from_id is not None else chat_id)
            original = next((m for m in self.state.messages
                             if m.chat_id == str(chat_id) and m.message_id == message_id), None)
            self.state.updates.append({
                "update_id": update_id,
                "callback_query": {
                    "id": f"cq{update_id}", "data": data, "chat_instance": str(chat_id),
                    "from": {"id": sender, "is_bot": False, "first_name": "user",
                             "username": username or f"u{sender}"},
                    "message": {"message_id": message_id, "date": int(self.clock.now().timestamp()),
                                "chat": {"id": int(chat_id), "type": "private"},
                                "text": original.plain if original else ""},
                },
            })
            self._updates_ready.notify_all()
            return update_id

    def tap(self, message: RecordedMessage, data: str, from_id: int | None = None) -> int:
        """Tap the button of `message` whose callback_data is `data` (it must be one of its buttons)."""
        if data not in [b.get("callback_data") for b in message.buttons()]:
            raise ValueError(f"message {message.message_id} has no button {data!r}")
        return self.inject_callback(message.chat_id, message.message_id, data, from_id)

    @property
    def callback_answers(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.state.callback_answers)

    def messages(self, chat_id: str | int | None = None) -> list[RecordedMessage]:
        with self._lock:
            rows = list(self.state.messages)
        return [m for m in rows if chat_id is None or m.chat_id == str(chat_id)]

    def reset(self) -> None:
        with self._lock:
            self.state = SandboxState(down=self.state.down)

    def state_summary(self) -> dict[str, Any]:
        with self._lock:
            return {"messages": len(self.state.messages), "pending_updates": len(self.state.updates),
                    "rate_violations": self.state.rate_violations, "requests": self.state.requests,
                    "down": self.state.down}

    @property
    def rate_violations(self) -> int:
        return self.state.rate_violations

    # --- the Bot API ---------------------------------------------------------------------------------
    def handle(self, token: str, method: str, params: dict[str, Any]) -> tuple[int, Any, bool, float]:
        """(HTTP status, JSON payload or HTML bytes, drop connection?, hold seconds) for one Bot API call."""
        with self._lock:
            self.state.requests += 1
            if self.state.down == "error":
                return 502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", False, 0.0
            if self.token is not None and token != self.token:
                return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}, False, 0.0
            fault = next((f for f in self.state.faults if f.method == method and f.count > 0), None)
            if fault is not None:
                fault.count -= 1
                if not (fault.drop or fault.hold):
                    payload: dict[str, Any] = {"ok": False, "error_code": fault.status,
                                               "description": fault.description or f"injected {fault.status}"}
                    if fault.retry_after is not None:
                        payload["parameters"] = {"retry_after": int(fault.retry_after)}
                    return fault.status, payload, False, 0.0
        if method == "getMe":
            return 200, {"ok": True, "result": {"id": 1, "is_bot": True, "first_name": "Hantu sandbox",
                                                "username": self.bot_username}}, False, 0.0
        if method == "sendMessage":
            status, payload = self._send_message(params)
            if fault is None or status != 200:
                return status, payload, False, 0.0
            return status, payload, bool(fault.drop), fault.hold
        if method == "getUpdates":
            return 200, {"ok": True, "result": self._get_updates(params)}, False, 0.0
        if method == "answerCallbackQuery":
            if not params.get("callback_query_id"):
                return 400, {"ok": False, "error_code": 400,
                             "description": "Bad Request: query is too old or query ID is invalid"}, False, 0.0
            with self._lock:
                self.state.callback_answers.append({"id": str(params["callback_query_id"]),
                                                    "text": str(params.get("text") or "")})
            return 200, {"ok": True, "result": True}, False, 0.0
        return 404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"}, False, 0.0

    def _send_message(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        def bad(description: str) -> tuple[int, dict[str, Any]]:
            return 400, {"ok": False, "error_code": 400, "description": f"Bad Request: {description}"}

        chat_id, text = params.get("chat_id"), params.get("text")
        if chat_id in (None, ""):
            return bad("chat_id is empty")
        if not text:
            return bad("message text is empty")
        parse_mode = params.get("parse_mode")
        if parse_mode and str(parse_mode).upper() == "HTML":
            try:
                plain = parse_html(str(text))
            except EntityParseError as error:
                return bad(f"can't parse entities: {error}")
        elif parse_mode:
            return bad(f"unsupported parse_mode in the sandbox: {parse_mode}")
        else:
            plain = str(text)
        if utf16_units(plain) > MAX_TEXT_UNITS:
            return bad("message is too long")
        if not plain.strip():
            return bad("message text is empty")
        markup = params.get("reply_markup")
        if isinstance(markup, str):  # form-encoded callers send it as a JSON string
            try:
                markup = json.loads(markup)
            except ValueError:
                return bad("can't parse reply keyboard markup JSON object")
        if markup is not None:
            problem = _keyboard_problem(markup)
            if problem:
                return bad(problem)
        silent = params.get("disable_notification") in (True, "true", "True", "1", 1)
        chat = str(chat_id)
        with self._lock:
            now = self.clock.now()
            if self.enforce_limits:
                retry = self._rate_check(chat, now)
                if retry is not None:
                    self.state.rate_violations += 1
                    return 429, {"ok": False, "error_code": 429,
                                 "description": f"Too Many Requests: retry after {retry}",
                                 "parameters": {"retry_after": retry}}
            self.state.last_accept[chat] = now
            self.state.recent.append(now)
            message_id = self.state.next_message_id.get(chat, 0) + 1
            self.state.next_message_id[chat] = message_id
            self.state.messages.append(RecordedMessage(chat, message_id, str(text), plain, parse_mode or None,
                                                       silent, now, markup))
        return 200, {"ok": True, "result": {"message_id": message_id, "date": int(now.timestamp()),
                                            "chat": {"id": int(chat) if chat.lstrip("-").isdigit() else chat},
                                            "text": plain}}

    def _rate_check(self, chat: str, now: datetime) -> int | None:
        last = self.state.last_accept.get(chat)
        if last is not None:
            gap = (now - last).total_seconds()
            if gap < self.per_chat_interval - 1e-6:
                return max(1, math.ceil(self.per_chat_interval - gap))
        recent = self.state.recent
        while recent and (now - recent[0]).total_seconds() >= 1.0:
            recent.popleft()
        if len(recent) >= self.global_per_second:
            return 1
        return None

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = params.get("offset")
        timeout = float(params.get("timeout") or 0)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + min(timeout, 50.0)
        with self._updates_ready:
            if offset is not None:
                # As Telegram does: passing an offset confirms (forgets) every update below it.
                self.state.updates = [u for u in self.state.updates if u["update_id"] >= int(offset)]
            while not self.state.updates and time.monotonic() < deadline:
                self._updates_ready.wait(timeout=max(0.0, deadline - time.monotonic()))
            allowed = params.get("allowed_updates")
            if isinstance(allowed, str):
                allowed = json.loads(allowed)
            if allowed:  # the other kinds are dropped, as Telegram does for a bot that did not ask for them
                self.state.updates = [u for u in self.state.updates if any(k in u for k in allowed)]
            return [dict(u) for u in self.state.updates[:limit]]


def _keyboard_problem(markup: Any) -> str | None:
    """Why Telegram would refuse this inline keyboard, or None."""
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        return "field \"inline_keyboard\" of the InlineKeyboardMarkup should be an Array of Arrays"
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not button.get("text"):
                return "text buttons are unallowed in the inline keyboard"
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode("utf-8")) <= 64:
                return "BUTTON_DATA_INVALID"
    return None
