"""The API checks docker/smoke runs against the stack: wait, load, search, count (stdlib + requests)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import requests

# the merchant key docker/smoke made for this run (compose refuses the built-in ones)
MERCHANT = {"X-API-Key": os.environ["HYBRID_SMOKE_MERCHANT_KEY"]}


def wait_until(condition, what: str, timeout: float = 900.0, every: float = 1.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except requests.RequestException:
            pass
        time.sleep(every)
    sys.exit(f"smoke: {what}: not reached in {timeout:.0f} s")


def rows(data: Path, start: int, end: int) -> list[dict]:
    with (data / "products.jsonl").open(encoding="utf-8") as lines:
        photos = [row for row in map(json.loads, lines) if row.get("image")]
    return photos[start:end]


def upload(api: str, data: Path, start: int, end: int) -> None:
    """One multipart upload: the products and their photos as file parts."""
    chosen = rows(data, start, end)
    products = [
        {k: row[k] for k in ("title", "article_type", "colour", "gender", "usage") if row.get(k)}
        | {"product_id": row["id"], "image": Path(row["image"]).name}
        for row in chosen
    ]
    files = [("products", (None, json.dumps(products), "application/json"))]
    files += [
        (Path(row["image"]).name, (Path(row["image"]).name, (data / row["image"]).read_bytes())) for row in chosen
    ]
    response = requests.post(f"{api}/products", headers=MERCHANT, files=files, timeout=120)
    if response.status_code != 202:
        sys.exit(f"smoke: upload answered {response.status_code}: {response.text[:500]}")


def count(api: str, status: str) -> int:
    total, url = 0, f"{api}/products?status={status}&size=1000"
    while url:
        page = requests.get(url, headers=MERCHANT, timeout=30).json()
        total += len(page["products"])
        url = f"{api}{page['next']}" if "next" in page else None
    return total


def main() -> None:
    command, api = sys.argv[1], sys.argv[2].rstrip("/")
    if command == "wait":
        wait_until(lambda: requests.get(f"{api}/health", timeout=5).status_code == 200, "API healthy")
    elif command in ("load", "upload"):
        data, start, end = Path(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
        upload(api, data, start, end)
        if command == "load":
            wait_until(lambda: count(api, "ready") == end, f"{end} products ready")
    elif command == "started":
        before = int(sys.argv[3])
        wait_until(lambda: count(api, "ready") > before, "the first new products ready", every=0.2)
    elif command == "pending":
        if count(api, "pending") == 0:
            sys.exit("smoke: nothing was pending when the worker died; the check proves nothing")
        print(f"{count(api, 'pending')} products pending when the worker was killed")
    elif command == "ready":
        expected = int(sys.argv[3])
        wait_until(lambda: count(api, "ready") == expected and count(api, "pending") == 0, f"{expected} ready")
        if failed := count(api, "failed"):
            sys.exit(f"smoke: {failed} products failed")
    elif command == "search":
        data = Path(sys.argv[3])
        first = rows(data, 0, 1)[0]
        query = f"{first['colour']} {first['article_type']}".lower()
        text = requests.get(f"{api}/search", params={"q": query, "size": 5}, timeout=60).json()
        if not text.get("hits"):
            sys.exit(f"smoke: the text search found nothing: {text}")
        photo = data / first["image"]
        found = requests.post(f"{api}/search", files={"photo": (photo.name, photo.read_bytes())}, timeout=60).json()
        top = [hit["id"] for hit in found.get("hits", [])[:3]]
        if first["id"] not in top:
            sys.exit(f"smoke: a product's own photo did not find it in the top 3: {top}")
        print(f"{query!r}: {[hit['id'] for hit in text['hits'][:3]]}; photo of {first['id']}: {top}")
    elif command == "secured":  # here ``api`` is OpenSearch's own address, from the host
        secured(api, Path(sys.argv[3]), Path(sys.argv[4]).read_text().strip())
    else:
        sys.exit(f"unknown check {command}")


def secured(node: str, ca: Path, password: str) -> None:
    """OpenSearch with the security plugin: TLS with our CA only, no anonymous access, and the
    application's user confined to its own indices (the API's own checks passed through it already)."""
    app = ("hybrid_search", password)

    def ask(method: str, path: str, auth: tuple[str, str] | None = app) -> int:
        return requests.request(method, f"{node}{path}", auth=auth, verify=str(ca), timeout=10).status_code

    for what, status, expected in (
        ("anonymous", ask("GET", "/_cluster/health", None), 401),
        ("a wrong password", ask("GET", "/", ("hybrid_search", "wrong")), 401),
        ("its products", ask("GET", "/products/_count"), 200),
        ("the security index", ask("GET", "/.opendistro_security/_search"), 403),
        ("another index", ask("PUT", "/someone-else"), 403),
    ):
        if status != expected:
            sys.exit(f"smoke: {what}: OpenSearch answered {status}, not {expected}")
    try:
        requests.get(f"{node}/_cluster/health", timeout=10)  # the system's CAs do not know ours
    except requests.exceptions.SSLError:
        pass
    else:
        sys.exit("smoke: OpenSearch's certificate passed without our CA")
    plain = node.replace("https://", "http://")
    try:
        requests.get(plain, timeout=10)
    except requests.exceptions.ConnectionError:
        pass
    else:
        sys.exit("smoke: OpenSearch answered plain HTTP")
    print("OpenSearch: TLS with our CA, 401 anonymous and for a wrong password, the app's user 403 elsewhere")


if __name__ == "__main__":
    main()
