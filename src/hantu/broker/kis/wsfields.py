"""KIS real-time frame formats: field lists of H0STCNT0 / H0STCNI0 (H0STCNI9), frame splitting and the
AES-256-CBC (Base64, PKCS7) of fill notices. Shared by the client and the sandbox: one definition."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

TR_PRICE = "H0STCNT0"
TR_ORDERBOOK = "H0STASP0"
TR_FILL_REAL = "H0STCNI0"
TR_FILL_VIRTUAL = "H0STCNI9"
FILL_TRS = frozenset({TR_FILL_REAL, TR_FILL_VIRTUAL})
PINGPONG = "PINGPONG"

# 46 fields (체결가).
PRICE_FIELDS: tuple[str, ...] = (
    "MKSC_SHRN_ISCD", "STCK_CNTG_HOUR", "STCK_PRPR", "PRDY_VRSS_SIGN", "PRDY_VRSS", "PRDY_CTRT",
    "WGHN_AVRG_STCK_PRC", "STCK_OPRC", "STCK_HGPR", "STCK_LWPR", "ASKP1", "BIDP1", "CNTG_VOL", "ACML_VOL",
    "ACML_TR_PBMN", "SELN_CNTG_CSNU", "SHNU_CNTG_CSNU", "NTBY_CNTG_CSNU", "CTTR", "SELN_CNTG_SMTN",
    "SHNU_CNTG_SMTN", "CCLD_DVSN", "SHNU_RATE", "PRDY_VOL_VRSS_ACML_VOL_RATE", "OPRC_HOUR",
    "OPRC_VRSS_PRPR_SIGN", "OPRC_VRSS_PRPR", "HGPR_HOUR", "HGPR_VRSS_PRPR_SIGN", "HGPR_VRSS_PRPR", "LWPR_HOUR",
    "LWPR_VRSS_PRPR_SIGN", "LWPR_VRSS_PRPR", "BSOP_DATE", "NEW_MKOP_CLS_CODE", "TRHT_YN", "ASKP_RSQN1",
    "BIDP_RSQN1", "TOTAL_ASKP_RSQN", "TOTAL_BIDP_RSQN", "VOL_TNRT", "PRDY_SMNS_HOUR_ACML_VOL",
    "PRDY_SMNS_HOUR_ACML_VOL_RATE", "HOUR_CLS_CODE", "MRKT_TRTM_CLS_CODE", "VI_STND_PRC",
)
# 26 fields today (23 before 2025): parse by name for the first fields, tolerate more.
FILL_FIELDS: tuple[str, ...] = (
    "CUST_ID", "ACNT_NO", "ODER_NO", "OODER_NO", "SELN_BYOV_CLS", "RCTF_CLS", "ODER_KIND", "ODER_COND",
    "STCK_SHRN_ISCD", "CNTG_QTY", "CNTG_UNPR", "STCK_CNTG_HOUR", "RFUS_YN", "CNTG_YN", "ACPT_YN", "BRNC_NO",
    "ODER_QTY", "ACNT_NAME", "ORD_COND_PRC", "ORD_EXG_GB", "POPUP_YN", "FILLER", "CRDT_CLS", "CRDT_LOAN_DATE",
    "CNTG_ISNM40", "ODER_PRC",
)
FIELD_COUNTS = {TR_PRICE: len(PRICE_FIELDS), TR_FILL_REAL: len(FILL_FIELDS), TR_FILL_VIRTUAL: len(FILL_FIELDS)}
SEP = "^"


@dataclass(frozen=True)
class DataFrame:
    encrypted: bool
    tr_id: str
    count: int
    payload: str


def split_data_frame(text: str) -> DataFrame | None:
    """`enc|tr_id|count|payload` → parts; None for a JSON control frame."""
    if not text or text[0] not in "01":
        return None
    parts = text.split("|", 3)
    if len(parts) != 4:
        raise ValueError(f"malformed real-time frame: {text[:40]!r}")
    return DataFrame(parts[0] == "1", parts[1], int(parts[2]), parts[3])


def split_records(payload: str, count: int, fields_per_record: int | None) -> list[list[str]]:
    """The `count` records packed one after another in `payload` (fields separated by `^`).

    The record length is the payload's field count / `count` (so a server that added fields still parses);
    `fields_per_record` is used only when that does not divide evenly.
    """
    values = payload.split(SEP)
    count = max(count, 1)
    per = len(values) // count if len(values) % count == 0 else (fields_per_record or len(values))
    return [values[i * per:(i + 1) * per] for i in range(count) if values[i * per:(i + 1) * per]]


def aes_encrypt(plain: str, key: str, iv: str) -> str:
    padder = padding.PKCS7(128).padder()
    data = padder.update(plain.encode("utf-8")) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key.encode()), modes.CBC(iv.encode())).encryptor()
    return base64.b64encode(encryptor.update(data) + encryptor.finalize()).decode()


def aes_decrypt(cipher_text: str, key: str, iv: str) -> str:
    """Fill notices: AES-256-CBC, Base64, PKCS7 (key and iv from the subscribe reply)."""
    decryptor = Cipher(algorithms.AES(key.encode()), modes.CBC(iv.encode())).decryptor()
    data = decryptor.update(base64.b64decode(cipher_text)) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return (unpadder.update(data) + unpadder.finalize()).decode("utf-8")
