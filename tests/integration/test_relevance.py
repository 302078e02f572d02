"""Query understanding, evaluation and tuning on real fashion products in the real node, and the
/eval and /tune admin API running as Celery tasks in a real worker."""

from __future__ import annotations

import random
import time
import uuid

import pytest
import redis

from hybrid_search.api import create_app
from hybrid_search.core.catalog import product_id_of
from hybrid_search.core.errors import InvalidInputError
from hybrid_search.evaluation import jobs as evaluation
from hybrid_search.evaluation.tuning import PRIOR_QUERIES
from hybrid_search.models.encoders.text import load_text_encoder
from hybrid_search.models.live import record_artifacts
from hybrid_search.querying.service import SearchService
from hybrid_search.ranking.profiles import BlendProfile
from hybrid_search.stores.opensearch.client import make_client
from hybrid_search.stores.opensearch.profiles import get_active
from hybrid_search.stores.services import Services
from hybrid_search.training.trainers import train_attributes_from_index
from tests.integration.events import shoppers_click
from tests.integration.processes import Worker, worker_env
from tests.integration.rankings import assert_same_ranking

ADMIN = {"X-API-Key": "dev-admin-key"}


@pytest.fixture(scope="module")
def attribute_model(search_settings, catalog):
    encoder = load_text_encoder(search_settings.text_encoder, "cpu", batches=True)  # as the training step
    client = make_client(search_settings)
    path, metadata = train_attributes_from_index(client, search_settings, encoder, query_strings=300, holdout=0.2)
    record_artifacts(client, search_settings, attributes=path)
    return path, metadata


@pytest.fixture(scope="module")
def service(search_settings, attribute_model):
    return SearchService.from_services(Services.from_settings(search_settings))


def test_attribute_heads_learn_the_catalog(attribute_model):
    path, metadata = attribute_model
    assert path.exists() and path.name.startswith("attributes-")
    accuracy = metadata["evaluation"]["article_type"]["held_out_title_accuracy"]
    assert accuracy > 0.8  # six types: chance is about 0.17


def test_attribute_heads_train_on_a_sample_stratified_by_type(search_settings, catalog):
    """A catalog larger than the sample trains the heads on the sample, each type keeping its share
    (and at least MIN_PER_VALUE): the step costs what the sample costs, whatever the catalog."""
    encoder = load_text_encoder(search_settings.text_encoder, "cpu", batches=True)  # as the training step
    client = make_client(search_settings)
    held_out = max(5, int(len(catalog) * 0.2))
    sample = (len(catalog) - held_out) // 2
    _, metadata = train_attributes_from_index(
        client, search_settings, encoder, query_strings=300, holdout=0.2, sample=sample
    )
    trained = metadata["trained_on"]
    assert trained["catalog"] == len(catalog) and trained["held_out"] == held_out
    assert 0.95 * sample <= trained["products"] < len(catalog) - held_out  # each type rounded to its share
    assert metadata["evaluation"]["article_type"]["held_out_title_accuracy"] > 0.8


def test_queries_encoded_ahead_in_batches_are_read_as_one_at_a_time_and_used_once(service, monkeypatch):
    """A training step's queries, encoded in batches before they are searched, get the vectors the
    engine gives one query at a time (cosine >= 0.999), without calling it; a later query calls it."""
    import numpy as np

    from hybrid_search.core.catalog import SearchRequest

    understanding = service.understanding
    engine = load_text_encoder(service.settings.text_encoder, service.settings.device)
    calls = []
    encode = engine.encode
    monkeypatch.setattr(engine, "encode", lambda texts, kind="passage": calls.append(texts) or encode(texts, kind))
    marker = uuid.uuid4().hex[:6]  # texts this process has not searched (its query cache would answer)
    texts = [f"blue denim jeans {marker}", f"mochilas negras {marker}", f"红色连衣裙 {marker}"]
    understanding.encode_ahead(texts)
    profile = service.profiles.get("default").profile
    vectors = [understanding.understand(SearchRequest(q=t), None, profile).inputs.text_vector for t in texts]
    assert calls == []
    for text, vector in zip(texts, vectors, strict=True):
        one = encode([understanding.translate(text)], kind="query")[0]
        assert float(np.dot(vector, one)) >= 0.999
    understanding.understand(SearchRequest(q=f"red dress {marker}"), None, profile)
    assert len(calls) == 1


