"""P2: the scheduler's idle RSS (≤ 90 MB) and its peak RSS over a simulated trading day (≤ 160 MB).

Builds a sample market (2,500 stocks × 500 days by default) in a temporary HANTU_HOME, then
1. starts `hantu run` on the system clock on a weekend-like idle moment and reads its RSS after start-up;
2. runs `hantu run --clock sim` through a whole trading day (05:55–18:30, paper broker) and samples
   VmRSS/VmHWM of the process every 50 ms, and the summed VmRSS of its whole process tree (the 18:00
   backtest refresh runs as a child: budget 350 MB for the tree; the systemd unit's MemoryHigh/MemoryMax are
   derived from this figure, see bench/unit_memory.py).
Prints figures; not a test.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path


def proc_status(pid: int) -> dict[str, int]:
    values: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])  # kB
    except FileNotFoundError:
        pass
    return values


def pss_kb(pid: int) -> int:
    """Proportional set size: shared pages (the libraries both processes map) divided among their users."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_kb(root: int) -> tuple[int, int, int]:
    """Summed VmRSS of `root` and all its descendants (what the unit's cgroup holds, page cache aside), the
    root's own share of it, and the tree's summed PSS."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    total, pss, todo = 0, 0, [root]
    while todo:
        pid = todo.pop()
        total += proc_status(pid).get("VmRSS", 0)
        pss += pss_kb(pid)
        todo.extend(children.get(pid, []))
    return total, proc_status(root).get("VmRSS", 0), pss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stocks", type=int, default=2500)
    parser.add_argument("--days", type=int, default=500)
    parser.add_argument("--speed", type=float, default=600)
    args = parser.parse_args()
    day = date(2026, 11, 27)
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, HANTU_HOME=tmp, HANTU_ENV_FILE=str(Path(tmp) / "none.env"), LOG_LEVEL="WARNING")
        hantu = [sys.executable, "-m", "hantu"]
        subprocess.run([*hantu, "data", "sample", "--stocks", str(args.stocks), "--days", str(args.days),
                        "--end", day.isoformat()], env=env, check=True, capture_output=True)
        subprocess.run([*hantu, "db", "upgrade"], env=env, check=True, capture_output=True)

        # 1. idle: a simulated Saturday afternoon with nothing due for hours, idle time not skipped.
        started = time.perf_counter()
        idle = subprocess.Popen([*hantu, "run", "--clock", "sim", "--start", "2026-11-28 12:00", "--speed", "1",
                                 "--no-skip-idle"], env={**env, "LOG_LEVEL": "INFO"}, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        ready_at: list[float] = []

        def watch() -> None:
            for line in idle.stderr or []:
                if "scheduler ready" in line and not ready_at:
                    ready_at.append(time.perf_counter() - started)

        import threading

        threading.Thread(target=watch, daemon=True).start()
        while not ready_at and time.perf_counter() - started < 60 and idle.poll() is None:
            time.sleep(0.05)
        ready = ready_at[0] if ready_at else None
        time.sleep(5)
        idle_rss = proc_status(idle.pid).get("VmRSS", 0) / 1024
        idle.terminate()
        idle.wait(timeout=60)

        # 2. a full simulated trading day.
        day_proc = subprocess.Popen([*hantu, "run", "--clock", "sim", "--start", f"{day} 05:55", "--speed",
                                     str(args.speed), "--until", f"{day} 18:30"], env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        peak = tree_peak = tree_pss = root_at_peak = 0
        day_started = time.perf_counter()
        while day_proc.poll() is None:
            status = proc_status(day_proc.pid)
            peak = max(peak, status.get("VmHWM", 0), status.get("VmRSS", 0))
            tree, root, pss = tree_rss_kb(day_proc.pid)
            if tree > tree_peak:
                tree_peak, root_at_peak = tree, root
            tree_pss = max(tree_pss, pss)
            time.sleep(0.05)
        day_wall = time.perf_counter() - day_started
        jobs = subprocess.run([*hantu, "jobs", "--json"], env=env, capture_output=True, text=True).stdout

    import json

    runs = json.loads(jobs)
    print(f"machine: {platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()}")
    print(f"market: {args.stocks} stocks × {args.days} days (sample, seed 1)")
    print(f"scheduler ready in {ready:.2f} s (budget 3 s)" if ready else "scheduler ready: not seen")
    print(f"idle RSS            {idle_rss:7.1f} MB (budget 90 MB)")
    print(f"peak RSS, full day  {peak / 1024:7.1f} MB (budget 160 MB); day took {day_wall:.1f} s wall at "
          f"speed {args.speed:g}")
    print(f"peak RSS, process tree {tree_peak / 1024:7.1f} MB (budget 350 MB; the scheduler and its backtest "
          "refresh child, sampled every 50 ms)")
    print(f"  at that peak: scheduler {root_at_peak / 1024:.1f} MB + children {(tree_peak - root_at_peak) / 1024:.1f} "
          f"MB; peak PSS of the tree {tree_pss / 1024:.1f} MB (shared library pages counted once)")
    refresh = next((r.get("figures") or {} for r in runs if r["job"] == "backtest_refresh"), {})
    if refresh.get("child_peak_rss_mb") is not None:
        print(f"  backtest refresh: child peak {refresh['child_peak_rss_mb']} MB (VmHWM; ceiling "
              f"{refresh.get('child_ceiling_mb')} MB), scheduler {refresh.get('scheduler_rss_before_release_mb')} "
              f"MB → {refresh.get('scheduler_rss_mb')} MB after releasing freed memory")
    print("jobs: " + ", ".join(f"{r['job']}={r['status']}" for r in reversed(runs)))


if __name__ == "__main__":
    main()
