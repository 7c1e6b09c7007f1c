"""The KIS REST transport: headers, token, pacing, error parsing, retries and pagination.

Reads are retried with backoff (tenacity) on retryable errors. Orders go through `send_order`, which never
re-sends a request that might have reached the business side: only gateway refusals (rate limit, token
errors) and connection failures (nothing sent) are sent again; a timeout or 5xx is the caller's to resolve
by looking the order up (`KisApi.order_cash` does).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential, wait_random

from hantu.broker.kis.config import KisConfig
from hantu.broker.kis.errors import (
    KisError,
    KisNetworkError,
    KisRateLimitError,
    KisResponseError,
    KisTimeoutError,
    KisTokenExpiredError,
    check_response,
)
from hantu.broker.kis.ratelimit import RateLimiter, limiter_for
from hantu.broker.kis.token import TokenStore
from hantu.clock import Clock, SystemClock
from hantu.log import register_secrets

log = logging.getLogger(__name__)
T = TypeVar("T")

MORE_PAGES = frozenset({"F", "M"})  # response header tr_cont: more data follows
RATE_LIMIT_PENALTY = 0.5  # seconds every caller of the key pauses after an EGW00201
ORDER_GATEWAY_ATTEMPTS = 4  # sends of one order refused at the gateway (rate limit, token) or not connected


class KisConnectError(KisNetworkError):
    """The connection failed before the request was sent: it certainly had no effect."""


class KisPaginationError(KisResponseError):
    """More pages than the cap: a wrong `tr_cont` loop (SYDB0050) or an absurd result set."""

    retryable = False


@dataclass(frozen=True)
class KisResponse:
    body: dict[str, Any]
    tr_cont: str = ""  # response header: F/M = more pages, D/E = last page
    status: int = 200

    @property
    def has_more(self) -> bool:
        return self.tr_cont in MORE_PAGES


@dataclass
class ClientStats:
    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    token_rejections: int = 0
    by_tr: dict[str, int] = field(default_factory=dict)


class KisClient:
    """One app key on one server. Thread-safe (httpx.Client is; token store and pacer are locked)."""

    def __init__(self, config: KisConfig, clock: Clock | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        self.clock: Clock = clock or SystemClock()
        register_secrets(config.secrets())
        self.http = httpx.Client(base_url=config.rest_base, timeout=config.timeout, transport=transport,
                                 headers={"content-type": "application/json; charset=utf-8"})
        self.limiter: RateLimiter = limiter_for(config.state_dir, config.key_id, config.requests_per_second)
        self.tokens = TokenStore(config, self.clock, self._issue_token)
        self.stats = ClientStats()

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> KisClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- auth -------------------------------------------------------------------------------------
    def _issue_token(self) -> dict[str, Any]:
        body = {"grant_type": "client_credentials", "appkey": self.config.app_key,
                "appsecret": self.config.app_secret}
        data = self._post_plain("/oauth2/tokenP", body)
        if data.get("access_token"):
            register_secrets([str(data["access_token"])])
        return data

    def access_token(self) -> str:
        return self.tokens.token()

    def revoke_token(self) -> None:
        """Revoke the persisted token at KIS (`/oauth2/revokeP`) and forget it."""
        current = self.tokens.current()
        if current is None:
            return
        self._post_plain("/oauth2/revokeP", {"appkey": self.config.app_key, "appsecret": self.config.app_secret,
                                             "token": current.value})
        self.tokens.path.unlink(missing_ok=True)

    def approval_key(self) -> str:
        """A WebSocket approval key (`/oauth2/Approval`; note `secretkey`, not `appsecret`)."""
        data = self._post_plain("/oauth2/Approval", {"grant_type": "client_credentials",
                                                     "appkey": self.config.app_key,
                                                     "secretkey": self.config.app_secret})
        key = data.get("approval_key")
        if not key:
            raise KisResponseError("approval response without approval_key")
        register_secrets([str(key)])
        return str(key)

    def hashkey(self, body: dict[str, str]) -> str:
        """The `HASH` of an order body (`/uapi/hashkey`), sent as header `hashkey` when enabled."""
        headers = {"appkey": self.config.app_key, "appsecret": self.config.app_secret}
        data = self._post_plain("/uapi/hashkey", body, headers)
        value = data.get("HASH")
        if not value:
            raise KisResponseError("hashkey response without HASH")
        return str(value)

    def _post_plain(self, path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
        """POST without the access token (auth endpoints), paced and with read-style retries."""
        def once() -> dict[str, Any]:
            self.limiter.acquire()
            try:
                response = self.http.post(path, json=body, headers=headers or {})
            except httpx.TimeoutException as error:
                raise KisTimeoutError(f"{path}: {type(error).__name__}") from error
            except httpx.TransportError as error:
                raise KisNetworkError(f"{path}: {type(error).__name__}: {error}") from error
            return check_response(response.status_code, response.text, path)

        return self._retrying(once)

    # --- requests ---------------------------------------------------------------------------------
    def _headers(self, tr_id: str, token: str, tr_cont: str, extra: dict[str, str] | None) -> dict[str, str]:
        headers = {"authorization": f"Bearer {token}", "appkey": self.config.app_key,
                   "appsecret": self.config.app_secret, "tr_id": tr_id, "custtype": "P", "tr_cont": tr_cont}
        if extra:
            headers.update(extra)
        return headers

    def _send(self, method: str, path: str, tr_id: str, params: dict[str, str] | None,
              body: dict[str, str] | None, tr_cont: str, extra_headers: dict[str, str] | None) -> KisResponse:
        """One request with a valid token; a token the server rejects is re-issued once and the request sent
        again (the gateway refused it, so nothing happened)."""
        token = self.tokens.token()
        for attempt in range(2):
            self.limiter.acquire()
            self.stats.requests += 1
            self.stats.by_tr[tr_id] = self.stats.by_tr.get(tr_id, 0) + 1
            headers = self._headers(tr_id, token, tr_cont, extra_headers)
            try:
                if method == "GET":
                    response = self.http.get(path, params=params, headers=headers)
                else:
                    response = self.http.post(path, json=body, headers=headers)
            except httpx.ConnectError as error:
                raise KisConnectError(f"{path}: cannot connect: {error}", tr_id=tr_id) from error
            except httpx.TimeoutException as error:
                raise KisTimeoutError(f"{path}: {type(error).__name__}", tr_id=tr_id) from error
            except httpx.TransportError as error:
                raise KisNetworkError(f"{path}: {type(error).__name__}: {error}", tr_id=tr_id) from error
            try:
                data = check_response(response.status_code, response.text, tr_id)
            except KisTokenExpiredError:
                self.stats.token_rejections += 1
                if attempt == 1:
                    raise  # re-issued once already: fail loudly
                log.warning("KIS rejected the access token (%s); re-issuing once", tr_id)
                token = self.tokens.after_rejection(token)
                continue
            except KisRateLimitError:
                self.stats.rate_limited += 1
                self.limiter.penalize(RATE_LIMIT_PENALTY)
                raise
            return KisResponse(data, response.headers.get("tr_cont", ""), response.status_code)
        raise AssertionError("unreachable")

    def _retrying(self, call: Callable[[], T]) -> T:
        retryer = Retrying(
            stop=stop_after_attempt(self.config.read_attempts),
            wait=wait_exponential(multiplier=self.config.backoff_initial, max=self.config.backoff_max)
            + wait_random(0, self.config.backoff_initial),
            retry=retry_if_exception(lambda e: isinstance(e, KisError) and e.retryable),
            reraise=True,
            sleep=time.sleep,  # backoff is about the server's real seconds, not a simulated clock
            before_sleep=self._count_retry,
        )
        return retryer(call)

    def _count_retry(self, state: Any) -> None:
        self.stats.retries += 1
        error = state.outcome.exception() if state.outcome else None
        log.info("KIS read retry %d after %s", state.attempt_number, error)

    def get(self, path: str, tr_id: str, params: dict[str, str], tr_cont: str = "") -> KisResponse:
        """A read (GET), retried with backoff on rate limits, 5xx, timeouts and unreadable responses."""
        return self._retrying(lambda: self._send("GET", path, tr_id, params, None, tr_cont, None))

    def post_read(self, path: str, tr_id: str, body: dict[str, str]) -> KisResponse:
        """A POST that changes nothing (retried like a read)."""
        return self._retrying(lambda: self._send("POST", path, tr_id, None, body, "", None))

    def send_order(self, path: str, tr_id: str, body: dict[str, str]) -> KisResponse:
        """Send an order request once. Re-sent only when it certainly had no effect (gateway refusal,
        connection failure); any other failure propagates, for the caller to resolve by lookup."""
        extra = {"hashkey": self.hashkey(body)} if self.config.use_hashkey else None
        last: KisError | None = None
        for attempt in range(ORDER_GATEWAY_ATTEMPTS):
            try:
                return self._send("POST", path, tr_id, None, body, "", extra)
            except (KisRateLimitError, KisConnectError) as error:
                last = error
                wait = min(self.config.backoff_max, self.config.backoff_initial * 2 ** attempt)
                log.warning("KIS order %s not accepted at the gateway (%s); sending again in %.2fs", tr_id,
                            error.msg_cd or type(error).__name__, wait)
                time.sleep(wait)
        assert last is not None
        raise last

    def pages(self, path: str, tr_id: str, params: dict[str, str],
              ctx_keys: tuple[str, str] = ("CTX_AREA_FK100", "CTX_AREA_NK100")) -> Iterator[KisResponse]:
        """Every page of a paginated query: header `tr_cont: N` plus the previous page's ctx keys, until the
        server says the last page (`D`/`E`) or `max_pages` is reached (then `KisPaginationError`)."""
        query = dict(params)
        for key in ctx_keys:
            query.setdefault(key, "")
        tr_cont = ""
        for _ in range(self.config.max_pages):
            response = self.get(path, tr_id, query, tr_cont)
            yield response
            if not response.has_more:
                return
            body = response.body
            for key in ctx_keys:
                query[key] = str(body.get(key.lower(), body.get(key, "")))
            tr_cont = "N"
        raise KisPaginationError(f"more than {self.config.max_pages} pages", tr_id=tr_id)
