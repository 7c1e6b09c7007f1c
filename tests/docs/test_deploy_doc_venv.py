"""docs/deploy-micro.ko.md names one virtualenv, the one the deployment scripts create (`venv/`)."""

from __future__ import annotations

import re

from helpers import REPO_ROOT


def test_the_deployment_guide_uses_the_scripts_venv_only() -> None:
    text = (REPO_ROOT / "docs" / "deploy-micro.ko.md").read_text(encoding="utf-8")
    setup = (REPO_ROOT / "src" / "hantu" / "ops" / "setup_host.py").read_text(encoding="utf-8")
    assert '"-m", "venv", str(opts.project_dir / "venv")' in setup  # what setup-micro.sh creates
    venvs = set(re.findall(r"(?<![\w/])(\.?venv)/bin/", text))
    assert venvs == {"venv"}, venvs
    assert ".venv" not in text
