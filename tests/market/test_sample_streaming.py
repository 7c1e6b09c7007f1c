"""`hantu data sample` streams the market into the store: the same store as building it whole, in bounded memory."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np

from hantu.market.sample import generate_sample_market, write_sample_market
from hantu.market.store import MarketStore


def test_streamed_store_equals_the_whole_market_written_at_once(tmp_path: Path) -> None:
    end = date(2026, 1, 30)
    streamed = MarketStore(tmp_path / "streamed")
    written = write_sample_market(streamed, stocks=120, days=70, seed=5, end=end)
    whole = MarketStore(tmp_path / "whole")
    market = generate_sample_market(120, 70, 5, end)
    whole.write_days(market.days, source="whole")
    assert written.dates == [b.day for b in market.days]
    assert len({(d.year, d.month) for d in written.dates}) >= 3  # several months: the stream really splits
    names = sorted(p.name for p in (whole.root / "blocks").glob("*.npz"))
    assert names == sorted(p.name for p in (streamed.root / "blocks").glob("*.npz"))
    for name in names:
        a, b = np.load(whole.root / "blocks" / name), np.load(streamed.root / "blocks" / name)
        assert sorted(a.files) == sorted(b.files)
        for key in a.files:
            np.testing.assert_array_equal(a[key], b[key])
    by_code = {i.code: i for i in whole.instruments()}
    for inst in streamed.instruments():
        assert (inst.first_date, inst.last_date) == (
            by_code[inst.code].first_date,
            by_code[inst.code].last_date,
        )
    assert {i.code: i.sector for i in streamed.instruments()} == {
        i.code: i.sector for i in market.instruments
    }


def test_sample_command_memory_does_not_grow_with_the_days(tmp_path: Path) -> None:
    """Building the whole market before writing grew with stocks × days (1,000 × 500: 260 MB peak, 2,900 × 1,250:
    1.47 GB); streamed, memory holds one month of bars."""
    env = {**os.environ, "HANTU_HOME": str(tmp_path), "HANTU_ENV_FILE": str(tmp_path / "absent.env")}
    code = (
        "import sys\nfrom hantu.cli.main import run\nsys.argv = ['hantu', 'data', 'sample', "
        "'--stocks', '1500', '--days', '700', '--end', '2026-01-30', '--json']\n"
        "try:\n    run()\nexcept SystemExit:\n    pass\n"
        # VmHWM, not ru_maxrss: Linux carries the forking parent's high-water mark (pytest's) into ru_maxrss
        "print('PEAK', next(int(line.split()[1]) // 1024 for line in open('/proc/self/status')"
        " if line.startswith('VmHWM')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600
    )
    assert result.returncode == 0, result.stderr
    peak = int(result.stdout.rsplit("PEAK", 1)[1])
    assert peak <= 200, f"peak RSS {peak} MB"
