"""A plain httpx client written from kis-api.md alone (no project imports): token, price, balance, order.

Usage: python kis_wire_script.py BASE_URL APP_KEY APP_SECRET ACCOUNT(12345678-01) [virtual|real]
(or the env vars KIS_BASE_URL, KIS_APP_KEY, KIS_APP_SECRET, KIS_ACCOUNT_NO, KIS_SERVER). Prints one JSON
line with what it got; exits non-zero on any deviation from the documented wire format.
"""

from __future__ import annotations

import json
import os
import sys

import httpx


def main() -> int:
    args = sys.argv[1:]
    base = args[0] if len(args) > 0 else os.environ["KIS_BASE_URL"]
    app_key = args[1] if len(args) > 1 else os.environ["KIS_APP_KEY"]
    app_secret = args[2] if len(args) > 2 else os.environ["KIS_APP_SECRET"]
    account = args[3] if len(args) > 3 else os.environ["KIS_ACCOUNT_NO"]
    server = args[4] if len(args) > 4 else os.environ.get("KIS_SERVER", "virtual")
    cano, product = account.replace("-", "")[:8], account.replace("-", "")[8:]
    virtual = server != "real"

    def tr(real: str) -> str:  # account/order TRs: the leading T becomes V on the virtual server
        return "V" + real[1:] if virtual else real

    http = httpx.Client(base_url=base, timeout=10)
    token_response = http.post("/oauth2/tokenP", json={"grant_type": "client_credentials", "appkey": app_key,
                                                       "appsecret": app_secret})
    token_body = token_response.json()
    token = token_body["access_token"]
    assert token_body["token_type"] == "Bearer" and int(token_body["expires_in"]) > 0
    assert len(token_body["access_token_token_expired"]) == 19  # "YYYY-MM-DD HH:MM:SS"

    def headers(tr_id: str, tr_cont: str = "") -> dict[str, str]:
        return {"content-type": "application/json; charset=utf-8", "authorization": f"Bearer {token}",
                "appkey": app_key, "appsecret": app_secret, "tr_id": tr_id, "custtype": "P", "tr_cont": tr_cont}

    def check(response: httpx.Response) -> dict:
        body = response.json()  # parsed for every status code
        if body.get("rt_cd") != "0":
            raise SystemExit(f"KIS error HTTP {response.status_code} {body.get('msg_cd')}: {body.get('msg1')}")
        return body

    price_body = check(http.get("/uapi/domestic-stock/v1/quotations/inquire-price", headers=headers("FHKST01010100"),
                                params={"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}))
    price = int(price_body["output"]["stck_prpr"])
    assert isinstance(price_body["output"]["stck_prpr"], str) and price > 0

    holdings, summary, pages = [], None, 0
    params = {"CANO": cano, "ACNT_PRDT_CD": product, "AFHR_FLPR_YN": "N", "OFL_YN": "", "INQR_DVSN": "02",
              "UNPR_DVSN": "01", "FUND_STTL_ICLD_YN": "N", "FNCG_AMT_AUTO_RDPT_YN": "N", "PRCS_DVSN": "00",
              "CTX_AREA_FK100": "", "CTX_AREA_NK100": ""}
    tr_cont = ""
    while pages < 20:
        response = http.get("/uapi/domestic-stock/v1/trading/inquire-balance", headers=headers(tr("TTTC8434R"), tr_cont),
                            params=params)
        body = check(response)
        pages += 1
        holdings.extend(body["output1"])
        summary = body["output2"][0] if isinstance(body["output2"], list) else body["output2"]
        if response.headers.get("tr_cont") not in ("F", "M"):
            break
        params["CTX_AREA_FK100"], params["CTX_AREA_NK100"] = body["ctx_area_fk100"], body["ctx_area_nk100"]
        tr_cont = "N"
    cash = int(summary["dnca_tot_amt"])

    order = {"CANO": cano, "ACNT_PRDT_CD": product, "PDNO": "005930", "ORD_DVSN": "00", "ORD_QTY": "1",
             "ORD_UNPR": str(price), "EXCG_ID_DVSN_CD": "KRX"}
    hash_body = http.post("/uapi/hashkey", json=order, headers={"appkey": app_key, "appsecret": app_secret}).json()
    order_headers = {**headers(tr("TTTC0012U")), "hashkey": hash_body["HASH"]}
    placed = check(http.post("/uapi/domestic-stock/v1/trading/order-cash", json=order, headers=order_headers))
    odno = placed["output"]["ODNO"]
    assert placed["output"]["KRX_FWDG_ORD_ORGNO"] and len(placed["output"]["ORD_TMD"]) == 6

    # A numeric value instead of a string is refused, with a JSON body whatever the HTTP status.
    bad = http.post("/uapi/domestic-stock/v1/trading/order-cash", json={**order, "ORD_QTY": 1},
                    headers=headers(tr("TTTC0012U")))
    bad_body = bad.json()
    assert bad_body["rt_cd"] != "0" and bad_body["msg_cd"]

    print(json.dumps({"token": bool(token), "price": price, "cash": cash, "holdings": len(holdings),
                      "balance_pages": pages, "odno": odno, "bad_status": bad.status_code,
                      "bad_msg_cd": bad_body["msg_cd"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