def _search(service, **request):
    """The search as /search answers it (JSON)."""
    from hybrid_search.core.catalog import SearchRequest

    return service.search(SearchRequest(**request)).to_json()


def test_attributes_leg_finds_the_asked_type_and_colour_beyond_photos(service, catalog, api_profile):
    api_profile("attributes-only", weights={"attributes": 1.0})
    result = _search(service, q="black backpack", profile="attributes-only", size=10, explain=True)
    top = [catalog[h["id"]] for h in result["hits"]]
    assert all(p["article_type"] == "Backpacks" for p in top)
    assert sum(p["colour"] == "Black" for p in top) >= 5
    assert max(result["intent"]["article_type"], key=result["intent"]["article_type"].get) == "Backpacks"


def test_catalog_words_no_attribute_names_rank_that_brand_first_in_the_attributes_leg(
    service, catalog, api_profile, attribute_model
):
    """'quechua' is no article type, colour, gender or usage: the heads cannot know it, the catalog's
    lexicon does (its titles use it), and the attributes leg scores titles that have it."""
    _, metadata = attribute_model
    assert metadata["lexicon"]["title_words"] > 50
    weights = {"article_type": 3.0, "colour": 2.0, "gender": 1.0, "usage": 0.5}
    api_profile("attributes-words", weights={"attributes": 1.0}, attribute_weights={**weights, "words": 2.0})
    api_profile("attributes-no-words", weights={"attributes": 1.0}, attribute_weights={**weights, "words": 0.0})
    result = _search(service, q="quechua backpack", profile="attributes-words", size=8, explain=True)
    assert result["intent"]["words"] == {"quechua": 1.0}
    top = [catalog[h["id"]] for h in result["hits"]]
    assert all(p["article_type"] == "Backpacks" and p["title"].startswith("Quechua") for p in top)
    plain = _search(service, q="quechua backpack", profile="attributes-no-words", size=8)
    assert sum(catalog[h["id"]]["title"].startswith("Quechua") for h in plain["hits"]) < 8


def test_bm25_matches_the_catalogs_words_as_typed_and_the_others_within_an_edit(service, catalog, api_profile):
    """The heads' lexicon tells the words a shopper may have slipped on: "bakcpack" (no title uses
    it) and "women" (one edit from "woman"); "black" is the catalog's own. A slip still finds its word."""
    from hybrid_search.core.catalog import SearchRequest

    profile = service.profiles.get("default").profile
    understood = service.understanding.understand(SearchRequest(q="black bakcpack for women"), None, profile)
    assert understood.inputs.slips == {"bakcpack", "women"}
    assert "title^3" in understood.inputs.text_fields and "title.zh^2" not in understood.inputs.text_fields
    chinese = service.understanding.understand(SearchRequest(q="黑色双肩包"), None, profile).inputs
    assert "title.zh^2" in chinese.text_fields  # the cjk sub-fields are for Chinese, Japanese, Korean
    api_profile("bm25-only", weights={"bm25": 1.0})
    hits = _search(service, q="black bakcpack", profile="bm25-only", size=5)["hits"]
    assert len(hits) == 5 and all(catalog[h["id"]]["article_type"] == "Backpacks" for h in hits)


def test_chinese_query_reaches_english_titles_through_bm25(service, catalog, api_profile):
    api_profile("bm25-only", weights={"bm25": 1.0})
    hits = _search(service, q="黑色双肩包", profile="bm25-only", size=10)["hits"]
    assert hits, "the gloss 'black backpack' should match English titles"
    assert all(catalog[h["id"]]["article_type"] == "Backpacks" for h in hits[:5])


