"""The import layers of docs/architecture.md hold: `lint-imports` keeps the contracts in pyproject.toml, and it
fails on an import that breaks them (a lower layer importing a higher one, a cycle, the sandbox)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter (dev extra) is not installed")


def lint(src: Path, config: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run([str(LINT_IMPORTS), "--config", str(config), "--no-cache"], cwd=config.parent, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_contracts_are_kept() -> None:
    result = lint(ROOT / "src", ROOT / "pyproject.toml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 3 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(("module", "line", "contract"), [
    ("market/sample.py", "from hantu.trading import halt", "Layers"),  # market below trading
    ("notify/sender.py", "from hantu.bot import commands", "Layers"),  # notify below the bot
    ("api/cache.py", "import hantu.sandbox.telegram", "No product module imports hantu.sandbox"),
    ("market/codekeys.py", "from hantu.market import store", "No cycles"),  # store imports codekeys
])
def test_a_breaking_import_fails_the_check(tmp_path: Path, module: str, line: str, contract: str) -> None:
    shutil.copytree(ROOT / "src" / "hantu", tmp_path / "src" / "hantu",
                    ignore=shutil.ignore_patterns("__pycache__", "migrations"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "src" / "hantu" / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{line}  # noqa\n", encoding="utf-8")
    result = lint(tmp_path / "src", tmp_path / "pyproject.toml")
    assert result.returncode == 1, result.stdout
    assert re.search(rf"^{re.escape(contract)}.* BROKEN\b", result.stdout, re.M), result.stdout


def test_the_architecture_doc_lists_the_contract_s_tiers() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    tiers = next(c for c in config["contracts"] if c["id"] == "layers")["layers"]
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = doc.split("## Layers", 1)[1].split("```text", 1)[1].split("```", 1)[0]
    listed = [re.split(r"\s{2,}", row.strip())[0] for row in block.strip().splitlines()]
    assert listed == tiers
