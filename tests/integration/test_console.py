"""The web console in a real browser: headless Chromium (Debian's chromium and chromium-driver)
driven by Selenium against the app served over HTTP on the real node. Screenshots go to
``tests/artifacts/console`` (or HYBRID_SEARCH_TEST_ARTIFACTS)."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait
from werkzeug.serving import make_server

from hybrid_search.api import create_app
from hybrid_search.services import Services
from tests.data import FASHION, photo_rows
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


def results(browser) -> list:
    return browser.find_elements(By.CSS_SELECTOR, "ol.grid li.product")


def attributes(item) -> str:
    return item.find_element(By.CSS_SELECTOR, ".attributes").text


def test_search_by_text_with_facets_and_explain(browser, console_url):
    browser.get(console_url)  # /ui redirects to the search page
    box = browser.find_element(By.ID, "q")
    box.send_keys("black backpack")
    browser.find_element(By.CSS_SELECTOR, "form.search button").click()
    WebDriverWait(browser, 60).until(expected_conditions.presence_of_element_located((By.ID, "summary")))
    assert "engine msearch" in browser.find_element(By.ID, "summary").text
    found = results(browser)
    assert len(found) == 24 and all(item.find_element(By.TAG_NAME, "h3").text for item in found)
    assert attributes(found[0]).startswith("Backpacks")
    assert browser.find_elements(By.CSS_SELECTOR, "ol.grid img")  # photos served by /ui/photos

    # a facet with its count filters the page to that value
    colour = browser.find_element(By.XPATH, "//section[h2='colour']//a[starts-with(normalize-space(.), 'Black ')]")
    count = int(colour.find_element(By.CLASS_NAME, "count").text)
    colour.click()
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
    browser.save_screenshot(str(ARTIFACTS / "search.png"))


def test_search_by_photo_and_more_like_this(browser, console_url):
    browser.get(f"{console_url}/search")
    row = photo_rows("Watches", 20)[-1]
    browser.find_element(By.ID, "photo").send_keys(str(FASHION / row["image"]))
    browser.find_element(By.CSS_SELECTOR, "form.search button").click()
    WebDriverWait(browser, 60).until(expected_conditions.presence_of_element_located((By.ID, "summary")))
    assert "for the photo" in browser.find_element(By.ID, "summary").text
    top = [attributes(item).split(" · ")[0] for item in results(browser)[:10]]
    assert top.count("Watches") >= 6, top

    first = results(browser)[0]
    product = first.get_attribute("data-id")
    first.find_element(By.CLASS_NAME, "like").click()
    assert f"like {product}" in browser.find_element(By.ID, "summary").text
    assert product not in [item.get_attribute("data-id") for item in results(browser)]
    browser.save_screenshot(str(ARTIFACTS / "photo.png"))


def test_bad_input_shows_the_apis_error_naming_the_field(browser, console_url):
    browser.get(f"{console_url}/search?like=nope")
    alert = browser.find_element(By.CSS_SELECTOR, "[role=alert]")
    assert alert.text.startswith("like") and alert.get_attribute("data-status") == "400"
