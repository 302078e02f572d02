"""Marks every test by the folder it lives in, so ``-m unit`` and ``-m integration`` select them, and
serves the tests with the built-in keys they use, even from a shell that sourced a stack's keys.env."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
for _key in ("HYBRID_SEARCH_ADMIN_KEY", "HYBRID_SEARCH_MERCHANT_KEYS", "HYBRID_SEARCH_CLIENT_KEYS"):
    os.environ.pop(_key, None)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        kind = Path(item.fspath).relative_to(TESTS).parts[0]
        if kind in {"unit", "integration"}:
            item.add_marker(getattr(pytest.mark, kind))
        if item.get_closest_marker("cuda") and not cuda_available():
            item.add_marker(pytest.mark.skip(reason="no CUDA device here: the GPU path runs on a GPU machine"))


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()
