"""KRX rules at every boundary of krx-market-rules.md: tick tables, price limits, sell tax, commission."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from hantu.config import reset_settings_cache
from hantu.domain.orders import Side
from hantu.market.rules import (
    commission_rate,
    costs,
    limit_bounds,
    limit_prices,
    normalize_market,
    round_to_tick,
    round_to_ticks,
    sell_tax_rate,
    tick_size,
    tick_sizes,
)

NEW = date(2023, 1, 25)
OLD = date(2023, 1, 24)

# (price, tick) pairs on both sides of every band edge, from 2023-01-25, all markets
NEW_TABLE = [(1, 1), (1_999, 1), (2_000, 5), (4_995, 5), (4_999, 5), (5_000, 10), (19_990, 10), (20_000, 50),
             (49_950, 50), (50_000, 100), (199_900, 100), (200_000, 500), (499_500, 500), (500_000, 1_000),
             (3_000_000, 1_000)]
OLD_KOSPI = [(999, 1), (1_000, 5), (4_995, 5), (5_000, 10), (9_990, 10), (10_000, 50), (49_950, 50),
             (50_000, 100), (99_900, 100), (100_000, 500), (499_500, 500), (500_000, 1_000)]
OLD_KOSDAQ = [(999, 1), (1_000, 5), (4_995, 5), (5_000, 10), (9_990, 10), (10_000, 50), (49_950, 50),
              (50_000, 100), (99_900, 100), (100_000, 100), (499_900, 100), (500_000, 100), (1_200_000, 100)]


@pytest.mark.parametrize("market", ["KOSPI", "KOSDAQ", "KONEX", "KOSDAQ GLOBAL"])
@pytest.mark.parametrize(("price", "tick"), NEW_TABLE)
def test_tick_from_2023_01_25_same_for_all_markets(market: str, price: int, tick: int) -> None:
    assert tick_size(price, NEW, market) == tick
    assert tick_size(price, date(2026, 6, 2), market) == tick


@pytest.mark.parametrize(("price", "tick"), OLD_KOSPI)
def test_tick_before_2023_01_25_kospi(price: int, tick: int) -> None:
    assert tick_size(price, OLD, "KOSPI") == tick
    assert tick_size(price, date(2021, 1, 4), "KOSPI") == tick


@pytest.mark.parametrize(("price", "tick"), OLD_KOSDAQ)
def test_tick_before_2023_01_25_kosdaq_100_from_50000(price: int, tick: int) -> None:
    assert tick_size(price, OLD, "KOSDAQ") == tick


def test_the_date_boundary_itself() -> None:
    assert tick_size(1_500, OLD, "KOSPI") == 5 and tick_size(1_500, NEW, "KOSPI") == 1
    assert tick_size(150_000, OLD, "KOSDAQ") == 100 and tick_size(150_000, OLD, "KOSPI") == 500
    assert tick_size(150_000, NEW, "KOSPI") == 100
    assert tick_size(7_000, NEW, "ETF") == 5 and tick_size(70_000, OLD, "ETF") == 5


def test_vectorised_ticks_match() -> None:
    prices = np.array([p for p, _ in NEW_TABLE], dtype=float)
    assert tick_sizes(prices, NEW, "KOSPI").tolist() == [t for _, t in NEW_TABLE]
    prices = np.array([p for p, _ in OLD_KOSDAQ], dtype=float)
    assert tick_sizes(prices, OLD, "KOSDAQ").tolist() == [t for _, t in OLD_KOSDAQ]


def test_unknown_market() -> None:
    with pytest.raises(ValueError, match="unknown market"):
        tick_size(1000, NEW, "NASDAQ")
    assert normalize_market("kosdaq global") == "KOSDAQ"


@pytest.mark.parametrize(("price", "direction", "expected"), [
    (1_999.4, "down", 1_999), (1_999.4, "up", 2_000), (1_999.4, "nearest", 1_999),
    (2_001, "down", 2_000), (2_001, "up", 2_005), (2_001, "nearest", 2_000), (2_003, "nearest", 2_005),
    (2_002.5, "nearest", 2_005),  # tie goes up
    (4_999, "up", 5_000), (4_999, "down", 4_995), (5_001, "up", 5_010), (19_999, "up", 20_000),
    (20_001, "down", 20_000), (20_001, "up", 20_050), (49_999, "up", 50_000), (50_001, "up", 50_100),
    (199_999, "up", 200_000), (200_001, "up", 200_500), (499_999, "up", 500_000), (500_001, "up", 501_000),
    (500_001, "down", 500_000), (70_000, "up", 70_000), (70_000, "down", 70_000), (0.4, "down", 1),
])
def test_round_to_tick_new(price: float, direction: str, expected: int) -> None:
    assert round_to_tick(price, direction, NEW, "KOSPI") == expected  # type: ignore[arg-type]


def test_round_to_tick_old_tables() -> None:
    assert round_to_tick(1_001, "up", OLD, "KOSPI") == 1_005
    assert round_to_tick(120_001, "up", OLD, "KOSPI") == 120_500
    assert round_to_tick(120_001, "up", OLD, "KOSDAQ") == 120_100
    assert round_to_tick(9_999, "up", OLD, "KOSDAQ") == 10_000
    assert round_to_tick(10_001, "up", OLD, "KOSDAQ") == 10_050
    with pytest.raises(ValueError):
        round_to_tick(0, "up", NEW, "KOSPI")
    with pytest.raises(ValueError):
        round_to_tick(100, "sideways", NEW, "KOSPI")  # type: ignore[arg-type]


def test_round_to_ticks_vectorised_matches_scalar() -> None:
    rng = np.random.default_rng(3)
    prices = np.exp(rng.uniform(np.log(50), np.log(900_000), size=2_000))
    for on, market in ((NEW, "KOSPI"), (OLD, "KOSDAQ"), (OLD, "KOSPI")):
        vec = round_to_ticks(prices, on, market)
        scalar = [round_to_tick(float(p), "nearest", on, market) for p in prices]
        assert vec.tolist() == [float(s) for s in scalar]


@pytest.mark.parametrize(("base", "on", "market", "expected"), [
    (10_000, NEW, "KOSPI", (7_000, 13_000)),
    (70_000, NEW, "KOSPI", (49_000, 91_000)),
    (1_999, NEW, "KOSPI", (1_400, 2_595)),     # 1,399.3 -> 1,400 (up); 2,598.7 -> 2,595 (down, tick 5)
    (15_400, NEW, "KOSDAQ", (10_780, 20_000)),  # 20,020 -> tick 50 -> 20,000
    (38_500, NEW, "KOSPI", (26_950, 50_000)),  # 50,050 -> tick 100 -> 50,000
    (153_000, NEW, "KOSPI", (107_100, 198_900)),
    (400_000, NEW, "KOSPI", (280_000, 520_000)),
    (385_000, NEW, "KOSPI", (269_500, 500_000)),  # 500,500 -> tick 1,000 -> 500,000
    (1, NEW, "KOSPI", (1, 1)),
    (120_000, OLD, "KOSPI", (84_000, 156_000)),
    (120_100, OLD, "KOSDAQ", (84_100, 156_100)),  # 84,070 -> up 84,100; 156,130 -> down 156,100
    (120_100, OLD, "KOSPI", (84_100, 156_000)),   # 156,130 -> tick 500 on KOSPI before 2023-01-25
])
def test_limit_prices(base: int, on: date, market: str, expected: tuple[int, int]) -> None:
    assert limit_prices(base, on, market) == expected
    lo, hi = limit_bounds(np.array([float(base)]), on, market)
    assert (int(lo[0]), int(hi[0])) == expected


def test_limit_prices_are_inward_and_on_tick() -> None:
    for base in range(1, 600_000, 997):
        lo, hi = limit_prices(base, NEW, "KOSPI")
        assert lo >= base * 0.7 - 1e-9 and hi <= base * 1.3 + 1e-9
        assert lo % tick_size(lo, NEW, "KOSPI") == 0 and hi % tick_size(hi, NEW, "KOSPI") == 0


@pytest.mark.parametrize(("on", "kospi", "kosdaq", "konex"), [
    (date(2021, 1, 4), 0.0023, 0.0023, 0.0010), (date(2022, 12, 31), 0.0023, 0.0023, 0.0010),
    (date(2023, 1, 1), 0.0020, 0.0020, 0.0010), (date(2023, 12, 31), 0.0020, 0.0020, 0.0010),
    (date(2024, 1, 1), 0.0018, 0.0018, 0.0010), (date(2024, 12, 31), 0.0018, 0.0018, 0.0010),
    (date(2025, 1, 1), 0.0015, 0.0015, 0.0010), (date(2025, 12, 31), 0.0015, 0.0015, 0.0010),
    (date(2026, 1, 1), 0.0020, 0.0020, 0.0010), (date(2026, 12, 31), 0.0020, 0.0020, 0.0010),
])
def test_sell_tax_schedule(on: date, kospi: float, kosdaq: float, konex: float) -> None:
    assert sell_tax_rate(on, "KOSPI") == pytest.approx(kospi, abs=1e-12)
    assert sell_tax_rate(on, "KOSDAQ") == pytest.approx(kosdaq, abs=1e-12)
    assert sell_tax_rate(on, "KOSDAQ GLOBAL") == pytest.approx(kosdaq, abs=1e-12)
    assert sell_tax_rate(on, "KONEX") == pytest.approx(konex, abs=1e-12)


def test_commission_default_and_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert commission_rate() == pytest.approx(0.00015)
    monkeypatch.setenv("HANTU_COMMISSION_RATE", "0.000140527")
    reset_settings_cache()
    assert commission_rate() == pytest.approx(0.000140527)
    c = costs(Side.BUY, 10_000_000, "KOSPI", date(2026, 3, 3))
    assert c.commission == 1_405  # 1,405.27 truncated


def test_costs_rounding_and_sides() -> None:
    day = date(2026, 3, 3)
    buy = costs(Side.BUY, 1_234_567, "KOSPI", day)
    assert (buy.commission, buy.tax, buy.total) == (185, 0, 185)  # 185.185 -> 185
    sell = costs("sell", 1_234_567, "KOSPI", day)
    assert (sell.commission, sell.tax, sell.total) == (185, 2_469, 2_654)  # 2,469.134 -> 2,469
    sell_2025 = costs("SELL", 1_000_000, "KOSDAQ", date(2025, 6, 2))
    assert (sell_2025.commission, sell_2025.tax) == (150, 1_500)
    konex = costs(Side.SELL, 999, "KONEX", day)
    assert (konex.commission, konex.tax, konex.total) == (0, 0, 0)
    assert costs(Side.SELL, 1_000_000, "KOSPI", day, rate=0.0).total == 2_000
    with pytest.raises(ValueError):
        costs("hold", 100, "KOSPI", day)
    with pytest.raises(ValueError):
        costs(Side.BUY, -1, "KOSPI", day)
