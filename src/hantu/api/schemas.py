"""Response and request models: every route declares one, so the OpenAPI document describes every answer."""

from __future__ import annotations

import datetime as dt
import re
from datetime import date, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

T = TypeVar("T")

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_date(value: Any) -> Any:
    """Dates in requests only as YYYY-MM-DD (what the document says): pydantic alone also reads `0` as a Unix
    time (1970-01-01) and `2024-01-02T15:00Z` as its date, silently answering about another day."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value
    raise ValueError("expected a date as YYYY-MM-DD")


# A date in a request, as a parameter or a body field (`IsoDate | None` when optional: FastAPI drops the
# validator of an `Annotated` optional given a `Query(...)` default).
IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]


class Model(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(Model, Generic[T]):
    """One page of a longer list: `total` rows match the filters, `items` holds `limit` of them from `offset`."""

    items: list[T]
    total: int
    limit: int
    offset: int


class ErrorOut(Model):
    detail: str


class Health(Model):
    status: Literal["ok"] = "ok"


class ReadyChecks(Model):
    database: bool
    scheduler: bool


class Ready(Model):
    ready: bool
    checks: ReadyChecks


class NextJob(Model):
    job: str
    at: datetime | None


class SchedulerStatus(Model):
    published: bool = Field(description="False when the scheduler never published a heartbeat")
    fresh: bool = Field(description="The heartbeat is at most 90 s old")
    at: datetime | None = None
    age_seconds: float | None = None
    pid: int | None = None
    clock: str | None = None
    sim_now: datetime | None = None
    state: str | None = None
    next_jobs: list[NextJob] = []
    running: list[str] = []


class HaltInfo(Model):
    halted: bool
    reason: str = ""
    by: str = ""
    at: datetime | None = None


class RiskHalt(Model):
    name: str
    active: bool
    reason: str = ""
    day: date | None = Field(None, description="The trading day the limit tripped")


class ModeInfo(Model):
    trading_mode: str = Field(description="paper | kis")
    server: str = Field(description="virtual | prod")
    real_money: bool
    strategy: str
    language: str


class Status(Model):
    now: datetime = Field(description="The API's clock")
    mode: ModeInfo
    scheduler: SchedulerStatus
    halt: HaltInfo
    risk: list[RiskHalt] = []
    account: Account | None = Field(default=None, description="The account view, as `/account` answers it")
    version: str


class JobRunOut(Model):
    id: int
    job: str
    trading_date: date | None
    status: str
    attempt: int
    started_at: datetime
    finished_at: datetime | None
    duration_seconds: float | None = None
    error: str | None
    figures: dict[str, Any] | None


class JobsOut(Model):
    runs: Page[JobRunOut]
    next_jobs: list[NextJob]
    running: list[str]
    requested: list[JobRequestOut]


class LogLine(Model):
    file: str
    time: str | None = None
    level: str | None = None
    logger: str | None = None
    message: str


class LogTail(Model):
    files: list[str]
    lines: list[LogLine]


class HaltRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field("", max_length=500)


class JobRunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    date: IsoDate | None = Field(
        None, description="Trading date to run for, YYYY-MM-DD (default: the scheduler's today)"
    )


class JobRequestOut(Model):
    job: str
    date: dt.date | None
    by: str
    at: datetime


class CancelRequestOut(Model):
    order_id: str
    by: str
    at: datetime


class ControlResult(Model):
    ok: bool
    action: str
    message: str


JobsOut.model_rebuild()


# --- trading -------------------------------------------------------------------------------------------------
class Position(Model):
    code: str
    name: str | None = None
    quantity: int
    avg_price: float
    last_price: float | None = Field(default=None, description="The newest stored close (None: valued at cost)")
    last_price_date: date | None = Field(default=None, description="The trading day of `last_price`")
    market_value: float
    unrealized_pnl: float
    unrealized_pnl_pct: float | None = None
    entry_date: date | None = None
    stop_price: float | None = None
    target_price: float | None = None


class Account(Model):
    """The account view (`hantu.trading.account`): the same figures as `hantu trade balance` and Telegram."""

    broker: str | None = Field(default=None, description="paper | kis: the configured trading mode's account")
    cash: float = 0
    positions_value: float = Field(default=0, description="Positions at market (at cost where there is no price)")
    positions_cost: float = 0
    equity: float = Field(default=0, description="Cash + positions at market")
    day_pnl: float | None = Field(default=None, description="Equity now minus the last close's equity, when known")
    realized_pnl_today: float | None = Field(default=None, description="Realized today, after fees and taxes")
    unrealized_pnl: float = 0
    as_of: datetime | None = Field(default=None, description="When the book last changed")
    prices_as_of: date | None = Field(default=None, description="The oldest price's trading day")
    trading_date: date | None = None
    positions: int = 0
    priced: bool = Field(default=True, description="False when some position has no market price (valued at cost)")
    open_orders: int = Field(default=0, description="Orders of the trading date not yet final")
    holdings: list[Position] = []


class PositionsOut(Model):
    broker: str | None
    items: list[Position]


class Order(Model):
    id: int
    client_order_id: str
    broker: str
    broker_order_id: str | None
    trading_date: date
    code: str
    name: str | None = None
    side: str
    order_type: str
    quantity: int
    limit_price: int | None
    status: str
    filled_quantity: int
    avg_fill_price: float
    purpose: str
    reason: str
    source: str
    message: str
    created_at: datetime
    sent_at: datetime | None
    updated_at: datetime
    is_open: bool = False
    cancel_requested: bool = False


class FillOut(Model):
    id: int
    broker: str
    fill_id: str
    broker_order_id: str
    order_id: int | None
    trading_date: date
    code: str
    name: str | None = None
    side: str
    quantity: int
    price: int
    commission: int
    tax: int
    filled_at: datetime


class ReconciliationOut(Model):
    id: int
    at: datetime
    broker: str
    kind: str
    code: str | None
    details: dict[str, Any] | None
    action: str


# --- performance ---------------------------------------------------------------------------------------------
class EquityPointOut(Model):
    date: dt.date
    equity: float
    pnl: float = Field(description="Change from the previous point")
    drawdown: float = Field(description="Fraction below the running peak (0.05 = 5 % down)")


class SelectionOutcome(Model):
    date: dt.date
    code: str
    name: str | None = None
    rank: int | None = None
    price_then: float | None = Field(None, description="Close on the selection day")
    price_now: float | None = Field(None, description="Latest close")
    return_pct: float | None = Field(None, description="price_now / price_then - 1")


class Performance(Model):
    broker: str | None
    points: list[EquityPointOut]
    total_return: float | None
    max_drawdown: float | None
    day_pnl: float | None
    selections: list[SelectionOutcome] = []
    selections_avg_return: float | None = None


# --- strategy ------------------------------------------------------------------------------------------------
class ScreenRunOut(Model):
    id: int
    run_date: dt.date
    strategy: str
    data_date: dt.date
    created_at: datetime
    universe: int
    eligible: int
    passed: int
    watchlist_size: int
    figures: dict[str, Any]


class WatchItem(Model):
    rank: int
    code: str
    name: str
    sector: str | None
    score: float
    reasons: list[str]
    reasons_text: list[str] = Field([], description="The reasons as the user reads them (HANTU_LANGUAGE)")
    factors: dict[str, float]


class ScreeningOut(Model):
    run: ScreenRunOut | None
    items: list[WatchItem]


class SelectionRunOut(Model):
    id: int
    run_date: dt.date
    strategy: str
    data_date: dt.date
    created_at: datetime
    regime: str
    max_candidates: int
    figures: dict[str, Any]


class SelectionItem(Model):
    rank: int
    code: str
    name: str
    sector: str | None
    entry_price: int
    stop_price: int
    target_price: int
    weight: float
    score: float
    reason: str
    reason_text: str = Field("", description="The reason as the user reads it (HANTU_LANGUAGE; `reason` is stored)")


class SelectionsOut(Model):
    date: dt.date | None = Field(None, description="The selection's run date")
    run: SelectionRunOut | None
    items: list[SelectionItem]


# --- backtests -----------------------------------------------------------------------------------------------
class BacktestSummary(Model):
    id: int
    created_at: datetime
    kind: str
    parent_id: int | None
    strategy: str
    params: dict[str, Any]
    start_date: dt.date
    end_date: dt.date
    stocks: int
    days: int
    initial_cash: int
    final_equity: float
    metrics: dict[str, Any]
    benchmark: dict[str, Any]
    report_path: str | None
    elapsed_s: float


class BacktestTradeOut(Model):
    code: str
    name: str
    quantity: int
    entry_date: dt.date
    entry_price: float
    exit_date: dt.date | None
    exit_price: float | None
    exit_reason: str | None
    fees: int
    taxes: int
    pnl: float
    holding_days: int


class BacktestDetail(BacktestSummary):
    equity_curve: dict[str, Any]
    trades: list[BacktestTradeOut]
    members: list[BacktestSummary]


# --- data ----------------------------------------------------------------------------------------------------
class MarketDataStatus(Model):
    first_date: dt.date | None
    last_date: dt.date | None
    days: int
    stocks: int
    stocks_last_day: int
    gaps: list[dt.date]
    last_update: str | None
    last_source: str | None


class DataStatus(Model):
    market: MarketDataStatus | None = Field(None, description="None when the market store is empty")
    instruments: int = Field(description="Rows in the instruments table")
    last_sync: JobRunOut | None = Field(None, description="The newest data_sync run")
    stale_days: int | None = Field(None, description="Calendar days from the last stored day to today")
    required_close: dt.date | None = Field(
        None, description="The close today's decisions need (the previous XKRX trading day)")
    fresh: bool | None = Field(
        None, description="Whether the store reaches required_close; screening and selection refuse it when false")


class MarketBenchmark(Model):
    dates: list[dt.date] = Field(description="Stored trading days of the range")
    indices: dict[str, list[float]] = Field(
        description="Cap-weighted KOSPI / KOSDAQ (close × listed shares, yesterday's caps as weights), 100 on the "
                    "first day; empty when the store has no share counts")
    total_return: dict[str, float] = Field(description="Return over the range per market")
    gap_days: list[dt.date] = Field(description="Days after a gap in the data: their return counts as 0")
