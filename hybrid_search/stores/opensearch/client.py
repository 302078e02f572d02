"""OpenSearch client construction and translation of transport errors into our own."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import opensearchpy
import orjson
from opensearchpy import OpenSearch, Urllib3AWSV4SignerAuth
from opensearchpy.exceptions import SerializationError
from opensearchpy.serializer import JSONSerializer

from hybrid_search.core.errors import (
    BackendError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    ServiceUnavailableError,
)
from hybrid_search.core.settings import Settings

OpenSearchClient = OpenSearch
"""The client type, re-exported so that code outside this package never imports opensearchpy."""


class OrjsonSerializer(JSONSerializer):
    """opensearch-py's JSON (de)serializer through orjson: a bulk request of products is mostly vector
    floats, which the standard library writes about ten times slower (the re-fuse of 18,283 products
    spent 9 of its 40 s in ``json.dumps``). Types orjson does not know go to opensearch-py's ``default``."""

    def dumps(self, data: Any) -> Any:
        if isinstance(data, str):
            return data
        try:
            return orjson.dumps(data, default=self.default, option=orjson.OPT_SERIALIZE_NUMPY).decode()
        except TypeError as exc:  # orjson.JSONEncodeError is a TypeError
            raise SerializationError(data, exc) from exc

    def loads(self, s: str | bytes) -> Any:
        try:
            return orjson.loads(s)
        except orjson.JSONDecodeError as exc:
            raise SerializationError(s, exc) from exc


def make_client(settings: Settings) -> OpenSearch:
    """The thread-safe client every process uses; no request is sent here.

    Several hosts: requests go round them, and one that fails to connect or times out on a node (or
    gets a 502/503/504) is retried on the next, the failed node left out for a while (opensearch-py's
    connection pool); with ``opensearch_sniff`` the client also learns the cluster's other nodes.
    https verifies the nodes' certificates (against ``opensearch_ca_file`` where given). Credentials:
    basic auth (a password from the settings or a secrets file) or AWS SigV4 for Amazon OpenSearch
    Service; they are never logged, and ``/health`` shows none of them.
    """
    hosts = list(settings.opensearch_endpoints)
    options: dict[str, Any] = {
        "hosts": hosts,
        "timeout": settings.opensearch_timeout_s,
        "max_retries": max(2, len(hosts)),  # every other node once, at least twice on one node
        "retry_on_timeout": True,
        "http_compress": settings.opensearch_compress,
        "verify_certs": settings.opensearch_verify_certs,
        "serializer": OrjsonSerializer(),
    }
    if settings.opensearch_ca_file is not None:
        options["ca_certs"] = str(settings.opensearch_ca_file)
    if settings.opensearch_sniff:
        options |= {"sniff_on_start": True, "sniff_on_connection_fail": True, "sniffer_timeout": 60}
    if settings.opensearch_user is not None:
        options["http_auth"] = (settings.opensearch_user, opensearch_password(settings))
    elif settings.opensearch_aws_region is not None:
        options["http_auth"] = aws_signer(settings.opensearch_aws_region, settings.opensearch_aws_service)
    return OpenSearch(**options)


def opensearch_password(settings: Settings) -> str:
    """The basic-auth password: the setting's, or the first line of its secrets file."""
    if settings.opensearch_password is not None:
        return settings.opensearch_password.get_secret_value()
    assert settings.opensearch_password_file is not None, "Settings pairs a user with a password"
    try:
        return settings.opensearch_password_file.read_text(encoding="utf-8").splitlines()[0]
    except (OSError, IndexError) as exc:
        raise InvalidInputError("opensearch_password_file", f"cannot read a password from it ({exc})") from None


def aws_signer(region: str, service: str) -> Urllib3AWSV4SignerAuth:
    """SigV4 signing for Amazon OpenSearch Service (``es``) or Serverless (``aoss``), with the credentials
    the AWS SDK finds (environment, profile, instance or task role), refreshed as they expire."""
    import boto3

    credentials = boto3.Session().get_credentials()
    if credentials is None:
        raise InvalidInputError("opensearch_aws_region", "no AWS credentials found to sign requests with")
    return Urllib3AWSV4SignerAuth(credentials, region, service)


def cluster_health(client: OpenSearch) -> dict[str, object]:
    """Cluster status, node count, the plugins every node has and the k-NN engines initialised."""
    with translated_errors("reading cluster health"):
        health = client.cluster.health()
        knn = client.transport.perform_request("GET", "/_plugins/_knn/stats")
    node_stats = next(iter(knn.get("nodes", {}).values()), {})
    plugins = cluster_plugins(client)
    return {
        "status": health["status"],
        "nodes": health["number_of_nodes"],
        "plugins": {name: version for name, version in plugins.items() if name.startswith("opensearch-")},
        "hybrid_query": NEURAL_SEARCH in plugins,
        "knn_engines": {
            engine: bool(node_stats.get(f"{engine}_initialized")) for engine in ("lucene", "faiss", "nmslib")
        },
    }


