"""Every KIS domestic-stock endpoint this project uses, with typed results (paths and TR IDs live here only).

TR IDs are written in their real form; `KisConfig.tr` gives the virtual form for account/order TRs.
"""

from __future__ import annotations

import logging
import threading
import time as _time
from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Literal

from hantu.broker.kis.client import KisClient
from hantu.broker.kis.errors import (
    KisError,
    KisOrderRejected,
    KisOrderUnknown,
    KisResponseError,
    KisServerError,
    KisTimeoutError,
)
from hantu.broker.kis.models import (
    Balance,
    BalanceSummary,
    Buyable,
    DailyBar,
    DailyOrder,
    Holding,
    HolidayInfo,
    MinuteBar,
    OrderAck,
    Orderbook,
    PriceInfo,
    RankRow,
    RevisableOrder,
    as_row,
    as_rows,
)

log = logging.getLogger(__name__)

QUOTE = "/uapi/domestic-stock/v1/quotations"
TRADING = "/uapi/domestic-stock/v1/trading"

TR_PRICE = "FHKST01010100"
TR_DAILY_PRICE = "FHKST01010400"
TR_DAILY_CHART = "FHKST03010100"
TR_MINUTE_CHART = "FHKST03010200"
TR_ORDERBOOK = "FHKST01010200"
TR_VOLUME_RANK = "FHPST01710000"
TR_HOLIDAY = "CTCA0903R"
TR_BUY = "TTTC0012U"
TR_SELL = "TTTC0011U"
TR_REVISE_CANCEL = "TTTC0013U"
TR_REVISABLE = "TTTC0084R"
TR_BALANCE = "TTTC8434R"
TR_BUYABLE = "TTTC8908R"
TR_DAILY_CCLD = "TTTC0081R"  # orders of the last 3 months
TR_DAILY_CCLD_OLD = "CTSC9215R"  # older than 3 months

CHART_ROWS_PER_CALL = 100
MINUTE_ROWS_PER_CALL = 30
ORDER_LIMIT = "00"
ORDER_MARKET = "01"
SELL_CODE, BUY_CODE = "01", "02"
# How far before the send time a found order may be stamped (clock differences, seconds).
LOOKUP_SLACK = timedelta(seconds=60)
LOOKUP_ATTEMPTS = 3


def ymd(day: date) -> str:
    return day.strftime("%Y%m%d")


