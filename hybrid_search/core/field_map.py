"""How a shop's catalog rows become products: a field mapping from the shop's own columns (nested
ones by dotted path) to the upload format's fields (pure).

A mapping names, per product field, where its value comes from: ``title=name``, ``brand=maker.name``,
``category_path=department,aisle`` (several sources make a path, empty parts dropped; one source may
hold a list or a "Home > Kitchen" string), ``attributes.material=specs.material``, or
``attributes.*=specs`` (every key of a nested map becomes an attribute). Fields a mapping does not
name are read from the column of their own name, so a file already in the upload format needs no
mapping. Values are read the way a CSV or a Parquet file holds them: an empty cell is no value, a
whole-number field takes "2012" or "2012.0", an attribute takes a number or a boolean as text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hybrid_search.core.catalog import ProductIn
from hybrid_search.core.errors import InvalidInputError

ATTRIBUTES = "attributes"
SPREAD = "*"  # attributes.*=specs: every key of a nested map
FIELDS = tuple(name for name in ProductIn.model_fields if name != ATTRIBUTES)
WHOLE_FIELDS = ("year",)
NUMBER_FIELDS = ("price",)
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_ .:-]{0,127}$")
_CATEGORY_SEPARATOR = re.compile(r"\s*(?:>|/|\|)\s*")


@dataclass(frozen=True)
class FieldMap:
    """Product field (or ``attributes.<name>``, ``attributes.*``) -> the source columns it reads."""

    sources: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def parse(cls, entries: Iterable[str], option: str = "--map") -> FieldMap:
        """``target=source[,source...]`` entries; a bad one raises InvalidInputError naming ``option``
        and the target."""
        sources: dict[str, tuple[str, ...]] = {}
        for entry in entries:
            target, equals, source = (part.strip() for part in entry.partition("="))
            where = f"{option}.{target}" if target else option
            if not equals or not target or not source:
                raise InvalidInputError(where, f"{entry!r}: write target=source (e.g. title=name)")
            _check_target(target, where)
            parts = tuple(part.strip() for part in source.split(","))
            if any(not part for part in parts):
                raise InvalidInputError(where, f"{source!r}: an empty source column")
            if len(parts) > 1 and target != "category_path":
                raise InvalidInputError(where, "only category_path reads several columns")
            if target in sources:
                raise InvalidInputError(where, "mapped twice")
            sources[target] = parts
        return cls(sources)

    def product(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """``row`` in the upload format (what ``ProductIn`` validates); missing values left out."""
        out: dict[str, Any] = {}
        for name in FIELDS:
            paths = self.sources.get(name, (name,))
            if name == "category_path":
                path = _category_path([lookup(row, p) for p in paths])
                if path:
                    out[name] = path
                continue
            value = _present(lookup(row, paths[0]))
            if value is None:
                continue
            if name in WHOLE_FIELDS:
                value = _whole(value)
            elif name in NUMBER_FIELDS:
                value = _number(value)
            elif name == "product_id" and isinstance(value, int | float) and not isinstance(value, bool):
                value = _number_text(value)
            out[name] = value
        attributes = self._attributes(row)
        if attributes:
            out[ATTRIBUTES] = attributes
        return out

    def _attributes(self, row: Mapping[str, Any]) -> dict[str, Any]:
        attributes: dict[str, Any] = {}
        for source in self.sources.get(f"{ATTRIBUTES}.{SPREAD}", ()):
            nested = _present(lookup(row, source))
            if isinstance(nested, Mapping):
                attributes.update({str(k): _text(v) for k, v in nested.items() if _present(v) is not None})
            elif nested is not None:
                attributes[source] = nested  # not a map: ProductIn names it
        if ATTRIBUTES not in self.sources and isinstance(row.get(ATTRIBUTES), Mapping):
            attributes.update({str(k): _text(v) for k, v in row[ATTRIBUTES].items() if _present(v) is not None})
        for target, (source,) in ((t, s) for t, s in self.sources.items() if t.startswith(f"{ATTRIBUTES}.")):
            name = target.removeprefix(f"{ATTRIBUTES}.")
            value = _present(lookup(row, source))
            if name != SPREAD and value is not None:
                attributes[name] = _text(value)
        return attributes

    def read_columns(self) -> set[str]:
        """The top-level columns this mapping reads (the rest of a row is not loaded)."""
        named = {path.split(".")[0] for paths in self.sources.values() for path in paths}
        return named | {name for name in (*FIELDS, ATTRIBUTES) if name not in self.sources}


def preset_for(row: Mapping[str, Any]) -> str:
    """The preset a catalog's first row reads with: the fashion format's rows have ``id`` and a
    ``master_category``, no ``product_id``; anything else is read as the upload format."""
    fashion = "product_id" not in row and "id" in row and "master_category" in row
    return "fashion" if fashion else "upload"


def lookup(row: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted ``path`` (a column named with the dots wins); None where absent."""
    if path in row:
        return row[path]
    value: Any = row
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _check_target(target: str, where: str) -> None:
    if target in FIELDS:
        return
    name = target.removeprefix(f"{ATTRIBUTES}.")
    if target.startswith(f"{ATTRIBUTES}.") and (name == SPREAD or _NAME.match(name)):
        return
    raise InvalidInputError(
        where, f"not a product field: map onto one of {', '.join(FIELDS)}, or attributes.<name>, or attributes.*"
    )


def _present(value: Any) -> Any:
    """None for what a file holds where there is no value: an empty or blank cell, a NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _category_path(values: Sequence[Any]) -> list[Any]:
    parts: list[Any] = []
    for value in map(_present, values):
        if value is None:
            continue
        if isinstance(value, str) and len(values) == 1:
            parts.extend(p for p in _CATEGORY_SEPARATOR.split(value.strip()) if p)
        elif isinstance(value, list | tuple):
            parts.extend(v for v in value if _present(v) is not None)
        else:
            parts.append(value)
    return parts


def _whole(value: Any) -> Any:
    """ "2012" and "2012.0" (a CSV's cell, pandas' float column) as 2012; anything else as given,
    for ProductIn to name."""
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if number.is_integer() else value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _number(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _number_text(value: int | float) -> str:
    return str(int(value)) if isinstance(value, int) or value.is_integer() else str(value)


def _text(value: Any) -> Any:
    """An attribute's value as text: numbers and booleans as a shop writes them; a list or a map as
    given, for ProductIn to name."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _number_text(value)
    return value


# the shared fashion catalog (products.jsonl of ../shared/data/fashion) in the upload format
FASHION_FORMAT = FieldMap.parse(["product_id=id", "category_path=master_category,sub_category"])
PRESETS = {"upload": FieldMap(), "fashion": FASHION_FORMAT}
