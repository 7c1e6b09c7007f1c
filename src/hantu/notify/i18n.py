"""What a user reads outside Telegram's templates — backtest report labels, reasons shown on the dashboard and in
the CLI — in one catalogue: Korean by default, English with `HANTU_LANGUAGE=en`.

Reasons (selection, exit, order and cancel reasons) are stored in English — they are also log lines, audit
entries and API fields — and shown through `reason()`, which uses the phrase table of `hantu.notify.reasons`
(the one the Telegram messages use). Labels are looked up by key with `label()`; the dashboard's own labels are
`hantu.api.i18n.LABELS`, in the same (ko, en) shape.
"""

from __future__ import annotations

from hantu.notify.kit import Language
from hantu.notify.reasons import korean_reason

# key: (ko, en)
LABELS: dict[str, tuple[str, str]] = {
    # backtest report: headings
    "report.title": ("백테스트", "Backtest"),
    "report.params": ("파라미터", "parameters"),
    "report.defaults": ("기본값", "defaults"),
    "report.stocks": ("종목", "stocks"),
    "report.days": ("거래일", "trading days"),
    "report.cash": ("초기자금", "starting cash"),
    "report.won": ("원", " won"),
    "report.elapsed": ("실행", "ran in"),
    "report.warning": ("경고", "Warning"),
    "report.figures": ("성과", "Figures"),
    "report.equity": ("자산", "Equity"),
    "report.drawdown": ("낙폭", "Drawdown"),
    "report.monthly": ("월별 수익률", "Monthly returns"),
    "report.trades": ("거래 내역", "Trades"),
    "report.risk_limits": ("위험 한도", "Risk limits"),
    "report.intraday": ("장중 경로 (분봉 기록 / 합성)", "Intraday path (recorded minute bars / synthetic)"),
    "report.gaps": ("벤치마크: 데이터 공백 다음 날의 수익률은 0으로 계산",
                    "The benchmarks count a 0 return over a gap in the data"),
    "report.strategy": ("전략", "Strategy"),
    "report.equal_weight": ("동일가중", "Equal weight"),
    "report.cap_weighted": ("시가총액가중", "cap-weighted"),
    "report.legend_strategy": ("빨강: 전략", "red: strategy"),
    "report.legend_benchmark": ("회색: 동일가중 지수", "grey: equal-weight index"),
    "report.colour_KOSPI": ("초록", "green"),
    "report.colour_KOSDAQ": ("보라", "purple"),
    "report.holding": ("보유중", "held"),
    # backtest report: the trades table
    "trade.code": ("코드", "Code"),
    "trade.name": ("종목", "Name"),
    "trade.entry_date": ("매수일", "Bought"),
    "trade.entry_price": ("매수가", "Buy price"),
    "trade.exit_date": ("매도일", "Sold"),
    "trade.exit_price": ("매도가", "Sell price"),
    "trade.quantity": ("수량", "Qty"),
    "trade.reason": ("사유", "Reason"),
    "trade.costs": ("비용", "Costs"),
    "trade.pnl": ("손익", "P&L"),
    "trade.days": ("보유일", "Days"),
    # backtest report: the figures
    "metric.total_return": ("총수익률", "Total return"),
    "metric.annual_return": ("연수익률", "Annual return"),
    "metric.volatility": ("변동성", "Volatility"),
    "metric.sharpe": ("샤프", "Sharpe"),
    "metric.sortino": ("소르티노", "Sortino"),
    "metric.max_drawdown": ("최대낙폭", "Max drawdown"),
    "metric.max_drawdown_days": ("낙폭 기간(일)", "Drawdown days"),
    "metric.calmar": ("칼마", "Calmar"),
    "metric.trades": ("거래 수", "Trades"),
    "metric.win_rate": ("승률", "Win rate"),
    "metric.profit_factor": ("손익비", "Profit factor"),
    "metric.avg_holding_days": ("평균 보유일", "Avg holding (days)"),
    "metric.turnover": ("회전율(연)", "Turnover (annual)"),
    "metric.exposure": ("투자 비중", "Exposure"),
    "metric.fees_paid": ("수수료", "Fees paid"),
    "metric.taxes_paid": ("세금", "Taxes paid"),
    "metric.final_equity": ("최종 자산", "Final equity"),
}


def label(key: str, lang: Language = "ko") -> str:
    """The label for `key` in `lang`; a `KeyError` for an unknown key (a typo is a bug, not a blank)."""
    ko, en = LABELS[key]
    return ko if lang == "ko" else en


def reason(text: str | None, lang: Language = "ko") -> str:
    """A stored (English) reason as the user reads it: Korean phrases for `ko`, unchanged for `en`."""
    if not text:
        return ""
    return korean_reason(text) if lang == "ko" else text
