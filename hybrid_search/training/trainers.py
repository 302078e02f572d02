"""The trainers the training run's steps call: behaviour vectors, the fusion, the attribute heads and
the taggers, each trained on the live index and recorded with it."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from hybrid_search.core.catalog import TAGGED, embedding_text, product_id_of
from hybrid_search.core.errors import InvalidInputError
from hybrid_search.core.schema import SPECS
from hybrid_search.core.settings import Settings
from hybrid_search.indexing.ingest import Enqueue, enqueue_in_batches
from hybrid_search.models.encoders.attributes import (
    ATTRIBUTES,
    NAMES_NONE,
    names,
    query_like_strings,
    stratified_sample,
    train_attribute_model,
)
from hybrid_search.models.encoders.behaviour import Interaction, build_behaviour_vectors, fusion_input
from hybrid_search.models.encoders.crosslingual import Vocabulary
from hybrid_search.models.encoders.device import l2_normalise
from hybrid_search.models.encoders.fusion import (
    ConcatFuser,
    FusionModel,
    LearnedFuser,
    retrieval_metrics,
    save_fusion,
    train_fusion,
)
from hybrid_search.models.encoders.lexicon import build_lexicon
from hybrid_search.models.encoders.tagger import AttributeTagger, fit_tagger, save_taggers, tags_for
from hybrid_search.models.encoders.text import TextEncoder
from hybrid_search.models.encoders.zero_shot import fit_zero_shot
from hybrid_search.stores.opensearch.catalog_schema import current_schema
from hybrid_search.stores.opensearch.client import OpenSearchClient
from hybrid_search.stores.opensearch.events import iter_interactions
from hybrid_search.stores.opensearch.indices import (
    alias_targets,
    building_indices,
)
from hybrid_search.stores.opensearch.products import (
    iter_product_ids,
    read_vectors,
    update_fields,
)

HELD_OUT = 2000  # held-out titles that measure the attribute heads (a share's 95% interval within 2 points)


def rebuild_behaviour_vectors(client: OpenSearchClient, settings: Settings, enqueue: Enqueue) -> dict[str, int]:
    """Recompute behaviour vectors from all events, store them, and re-queue changed products for fusion."""
    counts = {"products": 0, "with_behaviour": 0, "requeued": 0}
    for index in alias_targets(client, settings.products_alias) + building_indices(client, settings.products_alias):
        ids = list(iter_product_ids(client, index))
        vectors = build_behaviour_vectors(
            _keyed(iter_interactions(client, settings.events_alias), ids), ids, settings.behaviour_dim
        )
        previous = read_vectors(client, index, ["has_behaviour"], ids)
        changed = [
            pid for i, pid in enumerate(ids) if vectors.has_behaviour[i] or previous.get(pid, {}).get("has_behaviour")
        ]
        update_fields(
            client,
            index,
            {
                pid: {
                    "has_behaviour": bool(vectors.has_behaviour[i]),
                    "popularity": float(vectors.popularity[i]),
                    "click_rate": float(vectors.click_rate[i]),
                    # a product without events stores no vector (``fusion_input``); None removes the
                    # one a product kept from events since deleted (a forgotten user's)
                    "behaviour_vector": vectors.vectors[i].tolist() if vectors.has_behaviour[i] else None,
                }
                for i, pid in enumerate(ids)
            },
        )
        counts["products"] += len(ids)
        counts["with_behaviour"] += int(vectors.has_behaviour.sum())
        counts["requeued"] += enqueue_in_batches(changed, index, settings.embed_batch_size, enqueue)
    return counts


def _keyed(interactions: Iterable[Interaction], ids: Sequence[str]) -> Iterator[Interaction]:
    """Interactions on document ids: /events stores "<merchant>/<product id>", while UBI events written
    straight into the index may name a product by its id alone, which counts where one merchant has it."""
    shared = Counter(product_id_of(key) for key in ids)
    unique = {product_id_of(key): key for key in ids if shared[product_id_of(key)] == 1}
    for interaction in interactions:
        key = unique.get(interaction.product_id)
        yield replace(interaction, product_id=key) if key else interaction


def train_fusion_from_index(
    client: OpenSearchClient,
    settings: Settings,
    epochs: int = 30,
    holdout: float = 0.1,
    seed: int = 0,
    on_epoch: Callable[[int, float], None] | None = None,
    leave_out: Collection[str] = (),
) -> tuple[Path, dict[str, Any]]:
    """Train the fusion on the live index's own title/photo pairs and save a versioned artifact.

    A held-out share of the pairs measures text->photo retrieval for the trained projection and the
    untrained baselines (concatenation with a random projection, and an untrained model). Products in
    ``leave_out`` (e.g. the products whose photos are evaluation queries) are never trained on.
    """
    index = alias_targets(client, settings.products_alias)[0]
    rows = read_vectors(
        client,
        index,
        ["text_vector", "image_vector", "behaviour_vector", "has_behaviour", "article_type"],
        query={"term": {"has_image": True}},
        ready_only=True,
    )
    ids = sorted(rows)
    if len(ids) < 20:
        raise InvalidInputError("products", f"{len(ids)} ready products with photos; fusion needs at least 20")
    text = np.array([rows[i]["text_vector"] for i in ids], dtype=np.float32)
    image = np.array([rows[i]["image_vector"] for i in ids], dtype=np.float32)
    read = [fusion_input(rows[i], settings.behaviour_dim) for i in ids]
    behaviour = np.stack([vector for vector, _ in read])
    has_behaviour = np.array([has for _, has in read])
    labels = np.array([rows[i].get("article_type", "") for i in ids])
    order = np.random.default_rng(seed).permutation(len(ids))
    n_test = max(10, int(len(ids) * holdout))
    test, train = order[:n_test], order[n_test:]
    left_out = set(leave_out)
    train = np.array([i for i in train if ids[i] not in left_out and product_id_of(ids[i]) not in left_out], dtype=int)
    result = train_fusion(
        text[train],
        image[train],
        behaviour[train],
        has_behaviour[train],
        epochs=epochs,
        seed=seed,
        device=settings.device,
        on_epoch=on_epoch,
    )
    trained = LearnedFuser(result.model, "trained", settings.device)
    untrained = LearnedFuser(FusionModel(result.model.config), "untrained", settings.device)
    concat = ConcatFuser((text.shape[1], image.shape[1], behaviour.shape[1]), result.model.config.joint_dim)
    evaluation = {
        name: retrieval_metrics(fuser.text_query(text[test]), fuser.image_query(image[test]), labels=labels[test])
        for name, fuser in (("trained", trained), ("untrained", untrained), ("concat_random_projection", concat))
    }
    evaluation["chance"] = {"recall@10": min(1.0, 10 / n_test)}
    metadata = {
        "trained_on": {
            "index": index,
            "pairs": len(train),
            "held_out": n_test,
            "left_out": len(left_out & set(ids)),
            "epochs": epochs,
            "seed": seed,
        },
        "text_encoder": settings.text_encoder,
        "image_encoder": settings.image_encoder,
        "losses": result.losses,
        "evaluation": evaluation,
        "trained_at": datetime.now(UTC).isoformat(),
    }
    return save_fusion(result.model, settings.models_dir, metadata), metadata


def train_attributes_from_index(
    client: OpenSearchClient,
    settings: Settings,
    text_encoder: TextEncoder,
    query_strings: int = 6000,
    holdout: float = 0.1,
    seed: int = 0,
    progress: Callable[[str], None] = lambda _: None,
    sample: int | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Train the query-understanding heads on the live index and save them as an artifact: one per
    built-in attribute, and one per field of the shop's own its catalog schema declares understood.

    Examples per product: its stored passage vector and its title encoded as a query; plus
    ``query_strings`` short query-like strings made of real products' attribute values. A held-out
    share of products (titles as queries, at most HELD_OUT) measures each head's accuracy. The heads
    train on a sample of ``sample`` products (``settings.attributes_sample``; 0: all), stratified by
    article type: each title is encoded as a query (18,283 in about a minute on 2 cores in batches).
    From 12,000 products on, held-out titles score the same, but Japanese queries lose 0.02-0.03
    at 12,000 (bench/README, attributes).
    """
    sample = settings.attributes_sample if sample is None else sample
    index = alias_targets(client, settings.products_alias)[0]
    declared = current_schema(client, settings.products_alias).heads  # the shop's own fields, specs.<name>
    fields = ["text_vector", "title", "category_path", "tags", *ATTRIBUTES, *([SPECS] if declared else [])]
    rows = read_vectors(client, index, fields, ready_only=True)
    ids = sorted(rows)
    if len(ids) < 20:
        raise InvalidInputError("products", f"{len(ids)} ready products; the attribute heads need at least 20")
    products = [_with_heads(rows[i], declared) for i in ids]
    order = np.random.default_rng(seed).permutation(len(ids))
    n_test = min(HELD_OUT, max(5, int(len(ids) * holdout)))
    test, rest = order[:n_test], order[n_test:]
    train = rest[stratified_sample([products[i] for i in rest], "article_type", sample, seed)] if sample else rest
    progress(f"encoding {len(test) + len(train)} of {len(ids)} titles as queries")
    encoded = text_encoder.encode([products[i].get("title", "") for i in (*test, *train)], kind="query")
    test_titles, train_titles = encoded[: len(test)], encoded[len(test) :]
    progress(f"encoding {query_strings} query-like strings")
    strings = query_like_strings([products[i] for i in train], query_strings, seed, declared)
    string_vectors = text_encoder.encode([s for s, _ in strings], kind="query") if strings else np.empty((0, 0))
    passages = np.array([products[i]["text_vector"] for i in train], dtype=np.float32)
    x = np.vstack([passages, train_titles, *([string_vectors] if strings else [])])
    sources = [products[i] for i in train] * 2 + [products[train[j]] for _, j in strings]
    labels = {name: [p.get(name) or "" for p in sources] for name in ATTRIBUTES}
    # a schema's own head learns from queries alone (titles and strings, not passages), each labelled
    # with the value it names, else NAMES_NONE: it tells whether a query asks for one at all
    texts = [""] * len(train) + [products[i].get("title", "") for i in train] + [text for text, _ in strings]
    for head in declared:
        labels[head] = [
            ("" if not text else (value if value and names(text, value) else NAMES_NONE))
            for text, value in zip(texts, (p.get(head) or "" for p in sources), strict=True)
        ]
    progress(f"training on {len(x)} examples")
    lexicon = build_lexicon([with_tags(p) for p in products], [*ATTRIBUTES, "category_path", *declared])
    model = train_attribute_model(x, labels, settings.text_encoder, lexicon=lexicon)
    values = [value for head in model.heads.values() for value in head.classes if value != NAMES_NONE]
    model.vocabulary = Vocabulary.build(values, lambda texts: text_encoder.encode(texts, kind="query"))
    evaluation = {}
    for name, head in model.heads.items():
        predicted = np.array(head.classes)[head.probabilities(l2_normalise(test_titles)).argmax(axis=1)]
        values = [products[i].get(name) or "" for i in test]
        if name in declared:  # what the title names: its value, or none of them
            titles = [products[i].get("title", "") for i in test]
            values = [v if v and names(t, v) else NAMES_NONE for t, v in zip(titles, values, strict=True)]
        truth = np.array(values)
        judged = truth != ""
        evaluation[name] = {"held_out_title_accuracy": round(float((predicted[judged] == truth[judged]).mean()), 4)}
    metadata = {
        "trained_on": {
            "index": index,
            "products": len(train),
            "catalog": len(ids),
            "held_out": n_test,
            "query_strings": query_strings,
        },
        "lexicon": {"title_words": len(lexicon.title_words), "attribute_words": len(lexicon.attribute_words)},
        "text_encoder": settings.text_encoder,
        "evaluation": evaluation,
    }
    return model.save(settings.models_dir), metadata


