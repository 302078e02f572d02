"""Products as merchants send them, validated, and as they are stored in OpenSearch."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from hybrid_search.core.errors import InvalidInputError
from hybrid_search.core.photos import is_url

PRODUCT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
MERCHANT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
PROFILE_NAME_PATTERN = r"[a-z0-9][a-z0-9_-]{0,63}"
# what a search or an evaluation names: a profile's active version ("default"), or one version ("default@3")
PROFILE_REFERENCE_PATTERN = rf"^{PROFILE_NAME_PATTERN}(@[0-9]{{1,9}})?$"
# A product as the rest of the world names it: "<merchant>/<product id>", or the product id alone
# where one merchant uses it. Neither id may hold a "/", so the first one splits them.
PRODUCT_REF_PATTERN = r"^([A-Za-z0-9][A-Za-z0-9._-]{0,63}/)?[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
STATUSES = ("pending", "ready", "failed")


def _not_boolean(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be a whole number, not a boolean")
    return value


# An integer from a JSON number without a fraction or a string of digits; true is not 1.
Whole = Annotated[int, BeforeValidator(_not_boolean)]
_WHOLE = TypeAdapter(Whole)


def whole(value: Any, field: str) -> int:
    """``value`` as a Whole outside a model (raw query DSL); InvalidInputError naming ``field``."""
    try:
        return _WHOLE.validate_python(value)
    except ValidationError:
        raise InvalidInputError(field, "must be a whole number") from None


def doc_id(merchant_id: str, product_id: str) -> str:
    """The OpenSearch document id of a merchant's product: ids are the merchant's own, so two
    merchants may both have a product "42" and neither can reach, squat or probe the other's."""
    return f"{merchant_id}/{product_id}"


def split_doc_id(document_id: str) -> tuple[str | None, str]:
    """(merchant, the merchant's own id) of a document id; (None, the id) for an id without a merchant.
    A merchant id has no "/", so the first one splits."""
    merchant, slash, own = document_id.partition("/")
    return (merchant, own) if slash else (None, document_id)


def product_id_of(document_id: str) -> str:
    """The merchant's own id inside a document id (the whole of an id without a merchant)."""
    return split_doc_id(document_id)[1]


