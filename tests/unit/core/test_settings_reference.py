"""docs/settings.md names every setting: a field added to ``Settings`` without a line in the
reference fails here (and so in CI)."""

from __future__ import annotations

import re
from pathlib import Path

from hybrid_search.core.settings import Settings

REFERENCE = Path(__file__).resolve().parents[3] / "docs" / "settings.md"


def documented(text: str) -> set[str]:
    """The variables the reference's rows name: ``HYBRID_SEARCH_X`` in a row's first cell, and the
    ``_Y`` beside it that it abbreviates (``HYBRID_SEARCH_API_HOST`` / ``_API_PORT``)."""
    names = set()
    for cell in re.findall(r"^\| (.+?) \|", text, re.MULTILINE):
        for name in re.findall(r"`(?:HYBRID_SEARCH)?(_[A-Z0-9_]+)`", cell):
            names.add(f"HYBRID_SEARCH{name}")
    return names


def test_every_setting_is_in_the_reference():
    expected = {f"HYBRID_SEARCH_{name.upper()}" for name in Settings.model_fields}
    assert sorted(expected - documented(REFERENCE.read_text())) == []


def test_the_reference_names_no_setting_that_does_not_exist():
    expected = {f"HYBRID_SEARCH_{name.upper()}" for name in Settings.model_fields}
    assert sorted(documented(REFERENCE.read_text()) - expected) == []
