"""The systemd units' MemoryHigh / MemoryMax, derived from bench figures by one rule.

The rule: take the largest resident-memory figure the unit's bench printed (for the scheduler, the whole
process tree while the 18:00 backtest refresh child runs; for the API, every "server RSS" figure of
`api_load.py`), then MemoryHigh = figure × HIGH_FACTOR (reclaim pressure, no kill) and MemoryMax = figure ×
MAX_FACTOR (OOM kill, then Restart=on-failure), each rounded up to a multiple of ROUND_MB. The margin covers
the page cache of the SQLite file and market store, which the cgroup counts, and bursts.

`bench/all.py` prints the recommended values and writes them as a table into docs/performance.md; this script
with `--apply` copies that table into deploy/*.service; tests/foundation/test_unit_memory.py checks that the
units, the table and the rule agree.

    .venv/bin/python bench/unit_memory.py [--apply]
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "performance.md"
DEPLOY = ROOT / "deploy"
HIGH_FACTOR = 1.25
MAX_FACTOR = 1.5
ROUND_MB = 8
BEGIN, END = "<!-- units:begin -->", "<!-- units:end -->"


@dataclass(frozen=True)
class Source:
    """Where a unit's figure comes from: a bench of bench/all.py and the lines of its output that carry it."""

    unit: str  # file name under deploy/
    bench: str  # a name of bench/all.py
    what: str
    line: str  # a regex for the lines carrying it; the largest "N MB" on them (outside parentheses) counts


SOURCES = (
    Source("hantu-scheduler.service", "scheduler", "scheduler process tree, peak over a simulated day "
           "(18:00 backtest refresh child included)", r"peak RSS, process tree"),
    Source("hantu-api.service", "api", "API server RSS, largest after the load runs",
           r"server RSS"),
)


@dataclass(frozen=True)
class Limits:
    unit: str
    bench: str
    what: str
    measured_mb: float
    high_mb: int
    max_mb: int


def round_up(mb: float) -> int:
    return int(math.ceil(mb / ROUND_MB) * ROUND_MB)


def derive(measured_mb: float) -> tuple[int, int]:
    """(MemoryHigh, MemoryMax) in MB for a measured figure."""
    return round_up(measured_mb * HIGH_FACTOR), round_up(measured_mb * MAX_FACTOR)


def figure(source: Source, output: str) -> float | None:
    found = [float(mb) for line in output.splitlines() if re.search(source.line, line)
             for mb in re.findall(r"([\d.]+) MB", re.sub(r"\(.*?\)", "", line))]  # not "(budget N MB)"
    return max(found) if found else None


def recommend(outputs: dict[str, str]) -> list[Limits]:
    """The limits for every unit whose bench output (by bench name) carries its figure."""
    out = []
    for source in SOURCES:
        measured = figure(source, outputs.get(source.bench, ""))
        if measured is not None:
            out.append(Limits(source.unit, source.bench, source.what, measured, *derive(measured)))
    return out


def render_table(limits: list[Limits]) -> str:
    rows = [
        f"| `deploy/{x.unit}` | {x.what} | `{x.bench}` | {x.measured_mb:.1f} MB | {x.high_mb}M | {x.max_mb}M |"
        for x in limits
    ]
    return "\n".join([
        f"MemoryHigh = measured × {HIGH_FACTOR:g}, MemoryMax = measured × {MAX_FACTOR:g}, each rounded up to "
        f"{ROUND_MB} MB (bench/unit_memory.py; `bench/unit_memory.py --apply` writes them into the units).",
        "",
        "| unit | figure | bench | measured | MemoryHigh | MemoryMax |",
        "|---|---|---|---|---|---|",
        *rows,
    ])


_ROW = re.compile(r"^\| `deploy/([\w.-]+)` \| [^|]* \| `(\w+)` \| ([\d.]+) MB \| (\d+)M \| (\d+)M \|$", re.M)


def read_table(text: str) -> list[Limits]:
    """The table as written in docs/performance.md (between the units markers)."""
    if BEGIN not in text or END not in text:
        return []
    block = text.split(BEGIN, 1)[1].split(END, 1)[0]
    whats = {s.unit: s.what for s in SOURCES}
    return [Limits(unit, bench, whats.get(unit, ""), float(mb), int(high), int(mx))
            for unit, bench, mb, high, mx in _ROW.findall(block)]


def unit_limits(path: Path) -> tuple[int, int]:
    """(MemoryHigh, MemoryMax) in MB as a unit file sets them."""
    text = path.read_text(encoding="utf-8")
    high = re.search(r"^MemoryHigh=(\d+)M$", text, re.M)
    mx = re.search(r"^MemoryMax=(\d+)M$", text, re.M)
    if high is None or mx is None:
        raise ValueError(f"{path}: no MemoryHigh=/MemoryMax= in MB")
    return int(high.group(1)), int(mx.group(1))


def compose_service(unit: str) -> str:
    """The docker-compose service that runs what a unit runs (hantu-api.service → api)."""
    return unit.removeprefix("hantu-").removesuffix(".service")


def apply(limits: list[Limits], root: Path = ROOT) -> list[str]:
    """Rewrite MemoryHigh/MemoryMax of each unit, and the compose service's mem_limit (= MemoryMax); the files
    changed."""
    changed = []
    compose = root / "docker-compose.yml"
    compose_text = compose.read_text(encoding="utf-8")
    for x in limits:
        path = root / "deploy" / x.unit
        text = path.read_text(encoding="utf-8")
        new = re.sub(r"^MemoryHigh=\d+M$", f"MemoryHigh={x.high_mb}M", text, flags=re.M)
        new = re.sub(r"^MemoryMax=\d+M$", f"MemoryMax={x.max_mb}M", new, flags=re.M)
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed.append(f"deploy/{x.unit}")
        block = re.compile(rf"(^  {compose_service(x.unit)}:\n(?:(?:    .*)?\n)*?    mem_limit: )\d+m", re.M)
        compose_text = block.sub(rf"\g<1>{x.max_mb}m", compose_text, count=1)
    if compose_text != compose.read_text(encoding="utf-8"):
        compose.write_text(compose_text, encoding="utf-8")
        changed.append("docker-compose.yml")
    return changed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--apply", action="store_true", help="write the table's values into deploy/*.service")
    args = parser.parse_args()
    limits = read_table(DOC.read_text(encoding="utf-8"))
    if not limits:
        sys.exit(f"no unit table between {BEGIN} and {END} in {DOC}: run bench/all.py first")
    for x in limits:
        now = unit_limits(DEPLOY / x.unit)
        print(f"{x.unit}: measured {x.measured_mb:.1f} MB → MemoryHigh={x.high_mb}M MemoryMax={x.max_mb}M "
              f"(unit has {now[0]}M / {now[1]}M)")
    if args.apply:
        changed = apply(limits)
        print("rewrote " + (", ".join(changed) if changed else "nothing (already equal)"))


if __name__ == "__main__":
    main()
