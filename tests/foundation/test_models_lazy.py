"""`hantu.store.models` names every table class and loads each from its own module on first use: its table
(`TABLES`), the type checker's imports and the mapped classes must agree, or a new table is invisible to
`from hantu.store.models import X` or to Alembic."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import hantu.store.models as models


def _type_checking_imports() -> dict[str, str]:
    tree = ast.parse(Path(models.__file__).read_text(encoding="utf-8"))
    block = next(node for node in tree.body if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING")
    return {alias.name: node.module.rsplit(".", 1)[1] for node in block.body if isinstance(node, ast.ImportFrom)
            and node.module and node.module.startswith("hantu.store.models.") for alias in node.names}


def test_tables_match_the_type_checking_imports_and_the_mapped_classes() -> None:
    metadata = models.all_metadata()
    mapped = {m.class_.__name__: m.class_.__module__.rsplit(".", 1)[1] for m in models.Base.registry.mappers}
    assert models.TABLES == _type_checking_imports() == mapped
    assert set(models.__all__) == {*models.TABLES, "Base", "all_metadata"}
    assert {getattr(models, name).__table__.name for name in models.TABLES} == set(metadata.tables)


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NoSuchTable"):
        models.NoSuchTable  # noqa: B018


def test_one_table_loads_its_module_only() -> None:
    code = ("import sys\nfrom hantu.store.models import ScreenRun\n"
            "print(sorted(m for m in sys.modules if m.startswith('hantu.store.models.')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['hantu.store.models.strategy']"
