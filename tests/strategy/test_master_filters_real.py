"""The KIS stock master on a real KRX window: without it screening says which filters are off; with a master
file in KIS's fixed-width format loaded, 관리종목 / 거래정지 / 투자경고 filters and the sector cap change the
watchlist."""

from __future__ import annotations

import shutil
import zlib
from datetime import date
from pathlib import Path

from hantu.market.kis_master import MasterRow, load_master, read_master_file, standard_code, write_master
from hantu.market.store import MarketStore
from hantu.strategy.registry import create_strategy

FINANCIAL = ("금융", "은행", "증권", "보험", "지주", "캐피탈", "화재", "생명", "투자", "홀딩스")


def _sector_of(code: str, name: str) -> str:
    """A stand-in 업종 code: financial names share one (as 17 of 30 names did on 2024-02-13), others spread."""
    if any(word in name for word in FINANCIAL):
        return "0021"
    return f"{zlib.crc32(code.encode()) % 12 + 5:04d}"


def _master_files(
    store: MarketStore, directory: Path, administrative: str, halted: str, warned: str
) -> list[Path]:
    rows = {"KOSPI": [], "KOSDAQ": []}
    for inst in store.instruments():
        if inst.market not in rows:
            continue
        sector = _sector_of(inst.code, inst.name)
        rows[inst.market].append(
            MasterRow(
                code=inst.code,
                standard_code=standard_code(inst.code),
                name=inst.name,
                market=inst.market,
                group="ST",
                sector_large="0001",
                sector_mid=sector,
                sector_small="",
                spac="스팩" in inst.name,
                overheat=False,
                halted=inst.code == halted,
                liquidation=False,
                administrative=inst.code == administrative,
                warning="danger" if inst.code == warned else "",
                warning_notice=False,
                preferred=inst.code[-1] != "0",
                listed_shares=inst.listed_shares,
                listed_on=None,
                base_price=0,
            )
        )
    paths = []
    for market, name in (("KOSPI", "kospi_code.mst"), ("KOSDAQ", "kosdaq_code.mst")):
        path = directory / name
        path.write_bytes(write_master(rows[market]))
        paths.append(path)
    return paths


def test_master_filters_and_sector_cap_change_the_watchlist(krx_stores, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "market"
    shutil.copytree(dict(krx_stores)["2024q1"], root)
    store = MarketStore(root)
    panel = store.load(1000)
    on = panel.date_at(panel.shape[0] - 1)
    strategy = create_strategy("momentum", {"watchlist.max_per_sector": 3}, use_settings=False)

    before = strategy.screen(panel, on, instruments=store.instruments())
    assert any("관리종목" in f for f in before.figures["filters_off"])
    assert any("sector cap" in f for f in before.figures["filters_off"])
    sectors_before = [_sector_of(c, store.instrument(c).name) for c in before.watchlist]
    assert sectors_before.count("0021") > 3  # the cap would have acted: more financials than it allows

    first, second, third = before.watchlist[:3]
    paths = _master_files(store, tmp_path, administrative=first, halted=second, warned=third)
    rows = [row for path in paths for row in read_master_file(path)]
    assert {r.market for r in rows} == {"KOSPI", "KOSDAQ"}
    summary = load_master(store, rows, "test files", date(2024, 2, 14))
    assert (summary.administrative, summary.halted, summary.warned) == (1, 1, 1)

    after = strategy.screen(panel, on, instruments=store.instruments())
    assert after.figures["filters_off"] == []
    assert after.watchlist != before.watchlist
    assert not {first, second, third} & set(after.watchlist)
    reasons = {s.code: s.reasons for s in after.scores}
    assert any("관리종목" in r for r in reasons[first])
    assert any("거래정지" in r for r in reasons[second])
    assert any("투자경고" in r for r in reasons[third])
    sectors_after = [store.instrument(c).sector for c in after.watchlist]
    assert max(sectors_after.count(s) for s in set(sectors_after)) <= 3
    assert all(
        s and s.endswith(_sector_of(c, store.instrument(c).name))
        for c, s in zip(after.watchlist, sectors_after, strict=True)
    )
