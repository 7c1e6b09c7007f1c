"""P6: median wall and CPU time of `hantu --help` and of every top-level command's `--help` (budget 0.3 s), and the
modules `hantu --help` imports. Prints figures; not a timed test.

    .venv/bin/python bench/cli_startup.py [--runs 10] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import machine_line

BUDGET_S = 0.3


def measure(args: list[str], runs: int) -> tuple[float, float]:
    """(median wall, median CPU) seconds of `runs` runs of `args`."""
    walls, cpus = [], []
    for _ in range(runs):
        before = os.times()
        start = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True)
        walls.append(time.perf_counter() - start)
        after = os.times()
        cpus.append(
            after.children_user - before.children_user + after.children_system - before.children_system
        )
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from hantu.cli.main import ORDER

    print(machine_line())
    figures = {"python": measure([sys.executable, "-c", "pass"], args.runs)}
    figures["hantu --help"] = measure([sys.executable, "-m", "hantu", "--help"], args.runs)
    for name in ORDER:
        figures[f"hantu {name} --help"] = measure(
            [sys.executable, "-m", "hantu", name, "--help"], max(3, args.runs // 3)
        )
    for label, (wall, cpu) in figures.items():
        verdict = "" if label == "python" else ("OK" if min(wall, cpu) <= BUDGET_S else "OVER")
        print(f"{label:28s} median {wall * 1000:7.1f} ms wall {cpu * 1000:7.1f} ms CPU  {verdict}")
    worst = max(v for k, v in figures.items() if k != "python")
    print(
        f"slowest --help: {worst[0] * 1000:.0f} ms wall, {worst[1] * 1000:.0f} ms CPU (budget {BUDGET_S * 1000:.0f} ms)"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
