"""The KIS REST surface of the sandbox: auth endpoints and the domestic-stock endpoints, with KIS's headers,
TR IDs (real and virtual forms), body conventions, pagination, error shapes, rate limits and faults."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from hantu.broker.kis.config import virtual_tr_id
from hantu.domain.orders import Side, spec
from hantu.market import calendar, rules
from hantu.market.status import kis_vi_code
from hantu.sandbox.kis.accounts import Account
from hantu.sandbox.kis.exchange import Order, OrderError
from hantu.sandbox.kis.market import Snapshot, UnknownStock
from hantu.sandbox.kis.responses import (
    ApiError,
    ctx,
    ctx_offset,
    error,
    headers_for,
    malformed,
    ok,
    strs,
    token_error,
)
from hantu.sandbox.kis.state import SandboxState

QUOTE = "/uapi/domestic-stock/v1/quotations"
TRADING = "/uapi/domestic-stock/v1/trading"


@dataclass
class Call:
    """One authenticated KIS request, ready for its handler."""

    state: SandboxState
    account: Account
    tr_id: str  # as sent
    real_tr: str  # its real form
    params: dict[str, str]  # query (GET) or body (POST)
    tr_cont: str
    now: datetime
    headers: dict[str, str]

    def need(self, *names: str) -> list[str]:
        missing = [n for n in names if n not in self.params]
        if missing:
            raise ApiError("OPSQ2001", f"ERROR : INPUT_FIELD_NAME {missing[0]}")
        return [self.params[n] for n in names]

    def own_account(self) -> None:
        cano, product = self.need("CANO", "ACNT_PRDT_CD")
        if cano != self.account.cano or product != self.account.product_code:
            raise ApiError("OPSQ2001", "ERROR : INPUT INVALID_CHECK_ACNO")

    def code(self, name: str = "FID_INPUT_ISCD") -> str:
        (code,) = self.need(name)
        if not self.state.market.has(code):
            raise ApiError("OPSQ2001", f"ERROR : INPUT INVALID_CHECK_ISCD {code}")
        return code


Handler = Callable[[Call], Response]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    trs: dict[str, str]  # real TR ID -> meaning ("" for quotes)
    handler: Handler
    real_only: bool = False
    quote: bool = False  # quote TRs have one form in both modes
    order: bool = False


def _d(day: date) -> str:
    return day.strftime("%Y%m%d")


def _parse_day(text: str, name: str) -> date:
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except (ValueError, IndexError):
        raise ApiError("OPSQ2001", f"ERROR : INPUT INVALID_CHECK_DATE {name}") from None


# --- quotations ----------------------------------------------------------------------------------------
def _price_output(call: Call, snap: Snapshot) -> dict[str, str]:
    market = call.state.market
    c = market.column(snap.code)
    row = market.row_on_or_before(snap.day)
    highs = market.panel.high[: row + 1, c] if row >= 0 else np.zeros(0)
    lows = market.panel.low[: row + 1, c] if row >= 0 else np.zeros(0)
    w52_high = int(np.nanmax(highs)) if np.isfinite(highs).any() else snap.price
    w52_low = int(np.nanmin(lows)) if np.isfinite(lows).any() else snap.price
    inst = market.instrument(snap.code)
    return strs({
        "iscd_stat_cls_code": "55", "rprs_mrkt_kor_name": market.market(snap.code),
        "bstp_kor_isnm": inst.sector_name or inst.sector or "",
        "temp_stop_yn": "Y" if snap.halted or inst.is_halted else "N", "stck_prpr": snap.price,
        "prdy_vrss": snap.change, "prdy_vrss_sign": snap.sign, "prdy_ctrt": snap.change_rate,
        "acml_tr_pbmn": snap.amount, "acml_vol": snap.volume, "stck_oprc": snap.open, "stck_hgpr": snap.high,
        "stck_lwpr": snap.low, "stck_mxpr": snap.upper_limit, "stck_llam": snap.lower_limit,
        "stck_sdpr": snap.prev_close, "aspr_unit": snap.tick, "per": "0.00", "pbr": "0.00", "eps": "0.00",
        "bps": "0.00", "w52_hgpr": w52_high, "w52_lwpr": w52_low, "hts_avls": "0",
        "mang_issu_cls_code": "Y" if inst.is_administrative else "N",
        "mrkt_warn_cls_code": {"caution": "01", "warning": "02", "danger": "03"}.get(inst.warning, "00"),
        "vi_cls_code": kis_vi_code(snap.vi), "stck_shrn_iscd": snap.code, "hts_kor_isnm": market.name(snap.code),
    })


def inquire_price(call: Call) -> Response:
    code = call.code()
    snap = call.state.market.snapshot(code, call.now)
    return ok(call.tr_id, {"output": _price_output(call, snap)})


def _aggregate(bars: list[dict[str, Any]], period: str) -> list[dict[str, Any]]:
    """Daily bars (newest first) into W/M/Y bars (newest first), stamped with the period's last day."""
    if period == "D":
        return bars

    def key(day: date) -> tuple[int, ...]:
        if period == "W":
            return tuple(day.isocalendar()[:2])
        if period == "M":
            return (day.year, day.month)
        return (day.year,)

    groups: dict[tuple[int, ...], list[dict[str, Any]]] = {}
    for bar in bars:
        groups.setdefault(key(bar["day"]), []).append(bar)
    out = []
    for group in groups.values():  # insertion order = newest first
        oldest_first = list(reversed(group))
        out.append({"day": group[0]["day"], "open": oldest_first[0]["open"],
                    "high": max(b["high"] for b in group), "low": min(b["low"] for b in group),
                    "close": group[0]["close"], "volume": sum(b["volume"] for b in group),
                    "amount": sum(b["amount"] for b in group)})
    return out


