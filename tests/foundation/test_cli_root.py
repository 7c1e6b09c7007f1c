from __future__ import annotations

from hantu import __version__

from helpers import run_hantu


def test_help_lists_groups() -> None:
    result = run_hantu("--help")
    assert result.returncode == 0
    for group in ("config", "db", "version"):
        assert group in result.stdout


def test_version() -> None:
    result = run_hantu("version")
    assert result.stdout.strip() == f"hantu {__version__}"


def test_db_upgrade_and_current(isolated_env) -> None:  # type: ignore[no-untyped-def]
    result = run_hantu("db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert (isolated_env / "hantu.db").exists()
    current = run_hantu("db", "current")
    lines = dict(line.split(":", 1) for line in current.stdout.strip().splitlines()[:2])
    assert lines["current"].strip() == lines["head"].strip()


def test_help_does_not_import_heavy_libraries() -> None:
    import subprocess
    import sys

    code = ("import sys; sys.argv=['hantu','--help']\nfrom hantu.cli.main import app\n"
            "try:\n    app()\nexcept SystemExit: pass\n"
            "heavy=[m for m in ('numpy','sqlalchemy','fastapi','pandas','httpx','alembic','pydantic',"
            "'pydantic_settings','hantu.config.settings') if m in sys.modules]\n"
            "print('HEAVY', heavy)\n"
            "print('CLI', sorted(m for m in sys.modules if m.startswith('hantu.cli.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert "HEAVY []" in out
    assert "CLI ['hantu.cli.main']" in out  # no sub-command module is imported to list them


def test_sub_command_help_imports_only_its_module() -> None:
    import subprocess
    import sys

    code = ("import sys; sys.argv=['hantu','data','--help']\nfrom hantu.cli.main import run\n"
            "try:\n    run()\nexcept SystemExit: pass\n"
            "print('CLI', sorted(m for m in sys.modules if m.startswith('hantu.cli.')))\n"
            "print('SETTINGS', 'pydantic_settings' in sys.modules)\n"
            "print('PYDANTIC', 'pydantic' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert "Market data" in out
    assert "CLI ['hantu.cli.common', 'hantu.cli.data', 'hantu.cli.lean', 'hantu.cli.main']" in out
    assert "SETTINGS False" in out
    assert "PYDANTIC False" in out  # typer coerces an unset help flag through pydantic (LazyGroup.get_help_option)


EVERY_HELP = """
import contextlib, io, sys
import typer
from hantu.cli.main import app
root = typer.main.get_command(app)
paths = []
def walk(command, prefix):
    paths.append(prefix)
    for name, sub in command.commands.items() if hasattr(command, "commands") else ():
        walk(sub, prefix + [name])
walk(root, [])  # loads every command module: none may import a heavy library either
shown = 0
for path in paths:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            root.main([*path, "--help"], prog_name="hantu")
        except SystemExit as done:
            assert done.code in (0, None), (path, done.code)
    shown += "Usage: hantu" in out.getvalue()
heavy = [m for m in ("numpy", "sqlalchemy", "fastapi", "pandas", "httpx", "alembic", "pydantic",
                     "pydantic_settings", "hantu.config.settings", "hantu.store", "uvicorn") if m in sys.modules]
print("PATHS", len(paths), "SHOWN", shown, "HEAVY", heavy)
"""


def test_every_help_imports_no_heavy_library() -> None:
    """Every `hantu … --help` (every group and command of the tree) stays off pydantic, SQLAlchemy and numpy:
    one process runs them all, so the union of what they import is checked (P6: each ≤ 0.3 s). A group's own
    options are processed before its sub-command's --help (`hantu jobs run --help`): hantu.cli.lean."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", EVERY_HELP], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    words = done.stdout.split()
    paths, shown = int(words[words.index("PATHS") + 1]), int(words[words.index("SHOWN") + 1])
    assert paths >= 60 and shown == paths, done.stdout  # the whole tree, each with its help text
    assert done.stdout.rstrip().endswith("HEAVY []"), done.stdout


def test_lazy_command_table_matches_the_commands() -> None:
    """`hantu --help` lists the table's short help without importing the commands: it must be theirs."""
    from typer._click.utils import make_default_short_help

    from hantu.cli.main import LAZY, ORDER, load_entry

    assert set(ORDER) == set(LAZY) | {"version"}
    for name, entry in LAZY.items():
        command = load_entry(name, entry)
        for limit in (40, 60, 200):
            assert make_default_short_help(entry.help, limit) == command.get_short_help_str(limit), name


def test_test_files_have_unique_names() -> None:
    """pytest imports test modules by basename (rootdir-relative, no packages): two of a name break collection."""
    from collections import Counter

    from helpers import REPO_ROOT

    names = Counter(p.name for p in (REPO_ROOT / "tests").rglob("test_*.py"))
    assert [name for name, count in names.items() if count > 1] == []


def test_every_entry_point_reports_an_invalid_env_cleanly(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """R7/S2: a malformed `.env` is one message listing every bad key, exit status 3 (systemd's units do not
    restart on it), no traceback, and never the values (a secret pasted into the wrong key stays hidden)."""
    import subprocess
    import sys

    from helpers import REPO_ROOT

    secret = "s3cr3t-pasted-in-the-wrong-place"
    env_file = tmp_path / "bad.env"
    env_file.write_text(f'ACCOUNT_NUMBER="{secret}"\nAPI_PORT=not-a-port\n')
    env_file.chmod(0o600)
    monkeypatch.setenv("HANTU_ENV_FILE", str(env_file))
    commands = {
        "hantu run": [sys.executable, "-m", "hantu", "run"],
        "hantu trade balance": [sys.executable, "-m", "hantu", "trade", "balance"],
        "api-server/main.py": [sys.executable, str(REPO_ROOT / "api-server" / "main.py")],
        "workflows.integrated_scheduler": [sys.executable, "-m", "workflows.integrated_scheduler", "start"],
    }
    for name, command in commands.items():
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=REPO_ROOT)
        output = done.stdout + done.stderr
        assert done.returncode == 3, (name, output)
        assert "invalid configuration (2 problem(s)" in done.stderr, (name, output)
        assert "ACCOUNT_NUMBER: " in done.stderr and "API_PORT: " in done.stderr, (name, output)
        assert "Traceback" not in output and secret not in output and "not-a-port" not in output, (
            name,
            output,
        )
    for unit, codes in (("hantu-api.service", "2 3"), ("hantu-scheduler.service", "3 5 6")):
        assert f"RestartPreventExitStatus={codes}\n" in (REPO_ROOT / "deploy" / unit).read_text()


def test_configuration_error_is_one_message_and_exit_3(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """run_app recognises the settings' error without importing the settings up front."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "HANTU_HOME": str(tmp_path), "HANTU_ENV_FILE": str(tmp_path / "absent.env"),
           "HANTU_COMMISSION_RATE": "lots"}
    result = subprocess.run([sys.executable, "-m", "hantu", "trade", "positions"], capture_output=True, text=True,
                            env=env)
    assert result.returncode == 3, result.stderr
    assert "HANTU_COMMISSION_RATE" in result.stderr and "Traceback" not in result.stderr
