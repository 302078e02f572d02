"""The web console in a real browser: headless Chromium (Debian's chromium and chromium-driver)
driven by Selenium against the app served over HTTP on the real node. Screenshots go to
``tests/artifacts/console`` (or HYBRID_SEARCH_TEST_ARTIFACTS)."""

from __future__ import annotations

import base64
import csv
import json
import os
import shutil
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from werkzeug.serving import make_server

from hybrid_search.api import create_app
from hybrid_search.models.sets import ModelSet
from hybrid_search.stores.opensearch.client import make_client
from hybrid_search.stores.opensearch.indices import alias_targets, ensure_indices
from hybrid_search.stores.opensearch.products import update_fields
from hybrid_search.stores.services import Services
from tests.data import FASHION, photo_rows
from tests.integration.cleanup import drop_test_indices
from tests.integration.events import purchases
from tests.integration.processes import Worker, worker_env
from tests.net import free_port

ARTIFACTS = Path(os.environ.get("HYBRID_SEARCH_TEST_ARTIFACTS", Path(__file__).parents[1] / "artifacts")) / "console"


@pytest.fixture(scope="module")
def console_url(search_settings, catalog) -> Iterator[str]:
    """The app, served over HTTP on a free port for the browser."""
    server = make_server(
        "127.0.0.1", free_port(), create_app(services=Services.from_settings(search_settings)), threaded=True
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}/ui"
    server.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(flag)
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"))
    driver.implicitly_wait(5)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


def screenshot(browser, name: str) -> None:
    """The whole page (up to 3,000 px tall) as ``<name>.png`` in the artifacts folder."""
    size = browser.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 3000), "scale": 1}
    shot = browser.execute_cdp_cmd("Page.captureScreenshot", {"captureBeyondViewport": True, "clip": clip})
    (ARTIFACTS / f"{name}.png").write_bytes(base64.b64decode(shot["data"]))


def follow(browser, element) -> None:
    """Click something that loads a new page, and wait until the new page has replaced the old one
    and has loaded."""
    page = browser.find_element(By.TAG_NAME, "html")
    element.click()

    def replaced(_) -> bool:
        try:
            page.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as exc:  # Chromium's other way of saying the same, mid-navigation
            if "does not belong to the document" in str(exc):
                return True
            raise
        return False

    WebDriverWait(browser, 60).until(replaced)
    WebDriverWait(browser, 60).until(lambda b: b.execute_script("return document.readyState") == "complete")


def results(browser) -> list:
    return browser.find_elements(By.CSS_SELECTOR, "ol.grid li.product")


def attributes(item) -> str:
    return item.find_element(By.CSS_SELECTOR, ".attributes").text


def test_search_by_text_with_facets_and_explain(browser, console_url):
    browser.get(console_url)  # /ui redirects to the search page
    box = browser.find_element(By.ID, "q")
    box.send_keys("black backpack")
    follow(browser, browser.find_element(By.CSS_SELECTOR, "form.search button"))
    assert "engine msearch" in browser.find_element(By.ID, "summary").text
    found = results(browser)
    assert len(found) == 24 and all(item.find_element(By.TAG_NAME, "h3").text for item in found)
    assert attributes(found[0]).startswith("Backpacks")
    assert browser.find_elements(By.CSS_SELECTOR, "ol.grid img")  # photos served by /photos

    # a facet with its count filters the page to that value
    colour = browser.find_element(By.XPATH, "//section[h2='colour']//a[starts-with(normalize-space(.), 'Black ')]")
    count = int(colour.find_element(By.CLASS_NAME, "count").text)
    follow(browser, colour)
    filtered = results(browser)
    assert 0 < len(filtered) <= count and all(" · Black · " in attributes(item) for item in filtered)

    # explain: every leg's raw → normalised × weight, drawn as bars, adding up to the final score
    first = filtered[0]
    first.find_element(By.CSS_SELECTOR, "details.explain summary").click()
    legs = first.find_elements(By.CSS_SELECTOR, "tr.leg")
    assert {leg.get_attribute("data-leg") for leg in legs} >= {"bm25", "text"}
    widths = [leg.find_element(By.CLASS_NAME, "bar").value_of_css_property("width") for leg in legs]
    assert any(float(w.removesuffix("px")) > 0 for w in widths)
    assert "final" in first.find_element(By.CLASS_NAME, "combined").text
    screenshot(browser, "search")