NEURAL_SEARCH = "opensearch-neural-search"


def cluster_plugins(client: OpenSearch) -> dict[str, str]:
    """Plugin name -> version, for the plugins every node of the cluster has."""
    with translated_errors("listing plugins"):
        nodes = client.nodes.info(metric="plugins", params={"filter_path": "nodes.*.plugins"})
    per_node = [{p["name"]: p["version"] for p in node.get("plugins", [])} for node in nodes.get("nodes", {}).values()]
    if not per_node:
        return {}
    common = set.intersection(*(set(plugins) for plugins in per_node))
    return {name: per_node[0][name] for name in sorted(common)}


def mget_found(
    client: OpenSearch, index: str, ids: Sequence[str], params: Mapping[str, str], what: str
) -> list[dict[str, Any]]:
    """The documents among ``ids`` that exist (``found: true``). A document that could not be read (a
    per-document error, such as a shard still recovering after a restart) is not "missing": the whole
    read raises the retryable ServiceUnavailableError instead, so no caller mistakes it for absent."""
    with translated_errors(what):
        docs = client.mget(index=index, body={"ids": list(ids)}, params=dict(params))["docs"]
    unreadable = [doc for doc in docs if "error" in doc]
    if unreadable:
        error = unreadable[0]["error"]
        reason = error.get("type", error) if isinstance(error, dict) else error
        raise ServiceUnavailableError(f"{what}: {len(unreadable)} of {len(docs)} documents unreadable ({reason})")
    return [doc for doc in docs if doc.get("found")]


@contextmanager
def translated_errors(what: str) -> Iterator[None]:
    """Re-raise opensearchpy errors as HybridSearchError subclasses; ``what`` names the operation."""
    try:
        yield
    except (opensearchpy.ConnectionError, opensearchpy.ConnectionTimeout) as exc:
        raise ServiceUnavailableError(f"OpenSearch unreachable during {what}") from exc
    except opensearchpy.NotFoundError as exc:
        raise NotFoundError(f"{what}: not found") from exc  # OpenSearch's reply names physical indices
    except opensearchpy.ConflictError as exc:
        raise ConflictError(f"{what}: {_reason(exc)}") from exc
    except opensearchpy.RequestError as exc:
        raise InvalidInputError("request", f"OpenSearch rejected {what}: {_reason(exc)}") from exc
    except (opensearchpy.AuthenticationException, opensearchpy.AuthorizationException) as exc:
        refused = "refused our credentials" if exc.status_code == 401 else "denied our user"
        raise ServiceUnavailableError(f"OpenSearch {refused} during {what}: {_reason(exc)}") from exc
    except opensearchpy.TransportError as exc:
        if exc.status_code in (429, 503):
            raise ServiceUnavailableError(f"OpenSearch busy during {what}: {_reason(exc)}") from exc
        raise BackendError(f"OpenSearch failed {what}: {_reason(exc)}") from exc


@contextmanager
def client_query_errors(what: str) -> Iterator[None]:
    """``translated_errors`` for a query a client wrote: a search that failed on every shard failed
    for its query (a sort on a text field, a function on a field a product lacks), whatever status
    OpenSearch gave it (500 for some), so it is the client's 400, with OpenSearch's own reason."""
    try:
        with translated_errors(what):
            yield
    except BackendError as exc:
        cause = exc.__cause__
        if isinstance(cause, opensearchpy.TransportError) and _type(cause) == "search_phase_execution_exception":
            raise InvalidInputError("body", f"OpenSearch rejected {what}: {_reason(cause)}") from cause
        raise


def _type(exc: opensearchpy.TransportError) -> str | None:
    error = exc.info.get("error") if isinstance(exc.info, dict) else None
    return error.get("type") if isinstance(error, dict) else None


def _reason(exc: opensearchpy.TransportError) -> str:
    """OpenSearch's reason: its first root cause's where it gives one ("all shards failed" says nothing)."""
    info = exc.info if isinstance(exc.info, dict) else {}
    error = info.get("error")
    if isinstance(error, dict):
        causes = error.get("root_cause")
        if isinstance(causes, list) and causes and isinstance(causes[0], dict) and causes[0].get("reason"):
            error = causes[0]
        return str(error.get("reason") or error.get("type") or exc.error)
    return str(exc.error)
