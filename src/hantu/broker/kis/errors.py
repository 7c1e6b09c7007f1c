"""Typed KIS errors, and the one function that turns any response into success or one of them.

KIS reports errors in the body (`rt_cd` != "0" with `msg_cd`/`msg1`), under any HTTP status: gateway errors
usually come as HTTP 500 with a JSON body, business errors as HTTP 200. Token endpoints use
`error_code`/`error_description` instead. `check_response` reads all of these shapes.
"""

from __future__ import annotations

import json
from typing import Any

from hantu.broker.base import BrokerError, OrderRejected, OrderStateUnknown

RATE_LIMIT_CODES = frozenset({"EGW00201"})
TOKEN_CODES = frozenset({"EGW00123", "EGW00121"})  # expired, invalid: re-issue once
TOKEN_ISSUE_LIMIT_CODES = frozenset({"EGW00133"})
OVERLOAD_CODES = frozenset({"EGW00203", "EGW00300", "EGW00500"})
WRONG_SERVER_CODES = frozenset({"EGW02004"})
INVALID_INPUT_CODES = frozenset({"OPSQ2001", "MCA00124"})
VIRTUAL_UNAVAILABLE_TEXT = "모의투자"
# Gateway refusals: the request never reached the business side, so even an order was not placed.
GATEWAY_REFUSAL_CODES = RATE_LIMIT_CODES | TOKEN_CODES | TOKEN_ISSUE_LIMIT_CODES | WRONG_SERVER_CODES


class KisError(BrokerError):
    """Any KIS failure. `msg_cd`/`message` as KIS sent them; `status` is the HTTP status (0 = no response)."""

    retryable = False

    def __init__(self, message: str, *, msg_cd: str = "", status: int = 0, tr_id: str = "") -> None:
        self.msg_cd = msg_cd
        self.message = message
        self.status = status
        self.tr_id = tr_id
        where = f" [{tr_id}]" if tr_id else ""
        code = f"{msg_cd}: " if msg_cd else ""
        super().__init__(f"KIS{where} {code}{message} (HTTP {status})" if status else f"KIS{where} {code}{message}")


class KisRateLimitError(KisError):
    """EGW00201: more requests per second than the app key allows. Back off and retry."""

    retryable = True


class KisAuthError(KisError):
    """Token or key problems: expired/invalid token (after one re-issue), wrong key for the server."""


class KisTokenExpiredError(KisAuthError):
    """EGW00123/EGW00121: the access token is expired or invalid (the client re-issues once)."""


class KisTokenIssueLimitError(KisAuthError):
    """EGW00133: a token was issued less than a minute ago. Not retried blindly: the token store waits the
    minute out (or reuses a still-valid token)."""


class KisNotInVirtualError(KisError):
    """The TR is not served by the virtual (모의투자) server, or a key was used on the wrong server."""


class KisInvalidInputError(KisError):
    """The request was refused as malformed (OPSQ2001, unknown service, bad parameters)."""


class KisBusinessError(KisError):
    """A well-formed request the business side refused (insufficient cash, market closed, ...)."""


class KisServerError(KisError):
    """HTTP 5xx or an overload code: the server failed; reads may be retried."""

    retryable = True


class KisNetworkError(KisError):
    """No response: connection refused/reset, or a timeout."""

    retryable = True


class KisTimeoutError(KisNetworkError):
    """The request was sent but no response arrived in time (its effect is unknown)."""


class KisResponseError(KisError):
    """A response we cannot read (not JSON, missing fields): a typed error, never a crash."""

    retryable = True


class KisOrderRejected(KisError, OrderRejected):
    """KIS answered and refused the order: no order exists."""


class KisOrderUnknown(KisError, OrderStateUnknown):
    """The order may exist: its response was lost and the lookup did not settle it."""


def parse_body(text: str) -> dict[str, Any] | None:
    """The JSON object of a response body, or None when it is not one."""
    try:
        data = json.loads(text) if text else None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def error_for(msg_cd: str, message: str, status: int, tr_id: str = "") -> KisError:
    """The typed error for a KIS error code/message."""
    kind: type[KisError]
    if msg_cd in RATE_LIMIT_CODES:
        kind = KisRateLimitError
    elif msg_cd in TOKEN_CODES:
        kind = KisTokenExpiredError
    elif msg_cd in TOKEN_ISSUE_LIMIT_CODES:
        kind = KisTokenIssueLimitError
    elif msg_cd in WRONG_SERVER_CODES or VIRTUAL_UNAVAILABLE_TEXT in message:
        kind = KisNotInVirtualError
    elif msg_cd in INVALID_INPUT_CODES or msg_cd.startswith("OPSQ"):
        kind = KisInvalidInputError
    elif msg_cd in OVERLOAD_CODES or status >= 500:
        kind = KisServerError
    elif status in (401, 403):
        kind = KisAuthError
    elif 400 <= status < 500:
        kind = KisInvalidInputError
    else:
        kind = KisBusinessError
    return kind(message, msg_cd=msg_cd, status=status, tr_id=tr_id)


def check_response(status: int, text: str, tr_id: str = "") -> dict[str, Any]:
    """The body of a successful response; otherwise raise the typed error it describes.

    Success means a JSON object with `rt_cd == "0"` (or, for token endpoints, no `error_code`) and a 2xx status.
    """
    body = parse_body(text)
    if body is None:
        if status >= 500:
            raise KisServerError(f"HTTP {status} without a JSON body", status=status, tr_id=tr_id)
        if status >= 400:
            raise error_for("", f"HTTP {status} without a JSON body", status, tr_id)
        raise KisResponseError(f"response is not a JSON object: {text[:80]!r}", status=status, tr_id=tr_id)
    msg_cd = str(body.get("msg_cd") or body.get("error_code") or "")
    message = str(body.get("msg1") or body.get("error_description") or "").strip()
    rt_cd = body.get("rt_cd")
    failed = (rt_cd is not None and str(rt_cd) != "0") or bool(body.get("error_code")) or status >= 400
    if failed:
        raise error_for(msg_cd, message or f"HTTP {status}", status, tr_id)
    return body
