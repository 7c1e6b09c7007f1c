"""The KIS stock master files (`kospi_code.mst`, `kosdaq_code.mst`): sector codes, 관리종목, 거래정지, market
warnings, 단기과열, SPAC, 우선주, listed shares — the facts screening's filters and sector cap act on.

Format (as KIS's official sample repository `koreainvestment/open-trading-api`, `stocks_info/kis_kospi_code_mst.py`
and `kis_kosdaq_code_mst.py`, reads it): cp949 text, one stock per line. The head is the short code (9
characters, padded), the standard code (12) and the Korean name (variable length); the tail is a fixed-width
block of 227 (KOSPI) or 221 (KOSDAQ) characters, counted from the end of the line. KIS publishes the files
zipped at `MASTER_URLS` (refreshed every morning before the market opens). This is our own parser of those
facts (field widths below); `write_master` produces the same format (the KIS sandbox and tests use it).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol

ENCODING = "cp949"
HEAD_CODE, HEAD_STANDARD = 9, 12
MASTER_URLS = {
    "KOSPI": "https://new.real.download.dws.co.kr/common/master/kospi_code.mst.zip",
    "KOSDAQ": "https://new.real.download.dws.co.kr/common/master/kosdaq_code.mst.zip",
}
FILE_NAMES = {"KOSPI": "kospi_code.mst", "KOSDAQ": "kosdaq_code.mst"}

# (field, width) of the fixed tail, in file order. Names are ours; "-" marks fields this project does not read.
KOSPI_TAIL: tuple[tuple[str, int], ...] = (
    ("group", 2),
    ("cap_size", 1),
    ("sector_large", 4),
    ("sector_mid", 4),
    ("sector_small", 4),
    *((("-", 1),) * 14),  # 제조업 … KRX은행
    ("spac", 1),
    ("-", 1),
    ("-", 1),
    ("overheat", 1),  # SPAC, KRX에너지화학, KRX철강, 단기과열
    *((("-", 1),) * 8),  # KRX미디어통신 … SRI
    ("base_price", 9),
    ("-", 5),
    ("-", 5),  # 기준가, 매매수량단위, 시간외수량단위
    ("halted", 1),
    ("liquidation", 1),
    ("administrative", 1),
    ("warning", 2),
    ("warning_notice", 1),
    ("unfaithful", 1),
    ("-", 1),
    ("-", 2),
    ("-", 2),
    ("-", 2),
    ("-", 3),
    ("-", 1),
    ("-", 3),  # … 신용기간
    ("-", 12),
    ("-", 12),
    ("listed_on", 8),
    ("listed_shares", 15),
    ("-", 21),
    ("-", 2),
    ("-", 7),
    ("preferred", 1),
    ("-", 1),
    ("-", 1),
    ("-", 1),
    ("-", 1),  # 우선주, 공매도과열, 이상급등, KRX300, KOSPI
    ("-", 9),
    ("-", 9),
    ("-", 9),
    ("-", 5),
    ("-", 9),
    ("-", 8),
    ("-", 9),
    ("-", 3),
    ("-", 1),
    ("-", 1),
    ("-", 1),
)
KOSDAQ_TAIL: tuple[tuple[str, int], ...] = (
    ("group", 2),
    ("cap_size", 1),
    ("sector_large", 4),
    ("sector_mid", 4),
    ("sector_small", 4),
    *((("-", 1),) * 9),  # 벤처 … KRX은행
    ("spac", 1),
    ("-", 1),
    ("-", 1),
    ("overheat", 1),  # 기업인수목적회사, KRX에너지화학, KRX철강, 단기과열
    ("-", 1),
    ("-", 1),
    ("caution_alert", 1),
    ("-", 1),
    ("-", 1),
    ("-", 1),
    ("-", 1),
    ("-", 1),  # … 투자주의환기
    ("base_price", 9),
    ("-", 5),
    ("-", 5),
    ("halted", 1),
    ("liquidation", 1),
    ("administrative", 1),
    ("warning", 2),
    ("warning_notice", 1),
    ("unfaithful", 1),
    ("-", 1),
    ("-", 2),
    ("-", 2),
    ("-", 2),
    ("-", 3),
    ("-", 1),
    ("-", 3),
    ("-", 12),
    ("-", 12),
    ("listed_on", 8),
    ("listed_shares", 15),
    ("-", 21),
    ("-", 2),
    ("-", 7),
    ("preferred", 1),
    ("-", 1),
    ("-", 1),
    ("-", 1),  # 우선주 구분, 공매도과열, 이상급등, KRX300
    ("-", 9),
    ("-", 9),
    ("-", 9),
    ("-", 5),
    ("-", 9),
    ("-", 8),
    ("-", 9),
    ("-", 3),
    ("-", 1),
    ("-", 1),
    ("-", 1),
)
TAILS = {"KOSPI": KOSPI_TAIL, "KOSDAQ": KOSDAQ_TAIL}
TAIL_WIDTH = {market: sum(w for _, w in tail) for market, tail in TAILS.items()}  # 227, 221
# KOSDAQ's file gives listed shares in thousands (the sample's "상장 주수(천)"); KOSPI's in shares
SHARES_UNIT = {"KOSPI": 1, "KOSDAQ": 1000}
WARNINGS = {"00": "", "01": "caution", "02": "warning", "03": "danger"}  # 투자주의 / 투자경고 / 투자위험
STOCK_GROUPS = ("ST",)  # 그룹코드 of ordinary stocks (EF ETF, EN ETN, RT REIT, … are not screened)


class MasterFormatError(ValueError):
    """A master file that does not have the KIS fixed-width layout; names the file and line."""


@dataclass(frozen=True)
class MasterRow:
    """One stock of a KIS master file."""

    code: str
    standard_code: str
    name: str
    market: str  # KOSPI | KOSDAQ
    group: str  # ST stock, EF ETF, ...
    sector_large: str  # 지수업종 대분류 code ("" when 0000)
    sector_mid: str
    sector_small: str
    spac: bool
    overheat: bool  # 단기과열
    halted: bool  # 거래정지
    liquidation: bool  # 정리매매
    administrative: bool  # 관리종목
    warning: str  # "" | caution | warning | danger (시장경고)
    warning_notice: bool  # 경고 예고
    preferred: bool
    listed_shares: int | None
    listed_on: date | None
    base_price: int

    @property
    def sector(self) -> str | None:
        """The sector the cap groups by: the 업종 중분류 (else 대분류) code, with its market."""
        code = self.sector_mid or self.sector_large
        return f"{self.market}:{code}" if code else None


def _flag(text: str) -> bool:
    return text.strip().upper() not in ("", "N", "0", "00")


def _code(text: str) -> str:
    value = text.strip()
    return "" if value in ("", "0000", "000") else value


def _int(text: str) -> int:
    value = text.strip()
    return int(value) if value.isdigit() else 0


def _date(text: str) -> date | None:
    value = text.strip()
    if len(value) != 8 or not value.isdigit() or value == "00000000":
        return None
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return None


def parse_master(data: bytes, market: str, path: str = "<master>") -> list[MasterRow]:
    """Every line of a master file (plain bytes), or `MasterFormatError` naming the first bad line."""
    if market not in TAILS:
        raise ValueError(f"market must be KOSPI or KOSDAQ, got {market!r}")
    try:
        text = data.decode(ENCODING)
    except UnicodeDecodeError as error:
        raise MasterFormatError(f"{path}: not {ENCODING} text ({error})") from None
    tail, width = TAILS[market], TAIL_WIDTH[market]
    rows: list[MasterRow] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if len(line) < HEAD_CODE + HEAD_STANDARD + width:
            raise MasterFormatError(
                f"{path}:{number}: line of {len(line)} characters, a {market} master line has "
                f"at least {HEAD_CODE + HEAD_STANDARD + width} (is this the "
                f"{'KOSDAQ' if market == 'KOSPI' else 'KOSPI'} file?)"
            )
        head, fixed = line[:-width], line[-width:]
        values: dict[str, str] = {}
        pos = 0
        for name, size in tail:
            if name != "-":
                values[name] = fixed[pos : pos + size]
            pos += size
        code = head[:HEAD_CODE].strip()
        if not (len(code) == 6 and code.isalnum()):
            raise MasterFormatError(f"{path}:{number}: bad short code {code!r}")
        shares = _int(values["listed_shares"])
        rows.append(
            MasterRow(
                code=code,
                standard_code=head[HEAD_CODE : HEAD_CODE + HEAD_STANDARD].strip(),
                name=head[HEAD_CODE + HEAD_STANDARD :].strip(),
                market=market,
                group=values["group"].strip(),
                sector_large=_code(values["sector_large"]),
                sector_mid=_code(values["sector_mid"]),
                sector_small=_code(values["sector_small"]),
                spac=_flag(values["spac"]),
                overheat=_flag(values["overheat"]),
                halted=_flag(values["halted"]),
                liquidation=_flag(values["liquidation"]),
                administrative=_flag(values["administrative"]),
                warning=WARNINGS.get(values["warning"].strip(), "warning"),
                warning_notice=_flag(values["warning_notice"]),
                preferred=_flag(values["preferred"]),
                listed_shares=shares * SHARES_UNIT[market] if shares else None,
                listed_on=_date(values["listed_on"]),
                base_price=_int(values["base_price"]),
            )
        )
    return rows


def read_master_file(path: Path, market: str | None = None) -> list[MasterRow]:
    """A `.mst` file or KIS's `.mst.zip`; the market from the file name when not given."""
    path = Path(path)
    if market is None:
        lowered = path.name.lower()
        market = "KOSDAQ" if "kosdaq" in lowered else "KOSPI" if "kospi" in lowered else None
        if market is None:
            raise MasterFormatError(
                f"{path}: cannot tell KOSPI from KOSDAQ by the name; name it like "
                "kospi_code.mst or kosdaq_code.mst"
            )
    if not path.is_file():
        raise MasterFormatError(f"{path}: no such file")
    return parse_master(unpack(path.read_bytes(), str(path)), market, str(path))


