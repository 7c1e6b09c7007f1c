"""P6: median wall and CPU time of `hantu --help` and of every top-level command's `--help` (budget 0.3 s), then of
every nested command's `--help` (`hantu jobs run --help`: the slowest five and how many are over). Prints figures;
not a timed test.

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

from machine import load_average, machine_line

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


def verdict_of(wall: float, cpu: float) -> str:
    """The budget is wall time; on a loaded machine the CPU time says whether the command or its neighbours
    are to blame."""
    if wall <= BUDGET_S:
        return "OK"
    return "OVER (wall; CPU within: the machine is loaded)" if cpu <= BUDGET_S else "OVER"


def nested_paths() -> list[list[str]]:
    """Every command below the top level, e.g. ["jobs", "run"] (loads every command module)."""
    import typer

    from hantu.cli.main import app

    paths: list[list[str]] = []

    def walk(command: object, prefix: list[str]) -> None:
        if len(prefix) > 1:
            paths.append(prefix)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*prefix, name])

    walk(typer.main.get_command(app), [])
    return paths


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
        verdict = "" if label == "python" else verdict_of(wall, cpu)
        print(f"{label:28s} median {wall * 1000:7.1f} ms wall {cpu * 1000:7.1f} ms CPU  {verdict}")
    nested = {f"hantu {' '.join(p)} --help": measure([sys.executable, "-m", "hantu", *p, "--help"],
                                                      max(3, args.runs // 3)) for p in nested_paths()}
    over = [k for k, (wall, cpu) in nested.items() if wall > BUDGET_S]
    over_cpu = [k for k, (wall, cpu) in nested.items() if cpu > BUDGET_S]
    print(f"nested commands: {len(nested)}, over budget: {len(over)} by wall, {len(over_cpu)} by CPU"
          + (f" ({', '.join(over_cpu)})" if over_cpu else ""))
    for label, (wall, cpu) in sorted(nested.items(), key=lambda kv: kv[1][0])[-5:]:
        print(f"  {label:40s} median {wall * 1000:7.1f} ms wall {cpu * 1000:7.1f} ms CPU")
    figures.update(nested)
    worst = max(v for k, v in figures.items() if k != "python")
    print(
        f"slowest --help: {worst[0] * 1000:.0f} ms wall, {max(v[1] for v in figures.values()) * 1000:.0f} ms CPU at "
        f"most (budget {BUDGET_S * 1000:.0f} ms wall) — {verdict_of(*worst)}"
    )
    print(f"load average after: {load_average()}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