def _with_heads(row: Mapping[str, Any], heads: Sequence[str]) -> dict[str, Any]:
    """A product's row with its values of the schema's heads as they are named (``specs.material``)."""
    specs = row.get(SPECS) or {}
    return {**row, **{head: str(specs[name]) for head in heads if (name := head.split(".", 1)[1]) in specs}}


def train_tagger_from_index(
    client: OpenSearchClient,
    settings: Settings,
    text_encoder: TextEncoder,
    sample: int = 4000,
    seed: int = 0,
    progress: Callable[[str], None] = lambda _: None,
) -> tuple[Path, dict[str, Any]]:
    """Train the taggers on (a sample of) the live index's products that have attribute values, and
    save them as an artifact. A product's title is encoded alone, as the workers encode a product
    whose merchant sent only a title: its stored text vector is made with its attribute values and
    would name them. An attribute with fewer than two values labelled enough has no tagger, unless
    no product has it and the tag vocabulary names its values: then it is learned zero-shot."""
    index = alias_targets(client, settings.products_alias)[0]
    rows = read_vectors(client, index, ["title", "image_vector", *TAGGED], ready_only=True)
    vocabulary = tag_vocabulary(settings.tag_vocabulary) if settings.tag_vocabulary else {}
    unlabelled = [name for name in vocabulary if not any(row.get(name) for row in rows.values())]
    pool = sorted(pid for pid, row in rows.items() if unlabelled or any(row.get(name) for name in TAGGED))
    if len(pool) < 20:
        raise InvalidInputError("products", f"{len(pool)} products to learn from; the taggers need 20")
    rng = np.random.default_rng(seed)
    ids = sorted(rng.choice(pool, size=min(sample, len(pool)), replace=False))
    progress(f"encoding {len(ids)} titles")
    names = [rows[pid].get("title", "") for pid in ids]
    titles = text_encoder.encode([embedding_text({"title": name}) for name in names], kind="passage")
    photos = np.zeros((len(ids), settings.image_dim), dtype=np.float32)
    has_photo = np.array([bool(rows[pid].get("image_vector")) for pid in ids])
    for n, pid in enumerate(ids):
        if has_photo[n]:
            photos[n] = rows[pid]["image_vector"]
    taggers: dict[str, AttributeTagger] = {}
    evaluation: dict[str, Any] = {}
    for name in TAGGED:
        progress(f"training the {name} tagger")
        named = None  # the share of titles a zero-shot tagger's value names labelled
        try:
            if name in unlabelled:
                values = vocabulary[name]
                value_vectors = text_encoder.encode(values, kind="query")
                tagger, named = fit_zero_shot(name, values, names, titles, value_vectors, photos, has_photo, seed)
            else:
                labels = [rows[pid].get(name) or "" for pid in ids]
                precision = settings.tag_precision
                tagger, _ = fit_tagger(name, labels, titles, photos, has_photo, precision, seed=seed, texts=names)
        except ValueError as exc:
            evaluation[name] = {"skipped": str(exc)}
            continue
        taggers[name] = tagger
        evaluation[name] = {
            kind: {
                "threshold": round(c.threshold, 4),
                "precision": round(c.precision, 4),
                "coverage": round(c.coverage, 4),
            }
            for kind, c in tagger.calibration.items()
        }
        if named is not None:  # its precision is agreement with the names' pseudo-labels
            evaluation[name] |= {"source": tagger.source, "named": round(named, 4)}
    if not taggers:
        raise InvalidInputError("products", "no attribute has two values labelled on enough products to tag")
    metadata = {"trained_on": {"index": index, "products": len(ids)}, "evaluation": evaluation}
    return save_taggers(taggers, settings.models_dir), metadata