def unpack(data: bytes, path: str = "<master>") -> bytes:
    """The `.mst` inside KIS's zip (or the bytes themselves when not a zip)."""
    if data[:2] != b"PK":
        return data
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = [n for n in archive.namelist() if n.lower().endswith(".mst")]
            if not names:
                raise MasterFormatError(f"{path}: the zip holds no .mst file")
            return archive.read(names[0])
    except zipfile.BadZipFile as error:
        raise MasterFormatError(f"{path}: bad zip ({error})") from None


# --- writing (the sandbox's files, tests) -----------------------------------------------------------------


def _yn(value: bool) -> str:
    return "Y" if value else "N"


def format_row(row: MasterRow) -> str:
    """One line in the KIS layout (without the newline)."""
    warning_code = {v: k for k, v in WARNINGS.items()}.get(row.warning, "02")
    shares = (row.listed_shares or 0) // SHARES_UNIT[row.market]
    values = {
        "group": row.group.ljust(2)[:2],
        "cap_size": "0",
        "sector_large": (row.sector_large or "0000").rjust(4, "0"),
        "sector_mid": (row.sector_mid or "0000").rjust(4, "0"),
        "sector_small": (row.sector_small or "0000").rjust(4, "0"),
        "spac": _yn(row.spac),
        "overheat": "1" if row.overheat else "0",
        "caution_alert": "N",
        "base_price": str(row.base_price).rjust(9, "0"),
        "halted": _yn(row.halted),
        "liquidation": _yn(row.liquidation),
        "administrative": _yn(row.administrative),
        "warning": warning_code,
        "warning_notice": _yn(row.warning_notice),
        "unfaithful": "N",
        "listed_on": row.listed_on.strftime("%Y%m%d") if row.listed_on else "00000000",
        "listed_shares": str(shares).rjust(15, "0"),
        "preferred": "1" if row.preferred else "0",
    }
    tail = "".join(
        values[name] if name in values else (" " * size if size > 1 else "N")
        for name, size in TAILS[row.market]
    )
    return row.code.ljust(HEAD_CODE) + row.standard_code.ljust(HEAD_STANDARD) + row.name + tail


