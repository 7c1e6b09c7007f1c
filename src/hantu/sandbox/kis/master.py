"""The KIS stock master files as the sandbox serves them: `kospi_code.mst.zip` / `kosdaq_code.mst.zip` in KIS's
fixed-width layout (`hantu.market.kis_master`), generated from the replayed stocks and their instrument facts,
under `/common/master/` (the path of KIS's download host). `/_sandbox/master/{code}` changes one stock's facts
(관리종목, 거래정지, warnings, sector), which the files and the per-stock quote then show."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response
from pydantic import BaseModel

from hantu.market.kis_master import FILE_NAMES, MasterRow, standard_code, write_master, zipped
from hantu.market.store import guess_is_preferred, guess_is_spac
from hantu.sandbox.kis.market import MarketReplay
from hantu.sandbox.kis.state import SandboxState


def sector_codes(replay: MarketReplay) -> dict[str, str]:
    """A 4-digit 업종 code per sector name of the replayed stocks (sorted names → 0001, 0002, ...)."""
    names = sorted({i.sector for i in replay.instruments.values() if i.sector})
    return {name: f"{n:04d}" for n, name in enumerate(names, start=1)}


def master_rows(replay: MarketReplay, market: str) -> list[MasterRow]:
    """One row per replayed stock of `market` (KOSPI or KOSDAQ)."""
    codes = sector_codes(replay)
    panel = replay.panel
    rows = []
    for col, code in enumerate(panel.codes.tolist()):
        if replay.market(code) != market:
            continue
        inst = replay.instrument(code)
        closes = panel.close[:, col]
        last = closes[closes == closes]
        sector = codes.get(inst.sector or "", "")
        rows.append(
            MasterRow(
                code=code,
                standard_code=standard_code(code),
                name=inst.name,
                market=market,
                group="ST",
                sector_large=sector,
                sector_mid=sector,
                sector_small="",
                spac=inst.is_spac or guess_is_spac(inst.name),
                overheat=inst.is_overheated,
                halted=inst.is_halted,
                liquidation=inst.is_liquidating,
                administrative=inst.is_administrative,
                warning=inst.warning,
                warning_notice=False,
                preferred=inst.is_preferred or guess_is_preferred(code, inst.name),
                listed_shares=inst.listed_shares,
                listed_on=inst.listed_on,
                base_price=int(last[-1]) if last.size else 0,
            )
        )
    return rows


class MasterChange(BaseModel):
    administrative: bool | None = None
    halted: bool | None = None
    warning: str | None = None  # "" | caution | warning | danger
    sector: str | None = None
    overheated: bool | None = None


def build_master_router(state: SandboxState) -> APIRouter:
    router = APIRouter()
    files = {f"{name}.zip": market for market, name in FILE_NAMES.items()}

    @router.get("/common/master/{file_name}")
    def master_file(file_name: str) -> Response:
        market = files.get(file_name)
        if market is None:
            raise HTTPException(404, f"no master file {file_name}")
        data = write_master(master_rows(state.market, market))
        return Response(zipped(FILE_NAMES[market], data), media_type="application/zip")

    @router.post("/_sandbox/master/{code}")
    def change(code: str, body: MasterChange) -> dict[str, Any]:
        replay = state.market
        if not replay.has(code):
            raise HTTPException(404, f"unknown stock {code}")
        if body.warning not in (None, "", "caution", "warning", "danger"):
            raise HTTPException(422, "warning must be '', caution, warning or danger")
        inst = replay.instrument(code)
        changes: dict[str, Any] = {  # Instrument field -> new value (None: unchanged)
            "is_administrative": body.administrative,
            "is_halted": body.halted,
            "warning": body.warning,
            "sector": body.sector,
            "is_overheated": body.overheated,
        }
        replay.instruments[code] = replace(inst, **{k: v for k, v in changes.items() if v is not None})
        return replay.instruments[code].to_json()

    return router
