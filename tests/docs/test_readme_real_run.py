"""README's "Running it for real" starts from real data and never shows the sample market, which would replace it."""

from __future__ import annotations

import re

from helpers import REPO_ROOT


def _real_run_commands() -> list[str]:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Running it for real", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "the section shows its commands in a bash block"
    return [line.split("#", 1)[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_running_it_for_real_starts_by_importing_real_data() -> None:
    commands = _real_run_commands()
    assert commands[0].startswith("hantu data import "), commands
    assert not any("data sample" in c for c in commands), commands
