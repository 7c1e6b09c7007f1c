"""Where the KIS client connects and with which credentials: one `KisConfig` per (server, app key).

Real (`prod`) and virtual (`virtual`, 모의투자) servers have separate keys, accounts, base URLs, TR ID forms and
rate limits; everything that differs between them is decided here, once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from hantu.config.settings import Settings

Server = Literal["prod", "virtual"]

BASE_URLS: dict[str, str] = {
    "prod": "https://openapi.koreainvestment.com:9443",
    "virtual": "https://openapivts.koreainvestment.com:29443",
}
WS_URLS: dict[str, str] = {
    "prod": "ws://ops.koreainvestment.com:21000",
    "virtual": "ws://ops.koreainvestment.com:31000",
}
# Requests per second per app key (KIS's published limits).
DEFAULT_RATE_LIMITS: dict[str, float] = {"prod": 20.0, "virtual": 2.0}
# Page sizes of the paginated account queries, (real, virtual): what the servers return per call.
BALANCE_PAGE_SIZE: dict[str, int] = {"prod": 50, "virtual": 20}
DAILY_CCLD_PAGE_SIZE: dict[str, int] = {"prod": 100, "virtual": 15}


def virtual_tr_id(tr_id: str) -> str:
    """The virtual-server form of an account/order TR ID: the leading T, J or C becomes V."""
    if tr_id and tr_id[0] in "TJC":
        return "V" + tr_id[1:]
    return tr_id


def real_tr_id(tr_id: str) -> str:
    """Inverse of `virtual_tr_id` for the TRs this project uses (V → T; `VTSC9215R` → `CTSC9215R`)."""
    if tr_id.startswith("VTSC"):
        return "C" + tr_id[1:]
    if tr_id.startswith("V"):
        return "T" + tr_id[1:]
    return tr_id


def key_fingerprint(app_key: str) -> str:
    """A short, stable, non-secret name for an app key (file names, logs)."""
    return hashlib.sha256(app_key.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class KisConfig:
    """Everything the client needs. Build it with `from_settings` in the processes, directly in tests."""

    app_key: str
    app_secret: str
    server: Server = "virtual"
    account: str = ""  # 10 digits: CANO (8) + ACNT_PRDT_CD (2)
    hts_id: str = ""
    base_url: str = ""
    ws_url: str = ""
    rate_limit: float | None = None  # requests/s for this app key across processes; None = KIS's limit
    home: Path = field(default_factory=lambda: Path("./data"))
    timeout: float = 10.0  # seconds per HTTP request
    read_attempts: int = 4  # attempts of a read (quotes, account queries) on retryable errors
    backoff_initial: float = 0.2  # seconds, first retry wait (doubles, with jitter)
    backoff_max: float = 5.0
    max_pages: int = 50  # cap on pagination loops (a wrong tr_cont can loop forever)
    use_hashkey: bool = False  # send a `hashkey` header with orders (optional at KIS today)
    real_trading_enabled: bool = False  # the real-money opt-in: a `KisBroker` on `prod` refuses to exist without it

    def __post_init__(self) -> None:
        if self.server not in ("prod", "virtual"):
            raise ValueError(f"server must be prod or virtual, got {self.server!r}")
        if self.account and (len(self.account) != 10 or not self.account.isdigit()):
            raise ValueError("account must be 10 digits (CANO 8 + ACNT_PRDT_CD 2)")

    @property
    def is_virtual(self) -> bool:
        return self.server == "virtual"

    @property
    def rest_base(self) -> str:
        return (self.base_url or BASE_URLS[self.server]).rstrip("/")

    @property
    def ws_base(self) -> str:
        return (self.ws_url or WS_URLS[self.server]).rstrip("/")

    @property
    def requests_per_second(self) -> float:
        return float(self.rate_limit) if self.rate_limit else DEFAULT_RATE_LIMITS[self.server]

    @property
    def cano(self) -> str:
        return self.account[:8]

    @property
    def product_code(self) -> str:
        return self.account[8:]

    @property
    def state_dir(self) -> Path:
        """Token cache and rate-limiter state live here (`$HANTU_HOME/kis`)."""
        return Path(self.home) / "kis"

    @property
    def key_id(self) -> str:
        return f"{self.server}-{key_fingerprint(self.app_key)}"

    def tr(self, real_id: str) -> str:
        """The TR ID to send for an account/order TR given in its real form."""
        return virtual_tr_id(real_id) if self.is_virtual else real_id

    def with_(self, **changes: Any) -> KisConfig:
        """A copy with some fields changed (dataclass fields by name)."""
        return replace(self, **changes)

    def secrets(self) -> list[str]:
        """Values the log mask must hide."""
        return [v for v in (self.app_key, self.app_secret, self.account, self.cano) if v]

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> KisConfig:
        """The configured client; a clear error when the keys are missing."""
        if settings.app_key is None or settings.app_secret is None:
            raise ValueError("APP_KEY and APP_SECRET must be set to use the KIS API (see `hantu config check`)")
        account = settings.account_number.get_secret_value() if settings.account_number else ""
        values: dict[str, Any] = {  # field name -> value
            "app_key": settings.app_key.get_secret_value(),
            "app_secret": settings.app_secret.get_secret_value(),
            "server": settings.server,
            "account": account,
            "hts_id": settings.kis_hts_id or "",
            "base_url": settings.kis_base_url or "",
            "ws_url": settings.kis_ws_url or "",
            "rate_limit": settings.kis_rate_limit,
            "home": Path(settings.hantu_home),
            "real_trading_enabled": settings.real_trading_enabled,
        }
        values.update(overrides)
        return cls(**values)
