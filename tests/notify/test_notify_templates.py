"""Every template renders in Korean and English, with the figures it was given (no constants)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from hantu.clock import KST
from hantu.notify.templates import TEMPLATES, TemplateDataError, render
from hantu.sandbox.telegram import parse_html

POS = [{"code": "005930", "name": "삼성전자", "quantity": 17, "avg_price": 71200, "last_price": 73100,
        "pnl": 32300, "pnl_pct": 2.67}]
SAMPLES: dict[str, tuple[dict, list[str]]] = {
    "scheduler_started": ({"mode": "paper", "strategy": "momentum", "jobs": ["a", "b", "c"]}, ["paper", "3"]),
    "scheduler_stopped": ({"reason": "SIGTERM", "uptime_seconds": 7384}, ["SIGTERM", "2"]),
    "heartbeat_missed": ({"process": "scheduler", "last_seen": datetime(2024, 3, 4, 9, 1, tzinfo=KST),
                          "missed_seconds": 187}, ["scheduler", "09:01", "187"]),
    "data_sync_done": ({"trading_date": date(2024, 3, 4), "stocks": 2731, "rows": 712345, "elapsed_seconds": 41.3,
                        "failed": 3}, ["2,731", "712,345", "41.3"]),
    "screening_done": ({"trading_date": "2024-03-04", "universe_size": 2718, "passed": 37,
                        "top": [{"code": "000660", "name": "SK하이닉스", "score": 2.5}]}, ["2,718", "37", "SK하이닉스"]),
    "selection_done": ({"trading_date": "2024-03-04", "selected": [{"code": "000660", "name": "SK하이닉스",
                                                                    "weight": 0.25}]}, ["SK하이닉스", "25.0%"]),
    "order_placed": ({"code": "005930", "name": "삼성전자", "side": "buy", "quantity": 13, "order_type": "limit",
                      "price": 70900}, ["13", "70,900"]),
    "order_filled": ({"code": "005930", "name": "삼성전자", "side": "sell", "quantity": 13, "price": 70900,
                      "fees": 138, "taxes": 1659, "realized_pnl": -5200}, ["921,700", "138", "1,659", "-5,200"]),
    "order_partially_filled": ({"code": "005930", "name": "삼성전자", "side": "buy", "filled_quantity": 4,
                                "order_quantity": 13, "price": 70900}, ["4 / 13", "9"]),
    "order_rejected": ({"code": "005930", "name": "삼성전자", "side": "buy", "quantity": 13,
                        "reason": "주문가능금액 부족"}, ["주문가능금액 부족"]),
    "order_cancelled": ({"code": "005930", "name": "삼성전자", "side": "buy", "quantity": 9,
                         "filled_quantity": 4}, ["9", "4"]),
    "stop_hit": ({"code": "005930", "name": "삼성전자", "entry_price": 70000, "trigger_price": 66500,
                  "quantity": 10}, ["-35,000", "-5.00%"]),
    "target_hit": ({"code": "005930", "name": "삼성전자", "entry_price": 70000, "trigger_price": 77000,
                    "quantity": 10}, ["+70,000", "+10.00%"]),
    "risk_halt": ({"reason": "daily loss limit", "metric": "daily_loss_pct", "value": "-3.2%", "limit": "-3%"},
                  ["daily loss limit", "-3.2%"]),
    "reconciliation_mismatch": ({"items": [{"code": "005930", "name": "삼성전자", "field": "quantity", "ours": 17,
                                            "broker": 16}]}, ["17", "16"]),
    "daily_report": ({"trading_date": "2024-03-04", "realized_pnl": 15000, "unrealized_pnl": 32300,
                      "equity": 10047300, "cash": 8837000, "positions": POS, "trades": 4, "fees": 512, "taxes": 1659,
                      "day_return_pct": 0.47}, ["+47,300", "10,047,300", "8,837,000", "4", "512", "1,659", "+0.47%",
                                                "삼성전자(005930)"]),
    "weekly_summary": ({"week_start": "2024-03-04", "week_end": "2024-03-08", "start_equity": 10_000_000,
                        "end_equity": 10_250_000, "realized_pnl": 180_000, "trades": 12, "fees": 2100, "taxes": 5400,
                        "win_rate": 0.5833}, ["+250,000", "+2.50%", "180,000", "12", "58.3%"]),
    "error": ({"error_kind": "kis_timeout", "message": "read timeout after 10 s", "where": "sync"},
              ["kis_timeout", "read timeout after 10 s"]),
    "deploy_failures": ({"consecutive_failures": 3, "branch": "main", "commit": "a1b2c3d4",
                         "reason": "Memory check failed"}, ["3", "a1b2c3d4", "Memory check failed"]),
    "low_memory": ({"available_mb": 650, "threshold_mb": 800, "total_mb": 1000, "retries": 2}, ["650", "800", "35.0%"]),
    "env_validation_failed": ({"missing": ["TELEGRAM_BOT_TOKEN", "DB_HOST"]}, ["TELEGRAM_BOT_TOKEN", "DB_HOST", "2"]),
}
BRIEF_KINDS = {"scheduler_started", "scheduler_stopped", "heartbeat_missed", "data_sync_done", "screening_done",
               "selection_done", "order_placed", "order_filled", "order_partially_filled", "order_rejected",
               "order_cancelled", "stop_hit", "target_hit", "risk_halt", "reconciliation_mismatch", "daily_report",
               "weekly_summary", "error", "deploy_failures", "low_memory", "env_validation_failed"}


def test_every_kind_of_the_issue_has_a_template_and_a_sample() -> None:
    assert set(TEMPLATES) >= BRIEF_KINDS and set(SAMPLES) == BRIEF_KINDS


@pytest.mark.parametrize("language", ["ko", "en"])
@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_template_renders_real_figures(kind: str, language: str) -> None:
    data, figures = SAMPLES[kind]
    text = render(kind, data, language)  # type: ignore[arg-type]
    plain = parse_html(text)  # valid HTML parse-mode markup, as Telegram would parse it
    for figure in figures:
        assert figure in plain, (kind, language, figure, plain)
    korean = any("\uac00" <= ch <= "\ud7a3" for ch in plain.replace("삼성전자", "").replace("SK하이닉스", "")
                 .replace("주문가능금액 부족", ""))
    assert korean == (language == "ko"), plain


def test_figures_change_with_the_data() -> None:
    data, _ = SAMPLES["screening_done"]
    assert "2,718" in render("screening_done", data) and "1,234" in render("screening_done",
                                                                           {**data, "universe_size": 1234})


def test_deploy_failure_wording_follows_the_deployment_guide() -> None:
    text = parse_html(render("deploy_failures", {"consecutive_failures": 3, "branch": "main"}))
    for line in ("배포 연속 실패 알림", "🔴 상태: 배포 실패", "📊 연속 실패: 3회", "⚠️ 조속한 확인 필요", "• 브랜치: main",
                 "1. 서버 로그 확인", "💡 수동 배포:", "cd /opt/hantu_quant\ngit pull origin main\n"
                 "./scripts/deployment/deploy.sh"):
        assert line in text
    assert parse_html(render("deploy_failures", {"consecutive_failures": 5})).startswith("🚨🚨🚨")
    moved = parse_html(render("deploy_failures", {"consecutive_failures": 2, "project_dir": "/srv/hq", "branch": "x"}))
    assert "cd /srv/hq\ngit pull origin x" in moved


def test_memory_and_environment_alerts_carry_the_guides_sections() -> None:
    memory = parse_html(render("low_memory", {"available_mb": 650, "threshold_mb": 800, "total_mb": 956}))
    for line in ("⚠️ 메모리 부족 알림", "🔍 원인 분석:", "• 메모리 누수 가능성", "🔧 권장 조치:", "4. 메모리 임계값 조정",
                 "💡 시스템 확인:", "free -m\nps aux --sort=-%mem | head -10\nsystemctl status hantu-*"):
        assert line in memory
    plain = parse_html(render("env_validation_failed", {"missing": ["TELEGRAM_BOT_TOKEN"]}))
    for line in ("⚠️⚠️⚠️ 배포 차단됨 ⚠️⚠️⚠️", "• TELEGRAM_BOT_TOKEN", "🔧 조치 방법:", "nano .env",
                 "./scripts/deployment/validate_env.sh\n./scripts/deployment/deploy.sh"):
        assert line in plain
    assert "데이터베이스" not in plain  # the database hints only when a database setting is the problem
    database = parse_html(render("env_validation_failed", {"missing": [], "invalid": [".pgpass: mode 644"]}))
    assert "📦 데이터베이스 인증:" in database and "DB_HOST=localhost" in database


def test_wrong_shapes_are_clear_errors() -> None:
    with pytest.raises(TemplateDataError, match="must be lists"):
        render("screening_done", {"trading_date": "x", "universe_size": 1, "passed": 1, "top": "005930"})
    with pytest.raises(TemplateDataError, match="does not fit"):
        render("order_filled", {"code": "1", "name": "n", "side": "buy", "quantity": "many", "price": 1})