def test_queries_in_other_languages_reach_english_titles_through_freedict_and_apertium(service, catalog, api_profile):
    """FreeDict's dictionaries and Apertium's pairs, installed by ``local install``: a Spanish query
    is Apertium's translation beside the dictionaries' gloss (French through Spanish and through
    Catalan), German words become the catalog's, Japanese is segmented; an English query is left as
    typed, and a French one whose words English has too is told French by their frequencies."""
    assert service.understanding.translator is not None, "no FreeDict dictionaries: run hybrid-search local install"
    assert {"spa", "deu", "jpn"} <= set(service.understanding.translator.languages)
    assert service.understanding.translator.machine is not None and {"spa", "fra"} <= set(
        service.understanding.translator.machine.languages
    )
    # Apertium's whole translation, then the gloss: plural and feminine by their stems
    assert service.understanding.translate("mochilas negras") == "Black rucksacks backpack black"
    french = service.understanding.translate("sac à dos noir").split()
    assert french[:2] == ["Black", "rucksack"] and "backpack" in french  # through Spanish, then Catalan
    assert (
        "sandals" in service.understanding.translate("sandales noires").lower().split()
    )  # only Catalan's pivot has it
    assert service.understanding.translate("top rouge femme").split()[:2] == ["Top", "red"]
    assert service.understanding.translate("メンズ 黒 腕時計").split()[:2] == ["men's", "black"]
    assert service.understanding.translate("black backpack for looking good") == "black backpack for looking good"
    api_profile("bm25-only", weights={"bm25": 1.0})
    for query, article_type in (("mochilas negras", "Backpacks"), ("schwarze Uhr für Herren", "Watches")):
        hits = _search(service, q=query, profile="bm25-only", size=10)["hits"]
        assert [catalog[h["id"]]["article_type"] for h in hits[:5]] == [article_type] * 5, query


def test_words_no_attribute_names_reach_the_catalogs_through_wordnet(service, catalog, api_profile):
    """Debian's WordNet (installed by ``local install``): "wristwatch" is no word of an attribute value;
    its broader word "watch" is. The reading adds it; the query is still English, not translated."""
    assert service.understanding.thesaurus is not None, "no WordNet: run hybrid-search local install"
    assert service.understanding.readings("black wristwatch") == ("black wristwatch", "black wristwatch watch")
    assert service.understanding.readings("black watch") == ("black watch", "black watch")
    # a Chinese gloss is followed by WordNet's synonyms alone: CC-CEDICT's "knapsack" is a backpack
    translation, reading = service.understanding.readings("紫背包")
    assert translation.startswith("purple knapsack") and reading == f"{translation} backpack"
    api_profile("attributes-only", weights={"attributes": 1.0})
    result = _search(service, q="black wristwatch", profile="attributes-only", size=5, explain=True)
    assert max(result["intent"]["article_type"], key=result["intent"]["article_type"].get) == "Watches"
    assert [catalog[h["id"]]["article_type"] for h in result["hits"]] == ["Watches"] * 5


def test_photo_query_votes_attributes_from_its_nearest_photos(service, catalog, api_profile):
    api_profile("photo-attributes", weights={"attributes": 1.0, "image": 0.0})
    row = next(r for r in catalog.values() if r["article_type"] == "Watches" and r["image"])
    from hybrid_search.core.catalog import SearchRequest
    from tests.data import photo_bytes

    request = SearchRequest(profile="photo-attributes", size=20)
    retrieval = service.retrieve(request, photo_bytes(row), BlendProfile(weights={"image": 1.0, "attributes": 1.0}))
    assert max(retrieval.intent["article_type"], key=retrieval.intent["article_type"].get) == "Watches"
    found = [catalog[product_id_of(key)] for key, _ in retrieval.legs["attributes"][:20]]
    assert all(p["article_type"] == "Watches" for p in found)
    assert any(not p["image"] for p in found)  # reaches products that have no photo


def test_the_tuned_default_blends_inside_opensearch_as_it_does_in_process(service):
    for q in ("black backpack", "黑色双肩包", "a black backpack for school", "white running sneakers"):
        native = _search(service, q=q, size=10, engine="opensearch-hybrid")
        assert native["engine"] == {"name": "opensearch-hybrid"} and "attributes" in native["legs"]
        in_process = _search(service, q=q, size=10)
        assert in_process["engine"] == {"name": "msearch"} and in_process["legs"] == native["legs"]
        assert_same_ranking(native["hits"], in_process["hits"])


