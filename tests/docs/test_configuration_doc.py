"""`docs/configuration.md` is the settings model, rendered: it may not drift from the code."""

from __future__ import annotations

import difflib

from hantu.config.reference import env_keys, missing_descriptions, render_reference
from hantu.config.settings import Settings

from helpers import REPO_ROOT

DOC = REPO_ROOT / "docs" / "configuration.md"
REGENERATE = "python -m hantu.config.reference > docs/configuration.md"


def test_every_setting_has_a_description() -> None:
    assert missing_descriptions() == [], f"settings without Field(description=...): {missing_descriptions()}"


def test_configuration_doc_matches_the_settings_model() -> None:
    committed = DOC.read_text(encoding="utf-8")
    generated = render_reference()
    if committed != generated:
        diff = "\n".join(difflib.unified_diff(committed.splitlines(), generated.splitlines(), "committed",
                                              "generated", lineterm="", n=1))
        raise AssertionError(f"docs/configuration.md is stale; run `{REGENERATE}`\n{diff[:4000]}")


def test_every_key_and_alias_is_on_the_page() -> None:
    """Independent of the renderer: each env key and alias of the model appears as a code span."""
    text = DOC.read_text(encoding="utf-8")
    for name, info in Settings.model_fields.items():
        for key in env_keys(info, name):
            assert f"`{key}`" in text, f"{key} ({name}) is missing from docs/configuration.md"


def test_a_missing_description_is_detected(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The check above can fail: blank one description and it names the field."""
    info = Settings.model_fields["api_port"]
    monkeypatch.setattr(info, "description", None)
    assert missing_descriptions() == ["api_port"]
    assert render_reference() != DOC.read_text(encoding="utf-8")
