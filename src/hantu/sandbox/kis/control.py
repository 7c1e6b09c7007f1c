"""The sandbox's control API under `/_sandbox/`: clock, accounts, faults, stats (see docs/kis-sandbox.md)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from hantu.clock import SimClock, parse_kst
from hantu.sandbox.kis.faults import FAULT_KINDS
from hantu.sandbox.kis.state import SandboxState


class ClockChange(BaseModel):
    set: str | None = Field(None, description="move to this KST time, 'YYYY-MM-DD HH:MM[:SS]' (forward only)")
    advance: float | None = Field(None, description="move forward by this many seconds")


class AccountSpec(BaseModel):
    server: str = "virtual"
    cash: int = 10_000_000
    app_key: str | None = None
    app_secret: str | None = None
    account: str | None = None
    hts_id: str | None = None
    holdings: dict[str, Any] = Field(default_factory=dict)
    rate_limit: float | None = None


class FaultSpec(BaseModel):
    kind: str
    count: int = 1
    path: str = ""
    tr_id: str = ""
    app_key: str = ""
    delay: float = 3.0
    after: bool = False
    ticks: int = 2  # fill_worse only


def build_control_router(state: SandboxState) -> APIRouter:
    router = APIRouter(prefix="/_sandbox")

    def clock_info() -> dict[str, Any]:
        return {"now": state.now().isoformat(), "speed": state.clock.speed,
                "drivable": hasattr(state.clock, "advance")}

    @router.get("/health")
    def health() -> dict[str, Any]:
        return {"ok": True, "now": state.now().isoformat(), "first_day": state.market.first_day.isoformat(),
                "last_day": state.market.last_day.isoformat(), "stocks": len(state.market.panel.codes)}

    @router.get("/clock")
    def get_clock() -> dict[str, Any]:
        return clock_info()

    @router.post("/clock")
    def change_clock(change: ClockChange) -> dict[str, Any]:
        clock = state.clock
        if not isinstance(clock, SimClock):  # a frozen clock is a SimClock too
            raise HTTPException(409, "this sandbox runs on the system clock; start it with --clock sim/frozen")
        try:
            if change.set is not None:
                clock.set(parse_kst(change.set))
            if change.advance is not None:
                clock.advance(timedelta(seconds=change.advance))
        except ValueError as bad:
            raise HTTPException(400, str(bad)) from None
        state.advance()
        return clock_info()

    @router.post("/accounts")
    def create_account(spec: AccountSpec) -> dict[str, Any]:
        try:
            account = state.accounts.create(spec.server, spec.cash, app_key=spec.app_key,
                                            app_secret=spec.app_secret, account=spec.account, hts_id=spec.hts_id,
                                            holdings=spec.holdings, rate_limit=spec.rate_limit)
        except ValueError as bad:
            raise HTTPException(400, str(bad)) from None
        return account.public()

    @router.get("/accounts")
    def list_accounts() -> list[dict[str, Any]]:
        return [a.public() for a in state.accounts.all()]

    @router.get("/accounts/{cano}")
    def get_account(cano: str) -> dict[str, Any]:
        account = state.accounts.by_account(cano.replace("-", "")[:8])
        if account is None:
            raise HTTPException(404, f"no account {cano}")
        state.advance()
        info = account.public()
        info["orders"] = [{"odno": o.odno, "orig_odno": o.orig_odno, "kind": o.kind, "code": o.code,
                           "side": o.side.value, "division": o.division, "quantity": o.quantity, "price": o.price,
                           "filled": o.filled, "avg_price": o.avg_price, "remaining": o.remaining,
                           "cancelled": o.cancelled, "closed": o.closed, "day": o.day.isoformat(),
                           "placed_at": o.placed_at.isoformat(),
                           "fills": [{"at": f.at.isoformat(), "quantity": f.quantity, "price": f.price,
                                      "commission": f.commission, "tax": f.tax} for f in o.fills]}
                          for o in state.exchange.orders if o.account is account]
        return info

    @router.post("/faults")
    def add_fault(spec: FaultSpec) -> dict[str, Any]:
        if spec.kind not in FAULT_KINDS:
            raise HTTPException(400, f"unknown fault kind {spec.kind!r}; one of {', '.join(FAULT_KINDS)}")
        try:
            fault = state.faults.add(spec.kind, spec.count, path=spec.path, tr_id=spec.tr_id,
                                     app_key=spec.app_key, delay=spec.delay, after=spec.after,
                                     ticks=spec.ticks)
        except ValueError as bad:
            raise HTTPException(400, str(bad)) from None
        return fault.to_dict()

    @router.get("/faults")
    def list_faults() -> list[dict[str, Any]]:
        return state.faults.to_list()

    @router.delete("/faults")
    def clear_faults() -> dict[str, Any]:
        state.faults.clear()
        return {"cleared": True}

    @router.get("/stats")
    def stats(app_key: str | None = None) -> dict[str, Any]:
        return state.stats(app_key)

    @router.post("/stats/reset")
    def reset_stats() -> dict[str, Any]:
        state.reset_stats()
        return {"reset": True}

    return router
