"""Building the sandbox's real-time records (price ticks, fill notices) in KIS's field order."""

from __future__ import annotations

from datetime import datetime

from hantu.broker.kis.wsfields import FILL_FIELDS, PRICE_FIELDS
from hantu.domain.orders import Side
from hantu.market.status import VI_AUCTION_TIME_CODE
from hantu.sandbox.kis.exchange import FillRecord, Order
from hantu.sandbox.kis.market import MarketReplay, Snapshot


def price_record(snap: Snapshot, now: datetime, last_volume: int) -> list[str]:
    values = dict.fromkeys(PRICE_FIELDS, "0")
    values.update({
        "MKSC_SHRN_ISCD": snap.code, "STCK_CNTG_HOUR": now.strftime("%H%M%S"), "STCK_PRPR": str(snap.price),
        "PRDY_VRSS_SIGN": snap.sign, "PRDY_VRSS": str(snap.change), "PRDY_CTRT": f"{snap.change_rate:.2f}",
        "WGHN_AVRG_STCK_PRC": f"{(snap.amount / snap.volume) if snap.volume else snap.price:.2f}",
        "STCK_OPRC": str(snap.open or snap.price), "STCK_HGPR": str(snap.high or snap.price),
        "STCK_LWPR": str(snap.low or snap.price), "ASKP1": str(snap.price + snap.tick), "BIDP1": str(snap.price),
        "CNTG_VOL": str(last_volume), "ACML_VOL": str(snap.volume), "ACML_TR_PBMN": str(snap.amount),
        "BSOP_DATE": snap.day.strftime("%Y%m%d"), "NEW_MKOP_CLS_CODE": "20", "TRHT_YN": "Y" if snap.halted else "N",
        "HOUR_CLS_CODE": VI_AUCTION_TIME_CODE if snap.vi else "0", "MRKT_TRTM_CLS_CODE": "2", "CCLD_DVSN": "1",
    })
    return [values[name] for name in PRICE_FIELDS]


def fill_notice_fields(order: Order, fill: FillRecord | None, event: str, market: MarketReplay) -> list[str]:
    """One H0STCNI0 record: CNTG_YN 2 for a fill, 1 for an acceptance/revision/cancellation."""
    account = order.account
    values = dict.fromkeys(FILL_FIELDS, "")
    at = fill.at if fill else order.placed_at
    values.update({
        "CUST_ID": account.hts_id, "ACNT_NO": account.cano + account.product_code, "ODER_NO": order.odno,
        "OODER_NO": order.orig_odno, "SELN_BYOV_CLS": "01" if order.side is Side.SELL else "02",
        "RCTF_CLS": {"new": "0", "revise": "1", "cancel": "2"}[order.kind], "ODER_KIND": order.division,
        "ODER_COND": "0", "STCK_SHRN_ISCD": order.code,
        "CNTG_QTY": str(fill.quantity if fill else order.quantity), "CNTG_UNPR": str(fill.price if fill else 0),
        "STCK_CNTG_HOUR": at.strftime("%H%M%S"), "RFUS_YN": "0", "CNTG_YN": "2" if fill else "1",
        "ACPT_YN": "2" if event == "accepted" else "1", "BRNC_NO": order.org_no, "ODER_QTY": str(order.quantity),
        "ACNT_NAME": account.name, "ORD_COND_PRC": "0", "ORD_EXG_GB": "1", "POPUP_YN": "N", "CRDT_CLS": "10",
        "CNTG_ISNM40": market.name(order.code), "ODER_PRC": str(order.price),
    })
    return [values[name] for name in FILL_FIELDS]