def write_master(rows: Iterable[MasterRow]) -> bytes:
    """A master file (cp949 bytes, CRLF-free lines as KIS ships them: one `\\n` per stock)."""
    return "".join(format_row(r) + "\n" for r in rows).encode(ENCODING)


def zipped(name: str, data: bytes) -> bytes:
    """`data` as KIS's download: a zip holding one file `name`."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


def standard_code(code: str) -> str:
    """An ISIN-like KR7 code for generated files (KR7 + code + 00 + check digit 0: not validated anywhere)."""
    return f"KR7{code}000"


def rows_by_market(rows: Sequence[MasterRow]) -> dict[str, list[MasterRow]]:
    out: dict[str, list[MasterRow]] = {"KOSPI": [], "KOSDAQ": []}
    for row in rows:
        out.setdefault(row.market, []).append(row)
    return out


# --- loading into the store -------------------------------------------------------------------------------

KIS_HOSTS = ("openapi.koreainvestment.com", "openapivts.koreainvestment.com")


def master_urls(kis_base_url: str) -> dict[str, str]:
    """Where to download the files: KIS's download host for the real and virtual KIS servers; any other base URL
    (the KIS sandbox) serves them under the same path (`/common/master/<file>.zip`)."""
    if not kis_base_url or any(host in kis_base_url for host in KIS_HOSTS):
        return dict(MASTER_URLS)
    base = kis_base_url.rstrip("/")
    return {market: f"{base}/common/master/{FILE_NAMES[market]}.zip" for market in MASTER_URLS}


def download_master(urls: dict[str, str], timeout: float = 60.0) -> list[MasterRow]:
    """Both markets' files from `urls`; `MasterFormatError` with the URL for a failed download or bad file."""
    import httpx

    rows: list[MasterRow] = []
    for market, url in urls.items():
        try:
            response = httpx.get(url, timeout=timeout, follow_redirects=True)
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise MasterFormatError(f"{url}: download failed ({error})") from None
        rows += parse_master(unpack(response.content, url), market, url)
    return rows


