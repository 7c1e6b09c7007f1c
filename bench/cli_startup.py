"""P6: median wall time of 10 `hantu --help` runs (budget 0.5 s). Prints figures; not a timed test."""

from __future__ import annotations

import platform
import statistics
import subprocess
import sys
import time

RUNS = 10


def measure(args: list[str]) -> list[float]:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    baseline = measure([sys.executable, "-c", "pass"])
    hantu = measure([sys.executable, "-m", "hantu", "--help"])
    print(f"machine: {platform.machine()} {platform.processor() or ''} python {platform.python_version()}")
    print(f"bare python start-up  median {statistics.median(baseline) * 1000:7.1f} ms")
    print(f"hantu --help          median {statistics.median(hantu) * 1000:7.1f} ms "
          f"(min {min(hantu) * 1000:.1f}, max {max(hantu) * 1000:.1f}; budget 500 ms)")
    print("PASS" if statistics.median(hantu) <= 0.5 else "OVER BUDGET")


if __name__ == "__main__":
    main()
