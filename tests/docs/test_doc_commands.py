"""Every `hantu …` command shown in a code block of docs/*.md exists, with the options it is shown with.

Commands are resolved against the real typer app in-process (no subprocess, no side effects: only `--help` is
invoked, once per distinct command path). `python -m workflows.integrated_scheduler X` lines are checked
against the workflow app the same way.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from helpers import REPO_ROOT

DOCS = REPO_ROOT / "docs"
SHELL_FENCES = {"", "bash", "sh", "shell", "console", "zsh"}
FENCE = re.compile(r"^```(\S*)\s*$")
HANTU = re.compile(r"^(?:\$\s+)?(?:sudo\s+(?:-u\s+\S+\s+)?)?(?:\S*/)?hantu(?:\s+(?P<args>.*))?$")
WORKFLOW = re.compile(r"^(?:\$\s+)?(?:\S*/)?python3?\s+-m\s+workflows\.integrated_scheduler(?:\s+(?P<args>.*))?$")


@dataclass(frozen=True)
class Shown:
    doc: str
    line: int
    program: str  # "hantu" | "workflow"
    args: tuple[str, ...]

    def where(self) -> str:
        return f"{self.doc}:{self.line}: {self.program} {' '.join(self.args)}"


def _segments(line: str) -> list[str]:
    """The simple commands of one shell line (split at &&, ||, ;, |), comments removed."""
    try:
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        tokens = list(lexer)
    except ValueError:
        return []
    out, current = [], []
    for token in tokens:
        if token and set(token) <= set(";&|"):
            out.append(current)
            current = []
        else:
            current.append(token)
    out.append(current)
    return [shlex.join(s) for s in out if s]


def shown_commands(path: Path) -> list[Shown]:
    """`hantu`/workflow invocations in the shell code blocks of one Markdown file."""
    found: list[Shown] = []
    fence: str | None = None
    pending, start = "", 0
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = FENCE.match(raw.strip())
        if match:
            fence = None if fence is not None else match.group(1).lower()
            continue
        if fence is None or fence not in SHELL_FENCES:
            continue
        if not pending:
            start = number
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        line, pending = (pending + raw).strip(), ""
        for segment in _segments(line):
            for program, pattern in (("hantu", HANTU), ("workflow", WORKFLOW)):
                m = pattern.match(segment)
                if m:
                    found.append(Shown(path.name, start, program, tuple(shlex.split(m.group("args") or ""))))
    return found


def all_shown() -> list[Shown]:
    return [item for doc in sorted(DOCS.glob("*.md")) for item in shown_commands(doc)]


def _root(program: str) -> Any:
    if program == "hantu":
        from hantu.cli.main import app
    else:
        from hantu.cli.scheduler_cmd import workflow_app as app
    return typer.main.get_command(app)


def _is_group(command: Any) -> bool:
    return isinstance(getattr(command, "commands", None), dict)


def resolve(root: Any, args: tuple[str, ...]) -> tuple[list[str], Any, list[str]]:
    """(command path, the command, problems) for `args`: unknown subcommands and unknown options.

    Typer builds click-like objects (its own vendored click), so groups and options are recognised by shape."""
    path: list[str] = []
    command = root
    problems: list[str] = []
    rest = list(args)
    while rest and _is_group(command):
        token = rest[0]
        if token.startswith("-"):
            break
        sub = command.commands.get(token)
        if sub is None:
            problems.append(f"no command {' '.join([*path, token])!r}")
            return path, command, problems
        path.append(token)
        command = sub
        rest.pop(0)
    if _is_group(command) and not command.invoke_without_command and not rest:
        return path, command, problems  # a group shown on its own prints its help
    names = {"--help", "-h"}
    for param in command.params:
        if getattr(param, "param_type_name", "") == "option":
            names.update(param.opts)
            names.update(getattr(param, "secondary_opts", ()))
    for token in rest:
        if token.startswith("-") and token != "-":
            option = token.split("=", 1)[0]
            if option not in names:
                problems.append(f"{' '.join(path) or '(root)'} has no option {option}")
    return path, command, problems


def test_docs_show_hantu_commands() -> None:
    """The extraction finds the commands (a broken extractor would make the check below vacuous)."""
    shown = all_shown()
    programs = {(item.program, item.args[:1]) for item in shown}
    assert ("hantu", ("doctor",)) in programs and ("hantu", ("trade",)) in programs, programs
    assert ("workflow", ("start",)) in programs
    assert len(shown) >= 30


def test_extractor_reads_shell_blocks_only(tmp_path: Path) -> None:
    doc = tmp_path / "x.md"
    doc.write_text("```bash\ncd /opt && venv/bin/hantu doctor --json  # check\nhantu trade halt \\\n"
                   "  --reason x\n```\n```toml\nhantu = 1\n```\n```python\nhantu run\n```\n", encoding="utf-8")
    assert [(s.line, s.args) for s in shown_commands(doc)] == [(2, ("doctor", "--json")),
                                                               (3, ("trade", "halt", "--reason", "x"))]
    root = _root("hantu")
    assert resolve(root, ("trade", "halt", "--reason", "x"))[2] == []
    assert resolve(root, ("trade", "stop"))[2] == ["no command 'trade stop'"]
    assert resolve(root, ("doctor", "--fix"))[2] == ["doctor has no option --fix"]


def test_every_documented_command_exists() -> None:
    problems: list[str] = []
    paths: dict[tuple[str, tuple[str, ...]], Shown] = {}
    for item in all_shown():
        path, _, found = resolve(_root(item.program), item.args)
        problems.extend(f"{item.where()}  →  {problem}" for problem in found)
        paths.setdefault((item.program, tuple(path)), item)
    assert not problems, "\n".join(problems)
    runner = CliRunner()
    for (program, path), item in sorted(paths.items()):
        if program == "hantu":
            from hantu.cli.main import app
        else:
            from hantu.cli.scheduler_cmd import workflow_app as app
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, f"{item.where()}: `{' '.join(path)} --help` exited {result.exit_code}"
        assert "Usage" in result.output


@pytest.mark.parametrize("doc", sorted(p.name for p in DOCS.glob("*.md")))
def test_relative_links_resolve(doc: str) -> None:
    """Links between the docs (and into the repository) point at files that exist."""
    text = (DOCS / doc).read_text(encoding="utf-8")
    for target in re.findall(r"\]\((?!https?://|mailto:|#)([^)\s#]+)", text):
        assert (DOCS / target).exists(), f"{doc}: broken link {target}"