def merchant_id(value: str, field: str = "merchant") -> str:
    """``value`` if it is a valid merchant id; InvalidInputError naming ``field`` otherwise."""
    if not re.fullmatch(MERCHANT_ID_PATTERN, value):
        raise InvalidInputError(
            field, "must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return value


class ProductIn(BaseModel):
    """One product as a merchant uploads it; ``image`` names an uploaded file or an import path."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    product_id: str = Field(pattern=PRODUCT_ID_PATTERN)
    title: str = Field(min_length=1, max_length=512)
    description: str = Field("", max_length=10_000)
    brand: str = Field("", max_length=128)
    category_path: tuple[str, ...] = Field((), max_length=8)
    article_type: str = Field("", max_length=128)
    colour: str = Field("", max_length=64)
    gender: str = Field("", max_length=32)
    usage: str = Field("", max_length=64)
    season: str = Field("", max_length=32)
    year: Whole | None = Field(None, ge=1900, le=2100)
    price: float | None = Field(None, ge=0, le=1e9, allow_inf_nan=False)
    currency: str = Field("", pattern=r"^([A-Z]{3})?$")
    attributes: dict[str, str] = Field(default_factory=dict, max_length=64)
    image: str | None = Field(None, min_length=1, max_length=1024)

    @field_validator("category_path")
    @classmethod
    def _category_parts(cls, parts: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(part.strip() for part in parts)
        if any(not part or len(part) > 128 for part in cleaned):
            raise ValueError("every category must be 1 to 128 characters")
        return cleaned


def parse_model(model: type[BaseModel], data: Any, prefix: str = "") -> Any:
    """Validate ``data`` as ``model``; the first error raises InvalidInputError naming its field
    (``prefix`` + dotted path, list positions in brackets; ``prefix`` alone, or "body", for the whole)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"]).lstrip(".")
        raise InvalidInputError(f"{prefix}{where}".rstrip(".") or "body", error["msg"]) from None


def parse_products(rows: Iterable[Any], field_prefix: str = "products") -> list[ProductIn]:
    """Validate every row; the first bad one raises InvalidInputError naming ``products[i].field``.

    Duplicate ids in one upload are rejected too, so a batch is all-or-nothing.
    """
    products: list[ProductIn] = []
    seen: set[str] = set()
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise InvalidInputError(f"{field_prefix}[{i}]", "must be a JSON object")
        product = parse_model(ProductIn, row, f"{field_prefix}[{i}].")
        if product.product_id in seen:
            raise InvalidInputError(f"{field_prefix}[{i}].product_id", f"duplicate id {product.product_id!r}")
        seen.add(product.product_id)
        products.append(product)
    if not products:
        raise InvalidInputError(field_prefix, "no products given")
    return products


def content_hash(product: ProductIn, image_hash: str | None) -> str:
    """Fingerprint of everything embedding depends on: same id and hash means same vectors."""
    payload = product.model_dump(exclude={"image"}, mode="json")
    payload["image_hash"] = image_hash
    if image_hash is None and product.image and is_url(product.image):
        payload["image_url"] = product.image  # another URL is another photo (kept apart: other hashes stay)
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def product_document(
    product: ProductIn,
    merchant_id: str,
    image_hash: str | None,
    specs: dict[str, Any] | None = None,
    specs_text: str = "",
) -> dict[str, Any]:
    """The pending OpenSearch document for ``product`` (vectors come later, from a worker), with its
    catalog schema's declared fields typed (``specs``: ``CatalogSchema.specs``) and the searchable
    ones' values (``specs_text``: ``CatalogSchema.search_text``)."""
    now = datetime.now(UTC).isoformat()
    fields = product.model_dump(exclude={"image", "category_path"}, exclude_none=True)
    doc: dict[str, Any] = {key: value for key, value in fields.items() if value not in ("", {})}
    if product.category_path:
        doc["category_path"] = doc["category"] = " > ".join(product.category_path)
    doc.update(
        merchant_id=merchant_id,
        image_hash=image_hash,
        has_image=image_hash is not None,
        status="pending",
        status_reason=None,
        content_hash=content_hash(product, image_hash),
        created_at=now,
        updated_at=now,
    )
    if image_hash is None and product.image and is_url(product.image):
        doc["image_path"] = product.image  # the worker that embeds it fetches it and sets image_hash
    if specs:
        doc["specs"] = specs
    if specs_text:
        doc["specs_text"] = specs_text
    return doc


def embedding_text(doc: dict[str, Any]) -> str:
    """What the text encoder reads for a product: the title, then its attribute values (and its
    catalog schema's searchable ones)."""
    attributes = [doc.get(key, "") for key in ("brand", "article_type", "colour", "gender", "usage", "season")]
    category = doc.get("category_path", "").replace(" > ", " ")
    tail = " ".join(part for part in [*attributes, category, doc.get("specs_text", "")] if part)
    description = doc.get("description", "")
    return ". ".join(part for part in (doc["title"], tail, description) if part)


ACTIONS = ("impression", "click", "add_to_cart", "purchase")
FILTER_FIELDS = ("article_type", "category", "colour", "gender", "usage", "merchant_id")
# the attributes a tagger may predict for a product that lacks them, kept beside as tags.<name>.value
TAGGED = ("article_type", "colour", "gender", "usage", "season")


class TagReview(BaseModel):
    """A merchant's answer to a tag: the value is right (the tag's own) or this one is; either way it
    becomes the product's own value, and a label for the next training run."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    product_id: str = Field(pattern=PRODUCT_ID_PATTERN)
    attribute: Literal[TAGGED]
    value: str = Field(min_length=1, max_length=128)


class SearchRequest(BaseModel):
    """One /search call; at least one of ``q``, a photo or ``like`` is required."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    q: str = Field("", max_length=512)
    like: str | None = Field(None, pattern=PRODUCT_REF_PATTERN)
    user_id: str | None = Field(None, min_length=1, max_length=128)
    article_type: tuple[str, ...] = ()
    category: tuple[str, ...] = ()
    colour: tuple[str, ...] = ()
    gender: tuple[str, ...] = ()
    usage: tuple[str, ...] = ()
    merchant_id: tuple[str, ...] = ()
    price_min: float | None = Field(None, ge=0, allow_inf_nan=False)
    price_max: float | None = Field(None, ge=0, allow_inf_nan=False)
    page: Whole = Field(1, ge=1, le=1000)
    size: Whole = Field(10, ge=1, le=100)
    profile: str = Field("default", pattern=PROFILE_REFERENCE_PATTERN)  # a name (its active version) or name@version
    explain: bool = False
    why: bool = False  # with explain and a user: the user's top matching attributes and nearest history products
    engine: Literal["auto", "opensearch-hybrid", "msearch"] = "auto"  # who blends; auto: HYBRID_SEARCH_BLEND_ENGINE
    # any filterable field of the catalog schema (core/schema.py): any of the values, or a range lo..hi
    filter: dict[str, tuple[str, ...]] = Field(default_factory=dict, max_length=32)
    # value counts of these facets of the catalog schema over the search's match set, which then gives ``total`` too
    facets: tuple[str, ...] = Field((), max_length=32)
    # the match set in this order ("price", "price:desc", ...; relevance breaks ties) instead of the
    # blend; the schema says which fields sort
    sort: tuple[str, ...] = Field((), max_length=8)
    # whose attribute values the filters read: the merchants' alone, or the taggers' too where a
    # product lacks one (the default: a shopper who filters on black wants every black product)
    tags: Literal["merchant", "predicted"] = "predicted"

    def filters(self) -> dict[str, tuple[str, ...]]:
        return {name: getattr(self, name) for name in FILTER_FIELDS if getattr(self, name)}


class EventObject(BaseModel):
    model_config = ConfigDict(extra="forbid")
    object_id: str = Field(pattern=PRODUCT_REF_PATTERN)
    # the only id the catalog knows its products by: any other would skip the check that the product exists
    object_id_field: Literal["product_id"] = "product_id"
    description: str | None = Field(None, max_length=1024)


class EventPosition(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ordinal: Whole | None = Field(None, ge=0)
    page_depth: Whole | None = Field(None, ge=0)


class EventAttributes(BaseModel):
    model_config = ConfigDict(extra="forbid")
    object: EventObject
    position: EventPosition | None = None
    value: float | None = Field(None, allow_inf_nan=False)


class EventIn(BaseModel):
    """A user behaviour event in OpenSearch User Behavior Insights style."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    action_name: str
    query_id: str | None = Field(None, max_length=128)
    session_id: str | None = Field(None, max_length=128)
    client_id: str | None = Field(None, max_length=128)
    user_id: str | None = Field(None, min_length=1, max_length=128)
    application: str | None = Field(None, max_length=128)
    timestamp: datetime = Field(default_factory=lambda: datetime.now(UTC))
    message_type: str | None = Field(None, max_length=64)
    message: str | None = Field(None, max_length=2048)
    event_attributes: EventAttributes

    @field_validator("timestamp")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return value if value.tzinfo else value.replace(tzinfo=UTC)  # no offset: UTC, as UBI sends

    @field_validator("action_name")
    @classmethod
    def _known_action(cls, value: str) -> str:
        if value not in ACTIONS:
            raise ValueError(f"must be one of {', '.join(ACTIONS)}")
        return value