def test_results_page_past_the_first_to_the_last_the_blend_ranks(browser, console_url):
    """The console showed 24 results under a total of 100, with no next page."""
    browser.get(f"{console_url}/search?q=shoes")
    summary = browser.find_element(By.ID, "summary").text
    assert "page 1 of 5" in summary and "100 ranked" in summary  # the fusion window, in pages of 24
    first = [item.get_attribute("data-id") for item in results(browser)]
    follow(browser, browser.find_element(By.CSS_SELECTOR, "nav.pages a[rel=next]"))
    second = [item.get_attribute("data-id") for item in results(browser)]
    assert "page 2 of 5" in browser.find_element(By.ID, "summary").text
    assert len(second) == 24 and not set(first) & set(second)
    browser.get(f"{console_url}/search?q=shoes&page=5")
    assert len(results(browser)) == 4 and not browser.find_elements(By.CSS_SELECTOR, "nav.pages a[rel=next]")
    follow(browser, browser.find_element(By.CSS_SELECTOR, "nav.pages a[rel=prev]"))
    assert "page 4 of 5" in browser.find_element(By.ID, "summary").text


def test_search_by_photo_and_more_like_this(browser, console_url):
    browser.get(f"{console_url}/search")
    row = photo_rows("Watches", 20)[-1]
    browser.find_element(By.ID, "photo").send_keys(str(FASHION / row["image"]))
    follow(browser, browser.find_element(By.CSS_SELECTOR, "form.search button"))
    assert "for the photo" in browser.find_element(By.ID, "summary").text
    top = [attributes(item).split(" · ")[0] for item in results(browser)[:10]]
    assert top.count("Watches") >= 6, top
    shown = [item.get_attribute("data-id") for item in results(browser)]
    # a link cannot carry a file: the photo is kept (Redis, half an hour) for the page links
    follow(browser, browser.find_element(By.CSS_SELECTOR, "nav.pages a[rel=next]"))
    summary = browser.find_element(By.ID, "summary").text
    assert "for the photo" in summary and "page 2 of" in summary
    assert not {item.get_attribute("data-id") for item in results(browser)} & set(shown)
    browser.back()

    first = results(browser)[0]
    product = first.get_attribute("data-id")
    follow(browser, first.find_element(By.CLASS_NAME, "like"))
    assert f"like {product}" in browser.find_element(By.ID, "summary").text
    assert product not in [item.get_attribute("data-id") for item in results(browser)]
    screenshot(browser, "photo")


def test_the_shopper_switch_shows_how_a_users_profile_moves_the_page(browser, console_url, catalog):
    base = console_url.removesuffix("/ui")
    shoes = [pid for pid, row in catalog.items() if row["article_type"] == "Casual Shoes"][:4]
    events = purchases("u-console", shoes)
    request = urllib.request.Request(
        f"{base}/events",
        data=json.dumps(events).encode(),
        headers={"Content-Type": "application/json", "X-API-Key": "dev-client-key"},
    )
    assert urllib.request.urlopen(request).status == 202

    browser.delete_all_cookies()
    browser.get(f"{console_url}/search?q=shoes&user_id=u-console")
    alert = browser.find_element(By.CSS_SELECTOR, "[role=alert]")  # a user's page needs the client's key
    assert alert.get_attribute("data-status") == "401" and alert.text.startswith("user_id")
    browser.find_element(By.ID, "key").send_keys("dev-client-key")
    follow(browser, browser.find_element(By.CSS_SELECTOR, "form.key button"))
    assert "personalised for u-console" in browser.find_element(By.ID, "summary").text
    moved = [item.get_attribute("data-moved") for item in browser.find_elements(By.CSS_SELECTOR, ".moved")]
    assert len(moved) == len(results(browser)) and any(m not in ("0", "new") and int(m) > 0 for m in moved)
    screenshot(browser, "shopper")
    browser.delete_all_cookies()


def test_bad_input_shows_the_apis_error_naming_the_field(browser, console_url):
    browser.get(f"{console_url}/search?like=nope")
    alert = browser.find_element(By.CSS_SELECTOR, "[role=alert]")
    assert alert.text.startswith("like") and alert.get_attribute("data-status") == "400"


