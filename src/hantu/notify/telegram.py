"""A small Telegram Bot API client that never lets the bot token reach a log line or an exception text.

The token is part of every request URL (`/bot<token>/sendMessage`), and HTTP libraries like to log URLs and
put them into exception messages. So: we never log a URL, every error we raise is our own `TelegramError`
built from the method name and Telegram's description (token removed), raised `from None` so the httpx
exception (whose `request.url` carries the token) is not chained into tracebacks, and a filter on the `httpx`
and `httpcore` loggers removes the token from their records should someone turn them up to INFO/DEBUG.

Errors are classified by what they mean for a message we tried to send, because that decides whether the
sender may try again without risking a duplicate:
  * `unreachable` — the request never reached Telegram (connection refused, connect timeout): safe to retry;
  * `server` — Telegram answered 5xx: it did not accept the message; retry with backoff;
  * `retry_after` — 429: wait the `retry_after` seconds Telegram asks for;
  * `rejected` — 400/403: this message will never be accepted (bad markup, bot blocked);
  * `unauthorized` — 401/404: the token is wrong; retry later, nothing is lost;
  * `uncertain` — the request was sent but no answer came (read timeout, dropped connection): Telegram may
    have delivered it, so the sender does not send it again.
"""

from __future__ import annotations

import logging
import socket
import threading
from typing import Any, Literal

import httpx

# The key of a message's data that holds its inline keyboard (rows of {text, callback_data}); see `reply_markup`.
KEYBOARD_KEY = "keyboard"

ErrorKind = Literal["unreachable", "server", "retry_after", "rejected", "unauthorized", "uncertain"]

log = logging.getLogger(__name__)


class TelegramError(Exception):
    """A failed Bot API call; `kind` says whether retrying can duplicate (see the module docstring)."""

    def __init__(
        self,
        kind: ErrorKind,
        method: str,
        description: str,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.kind = kind
        self.method = method
        self.description = description
        self.status = status
        self.retry_after = retry_after
        super().__init__(
            f"Telegram {method}: {kind}" + (f" ({status})" if status else "") + f": {description}"
        )


class _TokenRedactor(logging.Filter):
    """Removes registered bot tokens from records of loggers that may print request URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.tokens: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.tokens:
            return True
        try:
            message = record.getMessage()
        except Exception:
            return True
        if any(token in message for token in self.tokens):
            for token in self.tokens:
                message = message.replace(token, "***")
            record.msg, record.args = message, None
        return True


_redactor = _TokenRedactor()
_redactor_lock = threading.Lock()


def _protect(token: str) -> None:
    with _redactor_lock:
        if not _redactor.tokens:
            for name in ("httpx", "httpcore", "httpcore.http11", "httpcore.connection"):
                logging.getLogger(name).addFilter(_redactor)
        _redactor.tokens.add(token)
    from hantu.log import register_secrets

    register_secrets([token])


class TelegramClient:
    """Calls Bot API methods on `api_base` (Telegram, or `hantu sandbox telegram`)."""

    def __init__(
        self,
        token: str,
        api_base: str = "https://api.telegram.org",
        timeout: float = 10.0,
        long_poll_margin: float = 10.0,
    ) -> None:
        if not token:
            raise ValueError("a bot token is required")
        _protect(token)
        self._token = token
        self._base = api_base.rstrip("/")
        self._timeout = timeout
        self._long_poll_margin = long_poll_margin
        # TCP_NODELAY: headers and body go out as separate writes; without it each call can stall ~40 ms.
        transport = httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)), transport=transport
        )

    @property
    def timeout(self) -> float:
        """The read timeout of one call (seconds): the longest a send can stay in flight."""
        return self._timeout

    def __repr__(self) -> str:  # never show the token
        return f"TelegramClient(api_base={self._base!r})"

    def _clean(self, text: str) -> str:
        return text.replace(self._token, "***")

    def call(self, method: str, params: dict[str, Any], read_timeout: float | None = None) -> Any:
        """One Bot API call; returns `result` or raises `TelegramError` (never with the token in it)."""
        url = f"{self._base}/bot{self._token}/{method}"
        timeout = httpx.Timeout(read_timeout or self._timeout, connect=min(self._timeout, 5.0))
        try:
            response = self._http.post(url, json=params, timeout=timeout)
        except (
            httpx.ConnectError,
            httpx.ConnectTimeout,
            httpx.PoolTimeout,
            httpx.WriteError,
            httpx.WriteTimeout,
        ) as error:
            raise TelegramError("unreachable", method, self._clean(type(error).__name__)) from None
        except httpx.HTTPError as error:  # read timeout, dropped connection: the request may have arrived
            raise TelegramError("uncertain", method, self._clean(type(error).__name__)) from None
        return self._result(method, response)

    def _result(self, method: str, response: httpx.Response) -> Any:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            if status >= 500:
                raise TelegramError("server", method, "non-JSON error page", status)
            raise TelegramError(
                "uncertain" if status < 400 else "rejected", method, "malformed response", status
            )
        description = self._clean(str(body.get("description", "")))[:300]
        if body.get("ok") and status < 400:
            return body.get("result")
        code = int(body.get("error_code") or status)
        if code == 429:
            retry = (body.get("parameters") or {}).get("retry_after")
            raise TelegramError("retry_after", method, description, code, float(retry) if retry else 1.0)
        if code >= 500:
            raise TelegramError("server", method, description, code)
        if code in (401, 404):
            raise TelegramError("unauthorized", method, description, code)
        raise TelegramError("rejected", method, description, code)

    def send_message(
        self, chat_id: str, text: str, parse_mode: str | None = "HTML", disable_notification: bool = False,
        reply_markup: dict[str, Any] | None = None,
    ) -> int:
        """Send one message (≤ 4,096 characters), with inline buttons when `reply_markup` has them; returns
        Telegram's message id."""
        params: dict[str, Any] = {
            "chat_id": chat_id,
            "text": text,
            "disable_notification": disable_notification,
            "link_preview_options": {"is_disabled": True},
        }
        if parse_mode:
            params["parse_mode"] = parse_mode
        if reply_markup:
            params["reply_markup"] = reply_markup
        result = self.call("sendMessage", params)
        return int(result["message_id"]) if isinstance(result, dict) and "message_id" in result else 0

    def get_updates(self, offset: int | None, timeout: float = 0, limit: int = 50) -> list[dict[str, Any]]:
        """Long-poll for updates after `offset` (Telegram forgets updates below the offset we pass)."""
        params: dict[str, Any] = {"timeout": int(timeout), "limit": limit,
                                  "allowed_updates": ["message", "callback_query"]}
        if offset is not None:
            params["offset"] = offset
        result = self.call("getUpdates", params, read_timeout=timeout + self._long_poll_margin)
        return list(result or [])

    def answer_callback_query(self, callback_query_id: str, text: str = "") -> None:
        """Stop the tapped button's spinner (Telegram shows `text` as a short toast)."""
        self.call("answerCallbackQuery", {"callback_query_id": callback_query_id, "text": text[:200]})

    def get_me(self) -> dict[str, Any]:
        return dict(self.call("getMe", {}))

    def close(self) -> None:
        self._http.close()


def reply_markup(data: dict[str, Any] | None) -> dict[str, Any] | None:
    """The `reply_markup` of a queued message: its data's inline keyboard, if it has one."""
    rows = (data or {}).get(KEYBOARD_KEY)
    if not isinstance(rows, list) or not rows:
        return None
    return {"inline_keyboard": [[{"text": str(b["text"]), "callback_data": str(b["callback_data"])[:64]}
                                 for b in row] for row in rows if isinstance(row, list)]}
