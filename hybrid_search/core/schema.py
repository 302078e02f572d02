"""A shop's catalog schema: the fields its products have, of which type, and what each is for
(filtered on, counted as a facet, sorted by), declared by the shop and recorded with the index (pure).

The built-in fields (title, brand, the fashion attributes, price, year...) are the upload format's
and keep their mappings; a schema gives them roles. Any other field a schema declares is read from a
product's ``attributes`` and indexed as a real field of its type under ``specs.<name>``, where a
filter, a facet or a sort can reach it (``attributes`` itself is a flat object: searchable by
value, but nothing can count or range over it). A schema is versioned when it is applied: a new
version that adds fields or changes roles is mapped in place; one that changes the type an index
maps a field as needs a new mapping, so it is built as a new index and the alias swapped to it
(``mapping_version`` names the version whose mapping an index was built for).

``hybrid_search/core/schemas/fashion.json`` is the shared fashion catalog's: it gives the built-in
fields the roles /search had before schemas (the default where an index records none).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hybrid_search.core.catalog import ProductIn, parse_model
from hybrid_search.core.errors import InvalidInputError

FieldType = Literal["keyword", "text", "number", "boolean", "date"]
# the built-in attributes the query's attribute heads read (and the taggers tag)
Understood = Literal["article_type", "colour", "gender", "usage", "season"]
SPECS = "specs"  # declared fields live in the index as specs.<name>
SPECS_TEXT = "specs_text"  # the searchable ones' values, as one text the text encoder reads
SPECS_TEXT_MAPPING = {"type": "text", "analyzer": "english", "fields": {"zh": {"type": "text", "analyzer": "cjk"}}}
FIELD_NAME = r"^[a-z][a-z0-9_]{0,63}$"
# the upload format's own fields and their types: a schema may give them roles, not other types
BUILT_IN: dict[str, FieldType] = {
    "title": "text",
    "description": "text",
    "brand": "keyword",
    "category": "keyword",
    "article_type": "keyword",
    "colour": "keyword",
    "gender": "keyword",
    "usage": "keyword",
    "season": "keyword",
    "currency": "keyword",
    "year": "number",
    "price": "number",
}
# where a built-in field's filters, facets and sorts read it, where not the field itself (the
# brand is searched as text: its keyword is a sub-field, lower-cased)
BUILT_IN_PATHS = {"brand": "brand.keyword"}
# not the shop's fields but every index's: always filterable / sortable
SYSTEM_FILTERS = ("merchant_id",)
SYSTEM_SORTS = ("popularity", "created_at", "updated_at")
RANGED = ("number", "date")
# OpenSearch's built-in analysers a searchable field may be analysed by, one sub-field each: the
# language analysers (stemming, stop words), ``cjk`` (bigrams of Chinese, Japanese and Korean) and
# ``standard`` (words as written, lower-cased)
Analyzer = Literal[
    "english", "cjk", "standard", "arabic", "catalan", "czech", "danish", "dutch", "finnish", "french",
    "german", "greek", "hindi", "hungarian", "indonesian", "italian", "norwegian", "portuguese",
    "romanian", "russian", "spanish", "swedish", "thai", "turkish",
]  # fmt: skip
DEFAULT_ANALYZERS: tuple[Analyzer, ...] = ("english", "cjk")
# the built-in fields BM25 searches: where (a text field analysed in English, with a CJK sub-field
# ``zh``), and each analyser's boost where the schema gives none (the boosts /search had before schemas)
BUILT_IN_SEARCHED: dict[str, tuple[str, dict[str, float]]] = {
    "title": ("title", {"english": 3.0, "cjk": 2.0}),
    "brand": ("brand", {"english": 2.0, "cjk": 1.0}),
    "category": ("category_path", {"english": 1.0, "cjk": 1.0}),
    "description": ("description", {"english": 1.0, "cjk": 1.0}),
}
MAPPINGS: dict[FieldType, dict[str, Any]] = {
    "keyword": {"type": "keyword", "ignore_above": 256},
    "text": {"type": "text", "analyzer": "english"},
    "number": {"type": "double"},
    "boolean": {"type": "boolean"},
    "date": {"type": "date"},
}
_TRUE, _FALSE = ("true", "yes", "1"), ("false", "no", "0")


class FieldSpec(BaseModel):
    """One field: its type and its roles."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: FieldType
    # a declared keyword or text field's values are searched by BM25 and read by the text encoder;
    # the built-in text fields (title, brand, category, description) are searched whether or not
    # declared so, and declaring one searchable gives it its own boost and analysers
    searchable: bool = False
    # a searchable field's BM25 weight beside the others' (the built-in ones: title 3, brand 2, the
    # rest 1, and their CJK analysis a little less, where not given)
    boost: float | None = Field(None, gt=0, le=100)
    # the languages its words are analysed in, each a sub-field BM25 searches (English and CJK where
    # not given): a French shop's titles stemmed as French, say
    analyzers: tuple[Analyzer, ...] | None = Field(None, min_length=1, max_length=8)
    # the built-in attribute a shop's own field is (its "kind" is the product's type): stored there,
    # so the attribute heads, the lexicon, the taggers and the embedding read it, and filtered,
    # counted and sorted under the shop's name
    understood_as: Understood | None = None
    # a field of the shop's own (a material, a room) that the query's attribute heads learn, as they
    # learn the built-in attributes: a query naming one of its values, in any words the text encoder
    # reads, scores the products that have it in the attributes leg (a head named specs.<name>)
    understood: bool = False
    filterable: bool = False  # /search?filter[name]=a,b (a range lo..hi for a number or a date)
    facet: bool = False  # /search?facets=name counts its values over the match set
    sortable: bool = False  # /search?sort=name:desc
    # in the products /search's hits carry (a presentation role: the index and an admin still hold
    # it): a shop's cost price or supplier code is searched or filtered on, and not shown
    shown: bool = True

    @model_validator(mode="after")
    def _roles_fit_the_type(self) -> FieldSpec:
        if self.type == "text":
            for role in ("filterable", "facet", "sortable"):
                if getattr(self, role):
                    raise ValueError(f"a text field is searched, not {role}: declare it a keyword")
        if self.facet and self.type == "date":
            raise ValueError("a date is filtered by a range, not counted as a facet")
        if self.understood and (self.type != "keyword" or self.understood_as):
            raise ValueError("the heads learn a keyword's values: one of the shop's own (not understood_as)")
        if self.understood_as and (self.type != "keyword" or self.searchable):
            raise ValueError(f"a field understood as {self.understood_as} is a keyword, searched as the attribute is")
        if self.searchable and self.type not in ("keyword", "text"):
            raise ValueError(f"a {self.type} is filtered, not searched by its words: declare it a keyword or text")
        if (self.boost is not None or self.analyzers is not None) and not self.searchable:
            raise ValueError("a boost and analyzers are a searchable field's: declare it searchable")
        if self.analyzers is not None and len(set(self.analyzers)) != len(self.analyzers):
            raise ValueError("each analyzer once")
        if not self.shown and (self.facet or self.sortable):
            raise ValueError("a field not shown is not counted or sorted by: hits and facets would show its values")
        return self