def test_a_photo_query_that_weighs_attributes_votes_first_and_blends_in_process(service, catalog):
    from hybrid_search.core.catalog import SearchRequest
    from tests.data import photo_bytes

    row = next(r for r in catalog.values() if r["article_type"] == "Watches" and r["image"])
    native = service.settings.model_copy(update={"blend_engine": "opensearch-hybrid"})
    result = SearchService.from_services(Services.from_settings(native)).search(SearchRequest(size=5), photo_bytes(row))
    assert result.engine == "msearch" and "voted" in result.why
    assert result.legs == ["attributes"]
    with pytest.raises(InvalidInputError, match="voted"):
        service.search(SearchRequest(size=5, engine="opensearch-hybrid"), photo_bytes(row))


def test_evaluation_ranks_what_search_serves_without_attribute_heads(search_settings, catalog):
    """A fresh install before train-attributes: the default leans on the attributes leg, and both
    /search and the evaluation runner fall back to the plain blend of the legs that can run."""
    from hybrid_search.core.catalog import SearchRequest
    from hybrid_search.evaluation.runner import rank
    from hybrid_search.ranking.profiles import BUILT_IN, every_leg
    from tests.data import photo_bytes

    bare = SearchService.from_services(
        Services.from_settings(search_settings.model_copy(update={"attribute_model": "none"}))
    )
    row = next(r for r in catalog.values() if r["article_type"] == "Backpacks" and r["image"])
    for request, photo in (
        (SearchRequest(size=10, engine="msearch"), photo_bytes(row)),
        (SearchRequest(q="black backpack", size=10, engine="msearch"), None),
    ):
        served = bare.search(request, photo).ids()
        # retrieved at the window /search used (a wider k-NN search may find other neighbours)
        retrieval = bare.retrieve(request, photo, every_leg(BlendProfile().window))
        assert served and rank(retrieval, BUILT_IN.profile)[:10] == served


@pytest.fixture(scope="module")
def api_profile(search_settings, catalog):
    app = create_app(services=Services.from_settings(search_settings)).test_client()

    def use(name: str, **profile) -> None:
        assert app.put(f"/profiles/{name}", headers=ADMIN, json=profile).status_code == 201

    return use


def test_eval_scores_profiles_per_kind_and_writes_reports(service, judgments, tmp_path):
    queries, qrels = judgments
    profiles = {
        "bm25": BlendProfile(weights={"bm25": 1.0}),
        "hybrid": BlendProfile(weights={"bm25": 1.0, "attributes": 1.0}),
    }
    result = evaluation.evaluate(service, queries, qrels, profiles, tmp_path, "eval", with_single_legs=True)
    summary = result.summary
    assert set(summary["hybrid"]) == {"keyword", "synonym", "chinese", "all"}
    assert summary["hybrid"]["all"]["n"] == 8
    assert "text alone" in summary and "attributes alone" in summary
    assert summary["hybrid"]["all"]["ndcg@10"] > summary["bm25"]["all"]["ndcg@10"]
    assert summary["hybrid"]["chinese"]["ndcg@10"] > 0.5
    assert "hybrid vs bm25" in result.comparisons
    for path in result.reports.values():
        assert (tmp_path / path.rsplit("/", 1)[-1]).exists()


def test_tune_beats_its_start_and_saves_a_new_version(service, search_settings, judgments, tmp_path):
    queries, qrels = judgments
    client = service.client
    start = BlendProfile(weights={"bm25": 1.0, "text": 0.0, "fused": 0.0, "image": 0.0, "attributes": 0.0})
    from hybrid_search.stores.opensearch.profiles import save_version

    base = save_version(client, search_settings.profiles_index, "tuned-test", start)
    # 8 queries: without shrinkage, which would keep the start nearly as it is on so few
    result = evaluation.tune(
        service, queries, qrels, base, tmp_path, folds=2, rounds=2, save_as="tuned-test", prior_queries=0
    )
    assert result.ndcg("tuned") > result.ndcg(f"tuned-test@{base.version}")
    active = get_active(client, search_settings.profiles_index, "tuned-test")
    assert active.version == base.version + 1 and result.saved == ("tuned-test", active.version)
    assert active.profile == result.tuned_profile
    assert "nDCG@10" in active.note
    assert len(result.cross_validation.folds) == 2
    assert result.to_json()["saved"] == {"name": "tuned-test", "version": active.version}
    assert (tmp_path / "tune-sweeps.png").exists()


