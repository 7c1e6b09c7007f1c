"""What every message template is built from: the `T` formatting helpers, the `Template` record and the
decorator that collects render functions (the alert templates in `templates`, the command replies in `replies`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from hantu.notify.formatting import escape
from hantu.notify.reasons import korean_reason

Priority = Literal["critical", "high", "normal", "low"]
PRIORITY_RANK: dict[str, int] = {"low": 0, "normal": 1, "high": 2, "critical": 3}
Language = Literal["ko", "en"]


class T:
    """What a render function gets: the language, and helpers that escape and format values."""

    def __init__(self, language: Language) -> None:
        self.lang = language

    def __call__(self, ko: str, en: str) -> str:
        """Pick the text for the language (the texts are ours: no escaping needed)."""
        return ko if self.lang == "ko" else en

    # --- value formatting (all results are escaped) ------------------------------------------------
    @staticmethod
    def s(value: Any) -> str:
        return escape(value)

    def reason(self, value: Any) -> str:
        """An engine or strategy reason (stored in English), in Korean where its phrases are known; escaped."""
        return escape(korean_reason(str(value)) if self.lang == "ko" else value)

    def won(self, value: Any, signed: bool = False) -> str:
        amount = float(value)
        text = f"{amount:+,.0f}" if signed else f"{amount:,.0f}"
        return f"{text}원" if self.lang == "ko" else f"₩{text}"

    @staticmethod
    def num(value: Any, decimals: int = 0) -> str:
        return f"{float(value):,.{decimals}f}" if decimals else f"{round(float(value)):,}"

    @staticmethod
    def pct(value: Any, signed: bool = True) -> str:
        """`value` is a percentage already (1.5 means 1.5 %)."""
        return f"{float(value):+.2f}%" if signed else f"{float(value):.2f}%"

    @staticmethod
    def when(value: Any) -> str:
        if isinstance(value, datetime):
            return value.strftime("%Y-%m-%d %H:%M:%S")
        if isinstance(value, date):
            return value.isoformat()
        return escape(value)

    def side(self, value: Any) -> str:
        side = str(value).lower()
        if side == "buy":
            return self("매수", "Buy")
        if side == "sell":
            return self("매도", "Sell")
        return escape(value)

    def shares(self, value: Any) -> str:
        return f"{self.num(value)}주" if self.lang == "ko" else f"{self.num(value)} sh"

    def stock(self, row: Mapping[str, Any]) -> str:
        name = row.get("name") or row.get("code")
        code = row.get("code")
        return f"{escape(name)}({escape(code)})" if code and name != code else escape(name)


RenderFn = Callable[[Mapping[str, Any], T], str]
PriorityFn = Callable[[Mapping[str, Any]], "Priority"]


@dataclass(frozen=True)
class Template:
    """A message kind: what data it needs, how it renders, and the lowest priority it may be sent with."""

    kind: str
    required: tuple[str, ...]
    render: RenderFn
    optional: tuple[str, ...] = ()
    floor: Priority | PriorityFn = "low"
    doc: str = ""
    list_keys: tuple[str, ...] = field(default=())  # keys that must be lists

    def floor_for(self, data: Mapping[str, Any]) -> Priority:
        return self.floor(data) if callable(self.floor) else self.floor


def collect(registry: dict[str, Template]) -> Callable[..., Callable[[RenderFn], RenderFn]]:
    """A `@template(kind, required, ...)` decorator that registers render functions into `registry`."""

    def template(kind: str, required: Sequence[str], optional: Sequence[str] = (),
                 floor: Priority | PriorityFn = "low", list_keys: Sequence[str] = ()) -> Callable[[RenderFn], RenderFn]:
        """Register a render function as the template for `kind` (its docstring documents the data)."""

        def register(fn: RenderFn) -> RenderFn:
            registry[kind] = Template(kind, tuple(required), fn, tuple(optional), floor, (fn.__doc__ or "").strip(),
                                      tuple(list_keys))
            return fn

        return register

    return template


def _lines(*lines: str | None) -> str:
    return "\n".join(line for line in lines if line is not None)


def _opt(data: Mapping[str, Any], key: str) -> bool:
    return data.get(key) not in (None, "", [])


def _positions_lines(rows: Sequence[Mapping[str, Any]], t: T) -> list[str]:
    out = []
    for row in rows:
        pnl = ""
        if row.get("pnl") is not None:
            pct = f" ({t.pct(row['pnl_pct'])})" if row.get("pnl_pct") is not None else ""
            pnl = f" {t.won(row['pnl'], True)}{pct}"
        last = f" → {t.won(row['last_price'])}" if row.get("last_price") is not None else ""
        avg = f" @ {t.won(row['avg_price'])}" if row.get("avg_price") is not None else ""
        out.append(f"• {t.stock(row)} {t.shares(row['quantity'])}{avg}{last}{pnl}")
    return out