class CatalogSchema(BaseModel):
    """A shop's fields by name (built-in ones with roles, others declared), and its version."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    version: int = Field(0, ge=0)  # given when applied: the version the index records
    # given when applied: the version whose field types the index was built with (0: the first index)
    mapping_version: int = Field(0, ge=0)
    fields: dict[str, FieldSpec] = Field(max_length=256)

    @field_validator("fields")
    @classmethod
    def _names_and_built_in_types(cls, fields: dict[str, FieldSpec]) -> dict[str, FieldSpec]:
        for name, spec in fields.items():
            if not re.match(FIELD_NAME, name):
                raise ValueError(f"{name!r}: a field name is 1 to 64 lower-case letters, digits or '_'")
            if name in (*SYSTEM_FILTERS, *SYSTEM_SORTS, SPECS, SPECS_TEXT, "attributes", "tags"):
                raise ValueError(f"{name!r} is a field every index has: name yours otherwise")
            if name in BUILT_IN and spec.type != BUILT_IN[name]:
                raise ValueError(f"{name!r} is built in as {BUILT_IN[name]}, not {spec.type}")
            if name in BUILT_IN and (spec.understood_as or spec.understood):
                raise ValueError(f"{name!r} is built in: the heads understand a field of the shop's own")
            if name in BUILT_IN and spec.searchable and name not in BUILT_IN_SEARCHED:
                searched = ", ".join(BUILT_IN_SEARCHED)
                raise ValueError(f"{name!r} is searched as an attribute, not by its words (built in: {searched})")
        slots: dict[str, str] = {}
        for name, spec in fields.items():
            if spec.understood_as:
                if spec.understood_as in fields or spec.understood_as in slots:
                    taken = slots.get(spec.understood_as, spec.understood_as)
                    raise ValueError(f"{name!r} and {taken!r} both name the product's {spec.understood_as}")
                slots[spec.understood_as] = name
        return fields

    @classmethod
    def parse(cls, data: Any) -> CatalogSchema:
        """``data`` validated; InvalidInputError names the field (``fields.seats.type``)."""
        return parse_model(cls, data)

    @property
    def declared(self) -> dict[str, FieldSpec]:
        """The fields beyond the built-in ones: read from ``attributes``, indexed under ``specs``
        (those understood as a built-in attribute are stored there instead)."""
        return {n: spec for n, spec in self.fields.items() if n not in BUILT_IN and not spec.understood_as}

    @property
    def heads(self) -> list[str]:
        """The heads the shop's own fields add to the built-in attributes', named by where the field
        is in the index (``specs.material``): what a query's intent and the attributes leg read."""
        return [f"{SPECS}.{name}" for name, spec in self.declared.items() if spec.understood]

    def understood(self, attributes: Mapping[str, str]) -> dict[str, str]:
        """The built-in attributes a product's own fields give (``{"article_type": <its kind>}``)."""
        return {
            spec.understood_as: str(attributes[name]).strip()
            for name, spec in self.fields.items()
            if spec.understood_as and str(attributes.get(name) or "").strip()
        }

    def with_understood(self, product: ProductIn, field_prefix: str) -> ProductIn:
        """``product`` with the built-in attributes its own fields give, where it lacks them;
        InvalidInputError names ``<field_prefix>.attributes.<field>`` for a value the attribute refuses."""
        given = {slot: v for slot, v in self.understood(product.attributes).items() if not getattr(product, slot)}
        if not given:
            return product
        named = {spec.understood_as: name for name, spec in self.fields.items() if spec.understood_as}
        for slot, value in given.items():
            try:
                ProductIn.model_validate({**product.model_dump(), slot: value})
            except ValidationError as exc:
                raise InvalidInputError(f"{field_prefix}.attributes.{named[slot]}", exc.errors()[0]["msg"]) from None
        return product.model_copy(update=given)

    def path(self, name: str) -> str:
        """Where a field is in the index."""
        spec = self.fields.get(name)
        if spec is not None and spec.understood_as:
            name = spec.understood_as
        if name in BUILT_IN_PATHS:
            return BUILT_IN_PATHS[name]
        return name if name in (*BUILT_IN, *SYSTEM_FILTERS, *SYSTEM_SORTS) else f"{SPECS}.{name}"

    def mapping(self) -> dict[str, Any]:
        """The ``specs`` object's mapping: one property per declared field, a searchable one with a
        sub-field per analyser it is searched in."""
        properties = {}
        for name, spec in sorted(self.declared.items()):
            properties[name] = dict(MAPPINGS[spec.type])
            if subfields := self._subfields(name):
                properties[name]["fields"] = subfields
        return {"type": "object", "dynamic": False, "properties": properties}

    def built_in_subfields(self) -> dict[str, dict[str, Any]]:
        """The analyser sub-fields the built-in text fields get beyond the template's ``zh`` (an index
        path -> its sub-fields' mappings): a French shop's ``title.french``."""
        out = {}
        for name, (path, _) in BUILT_IN_SEARCHED.items():
            if subfields := {sub: m for sub, m in self._subfields(name).items() if sub != "zh"}:
                out[path] = subfields
        return out

    def analysed(self) -> dict[str, list[str]]:
        """Every searched field's index path -> the sub-fields its analysers need (built-in and declared)."""
        out = {path: list(subs) for path, subs in self.built_in_subfields().items()}
        out |= {f"{SPECS}.{name}": list(self._subfields(name)) for name in self.declared}
        return {path: subs for path, subs in out.items() if subs}

    def bm25_fields(self, cjk: bool = True) -> tuple[str, ...]:
        """What the BM25 leg searches (``path^boost``): the built-in text fields, then the declared
        searchable ones, each in every analyser it is analysed in, at its boost.

        Without ``cjk`` (a query with no Chinese, Japanese or Korean character), a field's ``cjk``
        sub-field is left out where the field has another analyser: it reads Latin words as they
        are typed, the same match as the field's own, and half the BM25 leg's time (71 against 36
        ms for "black men's shirt" on 1M products)."""
        fields = []
        for name in (*BUILT_IN_SEARCHED, *self.declared):
            base, analysis = self._analysis(name)
            if not cjk and len(analysis) > 1:
                analysis = [entry for entry in analysis if entry[1] != "cjk"]
            for sub, _, boost in analysis:
                path = f"{base}.{sub}" if sub else base
                fields.append(path if boost == 1 else f"{path}^{boost:g}")
        return tuple(fields)

    def _analysis(self, name: str) -> tuple[str, list[tuple[str | None, str, float]]]:
        """Where field ``name`` is in the index, and (its sub-field, None for the field itself; the
        analyser; the boost) of each language it is searched in: none where it is not searched."""
        spec = self.fields.get(name)
        if name in BUILT_IN_SEARCHED:
            base, defaults = BUILT_IN_SEARCHED[name]
            analysed_main = True  # the built-in text fields are analysed in English
        else:
            base, defaults = f"{SPECS}.{name}", {}
            if spec is None or not spec.searchable:
                return base, []
            analysed_main = spec.type == "text"
        analyzers = (spec.analyzers if spec is not None else None) or DEFAULT_ANALYZERS
        given = spec.boost if spec is not None else None
        return base, [
            (
                _subfield(a, analysed_main),
                a,
                given if given is not None else defaults.get(a, defaults.get("english", 1.0)),
            )
            for a in analyzers
        ]

    def _subfields(self, name: str) -> dict[str, dict[str, Any]]:
        """The sub-fields (name -> mapping) a searched field's analysers need beyond its main field."""
        return {sub: {"type": "text", "analyzer": a} for sub, a, _ in self._analysis(name)[1] if sub}

    def search_text(self, specs: Mapping[str, Any]) -> str:
        """The values of a product's searchable declared fields (``specs``), in the schema's order."""
        return " ".join(str(specs[n]) for n, spec in self.declared.items() if spec.searchable and n in specs)

    def shown(self, product: dict[str, Any]) -> dict[str, Any]:
        """``product`` (a stored document) without the fields the schema does not show: a built-in one
        (the category's path with it), the attribute a field is understood as (and a tagger's guess
        at it), a declared one's value in ``specs`` and in ``attributes`` (where the upload keeps
        it), and the searchable values' text where a hidden one is in it."""
        hidden = {name: spec for name, spec in self.fields.items() if not spec.shown}
        if not hidden:
            return product
        out = dict(product)
        for name, spec in hidden.items():
            tops = {"category": ("category", "category_path")}.get(name, (spec.understood_as or name,))
            for top in tops:
                out.pop(top, None)
            for nested, key in ((SPECS, name), ("attributes", name), ("tags", tops[0])):  # a tagger's guess too
                if isinstance(out.get(nested), dict) and key in out[nested]:
                    out[nested] = {k: v for k, v in out[nested].items() if k != key}
            if spec.searchable and name in self.declared:
                out.pop(SPECS_TEXT, None)
        return out

    def to_meta(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def retyped(self, mapped: Mapping[str, str]) -> list[str]:
        """The declared fields whose type differs from the type an index already maps them as
        (``mapped``: name -> OpenSearch type, a field a past version declared included): a mapping
        cannot change in place, so these need a new index."""
        return [
            name
            for name, spec in self.declared.items()
            if name in mapped and mapped[name] != MAPPINGS[spec.type]["type"]
        ]

    def specs(self, attributes: Mapping[str, Any], field_prefix: str) -> dict[str, Any]:
        """A product's declared fields, typed from its ``attributes``; InvalidInputError names
        ``<field_prefix>.attributes.<name>`` where a value is not of its field's type."""
        return {
            name: typed(kind, value, f"{field_prefix}.attributes.{name}")
            for name, kind, value in self._given(attributes)
        }

    def typed_specs(self, attributes: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """A product already indexed: its declared fields typed from its ``attributes``, and the names
        of those whose value is not of the field's type (left out: the value stays in ``attributes``)."""
        specs, not_of_type = {}, []
        for name, kind, value in self._given(attributes):
            try:
                specs[name] = typed(kind, value, name)
            except InvalidInputError:
                not_of_type.append(name)
        return specs, not_of_type

    def _given(self, attributes: Mapping[str, Any]) -> list[tuple[str, FieldType, str]]:
        """(name, type, value) of each declared field ``attributes`` gives a value (stripped) for."""
        given = [(name, spec.type, attributes.get(name)) for name, spec in self.declared.items()]
        stripped = [(name, kind, "" if value is None else str(value).strip()) for name, kind, value in given]
        return [(name, kind, value) for name, kind, value in stripped if value]

    def field_filters(self, filters: Mapping[str, Sequence[str]]) -> list[FieldFilter]:
        """/search's ``filter[name]`` values as filters on the index's fields: any of the values, or
        for a number or a date one range ``lo..hi`` (either end may be left open)."""
        out = []
        for name, values in filters.items():
            where = f"filter[{name}]"
            if name in SYSTEM_FILTERS:
                out.append(FieldFilter(self.path(name), tuple(values)))
                continue
            spec = self.fields.get(name)
            if spec is None or not spec.filterable:
                raise InvalidInputError(where, f"not a filterable field; filterable: {', '.join(self.filterable)}")
            ranged = [v for v in values if ".." in v]
            if ranged and (spec.type not in RANGED or len(values) != 1):
                raise InvalidInputError(where, "a range lo..hi is one value, for a number or a date")
            if ranged:
                low, _, high = ranged[0].partition("..")
                bounds = [typed(spec.type, v.strip(), where) if v.strip() else None for v in (low, high)]
                if bounds == [None, None]:
                    raise InvalidInputError(where, "a range needs one end at least: lo.., ..hi or lo..hi")
                out.append(FieldFilter(self.path(name), gte=bounds[0], lte=bounds[1]))
            else:
                out.append(FieldFilter(self.path(name), tuple(typed(spec.type, v, where) for v in values)))
        return out

    def facet_paths(self, names: Sequence[str]) -> dict[str, str]:
        """Facet name -> the field it counts; InvalidInputError names ``facets`` for one that is none."""
        for name in names:
            spec = self.fields.get(name)
            if name not in SYSTEM_FILTERS and (spec is None or not spec.facet):
                raise InvalidInputError("facets", f"{name!r} is not a facet; facets: {', '.join(self.facets)}")
        return {name: self.path(name) for name in names}

    def sort_clauses(self, keys: Sequence[str]) -> list[dict[str, str]]:
        """/search's ``sort`` keys ("price", "price:desc") as OpenSearch reads them (ascending by default)."""
        clauses = []
        for key in keys:
            name, _, order = key.partition(":")
            spec = self.fields.get(name)
            if order not in ("", "asc", "desc") or (name not in SYSTEM_SORTS and (spec is None or not spec.sortable)):
                raise InvalidInputError(
                    "sort", f"{key!r}: sort by {', '.join(self.sortable)}, each optionally :asc or :desc"
                )
            clauses.append({self.path(name): order or "asc"})
        return clauses

    @property
    def filterable(self) -> list[str]:
        return [*(n for n, s in self.fields.items() if s.filterable), *SYSTEM_FILTERS]

    @property
    def facets(self) -> list[str]:
        return [*(n for n, s in self.fields.items() if s.facet), *SYSTEM_FILTERS]

    @property
    def sortable(self) -> list[str]:
        return [*(n for n, s in self.fields.items() if s.sortable), *SYSTEM_SORTS]


def _subfield(analyzer: str, analysed_main: bool) -> str | None:
    """The sub-field a field's words are analysed by ``analyzer`` in (None: the field itself, a text
    field analysed in English): ``zh`` for CJK, as the template names it, else the analyser's name."""
    if analyzer == "english" and analysed_main:
        return None
    return "zh" if analyzer == "cjk" else analyzer


@dataclass(frozen=True)
class FieldFilter:
    """A filter on one field of the index: any of ``values``, or the range [gte, lte]."""

    path: str
    values: tuple[Any, ...] = ()
    gte: Any = None
    lte: Any = None


def typed(kind: FieldType, value: str, field: str) -> Any:
    """``value`` (text, as a file or a query string holds it) as a ``kind`` field indexes it."""
    if kind == "number":
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise InvalidInputError(field, f"{value!r} is not a number")
        return number
    if kind == "boolean":
        lowered = value.lower()
        if lowered not in (*_TRUE, *_FALSE):
            raise InvalidInputError(field, f"{value!r} is not a boolean (true or false)")
        return lowered in _TRUE
    if kind == "date":
        try:
            parsed = datetime.fromisoformat(value) if "T" in value or " " in value else date.fromisoformat(value)
        except ValueError:
            raise InvalidInputError(field, f"{value!r} is not a date (YYYY-MM-DD, or ISO 8601 with a time)") from None
        return parsed.isoformat()
    return value


@cache
def fashion_schema() -> CatalogSchema:
    """The shared fashion catalog's schema: the roles /search gave the built-in fields before schemas."""
    path = Path(__file__).with_name("schemas") / "fashion.json"
    return CatalogSchema.parse(json.loads(path.read_text(encoding="utf-8")))
