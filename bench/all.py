"""Run the benches and write their figures into docs/performance.md (between the `bench:begin` / `bench:end`
markers): the verdict table (bench/verdicts.py: each budget against the figure its bench printed, wall time
where the budget is wall time), the units' memory limits derived from the figures (bench/unit_memory.py), and
each bench's own printout with the run's time, commit, machine, library versions and the load average before
and after it. Re-runnable; run it on a quiet machine for figures that describe the code, not its neighbours.

    .venv/bin/python bench/all.py [--only NAME ...] [--skip NAME ...] [--home DIR] [--no-write]

With `--only`, the other benches' sections already in the doc are kept as they are (each says when it ran),
and the tables are rebuilt from all the sections; a run without `--only` replaces everything.

NAME is one of: startup, screening, backtest, scaling, peers, api, api_real, sample, channels, scheduler.
`--home DIR` keeps the 2,900 × 1,250 sample market between runs (it takes a minute to generate).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DOC = ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
sys.path.insert(0, str(HERE))

import unit_memory  # noqa: E402
import verdicts  # noqa: E402
from machine import load_average, machine_line  # noqa: E402

SAMPLE_MEMORY = r"""
import resource, sys, time
from hantu.cli.main import run
stocks, days = sys.argv[1], sys.argv[2]
sys.argv = ["hantu", "data", "sample", "--stocks", stocks, "--days", days, "--end", "2026-01-30", "--json"]
started = time.perf_counter()
try:
    run()
except SystemExit:
    pass
usage = resource.getrusage(resource.RUSAGE_SELF)
print(f"hantu data sample --stocks {stocks} --days {days}: peak RSS {usage.ru_maxrss / 1024:.0f} MB, "
      f"{time.perf_counter() - started:.1f} s wall, {usage.ru_utime + usage.ru_stime:.1f} s CPU")
"""


def benches(home: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (what it measures, the command)."""
    py = sys.executable
    return {
        "startup": (
            "P6: `hantu --help` and every top-level `--help` (budget 0.3 s)",
            [py, str(HERE / "cli_startup.py")],
        ),
        "screening": (
            "P1: screening compute and the whole `hantu screen` (sample market, real windows)",
            [py, str(HERE / "screening.py")],
        ),
        "backtest": (
            "P5: momentum on 2,900 × 1,250 (load + run, whole command, peak RSS) and the cross-check",
            [py, str(HERE / "backtest.py"), "--stocks", "2900", "--days", "1250", "--home", str(home)],
        ),
        "scaling": (
            "screen and backtest by size: 500 / 1,000 / 2,900 stocks × 250 / 1,250 days",
            [py, str(HERE / "scaling.py"), "--home", str(home)],
        ),
        "peers": (
            "SMA cross against vectorbt and backtrader: same fills, speed ratio",
            [py, str(HERE / "peers.py"), "--home", str(home)],
        ),
        "api": (
            "P2/P4: the API under 50 back-to-back clients (own client and wrk), RSS after the requests",
            [py, str(HERE / "api_load.py"), "--think-ms", "0", "--seconds", "20", "--wrk"],
        ),
        "api_real": (
            "P2/P4: the same load on a market store of every real KRX window (~2,900 stocks), RSS after it",
            [py, str(HERE / "api_load.py"), "--real", "--think-ms", "0", "--seconds", "20"],
        ),
        "sample": (
            "`hantu data sample` peak memory at 2,900 × 1,300 (streamed to the store)",
            [py, "-c", SAMPLE_MEMORY, "2900", "1300"],
        ),
        "channels": (
            "a NOTIFY_URLS channel: apprise's import cost and delivery to a loopback webhook",
            [py, str(HERE / "notify_channels.py")],
        ),
        "scheduler": (
            "P2: the scheduler idle and through a simulated day (2,900 stocks), its tree with the backtest refresh",
            [py, str(HERE / "scheduler_rss.py"), "--stocks", "2900"],
        ),
    }


def run_one(name: str, title: str, command: list[str], env: dict[str, str], run: str) -> tuple[str, str]:
    """(the doc section, the bench's output)."""
    print(f"== {name}: {title}", flush=True)
    before = load_average()
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - started
    output = (done.stdout.strip() + ("\n" + done.stderr.strip()[-1500:] if done.returncode else "")).strip()
    print(output, flush=True)
    status = "" if done.returncode == 0 else f" — exited {done.returncode}"
    shown = (
        "an inline child of bench/all.py"
        if command[1] == "-c"
        else " ".join(Path(c).name if c.startswith("/") else c for c in command[1:])
    )
    section = (
        f"### {name}: {title}\n\n`{shown}` · {run}"
        f" · load average {before} before, {load_average()} after · {wall:.0f} s{status}\n\n"
        f"```\n{output}\n```\n"
    )
    return section, output


