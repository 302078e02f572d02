"""Which class a query falls in, so a profile can blend each class its own way (pure)."""

from __future__ import annotations

import re

QUERY_CLASSES = ("photo", "zh", "short", "long")
SHORT_WORDS = 3
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def query_class(text: str, has_photo: bool = False) -> str:
    """``photo`` (a photo or a product to look like), ``zh`` (CJK script), else English-like text,
    ``short`` (up to three words) or ``long``."""
    if has_photo:
        return "photo"
    if _CJK.search(text):
        return "zh"
    return "short" if len(text.split()) <= SHORT_WORDS else "long"
