"""A shop's catalog file (JSONL, CSV or Parquet) read whole and validated whole, before any of it
is uploaded: every row mapped (``core/field_map.py``) and checked as an upload is, every photo it
names read and decoded. A bad row or photo raises InvalidInputError naming the file, the row and
the field, and nothing is written."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hybrid_search.core.catalog import ProductIn, parse_products
from hybrid_search.core.errors import InvalidInputError
from hybrid_search.core.field_map import PRESETS, FieldMap, lookup, preset_for
from hybrid_search.core.schema import CatalogSchema
from hybrid_search.core.settings import Settings
from hybrid_search.indexing.ingest import check_photos

FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet"}
FOLDER_FILES = tuple(f"products{suffix}" for suffix in FORMATS)


@dataclass(frozen=True)
class CatalogFile:
    """A catalog read and validated: its products, the mapping that read them (a preset's name, or
    "mapped"), and the columns of its rows that no product field reads."""

    path: Path
    products: list[ProductIn]
    read_as: str
    unread_columns: tuple[str, ...]


def catalog_file(location: Path) -> Path:
    """``location`` itself, or the one products.{jsonl,ndjson,csv,parquet} of a folder."""
    if location.is_file():
        if location.suffix.lower() not in FORMATS:
            raise InvalidInputError("catalog", f"{location.name}: read are {', '.join(FORMATS)} files")
        return location
    found = [location / name for name in FOLDER_FILES if (location / name).is_file()]
    if len(found) != 1:
        named = ", ".join(FOLDER_FILES)
        raise InvalidInputError(
            "catalog", f"{location} holds {len(found) or 'none'} of {named}: one catalog file per folder"
        )
    return found[0]


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Every row of a JSONL, CSV (header row, UTF-8) or Parquet file, as a dict."""
    kind = FORMATS[path.suffix.lower()]
    if kind == "csv":
        with path.open(encoding="utf-8-sig", newline="") as lines:
            return [dict(row) for row in csv.DictReader(lines)]
    if kind == "parquet":
        try:
            import pyarrow.parquet
        except ImportError:
            raise InvalidInputError(
                "catalog", "reading Parquet needs pyarrow: pip install 'hybrid-search[parquet]'"
            ) from None
        try:
            return pyarrow.parquet.read_table(path).to_pylist()
        except pyarrow.ArrowException as exc:
            raise InvalidInputError(path.name, f"not a readable Parquet file ({exc})") from None
    rows = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise InvalidInputError(f"{path.name}:{number}", f"not JSON ({exc.msg})") from None
    return rows


def read_catalog(
    location: Path,
    settings: Settings,
    field_map: FieldMap | None = None,
    limit: int | None = None,
    schema: CatalogSchema | None = None,
) -> CatalogFile:
    """The catalog at ``location`` (a file, or a folder with one), mapped with ``field_map`` (else the
    preset its first row reads with), every product, its ``schema``'s fields and every photo
    validated; photos are read relative to the file's folder."""
    path = catalog_file(location)
    rows = read_rows(path)[:limit]
    if not rows:
        raise InvalidInputError(path.name, "no products in the file")
    if field_map is None:
        read_as = preset_for(rows[0])
        field_map = PRESETS[read_as]
    else:
        read_as = "mapped"
        _check_sources(field_map, rows, path.name)
    products = parse_products([_mapped(field_map, row, path.name, i) for i, row in enumerate(rows)], path.name)
    if schema is not None:
        products = [schema.with_understood(p, f"{path.name}[{i}]") for i, p in enumerate(products)]
        for i, product in enumerate(products):
            schema.specs(product.attributes, f"{path.name}[{i}]")
    check_photos(products, {}, settings.model_copy(update={"import_dir": path.parent}), path.name, keep=False)
    columns = {column for row in rows for column in row}
    return CatalogFile(path, products, read_as, tuple(sorted(columns - field_map.read_columns())))


def _mapped(field_map: FieldMap, row: Any, file: str, i: int) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise InvalidInputError(f"{file}[{i}]", "must be an object with the product's fields")
    return field_map.product(row)


def _check_sources(field_map: FieldMap, rows: Sequence[dict[str, Any]], file: str) -> None:
    """A mapped column that no row has is a typo, not a field every product lacks."""
    for target, sources in field_map.sources.items():
        for source in sources:
            if not any(isinstance(row, dict) and lookup(row, source) is not None for row in rows):
                raise InvalidInputError(f"--map.{target}", f"no row of {file} has a column {source!r}")
