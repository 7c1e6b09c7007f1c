"""The control API of market events under `/_sandbox/`: inject halts, upper-limit locks, VIs, circuit breakers
and sidecars, load a scenario day, read a stock's market status (docs/kis-sandbox.md)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from hantu.market import calendar
from hantu.sandbox.kis import scenarios
from hantu.sandbox.kis.events import EVENT_KINDS, HALTED, LOCKED, NORMAL, REOPEN_AUCTION, VI_AUCTION
from hantu.sandbox.kis.state import SandboxState

STATUS_NAMES = {NORMAL: "normal", VI_AUCTION: "vi_auction", HALTED: "halted", REOPEN_AUCTION: "reopen_auction",
                LOCKED: "upper_locked"}


class EventSpec(BaseModel):
    kind: str = Field(description=" | ".join(EVENT_KINDS))
    start: str = Field(description="HH:MM (KST) on `day`")
    day: str | None = Field(None, description="YYYY-MM-DD; default the sandbox clock's day")
    minutes: int | None = Field(None, description="length; null: to the close (halt, upper_lock)")
    code: str = ""
    market: str = ""
    stage: int = 1
    vi: str = "static"
    note: str = ""


class ScenarioSpec(BaseModel):
    name: str
    day: str | None = None
    codes: list[str] = Field(default_factory=list)


def _day(state: SandboxState, text: str | None) -> date:
    if not text:
        return state.now().date()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise HTTPException(400, f"day must be YYYY-MM-DD, got {text!r}") from None


def build_events_router(state: SandboxState) -> APIRouter:
    router = APIRouter(prefix="/_sandbox")
    book = state.market.status

    @router.post("/events")
    def add_event(spec: EventSpec) -> dict[str, Any]:
        if spec.code and not state.market.has(spec.code):
            raise HTTPException(404, f"unknown stock {spec.code}")
        extra = {k: v for k, v in {"market": spec.market, "stage": spec.stage, "vi": spec.vi,
                                   "note": spec.note}.items()}
        try:
            with state.lock:
                event = book.add(spec.kind, _day(state, spec.day), spec.start, spec.minutes, spec.code, **extra)
        except ValueError as bad:
            raise HTTPException(400, str(bad)) from None
        return event.to_dict()

    @router.get("/events")
    def list_events() -> dict[str, Any]:
        return {"scenario": book.scenario, "events": [e.to_dict() for e in book.events]}

    @router.delete("/events")
    def clear_events() -> dict[str, Any]:
        with state.lock:
            book.clear()
        return {"cleared": True}

    @router.get("/scenarios")
    def list_scenarios() -> list[dict[str, Any]]:
        return [{"name": s.name, "summary": s.summary, "stocks": s.stocks} for s in scenarios.SCENARIOS.values()]

    @router.post("/scenario")
    def load_scenario(spec: ScenarioSpec) -> dict[str, Any]:
        try:
            with state.lock:
                return scenarios.load(state.market, spec.name, _day(state, spec.day), spec.codes or None)
        except ValueError as bad:
            raise HTTPException(400, str(bad)) from None

    @router.get("/status/{code}")
    def stock_status(code: str) -> dict[str, Any]:
        if not state.market.has(code):
            raise HTTPException(404, f"unknown stock {code}")
        now = state.advance()
        snap = state.market.snapshot(code, now)
        found = book.day_status(code, now.date())
        minute = found.at(snap.minute) if found is not None and snap.phase == "open" else NORMAL
        market_wide: list[dict[str, Any]] = []
        if calendar.is_trading_day(now.date()):
            market_wide = book.market_wide(now, calendar.session(now.date()).open)
        return {"code": code, "now": now.isoformat(), "price": snap.price, "status": STATUS_NAMES[minute],
                "halted": snap.halted, "vi": snap.vi, "upper_limit": snap.upper_limit,
                "vi_windows": [{"start": w.start, "end": w.end, "kind": w.kind, "reference": w.reference,
                                "trigger_price": w.trigger_price, "auction_price": w.auction_price}
                               for w in (found.windows if found is not None else [])],
                "market": market_wide}

    return router