@pytest.fixture(scope="module")
def merchant_url(search_settings, tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """The app on an alias of its own with a real worker, so uploads do not touch the search catalog."""
    prefix = f"m{uuid.uuid4().hex[:8]}"
    settings = search_settings.model_copy(
        update={
            "products_alias": f"{prefix}-products",
            "events_alias": f"{prefix}-events",
            "redis_url": search_settings.redis_url.rsplit("/", 1)[0] + "/7",
            "data_dir": tmp_path_factory.mktemp("console"),
            "embed_batch_size": 8,
        }
    )
    client = make_client(settings)
    ensure_indices(client, settings, ModelSet.from_settings(settings))
    redis.Redis.from_url(settings.redis_url).flushdb()
    worker = Worker(worker_env(settings), tmp_path_factory.mktemp("console-worker") / "worker.log")
    worker.start()
    server = make_server("127.0.0.1", free_port(), create_app(services=Services.from_settings(settings)), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.port}/ui", worker.log, settings
    server.shutdown()
    worker.stop()
    drop_test_indices(client, settings)


def test_a_merchant_uploads_a_csv_catalog_with_photos_and_watches_it_become_ready(browser, merchant_url, tmp_path):
    merchant_url, worker_log, settings = merchant_url
    browser.get(f"{merchant_url}/merchant")
    assert browser.find_element(By.CSS_SELECTOR, "[role=alert]").get_attribute("data-status") == "401"
    browser.find_element(By.ID, "key").send_keys("dev-merchant-key")
    follow(browser, browser.find_element(By.CSS_SELECTOR, "form button"))
    assert browser.find_element(By.TAG_NAME, "h1").text == "Catalog of demo"

    bag, watch = photo_rows("Backpacks", 1)[0], photo_rows("Watches", 1)[0]
    (tmp_path / "bag.jpg").write_bytes((FASHION / bag["image"]).read_bytes())
    (tmp_path / "watch.jpg").write_bytes((FASHION / watch["image"]).read_bytes())
    (tmp_path / "broken.jpg").write_bytes(b"not a photo at all")
    rows = [
        {
            "product_id": "ui-1",
            "title": bag["title"],
            "article_type": "Backpacks",
            "price": "49.90",
            "image": "bag.jpg",
        },
        {"product_id": "ui-2", "title": watch["title"], "article_type": "Watches", "price": "", "image": "watch.jpg"},
        {"product_id": "ui-3", "title": "Plain text only tote", "article_type": "Handbags", "price": "12", "image": ""},
    ]
    catalog_file = tmp_path / "catalog.csv"
    with catalog_file.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    browser.find_element(By.ID, "products").send_keys(str(catalog_file))
    browser.find_element(By.ID, "photos").send_keys(f"{tmp_path / 'bag.jpg'}\n{tmp_path / 'watch.jpg'}")
    follow(browser, browser.find_element(By.CSS_SELECTOR, "form.upload button"))
    assert browser.find_element(By.ID, "notice").text == "3 accepted, 0 unchanged"

    def statuses() -> dict[str, str]:
        return {
            row.get_attribute("data-id"): row.find_element(By.CLASS_NAME, "status").text
            for row in browser.find_elements(By.CSS_SELECTOR, "table.products tbody tr")
        }

    assert "pending" in statuses().values()  # as uploaded; the page polls, with no reload, until ready
    deadline = time.monotonic() + 180
    while set((ready := statuses()).values()) != {"ready"} and time.monotonic() < deadline:
        time.sleep(1)
    assert ready == {"ui-1": "ready", "ui-2": "ready", "ui-3": "ready"}, (ready, worker_log.read_text()[-3000:])
    screenshot(browser, "merchant")

    # a CSV naming a photo that was not sent is refused whole, naming the field
    bad = tmp_path / "bad.csv"
    bad.write_text("product_id,title,image\nui-4,Ghost,missing.jpg\n")
    browser.find_element(By.ID, "products").send_keys(str(bad))
    follow(browser, browser.find_element(By.CSS_SELECTOR, "form.upload button"))
    alert = browser.find_element(By.CSS_SELECTOR, "[role=alert]")
    assert alert.get_attribute("data-status") == "400" and alert.text.startswith("products[0].image")
    assert "ui-4" not in [row.get_attribute("data-id") for row in browser.find_elements(By.CSS_SELECTOR, "tbody tr")]

    follow(browser, browser.find_element(By.CSS_SELECTOR, "button[aria-label='Delete ui-3']"))
    assert browser.find_element(By.ID, "notice").text == "ui-3 deleted"
    assert [row.get_attribute("data-id") for row in browser.find_elements(By.CSS_SELECTOR, "tbody tr")] == [
        "ui-1",
        "ui-2",
    ]
    follow(browser, browser.find_element(By.ID, "reindex"))
    assert browser.find_element(By.ID, "notice").text.startswith("reindex queued")

    # a tag to review (as the training run's tags step writes one): corrected, it is the product's own
    client = make_client(settings)
    index = alias_targets(client, settings.products_alias)[0]
    tag = {"value": "Black", "confidence": 0.62, "input": "both", "tagger": "tagger-test"}
    update_fields(client, index, {"demo/ui-1": {"tags": {"colour": tag}}})
    browser.get(f"{merchant_url}/merchant")
    row = browser.find_element(By.CSS_SELECTOR, "table.tags tr[data-id='ui-1'][data-attribute='colour']")
    assert row.find_element(By.CLASS_NAME, "confidence").text == "0.62"
    value = row.find_element(By.NAME, "value")
    assert value.get_attribute("value") == "Black"
    value.clear()
    value.send_keys("Navy Blue")
    follow(browser, row.find_element(By.TAG_NAME, "button"))
    assert browser.find_element(By.ID, "notice").text == "ui-1: colour is Navy Blue"
    assert not browser.find_elements(By.CSS_SELECTOR, "table.tags tr[data-id='ui-1']")
    deadline = time.monotonic() + 120
    while (source := client.get(index=index, id="demo/ui-1")["_source"])["status"] != "ready":
        assert time.monotonic() < deadline, worker_log.read_text()[-3000:]
        time.sleep(0.5)
    assert source["colour"] == "Navy Blue" and not source["tags"]["colour"] and source["text_vector"]


@pytest.fixture(scope="module")
def engineers_url(search_settings, catalog, judgments, tmp_path_factory) -> Iterator[str]:
    """The app on the search catalog with a worker of its own queue, for evaluation runs."""
    settings = search_settings.model_copy(update={"redis_url": search_settings.redis_url.rsplit("/", 1)[0] + "/8"})
    redis.Redis.from_url(settings.redis_url).flushdb()
    worker = Worker(worker_env(settings), tmp_path_factory.mktemp("engineers-worker") / "worker.log")
    worker.start()
    server = make_server("127.0.0.1", free_port(), create_app(services=Services.from_settings(settings)), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.port}/ui"
    server.shutdown()
    worker.stop()


def save_draft(browser, name: str, change) -> None:
    """Edit the profile page's JSON draft with ``change`` and save it under ``name``."""
    draft = json.loads(browser.find_element(By.ID, "profile").get_attribute("value"))
    change(draft)
    for field, value in (("profile", json.dumps(draft)), ("name", name)):
        box = browser.find_element(By.ID, field)
        box.clear()
        box.send_keys(value)
    follow(browser, browser.find_element(By.CSS_SELECTOR, "#save-form button"))


def test_a_search_engineer_versions_a_profile_compares_it_and_evaluates(browser, engineers_url):
    browser.delete_all_cookies()
    browser.get(f"{engineers_url}/engineers")
    assert browser.find_element(By.CSS_SELECTOR, "[role=alert]").get_attribute("data-status") == "401"
    browser.find_element(By.ID, "key").send_keys("dev-admin-key")
    follow(browser, browser.find_element(By.CSS_SELECTOR, "form.key button"))
    assert browser.find_element(By.ID, "health").get_attribute("data-ok") == "true"
    indices = browser.find_elements(By.CSS_SELECTOR, "#indices tbody tr")
    assert indices and "live" in indices[0].text

    # save two versions of a new profile from the default's draft, diff them, roll back to the first
    follow(browser, browser.find_element(By.LINK_TEXT, "default"))
    one_leg = {"bm25": 1.0, "text": 0.0, "fused": 0.0, "image": 0.0, "attributes": 0.0}
    save_draft(browser, "console-test", lambda p: p.update(weights=one_leg, classes={}))
    assert browser.find_element(By.ID, "notice").text == "saved console-test@1, now active"
    save_draft(browser, "console-test", lambda p: p.update(weights={**one_leg, "bm25": 0.0, "text": 1.0}))
    assert browser.find_element(By.ID, "notice").text == "saved console-test@2, now active"
    changed = {row.get_attribute("data-setting") for row in browser.find_elements(By.CSS_SELECTOR, "#diff tbody tr")}
    assert changed == {"weights.bm25", "weights.text"}  # the page diffs the active version with the one before
    bad = browser.find_element(By.ID, "profile")
    bad.clear()
    bad.send_keys('{"weights": {"bm25": -1}}')
    follow(browser, browser.find_element(By.CSS_SELECTOR, "#save-form button"))
    alert = browser.find_element(By.CSS_SELECTOR, "[role=alert]")
    assert alert.get_attribute("data-status") == "400" and alert.text.startswith("profile")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#versions tbody tr")) == 2  # nothing was saved
    follow(browser, browser.find_element(By.CSS_SELECTOR, "button[aria-label='Activate version 1']"))
    assert browser.find_element(By.ID, "notice").text == "console-test@1 is active"
    assert browser.find_element(By.CSS_SELECTOR, "#versions tr[aria-current]").get_attribute("data-version") == "1"
    assert browser.find_element(By.CSS_SELECTOR, "#diff caption").text.startswith(
        "v1 → v2"
    )  # the active one's neighbour
    screenshot(browser, "profile")

    # the two versions side by side on one query: B's results marked with how they moved from A's
    browser.get(f"{engineers_url}/engineers/compare")
    browser.find_element(By.ID, "q").send_keys("black rucksack")
    for side, version in (("a", "console-test@1"), ("b", "console-test@2")):
        browser.find_element(By.CSS_SELECTOR, f"#{side} option[value='{version}']").click()
    follow(browser, browser.find_element(By.CSS_SELECTOR, "form.search button"))
    b_side = browser.find_elements(By.CSS_SELECTOR, "#column-b li")
    a_ids = [item.get_attribute("data-id") for item in browser.find_elements(By.CSS_SELECTOR, "#column-a li")]
    assert len(b_side) == len(a_ids) == 20
    for rank, item in enumerate(b_side):
        moved = item.get_attribute("data-moved")
        if moved == "new":
            assert item.get_attribute("data-id") not in a_ids
        else:
            assert a_ids.index(item.get_attribute("data-id")) - rank == int(moved)
    assert any(item.get_attribute("data-moved") != "0" for item in b_side)
    screenshot(browser, "compare")
    browser.get(f"{engineers_url}/engineers/compare?q=bag&a=no-such-profile&b=default")
    alert = browser.find_element(By.CSS_SELECTOR, "[role=alert]")
    assert alert.get_attribute("data-status") == "404" and "no-such-profile" in alert.text
    assert browser.find_element(By.ID, "q").get_attribute("value") == "bag"  # the form stays as it was

    # an evaluation run of two profiles on the judgment set, followed live until its report shows
    browser.get(f"{engineers_url}/engineers")
    form = browser.find_element(By.ID, "eval-form")
    assert form.find_element(By.ID, "eval-queries").get_attribute("value") == "queries.jsonl"  # paired with qrels.tsv
    form.find_element(By.CSS_SELECTOR, "input[name=profiles][value='console-test@2']").click()
    follow(browser, form.find_element(By.CSS_SELECTOR, "button"))
    WebDriverWait(browser, 300).until(
        lambda b: b.find_element(By.ID, "state").get_attribute("data-state") in ("SUCCESS", "FAILURE")
    )
    assert browser.find_element(By.ID, "state").get_attribute("data-state") == "SUCCESS"
    runs = [row.get_attribute("data-run") for row in browser.find_elements(By.CSS_SELECTOR, "#per-kind tbody tr")]
    assert runs[0].startswith("default@") and runs[1] == "console-test@2" and "bm25 alone" in runs
    header = browser.find_element(By.CSS_SELECTOR, "#per-kind thead").text
    assert all(kind in header for kind in ("keyword", "synonym", "chinese", "all"))
    assert browser.find_element(By.CSS_SELECTOR, f"[data-comparison='console-test@2 vs {runs[0]}'] .stack")
    plot = browser.find_element(By.CSS_SELECTOR, ".plots img")
    assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", plot) > 0
    screenshot(browser, "run")
    browser.get(f"{engineers_url}/engineers")
    assert "console-test@2" in browser.find_element(By.ID, "recent-runs").text
    screenshot(browser, "engineers")
    browser.delete_all_cookies()
