"""The read commands added with the controls: /profit /daily /trades /risk /logs (secrets masked), /help."""

from __future__ import annotations

import json
from datetime import timedelta

from control_kit import SAMSUNG, TOKEN
from control_support import chat_for

from hantu.domain.orders import Side
from hantu.store.models import TradeFill
from hantu.store.models.scheduler import DailyReport
from hantu.trading.risk import CONFIG_KEY

SECRET = "PSsandboxAppSecretThatMustNotLeak0123456789"


def test_profit_trades_daily_risk(desk, telegram, control_store_root) -> None:
    now, day = desk.clock.now(), desk.clock.today()
    with desk.database.session() as s:
        common = {"broker": "kis", "broker_order_id": "b", "code": SAMSUNG, "commission": 100, "tax": 0,
                  "recorded_at": now}
        s.add(TradeFill(fill_id="f1", trading_date=day - timedelta(days=3), side=Side.BUY.value, quantity=10,
                        price=70_000, amount=700_000, filled_at=now - timedelta(days=3), **common))
        s.add(TradeFill(fill_id="f2", trading_date=day, side=Side.SELL.value, quantity=10, price=72_000,
                        amount=720_000, filled_at=now, **{**common, "tax": 1_300}))
        for back, equity in ((2, 50_000_000), (1, 50_100_000)):
            s.add(DailyReport(trading_date=day - timedelta(days=back), broker="kis", equity=equity, cash=equity,
                              realized_pnl=back * 1000, unrealized_pnl=0, fees=0, taxes=0, trades=1,
                              day_return_pct=0.2, positions=[], created_at=now))
    chat = chat_for(desk, telegram, control_store_root)
    (profit,) = chat.say("/profit 7")
    assert "최근 7일 손익" in profit.plain and "실현손익: +18,500원" in profit.plain  # 20,000 - fees 1,500
    assert "매도 거래: 1건 (수익 1 · 손실 0)" in profit.plain
    (trades,) = chat.say("/trades 5")
    assert "최근 체결 2건" in trades.plain and "매도 삼성전자(005930) 10주 @ 72,000원" in trades.plain
    (daily,) = chat.say("/daily")
    assert daily.plain.index("2024-01-04") < daily.plain.index("2024-01-03")  # newest first
    assert "평가자산 50,100,000원" in daily.plain
    with desk.database.session() as s:
        from hantu.store.kv import kv_set

        kv_set(s, CONFIG_KEY, {"max_open_positions": 3})
    (risk,) = chat.say("/risk")
    assert "최대 보유 종목 수: 3" in risk.plain and "일일 손실 한도: 3.00%" in risk.plain


def test_logs_are_masked(desk, telegram, control_store_root, tmp_path) -> None:
    from hantu.log import register_secrets

    register_secrets([SECRET])
    logs = tmp_path / "logs"
    logs.mkdir()
    lines = [{"time": f"2024-01-05T09:59:0{i}+09:00", "level": "INFO", "logger": "x",
              "message": f"line {i} app_secret={SECRET} url=/bot{TOKEN}/getMe"} for i in range(5)]
    (logs / "scheduler.jsonl").write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    chat = chat_for(desk, telegram, control_store_root, logs_dir=logs)
    (reply,) = chat.say("/logs 3")
    assert "최근 로그" in reply.plain and "line 4" in reply.plain and "line 1" not in reply.plain
    assert SECRET not in reply.text and TOKEN not in reply.text and "***" in reply.plain


def test_help_lists_the_trading_commands(desk, telegram, control_store_root) -> None:
    (reply,) = chat_for(desk, telegram, control_store_root).say("/help")
    for command in ("/sell", "/buy", "/cancel", "/flatten", "/profit", "/daily", "/trades", "/risk", "/logs",
                    "/halt"):
        assert command in reply.plain
    assert "확인 버튼" in reply.plain
