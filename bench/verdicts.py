"""The budgets of the quality bar and issue 19, read off the benches' own printouts.

Each budget names the bench of bench/all.py that measures it and the regex that finds its figure in that
bench's output (the largest match counts, or the smallest where more is better). A wall-time budget reads a
wall-time figure: CPU time is printed by the benches beside it but never decides. A figure the output does not
carry gives "not measured", never a pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Budget:
    id: str
    what: str
    bench: str
    pattern: str  # the figure is its (first non-empty) group
    limit: float
    unit: str
    basis: str  # "wall", "CPU", "memory", "count", "ratio"
    more_is_better: bool = False


BUDGETS = (
    Budget("P6", "`hantu --help` and every top-level `--help`", "startup", r"slowest --help: ([\d.]+) ms wall",
           300, "ms", "wall"),
    Budget("P6", "scheduler ready", "scheduler", r"scheduler ready in ([\d.]+) s", 3, "s", "wall"),
    Budget("P1", "screening compute, 2,500–2,900 stocks", "screening", r"compute\s+(\d+) ms", 300, "ms", "wall"),
    Budget("P1", "whole `hantu screen` command", "screening", r"hantu screen\s+([\d.]+) s", 1, "s", "wall"),
    Budget("P2", "`hantu screen` peak RSS", "screening", r"peak RSS\s+([\d.]+) MB", 160, "MB", "memory"),
    Budget("P5", "whole `hantu backtest` command, momentum 2,900 × 1,250", "backtest",
           r"whole `hantu backtest[^\n]*?: ([\d.]+) s wall", 5, "s", "wall"),
    Budget("P5", "backtest peak RSS, 2,900 × 1,250", "backtest", r"peak RSS of the process\s+([\d.]+) MB",
           400, "MB", "memory"),
    Budget("#19", "SMA cross vs vectorbt (vectorbt time / ours, compiled runs, medians)", "peers",
           r"compiled runs ([\d.]+)", 1, "×", "ratio", more_is_better=True),
    Budget("P2", "API server RSS after the load runs", "api", r"server RSS[^\n]*?([\d.]+) MB after|server RSS after[^\n]*?([\d.]+) MB", 80, "MB", "memory"),
    Budget("P2", "API server RSS after the load runs, real-data store", "api_real",
           r"server RSS[^\n]*?([\d.]+) MB after", 80, "MB", "memory"),
    Budget("P4", "API p99, 50 clients back to back (own client)", "api", r"latency ms:[^\n]*p99 ([\d.]+)",
           20, "ms", "wall"),
    Budget("P4", "API p99 per route (wrk)", "api", r"p99\s+([\d.]+)\s?ms", 20, "ms", "wall"),
    Budget("P4", "API errors", "api", r"errors (\d+)", 0, "", "count"),
    Budget("#19", "`hantu data sample` peak RSS, 2,900 × 1,300", "sample", r"peak RSS ([\d.]+) MB", 300, "MB",
           "memory"),
    Budget("P2", "scheduler idle RSS", "scheduler", r"idle RSS\s+([\d.]+) MB", 90, "MB", "memory"),
    Budget("P2", "scheduler peak RSS through a simulated day", "scheduler", r"peak RSS, full day\s+([\d.]+) MB",
           160, "MB", "memory"),
    Budget("#19", "scheduler process tree with the backtest refresh", "scheduler",
           r"peak RSS, process tree\s+([\d.]+) MB", 350, "MB", "memory"),
)


@dataclass(frozen=True)
class Verdict:
    budget: Budget
    figure: float | None

    @property
    def status(self) -> str:
        if self.figure is None:
            return "not measured"
        b = self.budget
        ok = self.figure >= b.limit if b.more_is_better else self.figure <= b.limit
        return "met" if ok else "**not met**"


def figure_of(budget: Budget, output: str) -> float | None:
    found = [float(next(g for g in m if g) if isinstance(m, tuple) else m)
             for m in re.findall(budget.pattern, output)]
    if not found:
        return None
    return min(found) if budget.more_is_better else max(found)


def verdicts(outputs: dict[str, str]) -> list[Verdict]:
    return [Verdict(b, figure_of(b, outputs[b.bench]) if b.bench in outputs else None) for b in BUDGETS]


def _num(x: float) -> str:
    return f"{x:,.2f}".rstrip("0").rstrip(".") if x != int(x) else f"{int(x):,}"


def render(rows: list[Verdict]) -> str:
    lines = ["| budget | what | bench | limit | measured | basis | verdict |", "|---|---|---|---|---|---|---|"]
    for v in rows:
        b = v.budget
        sign = "≥" if b.more_is_better else "≤"
        measured = "—" if v.figure is None else f"{_num(v.figure)} {b.unit}".strip()
        lines.append(f"| {b.id} | {b.what} | `{b.bench}` | {sign} {_num(b.limit)} {b.unit} | {measured} | "
                     f"{b.basis} | {v.status} |")
    return "\n".join(lines)
