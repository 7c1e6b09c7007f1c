"""What docs/strategies.md says about the commands is what they do (the dev environment is `.venv`)."""

from __future__ import annotations

import json
import re

from helpers import REPO_ROOT, run_hantu

DOC = (REPO_ROOT / "docs" / "strategies.md").read_text(encoding="utf-8")


def test_the_settings_and_defaults_line_names_the_json_listing() -> None:
    claims = [line for line in DOC.splitlines() if "every setting" in line and "strategy list" in line]
    assert claims and all("--json" in line for line in claims), claims
    listed = run_hantu("strategy", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    momentum = next(e for e in json.loads(listed.stdout) if e["name"] == "momentum")
    assert "selection.stop_atr" in momentum["settings"]
    table = run_hantu("strategy", "list", env={"COLUMNS": "200"}).stdout
    assert "selection.stop_atr" not in table  # the table does not show settings: the doc must not say so


def test_install_lines_use_the_dev_environment() -> None:
    installs = re.findall(r"^(\S*pip) install -e docs/examples/my_strategy", DOC, flags=re.M)
    assert installs and set(installs) == {".venv/bin/pip"}, installs
    assert (REPO_ROOT / "dev.py").read_text(encoding="utf-8").count(".venv") > 0