class KisApi:
    """Typed endpoints over one `KisClient`."""

    def __init__(self, client: KisClient) -> None:
        self.client = client
        self.config = client.config
        # (order date, ODNO) of the orders this process has seen: never "found" as a lost one. ODNOs restart
        # every day, so the date is part of the key.
        self._known_orders: set[tuple[date, str]] = set()
        self._known_lock = threading.Lock()

    def close(self) -> None:
        self.client.close()

    # --- quotations (same TR IDs in both modes) ---------------------------------------------------
    def price(self, code: str, market: str = "J") -> PriceInfo:
        r = self.client.get(f"{QUOTE}/inquire-price", TR_PRICE,
                            {"FID_COND_MRKT_DIV_CODE": market, "FID_INPUT_ISCD": code})
        return PriceInfo.parse(code, as_row(r.body.get("output"), "output"))

    def daily_prices(self, code: str, period: str = "D", adjusted: bool = True) -> list[DailyBar]:
        """The last 30 days/weeks/months, oldest first (`inquire-daily-price`)."""
        r = self.client.get(f"{QUOTE}/inquire-daily-price", TR_DAILY_PRICE, {
            "FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": code, "FID_PERIOD_DIV_CODE": period,
            "FID_ORG_ADJ_PRC": "1" if adjusted else "0"})  # here 1 = adjusted
        return sorted((DailyBar.parse(row) for row in as_rows(r.body.get("output"), "output")),
                      key=lambda b: b.day)

    def daily_chart(self, code: str, start: date, end: date, period: str = "D",
                    adjusted: bool = True) -> list[DailyBar]:
        """Bars from `start` to `end`, oldest first, paging past KIS's 100 rows per call by date window."""
        bars: dict[date, DailyBar] = {}
        window_end = end
        for _ in range(self.config.max_pages):
            r = self.client.get(f"{QUOTE}/inquire-daily-itemchartprice", TR_DAILY_CHART, {
                "FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": code, "FID_INPUT_DATE_1": ymd(start),
                "FID_INPUT_DATE_2": ymd(window_end), "FID_PERIOD_DIV_CODE": period,
                "FID_ORG_ADJ_PRC": "0" if adjusted else "1"})  # here 0 = adjusted
            rows = [row for row in as_rows(r.body.get("output2"), "output2") if row.get("stck_bsop_date")]
            page = [DailyBar.parse(row) for row in rows]
            page = [b for b in page if start <= b.day <= window_end]
            for bar in page:
                bars[bar.day] = bar
            if len(rows) < CHART_ROWS_PER_CALL or not page:
                break
            oldest = min(b.day for b in page)
            if oldest <= start:
                break
            window_end = oldest - timedelta(days=1)
        return [bars[d] for d in sorted(bars)]

    def minute_bars(self, code: str, until: time | None = None, day: date | None = None) -> list[MinuteBar]:
        """Today's minute bars up to `until` (default now), oldest first, paging back 30 rows a call."""
        now = self.client.clock.now()
        day = day or now.date()
        cursor = until or now.time().replace(microsecond=0)
        bars: dict[datetime, MinuteBar] = {}
        for _ in range(self.config.max_pages):
            r = self.client.get(f"{QUOTE}/inquire-time-itemchartprice", TR_MINUTE_CHART, {
                "FID_ETC_CLS_CODE": "", "FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": code,
                "FID_INPUT_HOUR_1": cursor.strftime("%H%M%S"), "FID_PW_DATA_INCU_YN": "Y"})
            rows = as_rows(r.body.get("output2"), "output2")
            page = [MinuteBar.parse(row, day) for row in rows if row.get("stck_cntg_hour")]
            new = [b for b in page if b.at not in bars]
            for bar in new:
                bars[bar.at] = bar
            if len(rows) < MINUTE_ROWS_PER_CALL or not new:
                break
            oldest = min(b.at for b in page)
            previous = oldest - timedelta(minutes=1)
            if previous.date() != day:
                break
            cursor = previous.time()
        return [bars[t] for t in sorted(bars)]

    def orderbook(self, code: str) -> Orderbook:
        r = self.client.get(f"{QUOTE}/inquire-asking-price-exp-ccn", TR_ORDERBOOK,
                            {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": code})
        return Orderbook.parse(code, as_row(r.body.get("output1"), "output1"),
                               as_row(r.body.get("output2") or {}, "output2"))

    def volume_rank(self, market: str = "J") -> list[RankRow]:
        """Today's most traded stocks (real server only)."""
        r = self.client.get(f"{QUOTE}/volume-rank", TR_VOLUME_RANK, {
            "FID_COND_MRKT_DIV_CODE": market, "FID_COND_SCR_DIV_CODE": "20171", "FID_INPUT_ISCD": "0000",
            "FID_DIV_CLS_CODE": "0", "FID_BLNG_CLS_CODE": "0", "FID_TRGT_CLS_CODE": "111111111",
            "FID_TRGT_EXLS_CLS_CODE": "0000000000", "FID_INPUT_PRICE_1": "", "FID_INPUT_PRICE_2": "",
            "FID_VOL_CNT": "", "FID_INPUT_DATE_1": ""})
        return [RankRow.parse(row) for row in as_rows(r.body.get("output"), "output")]

    def holidays(self, base: date) -> list[HolidayInfo]:
        """KIS's calendar from `base` on (real server only; about once a day; duplicates removed)."""
        seen: dict[date, HolidayInfo] = {}
        for r in self.client.pages(f"{QUOTE}/chk-holiday", TR_HOLIDAY, {"BASS_DT": ymd(base)},
                                   ctx_keys=("CTX_AREA_FK", "CTX_AREA_NK")):
            for row in as_rows(r.body.get("output"), "output"):
                info = HolidayInfo.parse(row)
                seen.setdefault(info.day, info)
        return [seen[d] for d in sorted(seen)]

    def is_market_open(self, day: date) -> bool:
        for info in self.holidays(day):
            if info.day == day:
                return info.market_open
        raise KisResponseError(f"chk-holiday did not report {day}")

    # --- account ------------------------------------------------------------------------------------
    def _account(self) -> dict[str, str]:
        if not self.config.account:
            raise KisError("ACCOUNT_NUMBER is not configured")
        return {"CANO": self.config.cano, "ACNT_PRDT_CD": self.config.product_code}

    def balance(self) -> Balance:
        """Holdings (every page: 50 a page real, 20 virtual) and the cash summary."""
        params = {**self._account(), "AFHR_FLPR_YN": "N", "OFL_YN": "", "INQR_DVSN": "02", "UNPR_DVSN": "01",
                  "FUND_STTL_ICLD_YN": "N", "FNCG_AMT_AUTO_RDPT_YN": "N", "PRCS_DVSN": "00"}
        holdings: list[Holding] = []
        summary: BalanceSummary | None = None
        pages = 0
        for r in self.client.pages(f"{TRADING}/inquire-balance", self.config.tr(TR_BALANCE), params):
            pages += 1
            holdings.extend(Holding.parse(row) for row in as_rows(r.body.get("output1"), "output1"))
            out2 = r.body.get("output2")
            if out2:
                summary = BalanceSummary.parse(as_row(out2, "output2"))
        if summary is None:
            raise KisResponseError("balance without output2 (cash summary)")
        return Balance(holdings=holdings, summary=summary, pages=pages)

    def buyable(self, code: str, price: int = 0, order_division: str = ORDER_MARKET) -> Buyable:
        r = self.client.get(f"{TRADING}/inquire-psbl-order", self.config.tr(TR_BUYABLE), {
            **self._account(), "PDNO": code, "ORD_UNPR": str(price), "ORD_DVSN": order_division,
            "CMA_EVLU_AMT_ICLD_YN": "N", "OVRS_ICLD_YN": "N"})
        return Buyable.parse(as_row(r.body.get("output"), "output"))

    def daily_orders(self, start: date, end: date, *, side: str = "00", filled: str = "00", code: str = "",
                     odno: str = "") -> list[DailyOrder]:
        """Orders (with fill state) from `start` to `end`, every page (100 a page real, 15 virtual)."""
        today = self.client.clock.today()
        tr = TR_DAILY_CCLD if (today - start).days <= 90 else TR_DAILY_CCLD_OLD
        params = {**self._account(), "INQR_STRT_DT": ymd(start), "INQR_END_DT": ymd(end),
                  "SLL_BUY_DVSN_CD": side, "INQR_DVSN": "00", "PDNO": code, "CCLD_DVSN": filled,
                  "ORD_GNO_BRNO": "", "ODNO": odno, "INQR_DVSN_3": "00", "INQR_DVSN_1": "",
                  "EXCG_ID_DVSN_CD": "KRX"}
        rows: dict[tuple[date, str], DailyOrder] = {}  # an order is its date + ODNO (ODNOs restart daily)
        for r in self.client.pages(f"{TRADING}/inquire-daily-ccld", self.config.tr(tr), params):
            for row in as_rows(r.body.get("output1"), "output1"):
                order = DailyOrder.parse(row)
                rows[order.day, order.odno] = order
        self._remember(rows)
        return sorted(rows.values(), key=lambda o: (o.day, o.odno))

    def revisable_orders(self) -> list[RevisableOrder]:
        """Orders that can still be revised or cancelled (real server only)."""
        out: list[RevisableOrder] = []
        for r in self.client.pages(f"{TRADING}/inquire-psbl-rvsecncl", self.config.tr(TR_REVISABLE), {
                **self._account(), "INQR_DVSN_1": "0", "INQR_DVSN_2": "0"}):
            out.extend(RevisableOrder.parse(row) for row in as_rows(r.body.get("output"), "output"))
        return out

    # --- orders -------------------------------------------------------------------------------------
    def _remember(self, orders: Iterable[tuple[date, str]]) -> None:
        with self._known_lock:
            self._known_orders.update(orders)

    def order_cash(self, side: Literal["buy", "sell"], code: str, quantity: int, price: int | None = None,
                   exchange: str = "KRX", *, division: str | None = None,
                   condition_price: int | None = None) -> OrderAck:
        """Place a cash order once: `division` (`ORD_DVSN`, `hantu.broker.kis.divisions`; default limit at
        `price`, or market when `price` is None), `ORD_UNPR` "0" for the priceless divisions, and
        `condition_price` as `CNDT_PRIC` (the stop-limit's trigger, division 22).

        KIS refusal → `KisOrderRejected`. Lost response (timeout, 5xx) → the order is looked up with
        `inquire-daily-ccld`; found → its ack (`recovered=True`), else `KisOrderUnknown`. Never sent twice.
        """
        if quantity <= 0:
            raise KisOrderRejected("quantity must be positive", msg_cd="LOCAL")
        if price is not None and price <= 0:
            raise KisOrderRejected("limit price must be positive", msg_cd="LOCAL")
        division = division or (ORDER_MARKET if price is None else ORDER_LIMIT)
        body = {**self._account(), "PDNO": code, "ORD_DVSN": division, "ORD_QTY": str(quantity),
                "ORD_UNPR": "0" if price is None else str(price), "EXCG_ID_DVSN_CD": exchange}
        if condition_price is not None:
            body["CNDT_PRIC"] = str(condition_price)
        tr = self.config.tr(TR_BUY if side == "buy" else TR_SELL)
        sent_at = self.client.clock.now()
        try:
            r = self.client.send_order(f"{TRADING}/order-cash", tr, body)
        except (KisTimeoutError, KisServerError) as error:
            if isinstance(error, KisServerError) and _is_business_answer(error):
                raise KisOrderRejected(error.message, msg_cd=error.msg_cd, status=error.status, tr_id=tr) from error
            log.warning("KIS order response lost (%s); looking the order up instead of re-sending", error)
            found = self._find_lost_order(side, code, quantity, price, sent_at)
            if found is None:
                raise KisOrderUnknown(f"order {side} {code} x{quantity} may or may not exist: {error}",
                                      msg_cd=error.msg_cd, status=error.status, tr_id=tr) from error
            return found
        except KisError as error:
            if error.retryable or isinstance(error, KisOrderUnknown):
                raise KisOrderUnknown(str(error), msg_cd=error.msg_cd, status=error.status, tr_id=tr) from error
            raise KisOrderRejected(error.message, msg_cd=error.msg_cd, status=error.status, tr_id=tr) from error
        ack = OrderAck.parse(as_row(r.body.get("output"), "output"))
        self._remember([(sent_at.date(), ack.odno)])
        return ack

    def _find_lost_order(self, side: str, code: str, quantity: int, price: int | None,
                         sent_at: datetime) -> OrderAck | None:
        """The order matching a lost request: same stock, side, quantity and price, stamped no earlier than
        the send (minus slack), not one this process already knew; the newest if several."""
        side_code = BUY_CODE if side == "buy" else SELL_CODE
        floor = sent_at - LOOKUP_SLACK
        earliest = floor.time() if floor.date() == sent_at.date() else time(0)
        with self._known_lock:
            known = set(self._known_orders)  # before the lookup: the lost order is not among them
        for attempt in range(LOOKUP_ATTEMPTS):
            try:
                orders = self.daily_orders(sent_at.date(), sent_at.date(), side=side_code, code=code)
            except KisError as error:
                log.warning("lookup of a lost order failed: %s", error)
                orders = []
            candidates = [o for o in orders if o.code == code and o.side == side_code and o.quantity == quantity
                          and (price is None or o.price == price) and not o.orig_odno.strip("0")
                          and o.ordered_at >= earliest and (o.day, o.odno) not in known]
            if candidates:
                best = max(candidates, key=lambda o: (o.ordered_at, o.odno))
                log.info("lost order found by lookup: %s", best.odno)
                return OrderAck(odno=best.odno, org_no=best.org_no,
                                ordered_at=best.ordered_at.strftime("%H%M%S"), recovered=True)
            if attempt + 1 < LOOKUP_ATTEMPTS:
                _time.sleep(self.config.backoff_initial * 2 ** attempt)
        return None

    def revise_or_cancel(self, org_no: str, odno: str, *, cancel: bool = True, quantity: int = 0,
                         price: int = 0, all_quantity: bool = True, order_division: str = ORDER_LIMIT) -> OrderAck:
        """Revise (`cancel=False`) or cancel an order. Not re-sent on a lost response (the caller reads the
        order back with `daily_orders`)."""
        body = {**self._account(), "KRX_FWDG_ORD_ORGNO": org_no, "ORGN_ODNO": odno, "ORD_DVSN": order_division,
                "RVSE_CNCL_DVSN_CD": "02" if cancel else "01", "ORD_QTY": str(quantity),
                "ORD_UNPR": str(price), "QTY_ALL_ORD_YN": "Y" if all_quantity else "N", "EXCG_ID_DVSN_CD": "KRX"}
        tr = self.config.tr(TR_REVISE_CANCEL)
        try:
            r = self.client.send_order(f"{TRADING}/order-rvsecncl", tr, body)
        except KisError as error:
            if isinstance(error, KisTimeoutError | KisServerError) and not _is_business_answer(error):
                raise KisOrderUnknown(str(error), msg_cd=error.msg_cd, status=error.status, tr_id=tr) from error
            raise KisOrderRejected(error.message, msg_cd=error.msg_cd, status=error.status, tr_id=tr) from error
        ack = OrderAck.parse(as_row(r.body.get("output"), "output"))
        self._remember([(self.client.clock.today(), ack.odno)])
        return replace(ack, org_no=ack.org_no or org_no)


def _is_business_answer(error: KisError) -> bool:
    """A 5xx whose body carries a business code (not a gateway/overload code): KIS decided, no order."""
    return bool(error.msg_cd) and not error.msg_cd.startswith("EGW")