@pytest.fixture(scope="module")
def worker(search_settings, attribute_model, tmp_path_factory):
    settings = search_settings.model_copy(
        update={"redis_url": search_settings.redis_url.rsplit("/", 1)[0] + "/4"}  # own queue
    )
    redis.Redis.from_url(settings.redis_url).flushdb()
    w = Worker(worker_env(settings), tmp_path_factory.mktemp("eval-worker") / "worker.log")
    w.start()
    yield settings
    w.stop()


def test_eval_api_runs_as_a_task_with_status(worker, judgments):
    api = create_app(services=Services.from_settings(worker)).test_client()
    body = {"queries": "queries.jsonl", "qrels": "qrels.tsv", "profiles": ["default"]}
    assert api.post("/eval", json=body).status_code == 401
    missing = api.post("/eval", headers=ADMIN, json={**body, "qrels": "nope.tsv"})
    assert missing.status_code == 400 and missing.get_json()["field"] == "qrels"
    escape = api.post("/eval", headers=ADMIN, json={**body, "queries": "../../etc/passwd"})
    assert escape.status_code == 400 and escape.get_json()["field"] == "queries"
    bad = api.post("/tune", headers=ADMIN, json={**body, "folds": 0})
    assert bad.status_code == 400 and bad.get_json()["field"] == "folds"
    bad = api.post("/tune", headers=ADMIN, json={**body, "prior_queries": -1})
    assert bad.status_code == 400 and bad.get_json()["field"] == "prior_queries"

    started = api.post("/eval", headers=ADMIN, json=body)
    assert started.status_code == 202
    status_url = started.get_json()["status"]
    deadline = time.monotonic() + 300
    while (state := api.get(status_url, headers=ADMIN).get_json())["state"] not in ("SUCCESS", "FAILURE"):
        assert time.monotonic() < deadline, state
        time.sleep(1)
    assert state["state"] == "SUCCESS", state
    summary = state["result"]["summary"]
    (run,) = summary
    assert run.startswith("default@") and summary[run]["all"]["n"] == 8
    assert state["result"]["reports"]["md"].endswith("eval.md")
    assert uuid.UUID(state["task_id"])

    tuning = api.post(
        "/tune", headers=ADMIN, json={"queries": body["queries"], "qrels": body["qrels"], "folds": 2, "rounds": 1}
    )
    assert tuning.status_code == 202
    status_url = tuning.get_json()["status"]
    while (state := api.get(status_url, headers=ADMIN).get_json())["state"] not in ("SUCCESS", "FAILURE"):
        assert time.monotonic() < deadline + 300, state
        time.sleep(1)
    assert state["state"] == "SUCCESS", state
    result = state["result"]
    assert len(result["cross_validation"]["folds"]) == 2 and result["saved"] is None
    assert (result["judged_only"], result["prior_queries"]) == (False, PRIOR_QUERIES)
    (start,) = [run for run in result["summary"] if run.startswith("default@")]
    assert result["summary"]["tuned"]["all"]["ndcg@10"] >= result["summary"][start]["all"]["ndcg@10"]


