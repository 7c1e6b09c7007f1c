"""Korean for the reasons the engine, the scheduler and the built-in strategies write (order, exit, cancel,
selection and stop reasons).

The reasons are stored in English: they are also log lines, audit entries and API fields, and a plug-in strategy
writes its own. Messages in Korean translate the phrases they are made of, longest first; words this table does
not know (a plug-in's own text) pass through unchanged. Numbers and symbols are kept as they are.
"""

from __future__ import annotations

import re
from functools import lru_cache

# (pattern, replacement), applied in order: whole sentences first, then phrases, then single words.
PHRASES: tuple[tuple[str, str], ...] = (
    # whole sentences
    (r"next open: the breakout trade lasts one day", "다음 날 시가 청산 (돌파 매매는 하루 보유)"),
    (r"close: the breakout trade ends with the day", "종가 청산 (돌파 매매는 당일 종료)"),
    (r"end of day: flatten", "장 마감 전 전량 청산"),
    (r"unfilled: cancelled by the engine", "미체결: 엔진이 취소"),
    (r"user: cancel requested", "사용자 취소 요청"),
    (r"unfilled at the close", "장 마감까지 미체결"),
    (r"manual order", "수동 주문"),
    (r"reached --until (\S+ \S+)", r"--until \1 도달"),
    (r"stop requested", "중지 요청"),
    # market status (`hantu.market.status`, `hantu.trading.market_hold`)
    (r"\(sent after static\+dynamic VI auction, held (\d+) min\)", r"(정적·동적 VI 해제 후 주문, \1분 대기)"),
    (r"\(sent after static VI auction, held (\d+) min\)", r"(정적 VI 해제 후 주문, \1분 대기)"),
    (r"\(sent after dynamic VI auction, held (\d+) min\)", r"(동적 VI 해제 후 주문, \1분 대기)"),
    (r"\(sent after VI auction, held (\d+) min\)", r"(VI 해제 후 주문, \1분 대기)"),
    (r"\(sent after trading halt, held (\d+) min\)", r"(거래정지 해제 후 주문, \1분 대기)"),
    (r"\(sent after upper-limit lock, held (\d+) min\)", r"(상한가 잠김 해제 후 주문, \1분 대기)"),
    (r"trading halted: order held until trading resumes", "거래정지: 거래 재개까지 주문 대기"),
    (r"static\+dynamic VI auction: market order held until it ends", "정적·동적 VI 단일가 매매: 해제까지 시장가 주문 대기"),
    (r"static VI auction: market order held until it ends", "정적 VI 단일가 매매: 해제까지 시장가 주문 대기"),
    (r"dynamic VI auction: market order held until it ends", "동적 VI 단일가 매매: 해제까지 시장가 주문 대기"),
    (r"VI auction: market order held until it ends", "VI 단일가 매매: 해제까지 시장가 주문 대기"),
    (r"locked at the upper limit \(no sellers\): market buy held", "상한가 잠김 (매도 물량 없음): 시장가 매수 대기"),
    # the exit rules' prefixes (`hantu.trading.exits`) and the session's
    (r"\bstop_loss:", "손절:"),
    (r"\btake_profit:", "익절:"),
    (r"\btrailing_stop:", "추적 손절:"),
    (r"\batr_stop:", "ATR 손절:"),
    (r"\btime_exit:", "기간 청산:"),
    (r"\bstrategy:", "전략 청산:"),
    (r"\breprice #(\d+):", r"재주문 #\1:"),
    (r"\bend of day\b", "장 마감"),
    (r"\bexit next open\b", "다음 날 시가에 청산"),
    (r"\bexit close\b", "당일 종가에 청산"),
    (r"≈([\d,]+) if it opens at ([\d,]+)", r"시가 \2이면 ≈\1"),
    # phrases (with word order where Korean needs it)
    (r"\bat or below limit\b", "≤ 지정가"),
    (r"\bat or above limit\b", "≥ 지정가"),
    (r"\bheld (\d+) trading days\b", r"\1거래일 보유"),
    (r"\bexit time (\d{1,2}:\d{2}) reached\b", r"청산 시각 \1 도달"),
    (r"\babove (SMA\d+)", r"\1 위"),
    (r"\bbelow (SMA\d+)", r"\1 아래"),
    (r"\bexit at (SMA\d+)", r"\1에서 청산"),
    (r"\bbuy above open \+", "매수 기준: 시가 +"),
    (r"\bbelow the high\b", "고점 대비"),
    (r"\bmomentum score\b", "모멘텀 점수"),
    (r"\bbreakout score\b", "돌파 점수"),
    (r"\boversold entry\b", "과매도 진입"),
    (r"\bmean reverted\b", "평균 회귀"),
    (r"\bregime bull\b", "시장 상승장"),
    (r"\bregime bear\b", "시장 하락장"),
    (r"\bregime neutral\b", "시장 보합"),
    (r"\bindex vs SMA\b", "지수 대비 SMA"),
    (r"\btrailing stop\b", "추적 손절가"),
    (r"\bATR stop\b", "ATR 손절가"),
    # single words
    (r"\bbreadth\b", "상승 비율"),
    (r"\bbreakout\b", "돌파"),
    (r"\blimit\b", "지정가"),
    (r"\bprice\b", "현재가"),
    (r"\bstop\b", "손절가"),
    (r"\btarget\b", "목표가"),
    (r"\bclose\b", "종가"),
    (r"\bopen\b", "시가"),
    (r"\brange\b", "변동폭"),
    (r"\btime\b", "보유 기간"),
    (r"\bmax\b", "최대"),
    (r"\bexit\b", "청산"),
    (r"\bmanual\b", "수동"),
    (r"<=", "≤"),
    (r">=", "≥"),
)


@lru_cache(maxsize=1)
def _compiled() -> tuple[tuple[re.Pattern[str], str], ...]:
    return tuple((re.compile(pattern), replacement) for pattern, replacement in PHRASES)


def korean_reason(text: str) -> str:
    """`text` with the phrases above in Korean (unknown words unchanged)."""
    for pattern, replacement in _compiled():
        text = pattern.sub(replacement, text)
    return text