def with_tags(product: Mapping[str, Any]) -> dict[str, Any]:
    """``product`` with the taggers' value where it lacks the merchant's: the lexicon's attribute
    words are a shop's value names, whoever gave them (a titles-only shop's come from its tags)."""
    tags = product.get("tags") or {}
    return {**product, **{name: tag["value"] for name, tag in tags.items() if tag and not product.get(name)}}


def tag_vocabulary(path: Path) -> dict[str, list[str]]:
    """The tag vocabulary file: ``{attribute: [value names]}`` for attributes the taggers know."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InvalidInputError("tag_vocabulary", f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidInputError("tag_vocabulary", "must be an object of attribute names to value lists")
    for name, values in data.items():
        if name not in TAGGED:
            raise InvalidInputError(f"tag_vocabulary.{name}", f"the taggers know {', '.join(TAGGED)}")
        if not isinstance(values, list) or len(values) < 2 or not all(isinstance(v, str) and v.strip() for v in values):
            raise InvalidInputError(f"tag_vocabulary.{name}", "must list at least two non-empty value names")
    return {name: [v.strip() for v in values] for name, values in data.items()}


def apply_tags(
    client: OpenSearchClient, index: str, taggers: Mapping[str, AttributeTagger], version: str
) -> dict[str, int]:
    """Tag the products of ``index`` that lack an attribute a tagger knows, from their stored title
    (text) and photo vectors: ``tags.<attribute>`` beside the missing value, never over a merchant's.
    Stale tags (the merchant has since given the value, or the tagger is no longer sure) are cleared.
    Returns how many products got a tag per attribute."""
    lacking = {"bool": {"should": [{"bool": {"must_not": {"exists": {"field": name}}}} for name in taggers]}}
    rows = read_vectors(
        client, index, ["title", "text_vector", "image_vector", "tags", *taggers], query=lacking, ready_only=True
    )
    counts = dict.fromkeys(taggers, 0)
    partials: dict[str, dict[str, Any]] = {}
    for pid, row in rows.items():
        if not row.get("text_vector"):
            continue
        title = np.asarray(row["text_vector"], dtype=np.float32)
        photo = np.asarray(row["image_vector"], dtype=np.float32) if row.get("image_vector") else None
        tags: dict[str, Any] = dict(tags_for(taggers, row, title, photo, version))
        for name in taggers:
            if name in tags:
                counts[name] += 1
            elif (row.get("tags") or {}).get(name):
                tags[name] = None  # stale: the merchant gave the value since, or the tagger is unsure now
        if tags:
            partials[pid] = {"tags": tags}
    if partials:
        update_fields(client, index, partials)
    return counts
