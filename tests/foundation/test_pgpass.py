from __future__ import annotations

from pathlib import Path

from hantu.config.pgpass import lookup_password, parse_pgpass, split_line


def test_split_handles_escapes() -> None:
    assert split_line(r"host:5432:db:user:pa\:ss\\word") == ["host", "5432", "db", "user", "pa:ss\\word"]


def test_parse_skips_comments_blank_and_short_lines() -> None:
    entries = parse_pgpass("# comment\n\nshort:line\nh:1:d:u:p\n")
    assert [(e.host, e.password) for e in entries] == [("h", "p")]


def test_first_match_wins_with_wildcards(tmp_path: Path) -> None:
    path = tmp_path / "pgpass"
    path.write_text("other:5432:*:*:nope\n*:5432:hantu_quant:*:first\n*:*:*:*:fallback\n")
    path.chmod(0o600)
    assert lookup_password("localhost", 5432, "hantu_quant", "hantu", path) == "first"
    assert lookup_password("localhost", 15432, "hantu_quant", "hantu", path) == "fallback"
    assert lookup_password("other", 5432, "x", "y", path) == "nope"


def test_group_readable_file_is_ignored_like_libpq(tmp_path: Path) -> None:
    path = tmp_path / "pgpass"
    path.write_text("*:*:*:*:secret\n")
    path.chmod(0o644)
    assert lookup_password("h", 1, "d", "u", path) is None
    path.chmod(0o600)
    assert lookup_password("h", 1, "d", "u", path) == "secret"


def test_missing_file(tmp_path: Path) -> None:
    assert lookup_password("h", 1, "d", "u", tmp_path / "nope") is None
