"""The access token: one per (server, app key), persisted, shared by every process.

KIS sends the user a KakaoTalk message on every issuance and allows one a minute (EGW00133), so the token is
kept in `$HANTU_HOME/kis/token-<server>-<key fingerprint>.json` (mode 600) and read by the scheduler, the API
server and the CLI alike. Issuance happens under a file lock, at most once a minute (on the given clock), and
only when less than `REFRESH_MARGIN` remains or after the server rejected the current token.
Expiry is KIS's `access_token_token_expired`, read as Asia/Seoul time whatever the OS timezone.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hantu.broker.kis.config import KisConfig
from hantu.broker.kis.errors import KisResponseError, KisTokenIssueLimitError
from hantu.broker.kis.filelock import locked, private_dir, write_private
from hantu.clock import Clock, parse_kst, to_kst

log = logging.getLogger(__name__)

REFRESH_MARGIN = timedelta(minutes=10)
ISSUE_INTERVAL = timedelta(seconds=60)
# When KIS's stated expiry and `now + expires_in` disagree by more than this, the two clocks differ (a
# sandbox on a simulated clock, a badly set OS clock): trust the relative lifetime on our own clock.
SKEW_TOLERANCE = timedelta(minutes=5)


@dataclass(frozen=True)
class AccessToken:
    value: str
    expires_at: datetime  # aware, KST
    issued_at: datetime  # aware, KST (our clock)

    def remaining(self, now: datetime) -> timedelta:
        return self.expires_at - to_kst(now)

    def fresh(self, now: datetime) -> bool:
        return self.remaining(now) >= REFRESH_MARGIN

    def to_json(self) -> str:
        return json.dumps({"access_token": self.value, "expires_at": self.expires_at.isoformat(),
                           "issued_at": self.issued_at.isoformat()})

    @classmethod
    def from_json(cls, text: str) -> AccessToken | None:
        try:
            data = json.loads(text)
            return cls(str(data["access_token"]), to_kst(datetime.fromisoformat(data["expires_at"])),
                       to_kst(datetime.fromisoformat(data["issued_at"])))
        except (ValueError, KeyError, TypeError):
            return None


def token_from_response(body: dict[str, Any], now: datetime) -> AccessToken:
    """An `AccessToken` from a `/oauth2/tokenP` response body (issued at `now`)."""
    value = body.get("access_token")
    if not value:
        raise KisResponseError("token response without access_token")
    now = to_kst(now)
    try:
        lifetime = timedelta(seconds=int(body.get("expires_in") or 86400))
    except (TypeError, ValueError) as error:
        raise KisResponseError(f"bad expires_in {body.get('expires_in')!r}") from error
    relative = now + lifetime
    stated_text = body.get("access_token_token_expired")
    expires_at = relative
    if stated_text:
        try:
            stated = parse_kst(str(stated_text))  # KST, never the OS timezone
        except ValueError as error:
            raise KisResponseError(f"bad access_token_token_expired {stated_text!r}") from error
        if abs(stated - relative) <= SKEW_TOLERANCE:
            expires_at = stated
        else:
            log.warning("KIS token expiry %s disagrees with now + expires_in (%s): clocks differ, using the "
                        "latter", stated, relative)
    return AccessToken(str(value), expires_at, now)


class TokenStore:
    """The shared token of one (server, app key). `issue()` performs the HTTP call and returns the body."""

    def __init__(self, config: KisConfig, clock: Clock, issue: Callable[[], dict[str, Any]]) -> None:
        self.clock = clock
        self._issue = issue
        directory = private_dir(config.state_dir)
        self.path: Path = directory / f"token-{config.key_id}.json"
        self.lock_path: Path = directory / f"token-{config.key_id}.lock"
        self._cached: AccessToken | None = None
        self.issued_here = 0  # issuances by this process (tests and stats)

    def token(self) -> str:
        """A token with at least `REFRESH_MARGIN` left, issuing one if needed."""
        cached = self._cached
        if cached is not None and cached.fresh(self.clock.now()):
            return cached.value
        return self._refresh(rejected=None)

    def after_rejection(self, rejected: str) -> str:
        """The server refused `rejected` (EGW00123/EGW00121): a new token, unless another process already has
        one."""
        return self._refresh(rejected=rejected)

    def current(self) -> AccessToken | None:
        """The persisted token, if any (no issuance)."""
        try:
            return AccessToken.from_json(self.path.read_text())
        except FileNotFoundError:
            return None

    def _refresh(self, rejected: str | None) -> str:
        with locked(self.lock_path):
            stored = self.current()
            now = self.clock.now()
            if stored is not None and stored.value != rejected and stored.fresh(now):
                self._cached = stored
                return stored.value
            if stored is not None:
                wait = (stored.issued_at + ISSUE_INTERVAL - to_kst(now)).total_seconds()
                if wait > 0:
                    log.info("KIS token issued %.0fs ago; waiting %.0fs (one issuance a minute)",
                             ISSUE_INTERVAL.total_seconds() - wait, wait)
                    self.clock.sleep(wait)
            token = self._issue_with_limit(stored, rejected)
            write_private(self.path, token.to_json())
            self._cached = token
            return token.value

    def _issue_with_limit(self, stored: AccessToken | None, rejected: str | None) -> AccessToken:
        for attempt in range(2):
            try:
                body = self._issue()
            except KisTokenIssueLimitError:
                # Issued elsewhere (another machine, a lost file): reuse a still-valid token, else wait once.
                now = self.clock.now()
                if stored is not None and stored.value != rejected and stored.remaining(now) > timedelta(0):
                    return stored
                if attempt == 1:
                    raise
                self.clock.sleep(ISSUE_INTERVAL.total_seconds() + 1)
                continue
            self.issued_here += 1
            log.info("KIS access token issued")
            return token_from_response(body, self.clock.now())
        raise AssertionError("unreachable")
