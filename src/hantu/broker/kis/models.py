"""Typed results of the KIS endpoints, parsed tolerantly (unknown fields ignored, blanks as 0).

A value that cannot be read as the type it must be raises `KisResponseError`: a malformed response is a typed
error, never a crash somewhere downstream.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from hantu.broker.kis.errors import KisResponseError
from hantu.clock import KST


def to_int(value: Any, name: str = "value") -> int:
    """KIS numbers are strings ("1234", "1234.00", "", "-5"); blank is 0."""
    if value is None:
        return 0
    text = str(value).strip().replace(",", "")
    if not text:
        return 0
    try:
        return int(text) if text.lstrip("+-").isdigit() else round(float(text))
    except ValueError as error:
        raise KisResponseError(f"field {name} is not a number: {value!r}") from error


def to_float(value: Any, name: str = "value") -> float:
    if value is None or not str(value).strip():
        return 0.0
    try:
        return float(str(value).strip().replace(",", ""))
    except ValueError as error:
        raise KisResponseError(f"field {name} is not a number: {value!r}") from error


def to_date(value: Any, name: str = "date") -> date:
    text = str(value or "").strip()
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except (ValueError, IndexError) as error:
        raise KisResponseError(f"field {name} is not a YYYYMMDD date: {value!r}") from error


def to_time(value: Any, name: str = "time") -> time:
    text = str(value or "").strip().rjust(6, "0")
    try:
        return time(int(text[:2]), int(text[2:4]), int(text[4:6]))
    except ValueError as error:
        raise KisResponseError(f"field {name} is not an HHMMSS time: {value!r}") from error


def yn(value: Any) -> bool:
    return str(value or "").strip().upper() == "Y"


def _get(row: Mapping[str, Any], key: str) -> Any:
    return row.get(key, row.get(key.upper()))


def as_rows(value: Any, name: str) -> list[Mapping[str, Any]]:
    """A KIS list output (a dict alone counts as one row; missing/blank as none)."""
    if value is None or value == "":
        return []
    if isinstance(value, Mapping):
        return [value]
    if isinstance(value, list) and all(isinstance(v, Mapping) for v in value):
        return value
    raise KisResponseError(f"{name} is not a list of objects")


def as_row(value: Any, name: str) -> Mapping[str, Any]:
    """A KIS single-object output (a one-element list is accepted)."""
    if isinstance(value, list):
        value = value[0] if value else {}
    if not isinstance(value, Mapping):
        raise KisResponseError(f"{name} is missing or not an object")
    return value


@dataclass(frozen=True)
class PriceInfo:
    code: str
    price: int
    change: int
    change_sign: str
    change_rate: float
    volume: int
    amount: int
    open: int
    high: int
    low: int
    upper_limit: int
    lower_limit: int
    tick: int
    per: float
    pbr: float
    eps: float
    bps: float
    high_52w: int
    market_cap: int  # 억원 as KIS reports it (hts_avls)
    halted: bool
    issue_code: str = ""  # mang_issu_cls_code (관리종목 Y/N)
    warning_code: str = ""  # mrkt_warn_cls_code (00 none, 01 투자주의, 02 투자경고, 03 투자위험)
    sector_name: str = ""  # bstp_kor_isnm (업종 한글명)
    vi_code: str = ""  # vi_cls_code (N: no volatility interruption)

    @property
    def administrative(self) -> bool:
        return self.issue_code.strip().upper() == "Y"

    @property
    def warning(self) -> str:
        """"" | caution | warning | danger, as the instrument master spells it."""
        return {"01": "caution", "02": "warning", "03": "danger"}.get(self.warning_code.strip(), "")

    @property
    def in_vi(self) -> bool:
        """A volatility interruption (VI) is active: a single-price auction, not continuous trading."""
        return self.vi_code.strip().upper() not in ("", "N", "0")

    @classmethod
    def parse(cls, code: str, row: Mapping[str, Any]) -> PriceInfo:
        price = to_int(_get(row, "stck_prpr"), "stck_prpr")
        if price <= 0:
            raise KisResponseError(f"price of {code} missing or not positive")
        return cls(
            code=code, price=price, change=to_int(_get(row, "prdy_vrss")),
            change_sign=str(_get(row, "prdy_vrss_sign") or ""), change_rate=to_float(_get(row, "prdy_ctrt")),
            volume=to_int(_get(row, "acml_vol")), amount=to_int(_get(row, "acml_tr_pbmn")),
            open=to_int(_get(row, "stck_oprc")), high=to_int(_get(row, "stck_hgpr")),
            low=to_int(_get(row, "stck_lwpr")), upper_limit=to_int(_get(row, "stck_mxpr")),
            lower_limit=to_int(_get(row, "stck_llam")), tick=to_int(_get(row, "aspr_unit")),
            per=to_float(_get(row, "per")), pbr=to_float(_get(row, "pbr")), eps=to_float(_get(row, "eps")),
            bps=to_float(_get(row, "bps")), high_52w=to_int(_get(row, "w52_hgpr")),
            market_cap=to_int(_get(row, "hts_avls")), halted=yn(_get(row, "temp_stop_yn")),
            issue_code=str(_get(row, "mang_issu_cls_code") or ""),
            warning_code=str(_get(row, "mrkt_warn_cls_code") or ""),
            sector_name=str(_get(row, "bstp_kor_isnm") or "").strip(), vi_code=str(_get(row, "vi_cls_code") or ""),
        )


@dataclass(frozen=True)
class DailyBar:
    day: date
    open: int
    high: int
    low: int
    close: int
    volume: int
    amount: int = 0

    @classmethod
    def parse(cls, row: Mapping[str, Any]) -> DailyBar:
        return cls(day=to_date(_get(row, "stck_bsop_date"), "stck_bsop_date"),
                   open=to_int(_get(row, "stck_oprc")), high=to_int(_get(row, "stck_hgpr")),
                   low=to_int(_get(row, "stck_lwpr")), close=to_int(_get(row, "stck_clpr")),
                   volume=to_int(_get(row, "acml_vol")), amount=to_int(_get(row, "acml_tr_pbmn")))


@dataclass(frozen=True)
class MinuteBar:
    at: datetime  # start of the minute... as KIS stamps it (stck_cntg_hour), KST
    price: int  # close of the minute (stck_prpr)
    open: int
    high: int
    low: int
    volume: int

    @classmethod
    def parse(cls, row: Mapping[str, Any], default_day: date) -> MinuteBar:
        day_text = _get(row, "stck_bsop_date")
        day = to_date(day_text) if day_text else default_day
        at = datetime.combine(day, to_time(_get(row, "stck_cntg_hour"), "stck_cntg_hour"), tzinfo=KST)
        return cls(at=at, price=to_int(_get(row, "stck_prpr")), open=to_int(_get(row, "stck_oprc")),
                   high=to_int(_get(row, "stck_hgpr")), low=to_int(_get(row, "stck_lwpr")),
                   volume=to_int(_get(row, "cntg_vol")))


@dataclass(frozen=True)
class Orderbook:
    code: str
    asks: list[tuple[int, int]]  # (price, quantity), best first
    bids: list[tuple[int, int]]
    expected_price: int
    expected_volume: int

    @classmethod
    def parse(cls, code: str, book: Mapping[str, Any], expected: Mapping[str, Any]) -> Orderbook:
        asks = [(to_int(_get(book, f"askp{i}")), to_int(_get(book, f"askp_rsqn{i}"))) for i in range(1, 11)]
        bids = [(to_int(_get(book, f"bidp{i}")), to_int(_get(book, f"bidp_rsqn{i}"))) for i in range(1, 11)]
        return cls(code=code, asks=[a for a in asks if a[0] > 0], bids=[b for b in bids if b[0] > 0],
                   expected_price=to_int(_get(expected, "antc_cnpr")),
                   expected_volume=to_int(_get(expected, "antc_vol")))


@dataclass(frozen=True)
class OrderAck:
    odno: str  # KIS order number (10 digits)
    org_no: str  # KRX_FWDG_ORD_ORGNO: needed to revise/cancel
    ordered_at: str  # ORD_TMD, HHMMSS
    recovered: bool = False  # True when the response was lost and the order was found by lookup

    @classmethod
    def parse(cls, row: Mapping[str, Any]) -> OrderAck:
        odno = str(_get(row, "ODNO") or _get(row, "odno") or "").strip()
        if not odno:
            raise KisResponseError("order response without ODNO")
        return cls(odno=odno, org_no=str(_get(row, "KRX_FWDG_ORD_ORGNO") or "").strip(),
                   ordered_at=str(_get(row, "ORD_TMD") or _get(row, "ord_tmd") or "").strip())


@dataclass(frozen=True)
class Holding:
    code: str
    name: str
    quantity: int
    orderable: int
    avg_price: float
    purchase_amount: int
    price: int
    value: int
    pnl: int
    pnl_rate: float

    @classmethod
    def parse(cls, row: Mapping[str, Any]) -> Holding:
        return cls(code=str(_get(row, "pdno") or "").strip(), name=str(_get(row, "prdt_name") or "").strip(),
                   quantity=to_int(_get(row, "hldg_qty")), orderable=to_int(_get(row, "ord_psbl_qty")),
                   avg_price=to_float(_get(row, "pchs_avg_pric")), purchase_amount=to_int(_get(row, "pchs_amt")),
                   price=to_int(_get(row, "prpr")), value=to_int(_get(row, "evlu_amt")),
                   pnl=to_int(_get(row, "evlu_pfls_amt")), pnl_rate=to_float(_get(row, "evlu_pfls_rt")))


@dataclass(frozen=True)
class BalanceSummary:
    cash: int  # dnca_tot_amt (예수금)
    next_day_cash: int  # nxdy_excc_amt
    d2_cash: int  # prvs_rcdl_excc_amt
    total_value: int  # tot_evlu_amt
    net_assets: int  # nass_amt

    @classmethod
    def parse(cls, row: Mapping[str, Any]) -> BalanceSummary:
        return cls(cash=to_int(_get(row, "dnca_tot_amt")), next_day_cash=to_int(_get(row, "nxdy_excc_amt")),
                   d2_cash=to_int(_get(row, "prvs_rcdl_excc_amt")), total_value=to_int(_get(row, "tot_evlu_amt")),
                   net_assets=to_int(_get(row, "nass_amt")))


@dataclass(frozen=True)
class Balance:
    holdings: list[Holding]
    summary: BalanceSummary
    pages: int = 1


@dataclass(frozen=True)
class Buyable:
    orderable_cash: int
    no_credit_buy_amount: int
    no_credit_buy_qty: int
    max_buy_amount: int
    max_buy_qty: int

    @classmethod
    def parse(cls, row: Mapping[str, Any]) -> Buyable:
        return cls(orderable_cash=to_int(_get(row, "ord_psbl_cash")),
                   no_credit_buy_amount=to_int(_get(row, "nrcvb_buy_amt")),
                   no_credit_buy_qty=to_int(_get(row, "nrcvb_buy_qty")),
                   max_buy_amount=to_int(_get(row, "max_buy_amt")), max_buy_qty=to_int(_get(row, "max_buy_qty")))


@dataclass(frozen=True)
class DailyOrder:
    """One row of `inquire-daily-ccld`: an order with its cumulative fill state."""

    day: date
    odno: str
    orig_odno: str
    side: str  # "01" sell, "02" buy
    code: str
    name: str
    quantity: int
    price: int  # ord_unpr (0 for market orders)
    ordered_at: time
    filled_quantity: int
    avg_price: float
    remaining: int
    rejected_quantity: int
    cancelled: bool
    order_division: str = ""  # ord_dvsn_cd
    org_no: str = ""  # ord_gno_brno
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_buy(self) -> bool:
        return self.side == "02"

    @classmethod
    def parse(cls, row: Mapping[str, Any]) -> DailyOrder:
        odno = str(_get(row, "odno") or "").strip()
        if not odno:
            raise KisResponseError("daily order row without odno")
        return cls(
            day=to_date(_get(row, "ord_dt"), "ord_dt"), odno=odno, orig_odno=str(_get(row, "orgn_odno") or "").strip(),
            side=str(_get(row, "sll_buy_dvsn_cd") or "").strip(), code=str(_get(row, "pdno") or "").strip(),
            name=str(_get(row, "prdt_name") or "").strip(), quantity=to_int(_get(row, "ord_qty")),
            price=to_int(_get(row, "ord_unpr")), ordered_at=to_time(_get(row, "ord_tmd"), "ord_tmd"),
            filled_quantity=to_int(_get(row, "tot_ccld_qty")), avg_price=to_float(_get(row, "avg_prvs")),
            remaining=to_int(_get(row, "rmn_qty")), rejected_quantity=to_int(_get(row, "rjct_qty")),
            cancelled=yn(_get(row, "cncl_yn")), order_division=str(_get(row, "ord_dvsn_cd") or "").strip(),
            org_no=str(_get(row, "ord_gno_brno") or "").strip(), raw=dict(row),
        )


@dataclass(frozen=True)
class RevisableOrder:
    odno: str
    orig_odno: str
    code: str
    side: str
    quantity: int
    price: int
    revisable_quantity: int
    filled_quantity: int

    @classmethod
    def parse(cls, row: Mapping[str, Any]) -> RevisableOrder:
        return cls(odno=str(_get(row, "odno") or "").strip(), orig_odno=str(_get(row, "orgn_odno") or "").strip(),
                   code=str(_get(row, "pdno") or "").strip(), side=str(_get(row, "sll_buy_dvsn_cd") or ""),
                   quantity=to_int(_get(row, "ord_qty")), price=to_int(_get(row, "ord_unpr")),
                   revisable_quantity=to_int(_get(row, "psbl_qty")),
                   filled_quantity=to_int(_get(row, "tot_ccld_qty")))


@dataclass(frozen=True)
class HolidayInfo:
    day: date
    business_day: bool  # bzdy_yn
    trading_day: bool  # tr_day_yn
    market_open: bool  # opnd_yn: use this one
    settlement_day: bool  # sttl_day_yn

    @classmethod
    def parse(cls, row: Mapping[str, Any]) -> HolidayInfo:
        return cls(day=to_date(_get(row, "bass_dt"), "bass_dt"), business_day=yn(_get(row, "bzdy_yn")),
                   trading_day=yn(_get(row, "tr_day_yn")), market_open=yn(_get(row, "opnd_yn")),
                   settlement_day=yn(_get(row, "sttl_day_yn")))


@dataclass(frozen=True)
class RankRow:
    rank: int
    code: str
    name: str
    price: int
    volume: int
    amount: int

    @classmethod
    def parse(cls, row: Mapping[str, Any]) -> RankRow:
        return cls(rank=to_int(_get(row, "data_rank")), code=str(_get(row, "mksc_shrn_iscd") or "").strip(),
                   name=str(_get(row, "hts_kor_isnm") or "").strip(), price=to_int(_get(row, "stck_prpr")),
                   volume=to_int(_get(row, "acml_vol")), amount=to_int(_get(row, "acml_tr_pbmn")))
