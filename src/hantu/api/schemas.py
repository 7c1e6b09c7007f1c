"""Response and request models: every route declares one, so the OpenAPI document describes every answer."""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


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
    at: datetime | None = None


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
    date: dt.date | None = Field(None, description="Trading date to run for (default: the scheduler's today)")


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
class Account(Model):
    broker: str | None = Field(None, description="paper | kis; None before the engine first saw an account")
    cash: float = 0
    positions_value: float = 0
    equity: float = 0
    day_pnl: float | None = Field(None, description="Equity now minus the last close's equity, when known")
    as_of: datetime | None = None
    positions: int = 0
    priced: bool = Field(True, description="False when some position has no market price (valued at cost)")


class Position(Model):
    code: str
    name: str | None = None
    quantity: int
    avg_price: float
    last_price: float | None = None
    market_value: float
    unrealized_pnl: float
    unrealized_pnl_pct: float | None = None
    entry_date: date | None = None
    stop_price: float | None = None
    target_price: float | None = None


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
