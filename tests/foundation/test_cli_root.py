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
            "heavy=[m for m in ('numpy','sqlalchemy','fastapi','pandas','httpx','alembic') if m in sys.modules]\n"
            "print('HEAVY', heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert "HEAVY []" in out


def test_test_files_have_unique_names() -> None:
    """pytest imports test modules by basename (rootdir-relative, no packages): two of a name break collection."""
    from collections import Counter

    from helpers import REPO_ROOT

    names = Counter(p.name for p in (REPO_ROOT / "tests").rglob("test_*.py"))
    assert [name for name, count in names.items() if count > 1] == []
