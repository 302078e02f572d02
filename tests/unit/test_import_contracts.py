"""The layout's import rules (pyproject.toml, ``[tool.importlinter]``) hold, and the checker that CI
runs (``lint-imports``) does fail on a rule the code breaks."""

from __future__ import annotations

from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[2]


def test_the_layouts_import_contracts_hold():
    assert lint_imports(str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True) == 0


def test_a_rule_the_code_breaks_fails_the_check(tmp_path, monkeypatch):
    # opensearch.search imports opensearchpy too: a rule allowing the client module alone is broken
    config = tmp_path / "contracts.toml"
    config.write_text(
        """
[tool.importlinter]
root_packages = ["hybrid_search"]
include_external_packages = true

[[tool.importlinter.contracts]]
name = "Only the client module imports opensearchpy"
type = "protected"
protected_modules = ["opensearchpy"]
allowed_importers = ["hybrid_search.stores.opensearch.client"]
"""
    )
    monkeypatch.chdir(ROOT)
    assert lint_imports(str(config), no_cache=True, no_logo=True) == 1
