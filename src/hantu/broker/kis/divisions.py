"""KIS `ORD_DVSN` (주문구분) codes of each order type, and what the virtual server (모의투자) serves.

Sources (docs/kis-faq.md, "Order divisions"): KIS's official Postman collections in `koreainvestment/open-trading-api`
(`legacy/postman/실전계좌_POSTMAN_샘플코드_v2.6.json`, `모의계좌_POSTMAN_샘플코드_v1.6.json`: 00–16) and its
`order_cash.py` (`CNDT_PRIC`, "스탑지정가호가 주문 시 사용"); the KIS portal's `ord_dvsn_cd` list (21–24, with
22 = 스톱지정가). Neither says which divisions the virtual server accepts: `VIRTUAL` records what is shown to
work there (00 and 01, the official samples' virtual examples) and treats the rest as unverified, except the
stop-limit, which this project does not rely on in virtual mode (the engine's own stop guards instead).
"""

from __future__ import annotations

from typing import Literal

from hantu.domain.orders import ORDER_TYPES, SESSION_LABELS_KO, OrderType

DIVISIONS: dict[OrderType, str] = {
    OrderType.LIMIT: "00", OrderType.MARKET: "01", OrderType.CONDITIONAL_LIMIT: "02", OrderType.BEST: "03",
    OrderType.TOP_PRIORITY: "04", OrderType.PRE_MARKET_CLOSE: "05", OrderType.AFTER_HOURS_CLOSE: "06",
    OrderType.SINGLE_PRICE: "07", OrderType.IOC_LIMIT: "11", OrderType.FOK_LIMIT: "12", OrderType.IOC_MARKET: "13",
    OrderType.FOK_MARKET: "14", OrderType.IOC_BEST: "15", OrderType.FOK_BEST: "16", OrderType.STOP_LIMIT: "22",
}
TYPE_OF_DIVISION: dict[str, OrderType] = {code: t for t, code in DIVISIONS.items()}

Support = Literal["yes", "unverified", "no"]
VIRTUAL: dict[OrderType, Support] = {t: "unverified" for t in DIVISIONS}
VIRTUAL.update({OrderType.LIMIT: "yes", OrderType.MARKET: "yes", OrderType.STOP_LIMIT: "no"})


def division(order_type: OrderType) -> str:
    return DIVISIONS[OrderType(order_type)]


def order_type_of(code: str) -> OrderType:
    """The order type of an `ord_dvsn_cd`; an unknown code reads as a limit order (it has a price)."""
    return TYPE_OF_DIVISION.get(code.strip(), OrderType.LIMIT)


def broker_held_stops(server: str) -> bool:
    """Whether stop-limits go to KIS (`CNDT_PRIC`) on `server`; where not, the engine's own stop guards."""
    return server == "prod" or VIRTUAL[OrderType.STOP_LIMIT] == "yes"


def order_types_markdown() -> str:
    """The order type × session × KIS division × virtual-mode table as docs/trading-engine.md prints it
    (a test checks the doc against this)."""
    lines = ["| order type | 주문구분 | sessions | KIS `ORD_DVSN` | price / trigger | virtual (모의투자) |",
             "|---|---|---|---|---|---|"]
    for order_type, s in ORDER_TYPES.items():
        sessions = ", ".join(SESSION_LABELS_KO[x] for x in sorted(s.sessions))
        needs = ("limit + trigger (`CNDT_PRIC`)" if s.trigger else "limit" if s.priced else "none (`ORD_UNPR` 0)")
        if s.tif != "day":
            needs += f", {s.tif.upper()}"
        lines.append(f"| `{order_type}` | {s.label_ko} | {sessions} | `{DIVISIONS[order_type]}` | {needs} | "
                     f"{VIRTUAL[order_type]} |")
    return "\n".join(lines)
