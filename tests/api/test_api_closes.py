"""The stdlib reader of the market store's blocks gives the same closes as `MarketStore.load` (numpy)."""

from __future__ import annotations

from datetime import date

import numpy as np
from api_seed import CLOSES, seed_market

from hantu.market.closes import ClosesReader
from hantu.market.store import DayBars, MarketStore


def test_reader_matches_the_store(tmp_path) -> None:  # type: ignore[no-untyped-def]
    seed_market(tmp_path)
    store = MarketStore(tmp_path / "market")
    # a later month with a stock that stops trading (close 0) and a new listing
    codes = np.array(["000660", "005930", "900001"])
    close = np.array([125_000, 0, 5_000], dtype=np.int64)
    store.write_days([DayBars(day=date(2026, 4, 1), codes=codes, open=close, high=close, low=close, close=close,
                              volume=np.array([10, 0, 10]), amount=close * 10)])
    panel = store.load_range(date(2026, 3, 1), date(2026, 4, 30))
    reader = ClosesReader(tmp_path / "market")
    wanted = ["000660", "005930", "035720", "900001", "999999"]
    got = reader.closes(wanted)
    for i, day in enumerate(panel.dates.astype("datetime64[D]").tolist()):
        for j, code in enumerate(panel.codes.tolist()):
            value = panel.close[i, j]
            if code in wanted and np.isfinite(value) and value > 0:
                assert got[day][code] == value
            else:
                assert code not in got.get(day, {})
    assert got[date(2026, 3, 12)] == CLOSES[date(2026, 3, 12)]
    assert reader.last_closes(wanted) == {"000660": 125_000, "005930": 70_500, "035720": 41_000, "900001": 5_000}


def test_reader_on_an_empty_store(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert ClosesReader(tmp_path / "none").last_closes(["005930"]) == {}


def test_equity_history_survives_a_sell_recorded_before_its_buy(database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Out-of-order or adopted fills must not crash the curve (found by bench/api_load.py's data)."""
    from api_seed import NOW

    from hantu.store.models import TradeAccount, TradeFill
    from hantu.trading.equity import equity_history

    extra = {"amount": 1_000} if hasattr(TradeFill, "amount") else {}
    with database.session() as s:
        s.add(TradeAccount(broker="paper", base_cash=10_000, base_positions={}, base_at=NOW, cash=10_000,
                           updated_at=NOW))
        for i, side in enumerate(("sell", "buy")):
            s.add(TradeFill(broker="paper", fill_id=f"f{i}", broker_order_id="b", order_id=None,
                            trading_date=NOW.date(), code="005930", side=side, quantity=1, price=1_000,
                            commission=0, tax=0, filled_at=NOW, recorded_at=NOW, **extra))
    with database.session() as s:
        points = equity_history(s, "paper", ClosesReader(tmp_path / "none"), NOW.date())
    # the base (one trading day earlier), then the day of the two fills
    assert [(p.day, p.equity) for p in points] == [(date(2026, 3, 13), 10_000), (NOW.date(), 10_000)]