def test_eval_command_prints_the_per_kind_table(search_settings, judgments, attribute_model, tmp_path):
    from click.testing import CliRunner

    from hybrid_search.cli import main
    from tests.integration.processes import worker_env

    queries, qrels = judgments
    env = worker_env(search_settings)
    result = CliRunner().invoke(
        main,
        ["eval", "--queries", str(queries), "--qrels", str(qrels), "--legs", "--out", str(tmp_path)],
        env={k: v for k, v in env.items() if k.startswith("HYBRID_SEARCH_")},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    header = next(line for line in result.stdout.splitlines() if line.startswith("| run |"))
    for column in (
        "ndcg@10 keyword",
        "ndcg@10 synonym",
        "ndcg@10 chinese",
        "ndcg@10 all",
        "mrr@10 all",
        "recall@100 all",
    ):
        assert column in header
    assert "| bm25 alone |" in result.stdout and "wins" in result.stdout
    assert (tmp_path / "eval.md").exists() and (tmp_path / "eval.png").exists()


def test_clicks_close_the_loop_tuning_on_them_beats_the_start(service, search_settings, judgments, tmp_path):
    """Simulated shoppers search through the API, see the start profile's results (a third of them;
    the rest see the text or the attributes leg alone, an exploration slice), and click by
    the judged grade of what they look at (more often higher up: position bias, and by chance on
    unjudged products); /events logs it, /judgments/from-events turns it into a judgment list, and
    tuning on that list beats the start on the explicit judgments."""
    from hybrid_search.evaluation.judgments import load_judgments
    from hybrid_search.stores.opensearch.profiles import save_version

    queries_path, qrels_path = judgments
    queries, qrels = load_judgments(queries_path, qrels_path)
    start = BlendProfile(weights={"bm25": 1.0, "text": 0.0, "fused": 0.0, "image": 0.0, "attributes": 0.0})
    base = save_version(service.client, search_settings.profiles_index, "clicks-start", start)
    # an exploration slice, as an A/B test runs: without one, clicks judge only what the start shows
    for leg in ("text", "attributes"):
        alone = BlendProfile(weights=dict.fromkeys(start.weights, 0.0) | {leg: 1.0})
        save_version(service.client, search_settings.profiles_index, f"clicks-{leg}", alone)
    profiles = ["clicks-start", "clicks-text", "clicks-attributes"]
    api = create_app(services=Services.from_settings(search_settings)).test_client()
    client = {"X-API-Key": "dev-client-key"}
    rng = random.Random(11)
    shoppers_click(api, queries, qrels, profiles, 30, rng, client)

    assert api.post("/judgments/from-events", json={}).status_code == 401
    bad = api.post("/judgments/from-events", headers=ADMIN, json={"min_impressions": 0})
    assert bad.status_code == 400 and bad.get_json()["field"] == "min_impressions"
    made = api.post("/judgments/from-events", headers=ADMIN, json={"name": "clicks"})
    assert made.status_code == 201, made.get_json()
    made = made.get_json()
    assert made["queries"] == len(queries) and made["clicks"] > 0
    assert made["position_ctr"]["1"] > made["position_ctr"]["10"]  # shoppers look at the top

    result = evaluation.tune(
        service,
        None,
        search_settings.judgments_root / made["qrels"],
        base,
        tmp_path,
        folds=1,
        rounds=2,
        prior_queries=0,
    )
    tuned = result.tuned_profile
    scored = evaluation.evaluate(service, queries_path, qrels_path, {"start": start, "clicks": tuned}, tmp_path)
    assert scored.ndcg("clicks") > scored.ndcg("start")


def test_a_photos_attribute_leg_lists_its_look_alikes_first_within_a_tie(service, catalog):
    from hybrid_search.core.catalog import SearchRequest
    from hybrid_search.querying.storefront import VOTER_LEGS
    from hybrid_search.ranking.profiles import every_leg
    from tests.data import photo_bytes

    # its constant-score terms tie every product of the voted type, colour, gender and usage; in
    # document order a product of the tie that the photo does not look like was listed first
    for shoe in [r for r in catalog.values() if r["image"] and r["article_type"] == "Sports Shoes"]:
        retrieval = service.retrieve(SearchRequest(), photo_bytes(shoe), every_leg(10))
        look_alikes = {doc for leg in VOTER_LEGS for doc, _ in retrieval.legs[leg]}
        listed = retrieval.legs["attributes"]
        assert len(listed) == 10
        for score in {s for _, s in listed}:
            tie = [doc in look_alikes for doc, s in listed if s == score]
            assert tie == sorted(tie, reverse=True), (shoe["id"], listed)