def _bar_row(bar: dict[str, Any], prev_close: int | None) -> dict[str, str]:
    change = bar["close"] - prev_close if prev_close else 0
    return strs({"stck_bsop_date": _d(bar["day"]), "stck_oprc": bar["open"], "stck_hgpr": bar["high"],
                 "stck_lwpr": bar["low"], "stck_clpr": bar["close"], "acml_vol": bar["volume"],
                 "acml_tr_pbmn": bar["amount"], "prdy_vrss": change,
                 "prdy_vrss_sign": "2" if change > 0 else "5" if change < 0 else "3",
                 "flng_cls_code": "00", "prtt_rate": "0.00", "mod_yn": "N"})


def _rows_with_change(bars: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [_bar_row(bar, bars[i + 1]["close"] if i + 1 < len(bars) else None) for i, bar in enumerate(bars)]


def _adjusted_flag(call: Call, adjusted_value: str) -> bool:
    """`FID_ORG_ADJ_PRC`: "0"/"1", whose meaning differs per endpoint (KIS's own inconsistency)."""
    (value,) = call.need("FID_ORG_ADJ_PRC")
    if value not in ("0", "1"):
        raise ApiError("OPSQ2001", "ERROR : INPUT INVALID_CHECK_ADJ_PRC")
    return value == adjusted_value


def inquire_daily_price(call: Call) -> Response:
    code = call.code()
    (period,) = call.need("FID_PERIOD_DIV_CODE")
    adjusted = _adjusted_flag(call, "1")  # inquire-daily-price: 1 = adjusted
    if period not in ("D", "W", "M"):
        raise ApiError("OPSQ2001", "ERROR : INPUT INVALID_CHECK_PERIOD")
    bars = call.state.market.daily_bars(code, date(1900, 1, 1), call.now.date(), call.now, adjusted=adjusted)
    return ok(call.tr_id, {"output": _rows_with_change(_aggregate(bars, period)[:30])})


def inquire_daily_itemchartprice(call: Call) -> Response:
    code = call.code()
    start_text, end_text, period = call.need("FID_INPUT_DATE_1", "FID_INPUT_DATE_2", "FID_PERIOD_DIV_CODE")
    adjusted = _adjusted_flag(call, "0")  # inquire-daily-itemchartprice: 0 = adjusted, 1 = raw
    if period not in ("D", "W", "M", "Y"):
        raise ApiError("OPSQ2001", "ERROR : INPUT INVALID_CHECK_PERIOD")
    start, end = _parse_day(start_text, "FID_INPUT_DATE_1"), _parse_day(end_text, "FID_INPUT_DATE_2")
    bars = _aggregate(call.state.market.daily_bars(code, start, end, call.now, adjusted=adjusted), period)[:100]
    snap = call.state.market.snapshot(code, call.now)
    summary = {k: v for k, v in _price_output(call, snap).items()
               if k in ("stck_prpr", "prdy_vrss", "prdy_vrss_sign", "prdy_ctrt", "acml_vol", "acml_tr_pbmn",
                        "hts_kor_isnm", "stck_shrn_iscd", "stck_mxpr", "stck_llam", "stck_oprc", "stck_hgpr",
                        "stck_lwpr")}
    return ok(call.tr_id, {"output1": summary, "output2": _rows_with_change(bars)})


def inquire_time_itemchartprice(call: Call) -> Response:
    code = call.code()
    (hour,) = call.need("FID_INPUT_HOUR_1")
    call.need("FID_PW_DATA_INCU_YN")
    if len(hour) != 6 or not hour.isdigit():
        raise ApiError("OPSQ2001", "ERROR : INPUT INVALID_CHECK_HOUR")
    market = call.state.market
    day = call.now.date()
    path = market.path(code, day)
    limit = datetime.combine(day, datetime.strptime(hour, "%H%M%S").time(), tzinfo=call.now.tzinfo)
    last = path.index_at(min(limit, call.now)) if len(path) else -1
    rows = []
    times = path.times
    for i in range(last, max(last - 30, -1), -1):
        at = times[i]
        price = int(path.prices[i])
        before = int(path.prices[i - 1]) if i > 0 else price
        rows.append(strs({"stck_bsop_date": _d(day), "stck_cntg_hour": at.strftime("%H%M%S"), "stck_prpr": price,
                          "stck_oprc": before, "stck_hgpr": max(before, price), "stck_lwpr": min(before, price),
                          "cntg_vol": int(path.volumes[i]),
                          "acml_tr_pbmn": int((path.prices[: i + 1] * path.volumes[: i + 1]).sum())}))
    snap = market.snapshot(code, call.now)
    summary = strs({"prdy_vrss": snap.change, "prdy_vrss_sign": snap.sign, "prdy_ctrt": snap.change_rate,
                    "stck_prdy_clpr": snap.prev_close, "acml_vol": snap.volume, "acml_tr_pbmn": snap.amount,
                    "hts_kor_isnm": market.name(code), "stck_prpr": snap.price})
    return ok(call.tr_id, {"output1": summary, "output2": rows})


def inquire_asking_price(call: Call) -> Response:
    code = call.code()
    market = call.state.market
    snap = market.snapshot(code, call.now)
    base_qty = max(1, snap.volume // 500 if snap.volume else 100)
    book: dict[str, Any] = {"aspr_acpt_hour": call.now.strftime("%H%M%S")}
    for k in range(1, 11):
        book[f"askp{k}"] = snap.price + k * snap.tick
        book[f"bidp{k}"] = max(snap.price - (k - 1) * snap.tick, 0)
        book[f"askp_rsqn{k}"] = base_qty * (11 - k)
        book[f"bidp_rsqn{k}"] = base_qty * (12 - k)
    book["total_askp_rsqn"] = sum(book[f"askp_rsqn{k}"] for k in range(1, 11))
    book["total_bidp_rsqn"] = sum(book[f"bidp_rsqn{k}"] for k in range(1, 11))
    expected = {"antc_cnpr": 0, "antc_vol": 0, "stck_prpr": snap.price, "stck_shrn_iscd": code}
    if snap.phase == "pre":
        path = market.path(code, call.now.date())
        if len(path):
            expected.update(antc_cnpr=int(path.prices[0]), antc_vol=int(path.volumes[0]))
    return ok(call.tr_id, {"output1": strs(book), "output2": strs(expected)})


def volume_rank(call: Call) -> Response:
    call.need("FID_COND_MRKT_DIV_CODE", "FID_COND_SCR_DIV_CODE", "FID_INPUT_ISCD")
    rows = []
    for rank, (code, snap) in enumerate(call.state.market.volume_leaders(call.now, 30), start=1):
        rows.append(strs({"hts_kor_isnm": call.state.market.name(code), "mksc_shrn_iscd": code,
                          "data_rank": rank, "stck_prpr": snap.price, "prdy_vrss_sign": snap.sign,
                          "prdy_vrss": snap.change, "prdy_ctrt": snap.change_rate, "acml_vol": snap.volume,
                          "acml_tr_pbmn": snap.amount}))
    return ok(call.tr_id, {"output": rows})


HOLIDAY_DAYS = 30  # days reported from BASS_DT on
HOLIDAY_PAGE = 10


def chk_holiday(call: Call) -> Response:
    (base_text,) = call.need("BASS_DT")
    base = _parse_day(base_text, "BASS_DT")
    offset = ctx_offset(call.params.get("CTX_AREA_NK")) if call.tr_cont == "N" else 0
    rows = []
    for i in range(offset, min(offset + HOLIDAY_PAGE, HOLIDAY_DAYS)):
        day = base + timedelta(days=i)
        trading = calendar.is_trading_day(day)
        rows.append({"bass_dt": _d(day), "wday_dvsn_cd": f"{day.isoweekday() % 7 + 1:02d}",
                     "bzdy_yn": "Y" if trading else "N", "tr_day_yn": "Y" if trading else "N",
                     "opnd_yn": "Y" if trading else "N", "sttl_day_yn": "Y" if trading else "N"})
    nxt = offset + HOLIDAY_PAGE
    more = nxt < HOLIDAY_DAYS
    return ok(call.tr_id, {"output": rows, "ctx_area_nk": ctx(str(nxt) if more else ""),
                           "ctx_area_fk": ctx(base_text)}, tr_cont="M" if more else "D")


# --- trading ----------------------------------------------------------------------------------------------
def _side_of(real_tr: str) -> Side:
    return Side.BUY if real_tr in ("TTTC0012U", "TTTC0802U") else Side.SELL


def _int_param(call: Call, name: str) -> int:
    (text,) = call.need(name)
    if not text.strip().lstrip("-").isdigit():
        raise ApiError("OPSQ2001", f"ERROR : INPUT INVALID_CHECK_NUMBER {name}")
    return int(text)


def order_cash(call: Call) -> Response:
    call.own_account()
    code, division = call.need("PDNO", "ORD_DVSN")
    quantity, price = _int_param(call, "ORD_QTY"), _int_param(call, "ORD_UNPR")
    condition = call.params.get("CNDT_PRIC", "") or ""
    if condition and not condition.strip().isdigit():
        raise ApiError("OPSQ2001", "ERROR : INPUT INVALID_CHECK_NUMBER CNDT_PRIC")
    exchange = call.params.get("EXCG_ID_DVSN_CD", "KRX") or "KRX"
    if exchange not in ("KRX", "NXT", "SOR"):
        raise ApiError("OPSQ2001", "ERROR : INPUT INVALID_CHECK_EXCG_ID_DVSN_CD")
    side = _side_of(call.real_tr)
    state = call.state
    entry: dict[str, Any] = {"t": time.time(), "at": call.now.isoformat(), "app_key": call.account.app_key,
                             "tr_id": call.tr_id, "code": code, "side": side.value, "quantity": quantity,
                             "price": price, "division": division, "condition_price": condition}
    state.order_requests.append(entry)
    try:
        order = state.exchange.place(call.account, code, side, division, quantity, price, call.now,
                                     int(condition) if condition else 0)
    except OrderError as refusal:
        entry["error"] = refusal.msg_cd
        raise ApiError(refusal.msg_cd, refusal.message, status=200) from None
    entry["odno"] = order.odno
    return ok(call.tr_id, {"output": {"KRX_FWDG_ORD_ORGNO": order.org_no, "ODNO": order.odno,
                                      "ORD_TMD": order.placed_at.strftime("%H%M%S")}},
              msg_cd="APBK0013", msg1="주문 전송 완료 되었습니다.")


def order_rvsecncl(call: Call) -> Response:
    call.own_account()
    _org, orig, division, kind, all_yn = call.need("KRX_FWDG_ORD_ORGNO", "ORGN_ODNO", "ORD_DVSN",
                                                   "RVSE_CNCL_DVSN_CD", "QTY_ALL_ORD_YN")
    quantity, price = _int_param(call, "ORD_QTY"), _int_param(call, "ORD_UNPR")
    if kind not in ("01", "02"):
        raise ApiError("OPSQ2001", "ERROR : INPUT INVALID_CHECK_RVSE_CNCL_DVSN_CD")
    call.state.order_requests.append({"t": time.time(), "at": call.now.isoformat(),
                                      "app_key": call.account.app_key, "tr_id": call.tr_id, "orig": orig,
                                      "kind": "cancel" if kind == "02" else "revise"})
    try:
        order = call.state.exchange.revise_or_cancel(call.account, orig, kind == "02", quantity, price,
                                                     all_yn == "Y", division, call.now)
    except OrderError as refusal:
        raise ApiError(refusal.msg_cd, refusal.message, status=200) from None
    return ok(call.tr_id, {"output": {"KRX_FWDG_ORD_ORGNO": order.org_no, "ODNO": order.odno,
                                      "ORD_TMD": order.placed_at.strftime("%H%M%S")}},
              msg_cd="APBK0013", msg1="주문 전송 완료 되었습니다.")


def _page(items: list[Any], call: Call, size: int) -> tuple[list[Any], str, str]:
    """(page items, next NK value, tr_cont): ctx keys are honoured only with `tr_cont: N` (as at KIS)."""
    offset = ctx_offset(call.params.get("CTX_AREA_NK100")) if call.tr_cont == "N" else 0
    page = items[offset: offset + size]
    nxt = offset + size
    more = nxt < len(items)
    return page, (str(nxt) if more else ""), ("M" if more else "D") if call.tr_cont == "N" else (
        "F" if more else "D")


def inquire_psbl_rvsecncl(call: Call) -> Response:
    call.own_account()
    rows = [_order_row(call, o) for o in call.state.exchange.open_orders(call.account)]
    page, nxt, cont = _page(rows, call, 50)
    return ok(call.tr_id, {"output": page, "ctx_area_fk100": ctx(call.account.cano),
                           "ctx_area_nk100": ctx(nxt)}, tr_cont=cont)


def inquire_balance(call: Call) -> Response:
    call.own_account()
    call.need("AFHR_FLPR_YN", "INQR_DVSN", "UNPR_DVSN", "FUND_STTL_ICLD_YN", "FNCG_AMT_AUTO_RDPT_YN", "PRCS_DVSN")
    state, account = call.state, call.account
    today = call.now.date()
    rows = []
    total_value = 0
    total_cost = 0
    for code, pos in sorted(account.positions.items()):
        if pos.quantity <= 0 and not (pos.sold_out_on and (today - pos.sold_out_on).days <= 2):
            continue
        snap = state.market.snapshot(code, call.now)
        value = snap.price * pos.quantity
        cost = round(pos.avg_price * pos.quantity)
        total_value += value
        total_cost += cost
        rows.append(strs({"pdno": code, "prdt_name": state.market.name(code), "trad_dvsn_name": "현금",
                          "hldg_qty": pos.quantity, "ord_psbl_qty": pos.orderable, "pchs_avg_pric": pos.avg_price,
                          "pchs_amt": cost, "prpr": snap.price, "evlu_amt": value, "evlu_pfls_amt": value - cost,
                          "evlu_pfls_rt": round((value - cost) / cost * 100, 2) if cost else 0.0,
                          "fltt_rt": snap.change_rate, "bfdy_cprs_icdc": snap.change}))
    size = state.options.balance_page[account.server]
    page, nxt, cont = _page(rows, call, size)
    today = call.now.date()
    summary = strs({"dnca_tot_amt": account.deposit_on(today),
                    "nxdy_excc_amt": account.deposit_on(calendar.next_trading_day(today)),
                    "prvs_rcdl_excc_amt": account.cash, "scts_evlu_amt": total_value,
                    "tot_evlu_amt": account.cash + total_value, "nass_amt": account.cash + total_value,
                    "pchs_amt_smtl_amt": total_cost, "evlu_amt_smtl_amt": total_value,
                    "evlu_pfls_smtl_amt": total_value - total_cost})
    return ok(call.tr_id, {"output1": page, "output2": [summary], "ctx_area_fk100": ctx(account.cano),
                           "ctx_area_nk100": ctx(nxt)}, tr_cont=cont)


def inquire_psbl_order(call: Call) -> Response:
    call.own_account()
    code = call.code("PDNO")
    price = _int_param(call, "ORD_UNPR")
    call.need("ORD_DVSN")
    snap = call.state.market.snapshot(code, call.now)
    unit = price if price > 0 else snap.price
    market = call.state.market.market(code)
    cash = call.account.orderable_cash
    per_share = unit + rules.costs(Side.BUY, unit, market, call.now.date()).total
    qty = max(cash // per_share, 0) if per_share > 0 else 0
    while qty > 0 and unit * qty + rules.costs(Side.BUY, unit * qty, market, call.now.date()).total > cash:
        qty -= 1
    amount = unit * qty
    return ok(call.tr_id, {"output": strs({"ord_psbl_cash": cash, "ord_psbl_sbst": 0, "ruse_psbl_amt": 0,
                                           "psbl_qty_calc_unpr": unit, "nrcvb_buy_amt": amount,
                                           "nrcvb_buy_qty": qty, "max_buy_amt": amount, "max_buy_qty": qty,
                                           "cma_evlu_amt": 0, "ovrs_re_use_amt_wcrc": 0,
                                           "ord_psbl_frcr_amt_wcrc": 0})})


def _order_row(call: Call, order: Order) -> dict[str, str]:
    amount = order.fill_value
    return strs({
        "ord_dt": _d(order.day), "ord_gno_brno": order.org_no, "odno": order.odno, "orgn_odno": order.orig_odno,
        "ord_dvsn_name": spec(order.order_type).label_ko, "sll_buy_dvsn_cd": "01" if order.side is Side.SELL else "02",
        "sll_buy_dvsn_cd_name": "현금매도" if order.side is Side.SELL else "현금매수", "pdno": order.code,
        "prdt_name": call.state.market.name(order.code), "ord_qty": order.quantity, "ord_unpr": order.price,
        "ord_tmd": order.placed_at.strftime("%H%M%S"), "tot_ccld_qty": order.filled,
        "avg_prvs": round(order.avg_price), "cncl_yn": "Y" if order.kind == "cancel" else "N",
        "tot_ccld_amt": amount, "loan_dt": "", "ordr_empno": "", "ord_dvsn_cd": order.division,
        "cncl_cfrm_qty": order.cancelled, "rmn_qty": order.remaining if not order.closed else 0,
        "rjct_qty": order.rejected, "ccld_cndt_name": "없음", "infm_tmd": "", "ctac_tlno": "",
        "prdt_type_cd": "300", "excg_dvsn_cd": "02", "psbl_qty": order.remaining if not order.closed else 0,
        "rvse_cncl_dvsn_name": {"new": "", "revise": "정정", "cancel": "취소"}[order.kind],
        "stpm_cndt_pric": order.trigger, "stpm_efct_occr_yn": "Y" if order.triggered_at else "N",
        "stpm_efct_occr_dtmd": order.triggered_at.strftime("%H%M%S") + "000" if order.triggered_at else "",
    })


def inquire_daily_ccld(call: Call) -> Response:
    call.own_account()
    start_text, end_text, side, ccld, direction = call.need("INQR_STRT_DT", "INQR_END_DT", "SLL_BUY_DVSN_CD",
                                                            "CCLD_DVSN", "INQR_DVSN")
    start, end = _parse_day(start_text, "INQR_STRT_DT"), _parse_day(end_text, "INQR_END_DT")
    code, odno = call.params.get("PDNO", ""), call.params.get("ODNO", "")
    orders = call.state.exchange.orders_of(call.account, start, end)
    selected = [o for o in orders
                if (side == "00" or (side == "01") == (o.side is Side.SELL))
                and (ccld == "00" or (ccld == "01" and o.filled > 0) or (ccld == "02" and o.remaining > 0
                                                                         and not o.closed))
                and (not code or o.code == code) and (not odno or o.odno == odno.zfill(10))]
    selected.sort(key=lambda o: (o.day, o.odno), reverse=(direction == "00"))
    rows = [_order_row(call, o) for o in selected]
    size = call.state.options.ccld_page[call.account.server]
    page, nxt, cont = _page(rows, call, size)
    filled_amount = sum(o.fill_value for o in selected)
    summary = strs({"tot_ord_qty": sum(o.quantity for o in selected if o.kind != "cancel"),
                    "tot_ccld_qty": sum(o.filled for o in selected), "tot_ccld_amt": filled_amount,
                    "prsm_tlex_smtl": 0,
                    "pchs_avg_pric": round(filled_amount / max(sum(o.filled for o in selected), 1), 2)})
    return ok(call.tr_id, {"output1": page, "output2": summary, "ctx_area_fk100": ctx(call.account.cano),
                           "ctx_area_nk100": ctx(nxt)}, tr_cont=cont)


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", f"{QUOTE}/inquire-price", {"FHKST01010100": ""}, inquire_price, quote=True),
    Endpoint("GET", f"{QUOTE}/inquire-daily-price", {"FHKST01010400": ""}, inquire_daily_price, quote=True),
    Endpoint("GET", f"{QUOTE}/inquire-daily-itemchartprice", {"FHKST03010100": ""}, inquire_daily_itemchartprice,
             quote=True),
    Endpoint("GET", f"{QUOTE}/inquire-time-itemchartprice", {"FHKST03010200": ""}, inquire_time_itemchartprice,
             quote=True),
    Endpoint("GET", f"{QUOTE}/inquire-asking-price-exp-ccn", {"FHKST01010200": ""}, inquire_asking_price,
             quote=True),
    Endpoint("GET", f"{QUOTE}/volume-rank", {"FHPST01710000": ""}, volume_rank, quote=True, real_only=True),
    Endpoint("GET", f"{QUOTE}/chk-holiday", {"CTCA0903R": ""}, chk_holiday, quote=True, real_only=True),
    Endpoint("POST", f"{TRADING}/order-cash", {"TTTC0012U": "buy", "TTTC0011U": "sell", "TTTC0802U": "buy",
                                               "TTTC0801U": "sell"}, order_cash, order=True),
    Endpoint("POST", f"{TRADING}/order-rvsecncl", {"TTTC0013U": "", "TTTC0803U": ""}, order_rvsecncl, order=True),
    Endpoint("GET", f"{TRADING}/inquire-psbl-rvsecncl", {"TTTC0084R": ""}, inquire_psbl_rvsecncl, real_only=True),
    Endpoint("GET", f"{TRADING}/inquire-balance", {"TTTC8434R": ""}, inquire_balance),
    Endpoint("GET", f"{TRADING}/inquire-psbl-order", {"TTTC8908R": ""}, inquire_psbl_order),
    Endpoint("GET", f"{TRADING}/inquire-daily-ccld", {"TTTC0081R": "", "TTTC8001R": "", "CTSC9215R": ""},
             inquire_daily_ccld),
)


def _resolve_tr(endpoint: Endpoint, tr_id: str, account: Account) -> str:
    """The real form of `tr_id` for this endpoint and the account's server, or an ApiError like KIS's."""
    if endpoint.quote:
        if tr_id not in endpoint.trs:
            raise ApiError("MCA00124")
        if endpoint.real_only and account.is_virtual:
            raise ApiError("OPSQ0003")
        return tr_id
    virtual_forms = {virtual_tr_id(real): real for real in endpoint.trs}
    if account.is_virtual:
        if tr_id in virtual_forms:
            if endpoint.real_only:
                raise ApiError("OPSQ0003")
            return virtual_forms[tr_id]
        if tr_id in endpoint.trs:
            raise ApiError("OPSQ0002")  # a real TR on the virtual server
        raise ApiError("MCA00124")
    if tr_id in endpoint.trs:
        return tr_id
    if tr_id in virtual_forms:
        raise ApiError("OPSQ0004")
    raise ApiError("MCA00124")


def hash_of(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def build_router(state: SandboxState) -> APIRouter:
    router = APIRouter()

    async def dispatch(endpoint: Endpoint, request: Request) -> Response:
        wall = time.time()
        headers = {k.lower(): v for k, v in request.headers.items()}
        app_key = headers.get("appkey", "")
        tr_id = headers.get("tr_id", "")
        entry: dict[str, Any] = {"t": wall, "at": state.now().isoformat(), "app_key": app_key,
                                 "path": endpoint.path, "tr_id": tr_id, "status": 200, "msg_cd": ""}
        state.record(entry)
        try:
            response = await _handle(endpoint, request, headers, app_key, tr_id, wall)
        except ApiError as refusal:
            response = error(refusal, tr_id)
        body = getattr(response, "body", b"")
        msg_cd = ""
        if body and body[:1] == b"{":
            try:
                msg_cd = json.loads(body).get("msg_cd", "")
            except ValueError:
                msg_cd = ""
        entry.update(status=response.status_code, msg_cd=msg_cd)
        return response

    async def _handle(endpoint: Endpoint, request: Request, headers: dict[str, str], app_key: str, tr_id: str,
                      wall: float) -> Response:
        account = state.accounts.by_key(app_key)
        if account is None:
            raise ApiError("EGW00103")
        if headers.get("appsecret", "") != account.app_secret:
            raise ApiError("EGW00105")
        if not state.admit(account, wall):
            raise ApiError("EGW00201")
        faults = state.faults
        path = endpoint.path
        fault = faults.take(("rate_limit", "token_expired", "token_invalid", "timeout", "malformed"), path, tr_id,
                            app_key)
        if fault is not None:
            if fault.kind == "rate_limit":
                raise ApiError("EGW00201")
            if fault.kind in ("token_expired", "token_invalid"):
                token = headers.get("authorization", "").removeprefix("Bearer ").strip()
                state.revoke_token(token)
                raise ApiError("EGW00123" if fault.kind == "token_expired" else "EGW00121")
            if fault.kind == "timeout":
                await asyncio.sleep(fault.delay)
                raise ApiError("EGW00500")
            if fault.kind == "malformed":
                return malformed()
        before = faults.take(("server_error",), path, tr_id, app_key)
        if before is not None and not before.after:
            raise ApiError("EGW00500")
        token = headers.get("authorization", "")
        if not token.startswith("Bearer "):
            raise ApiError("EGW00121")
        token_state = state.token_state(token.removeprefix("Bearer ").strip(), app_key)
        if token_state != "ok":
            raise ApiError("EGW00123" if token_state == "expired" else "EGW00121")
        real_tr = _resolve_tr(endpoint, tr_id, account)
        if endpoint.method == "GET":
            params = dict(request.query_params)
        else:
            try:
                params = json.loads(await request.body() or b"{}")
            except ValueError:
                raise ApiError("OPSQ2001", "ERROR : INPUT INVALID JSON") from None
            if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
                raise ApiError("OPSQ2001", "ERROR : INPUT INVALID_CHECK_TYPE (values must be strings)")
            if "hashkey" in headers and headers["hashkey"] != hash_of(params):
                raise ApiError("OPSQ2001", "ERROR : INPUT INVALID_CHECK_HASHKEY")
        def work() -> Response:
            with state.lock:
                now = state.advance()
                call = Call(state, account, tr_id, real_tr, params, headers.get("tr_cont", ""), now, headers)
                try:
                    return endpoint.handler(call)
                except UnknownStock as unknown:
                    raise ApiError("OPSQ2001", f"ERROR : INPUT INVALID_CHECK_ISCD {unknown}") from None

        # In a worker thread: the event loop keeps accepting (and time-stamping) requests meanwhile.
        response = await run_in_threadpool(work)
        drop = faults.take(("drop_response",), path, tr_id, app_key)
        if drop is not None:
            await asyncio.sleep(drop.delay)  # processed; the answer comes too late for the client
            raise ApiError("EGW00500")
        if before is not None and before.after:
            raise ApiError("EGW00500")
        return response

    def make_route(endpoint: Endpoint):
        async def route(request: Request) -> Response:
            return await dispatch(endpoint, request)

        return route

    for endpoint in ENDPOINTS:
        router.add_api_route(endpoint.path, make_route(endpoint), methods=[endpoint.method],
                             include_in_schema=False)

    # --- auth -----------------------------------------------------------------------------------------
    async def read_json(request: Request) -> dict[str, Any]:
        try:
            data = json.loads(await request.body() or b"{}")
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise ApiError("OPSQ2001", "ERROR : INPUT INVALID JSON")
        return data

    @router.post("/oauth2/tokenP", include_in_schema=False)
    async def token_p(request: Request) -> Response:
        try:
            body = await read_json(request)
        except ApiError as refusal:
            return error(refusal)
        app_key = str(body.get("appkey", ""))
        state.record({"t": time.time(), "at": state.now().isoformat(), "app_key": app_key,
                      "path": "/oauth2/tokenP", "tr_id": "", "status": 200, "msg_cd": ""})
        account = state.accounts.by_key(app_key)
        if body.get("grant_type") != "client_credentials" or account is None:
            return token_error("EGW00103")
        if body.get("appsecret") != account.app_secret:
            return token_error("EGW00105")
        if state.faults.take(("token_issue_limit",), "/oauth2/tokenP", "", app_key) is not None:
            return token_error("EGW00133")
        record = state.issue_token(account)
        if record is None:
            return token_error("EGW00133")
        remaining = int((record.expires_at - state.now()).total_seconds())
        return JSONResponse({"access_token": record.value, "access_token_token_expired":
                             record.expires_at.strftime("%Y-%m-%d %H:%M:%S"), "token_type": "Bearer",
                             "expires_in": remaining})

    @router.post("/oauth2/revokeP", include_in_schema=False)
    async def revoke_p(request: Request) -> Response:
        try:
            body = await read_json(request)
        except ApiError as refusal:
            return error(refusal)
        account = state.accounts.by_key(str(body.get("appkey", "")))
        if account is None or body.get("appsecret") != account.app_secret:
            return token_error("EGW00103")
        revoked = state.revoke_token(str(body.get("token", "")))
        return JSONResponse({"code": 200 if revoked else 400,
                             "message": "접근토큰 폐기에 성공하였습니다" if revoked else "유효하지 않은 token"})

    @router.post("/oauth2/Approval", include_in_schema=False)
    async def approval(request: Request) -> Response:
        try:
            body = await read_json(request)
        except ApiError as refusal:
            return error(refusal)
        account = state.accounts.by_key(str(body.get("appkey", "")))
        if account is None:
            return token_error("EGW00103")
        if body.get("secretkey") != account.app_secret:
            return token_error("EGW00105")
        key = hashlib.sha256(f"{account.app_key}:{time.time_ns()}".encode()).hexdigest()[:36]
        key = f"{key[:8]}-{key[8:12]}-{key[12:16]}-{key[16:20]}-{key[20:32]}"
        state.approvals[key] = account.app_key
        return JSONResponse({"approval_key": key})

    @router.post("/uapi/hashkey", include_in_schema=False)
    async def hashkey(request: Request) -> Response:
        try:
            body = await read_json(request)
        except ApiError as refusal:
            return error(refusal)
        account = state.accounts.by_key(request.headers.get("appkey", ""))
        if account is None or request.headers.get("appsecret") != account.app_secret:
            return error(ApiError("EGW00103"))
        return JSONResponse({"JsonBody": body, "HASH": hash_of(body)}, headers=headers_for(""))

    return router
