"""P2: the scheduler's idle RSS (≤ 90 MB) and its peak RSS over a simulated trading day (≤ 160 MB); the
process tree's peak while the nightly `backtest_refresh` child runs (≤ 350 MB, issue 19).

Builds a sample market (2,500 stocks × 500 days by default) in a temporary HANTU_HOME, then
1. starts `hantu run` on the system clock on a weekend-like idle moment and reads its RSS after start-up;
2. runs `hantu run --clock sim` through a whole trading day (05:55–18:30, paper broker) and samples
<<<<<<< HEAD
   VmRSS/VmHWM of the process every 50 ms, and the summed VmRSS of the process and all its descendants
   (an upper bound of what its cgroup is charged: shared library pages count once per process here);
   the tree's peak while a `hantu backtest` child is alive is the refresh's figure.
=======
   VmRSS/VmHWM of the process every 50 ms, and the summed VmRSS of its whole process tree (the 18:00
   backtest refresh runs as a child: budget 350 MB for the tree; the systemd unit's MemoryHigh/MemoryMax are
   derived from this figure, see bench/unit_memory.py).
>>>>>>> b243b47d3f8ef33ff36fe6d7a01d3ecdc0629120
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


<<<<<<< HEAD
def pss_kb(pid: int) -> int:
    """Proportional set size (shared pages split among the processes sharing them): summed over a tree it is
    close to what the tree's cgroup is charged, where summed VmRSS counts shared libraries once per process."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def children_of() -> dict[int, list[int]]:
    """ppid -> pids of every process now (from /proc/*/stat)."""
    tree: dict[int, list[int]] = {}
=======
def tree_rss_kb(root: int) -> int:
    """Summed VmRSS of `root` and all its descendants (what the unit's cgroup holds, page cache aside)."""
    children: dict[int, list[int]] = {}
>>>>>>> b243b47d3f8ef33ff36fe6d7a01d3ecdc0629120
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
<<<<<<< HEAD
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def descendants(pid: int) -> list[int]:
    tree, out, todo = children_of(), [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def is_backtest(pid: int) -> bool:
    try:
        return b"backtest" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
=======
        children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += proc_status(pid).get("VmRSS", 0)
        todo.extend(children.get(pid, []))
    return total
>>>>>>> b243b47d3f8ef33ff36fe6d7a01d3ecdc0629120


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
<<<<<<< HEAD
        peak = tree_peak = refresh_peak = refresh_child_peak = refresh_pss_peak = 0
        refresh_seconds = 0.0
=======
        peak = tree_peak = 0
>>>>>>> b243b47d3f8ef33ff36fe6d7a01d3ecdc0629120
        day_started = time.perf_counter()
        while day_proc.poll() is None:
            status = proc_status(day_proc.pid)
            peak = max(peak, status.get("VmHWM", 0), status.get("VmRSS", 0))
<<<<<<< HEAD
            own = status.get("VmRSS", 0)
            kids = descendants(day_proc.pid)
            sizes = {pid: proc_status(pid).get("VmRSS", 0) for pid in kids}
            tree = own + sum(sizes.values())
            tree_peak = max(tree_peak, tree)
            refresh = [pid for pid in kids if is_backtest(pid)]
            if refresh:
                refresh_peak = max(refresh_peak, tree)
                refresh_pss_peak = max(refresh_pss_peak, pss_kb(day_proc.pid) + sum(pss_kb(pid) for pid in kids))
                refresh_child_peak = max(refresh_child_peak, *(proc_status(pid).get("VmHWM", 0) for pid in refresh))
                refresh_seconds += 0.05
=======
            tree_peak = max(tree_peak, tree_rss_kb(day_proc.pid))
>>>>>>> b243b47d3f8ef33ff36fe6d7a01d3ecdc0629120
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
<<<<<<< HEAD
    print(f"process tree peak   {tree_peak / 1024:7.1f} MB over the day (scheduler + children, summed VmRSS)")
    if refresh_peak:
        print(f"tree peak during backtest_refresh {refresh_peak / 1024:7.1f} MB summed VmRSS, "
              f"{refresh_pss_peak / 1024:.1f} MB summed PSS (budget 350 MB); the refresh child's own peak "
              f"{refresh_child_peak / 1024:.1f} MB (VmHWM), alive ~{refresh_seconds:.0f} s")
    else:
        print("tree peak during backtest_refresh: no `hantu backtest` child seen")
    print(f"load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
=======
    print(f"peak RSS, process tree {tree_peak / 1024:7.1f} MB (budget 350 MB; the scheduler and its backtest "
          "refresh child, sampled every 50 ms)")
>>>>>>> b243b47d3f8ef33ff36fe6d7a01d3ecdc0629120
    print("jobs: " + ", ".join(f"{r['job']}={r['status']}" for r in reversed(runs)))


if __name__ == "__main__":
    main()
