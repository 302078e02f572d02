import csv
import io
import json
import os

import pyarrow
import pyarrow.parquet
import pytest
from PIL import Image

from hybrid_search.core.errors import InvalidInputError
from hybrid_search.core.field_map import FieldMap
from hybrid_search.core.settings import Settings
from hybrid_search.indexing.catalog_files import read_catalog

ROWS = [
    {"sku": "m-1", "name": "Blue Mug", "specs": {"capacity": "350 ml"}, "cost": 4.5, "photo": "images/m-1.jpg"},
    {"sku": "m-2", "name": "Red Mug", "specs": {"capacity": "500 ml"}, "cost": 5.0, "photo": ""},
]
MAPPING = FieldMap.parse(["product_id=sku", "title=name", "price=cost", "image=photo", "attributes.*=specs"])
FLAT = FieldMap.parse(
    ["product_id=sku", "title=name", "price=cost", "image=photo", "attributes.capacity=specs.capacity"]
)


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (20, 40, 200)).save(out, "JPEG")
    return out.getvalue()


def write_photo(folder):
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "images" / "m-1.jpg").write_bytes(jpeg())


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def write_csv(path, rows):
    flat = [
        {**{k: v for k, v in row.items() if k != "specs"}, "specs.capacity": row["specs"]["capacity"]} for row in rows
    ]
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(flat[0]))
        writer.writeheader()
        writer.writerows(flat)


@pytest.fixture
def settings(tmp_path):
    return Settings(data_dir=tmp_path / "data")


def test_jsonl_csv_and_parquet_of_one_catalog_read_alike(tmp_path, settings):
    for name in ("jsonl", "csv", "parquet"):
        write_photo(tmp_path / name)
    write_jsonl(tmp_path / "jsonl" / "products.jsonl", ROWS)
    write_csv(tmp_path / "csv" / "products.csv", ROWS)
    pyarrow.parquet.write_table(pyarrow.Table.from_pylist(ROWS), tmp_path / "parquet" / "products.parquet")
    read = {name: read_catalog(tmp_path / name, settings, FLAT) for name in ("jsonl", "csv", "parquet")}
    assert read["jsonl"].products == read["csv"].products == read["parquet"].products
    first, second = read["csv"].products
    assert first.attributes == {"capacity": "350 ml"} and first.price == 4.5 and first.image == "images/m-1.jpg"
    assert second.image is None
    assert read["jsonl"].read_as == "mapped" and read["jsonl"].unread_columns == ()


def test_a_bad_last_row_fails_the_whole_file_naming_file_row_and_field(tmp_path, settings):
    write_photo(tmp_path)
    write_jsonl(tmp_path / "products.jsonl", [*ROWS, {**ROWS[1], "sku": "m-3", "cost": -2}])
    with pytest.raises(InvalidInputError) as info:
        read_catalog(tmp_path, settings, MAPPING)
    assert info.value.field == "products.jsonl[2].price"


def test_a_missing_or_broken_photo_fails_before_anything_is_read_as_loaded(tmp_path, settings):
    write_photo(tmp_path)
    write_jsonl(tmp_path / "products.jsonl", [*ROWS, {**ROWS[0], "sku": "m-3", "photo": "images/nope.jpg"}])
    with pytest.raises(InvalidInputError, match="no file") as info:
        read_catalog(tmp_path, settings, MAPPING)
    assert info.value.field == "products.jsonl[2].image"
    (tmp_path / "images" / "m-1.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    with pytest.raises(InvalidInputError) as info:
        read_catalog(tmp_path, settings, MAPPING)
    assert info.value.field == "products.jsonl[0].image"


def test_a_linked_images_folder_is_read_and_a_name_cannot_climb_out(tmp_path, settings):
    write_photo(tmp_path / "elsewhere")
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    os.symlink(tmp_path / "elsewhere" / "images", catalog / "images")
    write_jsonl(catalog / "products.jsonl", ROWS)
    assert read_catalog(catalog, settings, MAPPING).products[0].image == "images/m-1.jpg"
    write_jsonl(catalog / "products.jsonl", [{**ROWS[0], "photo": "../elsewhere/images/m-1.jpg"}])
    with pytest.raises(InvalidInputError, match="inside the import folder"):
        read_catalog(catalog, settings, MAPPING)
    write_jsonl(catalog / "products.jsonl", [{**ROWS[0], "photo": str(tmp_path / "elsewhere/images/m-1.jpg")}])
    with pytest.raises(InvalidInputError, match="inside the import folder"):
        read_catalog(catalog, settings, MAPPING)


def test_a_mapped_column_no_row_has_is_named(tmp_path, settings):
    write_photo(tmp_path)
    write_jsonl(tmp_path / "products.jsonl", ROWS)
    with pytest.raises(InvalidInputError, match="'colour_name'") as info:
        read_catalog(
            tmp_path,
            settings,
            FieldMap.parse([*[f"{t}={s[0]}" for t, s in MAPPING.sources.items()], "colour=colour_name"]),
        )
    assert info.value.field == "--map.colour"


def test_unmapped_rows_read_with_the_preset_their_first_row_asks_for(tmp_path, settings):
    (tmp_path / "products.jsonl").write_text(
        json.dumps({"id": 9, "title": "Shirt", "master_category": "Apparel", "sub_category": "Topwear", "year": "2011"})
        + "\n"
    )
    catalog = read_catalog(tmp_path, settings)
    assert catalog.read_as == "fashion"
    assert catalog.products[0].category_path == ("Apparel", "Topwear") and catalog.products[0].year == 2011
    (tmp_path / "products.jsonl").write_text(json.dumps({"product_id": "9", "title": "Shirt", "tint": "red"}) + "\n")
    catalog = read_catalog(tmp_path, settings)
    assert catalog.read_as == "upload" and catalog.unread_columns == ("tint",)


@pytest.mark.parametrize(
    ("files", "message"),
    [((), "holds none"), (("products.jsonl", "products.csv"), "holds 2")],
)
def test_a_folder_holds_one_catalog_file(tmp_path, settings, files, message):
    for name in files:
        (tmp_path / name).write_text("")
    with pytest.raises(InvalidInputError, match=message) as info:
        read_catalog(tmp_path, settings)
    assert info.value.field == "catalog"


def test_bad_json_and_an_empty_file_are_named(tmp_path, settings):
    (tmp_path / "products.jsonl").write_text('{"product_id": "a", "title": "x"}\n{"product_id": \n')
    with pytest.raises(InvalidInputError) as info:
        read_catalog(tmp_path, settings)
    assert info.value.field == "products.jsonl:2"
    (tmp_path / "products.jsonl").write_text("\n")
    with pytest.raises(InvalidInputError, match="no products"):
        read_catalog(tmp_path, settings)
    (tmp_path / "products.jsonl").write_text("[1, 2]\n")
    with pytest.raises(InvalidInputError) as info:
        read_catalog(tmp_path, settings)
    assert info.value.field == "products.jsonl[0]"
