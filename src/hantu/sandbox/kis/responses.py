"""KIS response shapes: success bodies, gateway errors (HTTP 500 + JSON msg_cd), business errors (HTTP 200,
rt_cd 1), token-endpoint errors (error_code), and the pagination context strings."""

from __future__ import annotations

import json
import secrets
from typing import Any

from fastapi.responses import JSONResponse, Response

CTX_WIDTH = 100  # KIS pads CTX_AREA_*100 values with spaces

MESSAGES = {
    "EGW00201": "초당 거래건수를 초과하였습니다.",
    "EGW00123": "기간이 만료된 token 입니다.",
    "EGW00121": "유효하지 않은 token 입니다.",
    "EGW00133": "접근토큰 발급 잠시 후 다시 시도하세요(1분당 1회)",
    "EGW00103": "유효하지 않은 AppKey입니다.",
    "EGW00105": "유효하지 않은 AppSecret입니다.",
    "EGW00500": "시스템 오류가 발생하였습니다.",
    "MCA00124": "존재하지 않는 서비스 코드 입니다",
    "OPSQ0002": "모의투자 TR 이 아닙니다.",
    "OPSQ0003": "모의투자에서는 해당업무가 제공되지 않습니다.",
    "OPSQ0004": "실전투자 TR 이 아닙니다.",
}


class ApiError(Exception):
    """An error answer: `status` 500 for gateway/validation errors, 200 for business refusals."""

    def __init__(self, msg_cd: str, message: str | None = None, status: int = 500) -> None:
        super().__init__(message or MESSAGES.get(msg_cd, msg_cd))
        self.msg_cd = msg_cd
        self.message = message or MESSAGES.get(msg_cd, msg_cd)
        self.status = status


def headers_for(tr_id: str, tr_cont: str = "") -> dict[str, str]:
    return {"tr_id": tr_id, "tr_cont": tr_cont, "gt_uid": secrets.token_hex(16)}


def ok(tr_id: str, payload: dict[str, Any], tr_cont: str = "", msg_cd: str = "MCA00000",
       msg1: str = "정상처리 되었습니다.") -> JSONResponse:
    body = {"rt_cd": "0", "msg_cd": msg_cd, "msg1": msg1, **payload}
    return JSONResponse(body, headers=headers_for(tr_id, tr_cont), media_type="application/json; charset=utf-8")


def error(error: ApiError, tr_id: str = "") -> JSONResponse:
    return JSONResponse({"rt_cd": "1", "msg_cd": error.msg_cd, "msg1": error.message}, status_code=error.status,
                        headers=headers_for(tr_id), media_type="application/json; charset=utf-8")


def token_error(msg_cd: str, status: int = 403) -> JSONResponse:
    return JSONResponse({"error_code": msg_cd, "error_description": MESSAGES.get(msg_cd, msg_cd)},
                        status_code=status)


def malformed() -> Response:
    return Response("<html><body>Service Temporarily Unavailable</body></html>", status_code=200,
                    media_type="text/html")


def ctx(value: str) -> str:
    return value.ljust(CTX_WIDTH)


def ctx_offset(raw: str | None) -> int:
    """Offset encoded in a CTX_AREA_NK value (blank = first page)."""
    text = (raw or "").strip()
    return int(text) if text.isdigit() else 0


def s(value: Any) -> str:
    """KIS sends every value as a string."""
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def strs(row: dict[str, Any]) -> dict[str, str]:
    return {k: s(v) for k, v in row.items()}


def dumps(body: Any) -> str:
    return json.dumps(body, ensure_ascii=False)
