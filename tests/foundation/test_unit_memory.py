"""The units' MemoryHigh / MemoryMax come from a bench run: docs/performance.md's table (written by bench/all.py
from the benches' printouts), the rule in bench/unit_memory.py, the units and docker-compose agree."""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

from helpers import REPO_ROOT


def bench_module(name: str) -> ModuleType:
    sys.path.insert(0, str(REPO_ROOT / "bench"))
    try:
        spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "bench" / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(REPO_ROOT / "bench"))


unit_memory = bench_module("unit_memory")
DOC = (REPO_ROOT / "docs" / "performance.md").read_text(encoding="utf-8")


def test_every_unit_has_a_row_derived_by_the_rule_from_a_bench_printout() -> None:
    rows = unit_memory.read_table(DOC)
    assert sorted(r.unit for r in rows) == ["hantu-api.service", "hantu-scheduler.service"]
    all_py = bench_module("all")
    outputs = {name: all_py.output_of(section) for name, section in all_py.read_sections(DOC).items()}
    for row in rows:
        assert (row.high_mb, row.max_mb) == unit_memory.derive(row.measured_mb), row.unit
        assert row.measured_mb < row.high_mb < row.max_mb
        # the measured figure is the one the bench's own printout in the doc carries, not a number typed in
        source = next(s for s in unit_memory.SOURCES if s.unit == row.unit)
        assert unit_memory.figure(source, outputs[row.bench]) == row.measured_mb, row.unit


def test_units_compose_and_deploy_guide_carry_the_tables_figures() -> None:
    compose = (REPO_ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    guide = (REPO_ROOT / "docs" / "deploy-micro.ko.md").read_text(encoding="utf-8")
    for row in unit_memory.read_table(DOC):
        unit = REPO_ROOT / "deploy" / row.unit
        assert unit_memory.unit_limits(unit) == (row.high_mb, row.max_mb), row.unit
        service = unit_memory.compose_service(row.unit)
        block = compose.split(f"\n  {service}:\n", 1)[1].split("\n\n", 1)[0]
        assert f"mem_limit: {row.max_mb}m" in block, service
        assert f"{row.high_mb}M / {row.max_mb}M" in guide, row.unit
        # the unit's comment states no figure of its own: it points at the table
        comment = [line for line in unit.read_text(encoding="utf-8").splitlines() if line.startswith("#")]
        memory_comment = " ".join(line for line in comment if "Memory" in line or "bench" in line)
        assert "docs/performance.md" in memory_comment and not re.search(r"\d+ MB", memory_comment)


def test_the_rule_and_apply_rewrite_units_and_compose(tmp_path: Path) -> None:
    assert unit_memory.derive(100) == (128, 152)  # 125 → 128, 150 → 152: rounded up to 8 MB
    (tmp_path / "deploy").mkdir()
    for name in ("hantu-api.service", "hantu-scheduler.service"):
        shutil.copy(REPO_ROOT / "deploy" / name, tmp_path / "deploy" / name)
    shutil.copy(REPO_ROOT / "docker-compose.yml", tmp_path / "docker-compose.yml")
    out = "peak RSS, process tree   300.4 MB (budget 350 MB; …)\n"
    limits = unit_memory.recommend({"scheduler": out, "api": "server RSS: 70.0 MB before, 99.5 MB after 9 requests"})
    assert [(x.unit, x.measured_mb) for x in limits] == [("hantu-scheduler.service", 300.4),
                                                          ("hantu-api.service", 99.5)]
    changed = unit_memory.apply(limits, tmp_path)
    assert set(changed) == {"deploy/hantu-scheduler.service", "deploy/hantu-api.service", "docker-compose.yml"}
    assert unit_memory.unit_limits(tmp_path / "deploy" / "hantu-scheduler.service") == unit_memory.derive(300.4)
    assert unit_memory.unit_limits(tmp_path / "deploy" / "hantu-api.service") == unit_memory.derive(99.5)
    compose = (tmp_path / "docker-compose.yml").read_text(encoding="utf-8")
    assert f"mem_limit: {unit_memory.derive(300.4)[1]}m" in compose.split("\n  api:")[0].split("\n  scheduler:")[1]
    assert f"mem_limit: {unit_memory.derive(99.5)[1]}m" in compose.split("\n  api:")[1]
    assert "mem_limit: 256m" in compose  # postgres untouched
    assert unit_memory.apply(limits, tmp_path) == []


def test_all_writes_verdicts_on_wall_time_and_keeps_other_sections(tmp_path: Path) -> None:
    all_py = bench_module("all")
    doc = tmp_path / "performance.md"
    doc.write_text("# intro kept\n\n" + all_py.BEGIN + "\nold\n" + all_py.END + "\n\ntail kept\n", encoding="utf-8")
    sections = {
        "startup": "### startup: t\n\n`x`\n\n```\nslowest --help: 420 ms wall, 150 ms CPU (budget 300 ms)\n```\n",
        "sample": "### sample: t\n\n`x`\n\n```\nhantu data sample: peak RSS 115 MB, 30 s wall\n```\n",
    }
    all_py.write_doc(sections, "header line", doc)
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# intro kept") and text.rstrip().endswith("tail kept") and "\nold\n" not in text
    rows = {line.split("|")[2].strip(): line for line in text.splitlines() if line.startswith("| P") or
            line.startswith("| #")}
    # 150 ms CPU would pass; the budget is wall time, so 420 ms wall decides
    assert "420 ms" in rows["`hantu --help` and every top-level `--help`"]
    assert rows["`hantu --help` and every top-level `--help`"].rstrip().endswith("**not met** |")
    assert rows["`hantu data sample` peak RSS, 2,900 × 1,300"].rstrip().endswith("| met |")
    assert rows["scheduler idle RSS"].rstrip().endswith("not measured |")
    assert all_py.read_sections(text).keys() == sections.keys()
    assert all_py.output_of(all_py.read_sections(text)["sample"]).startswith("hantu data sample")


@pytest.mark.parametrize("name", ["hantu-api.service", "hantu-scheduler.service"])
def test_unit_limits_reads_megabytes(name: str) -> None:
    high, mx = unit_memory.unit_limits(REPO_ROOT / "deploy" / name)
    assert 0 < high < mx < 1024