def read_sections(text: str) -> dict[str, str]:
    """The bench sections already in the doc, by bench name."""
    if BEGIN not in text or END not in text:
        return {}
    block = text.split(BEGIN, 1)[1].split(END, 1)[0]
    out = {}
    for part in block.split("\n### ")[1:]:
        named = re.match(r"(\w+): ", part)
        if named:  # a bench's section, not the verdict or unit tables
            out[named.group(1)] = "### " + part.rstrip() + "\n"
    return out


def output_of(section: str) -> str:
    """A section's printout (its first code block)."""
    parts = section.split("```\n", 2)
    return parts[1].rsplit("```", 1)[0].strip() if len(parts) > 1 else ""


def render(sections: dict[str, str], header: str) -> str:
    """The generated part of the doc: verdicts, unit limits, then each bench's section."""
    outputs = {name: output_of(section) for name, section in sections.items()}
    limits = unit_memory.recommend(outputs)
    units = (unit_memory.render_table(limits) if limits
             else "No bench output carries a unit's figure yet (benches `scheduler` and `api`).")
    return "\n".join([
        BEGIN, header, "",
        "### Verdicts", "",
        "Each budget against the figure its bench printed below (bench/verdicts.py); the basis says whether a "
        "wall-time, memory or count figure decided.", "",
        verdicts.render(verdicts.verdicts(outputs)), "",
        "### Memory limits of the systemd units", "",
        unit_memory.BEGIN, units, unit_memory.END, "",
        *sections.values(),
    ]).rstrip() + "\n" + END


def write_doc(sections: dict[str, str], header: str, path: Path = DOC) -> None:
    text = path.read_text(encoding="utf-8")
    body = render(sections, header)
    if BEGIN in text and END in text:
        text = text.split(BEGIN)[0] + body + text.split(END, 1)[1]
    else:
        text = text.rstrip() + "\n\n## Measured by bench/all.py\n\n" + body + "\n"
    path.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--skip", nargs="*", default=[])
    parser.add_argument("--home", type=Path)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=ROOT).stdout.strip()
    run = f"run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} at commit {commit}"
    with tempfile.TemporaryDirectory() as tmp:
        home = args.home or Path(tmp)
        home.mkdir(parents=True, exist_ok=True)
        table = benches(home)
        unknown = [n for n in (args.only or []) + args.skip if n not in table]
        if unknown:
            sys.exit(f"unknown bench {', '.join(unknown)}: one of {', '.join(table)}")
        names = [n for n in (args.only or table) if n not in args.skip]
        header = (
            f"Last {'partial ' if args.only or args.skip else ''}run: {run} ({', '.join(names)}); "
            f"{machine_line()}"
        )
        kept = read_sections(DOC.read_text(encoding="utf-8")) if args.only or args.skip else {}
        sections = {n: kept[n] for n in table if n in kept and n not in names}
        for name in names:
            bench_env = env
            if name == "sample":  # never over the user's store: a HANTU_HOME of its own
                scratch = Path(tmp) / "sample-home"
                bench_env = {**env, "HANTU_HOME": str(scratch), "HANTU_ENV_FILE": str(scratch / "absent.env")}
                bench_env.pop("DATABASE_URL", None)
            sections[name], _ = run_one(name, *table[name], env=bench_env, run=run)
            sections = {n: sections[n] for n in table if n in sections}  # the table's order
            if not args.no_write:  # after each bench: an interrupted run keeps what it measured
                write_doc(sections, header)
        outputs = {name: output_of(section) for name, section in sections.items()}
    for x in unit_memory.recommend(outputs):
        print(f"recommended for deploy/{x.unit}: MemoryHigh={x.high_mb}M MemoryMax={x.max_mb}M "
              f"(measured {x.measured_mb:.1f} MB by `{x.bench}`)")
    if not args.no_write:
        print(f"wrote {DOC.relative_to(ROOT)}; `bench/unit_memory.py --apply` copies its unit limits into deploy/")


if __name__ == "__main__":
    main()