@dataclass(frozen=True)
class MasterSummary:
    source: str
    stocks: int
    by_market: dict[str, int]
    administrative: int
    halted: int
    warned: int
    spac: int
    preferred: int
    sectors: int

    def as_dict(self) -> dict[str, object]:
        from dataclasses import asdict

        return asdict(self)


class MasterTarget(Protocol):
    """Where master rows go (`hantu.market.store.MarketStore`): returns how many stocks it updated."""

    def apply_master(self, rows: Iterable[Any], source: str, loaded_on: date) -> int: ...


def load_master(store: MasterTarget, rows: Sequence[MasterRow], source: str, loaded_on: date) -> MasterSummary:
    """Apply `rows` to the store's instrument master (`MarketStore.apply_master`) and sum up what they set."""
    stocks = [r for r in rows if r.group in STOCK_GROUPS]
    count = store.apply_master(stocks, source, loaded_on)
    by_market: dict[str, int] = {}
    for r in stocks:
        by_market[r.market] = by_market.get(r.market, 0) + 1
    return MasterSummary(
        source=source,
        stocks=count,
        by_market=by_market,
        administrative=sum(r.administrative for r in stocks),
        halted=sum(r.halted for r in stocks),
        warned=sum(r.warning in ("warning", "danger") or r.overheat or r.liquidation for r in stocks),
        spac=sum(r.spac for r in stocks),
        preferred=sum(r.preferred for r in stocks),
        sectors=len({r.sector for r in stocks if r.sector}),
    )
