"""The OpenSearch security plugin on a local node: TLS from a CA of our own, and two users.

At a secure node's first start (``local up --secure``): a CA, the node's certificate (for 127.0.0.1 and
localhost; transport and HTTP) and an admin client certificate are generated (``tls/``, shared by the
nodes of a cluster), never the plugin's public demo certificates; two passwords are generated into the node's
``secrets`` folder (owner-only): the ``admin`` user's, for set-up only, and the application's
(``hybrid_search``), whose role may read and write its own aliases' indices and the search pipelines,
and nothing else (no other index, not the security index). The plugin initialises its index from the
YAML written here (``allow_default_init_securityindex``); later starts keep what it holds.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hybrid_search.core.errors import LocalServiceError

if TYPE_CHECKING:
    from cryptography import x509

ADMIN_USER = "admin"
APP_USER = "hybrid_search"
APP_ROLE = "hybrid_search_app"
ORGANISATION = "hybrid-search local"
# What the application does outside its indices: cluster health and stats, plugin and node info,
# _msearch and scrolls, bulk writes, mget, the search pipelines (hybrid query normalisation) and the
# index templates its indices are created from.
APP_CLUSTER_PERMISSIONS = (
    "cluster_monitor",
    "cluster:admin/knn_stats_action",
    "cluster_composite_ops",
    "indices:data/read/scroll*",
    "cluster:admin/search/pipeline/*",
    "indices:admin/index_template/*",
    "indices:admin/template/*",
)


CERTIFICATE_FILES = ("root-ca.pem", "node.pem", "node-key.pem", "admin.pem", "admin-key.pem")


@dataclass(frozen=True)
class SecureFiles:
    """Where a secure node's (or cluster's: its nodes share them) certificates and passwords are."""

    tls_dir: Path
    secrets_dir: Path

    @property
    def ca(self) -> Path:
        return self.tls_dir / "root-ca.pem"

    @property
    def admin_password(self) -> Path:
        return self.secrets_dir / "admin-password"

    @property
    def app_password(self) -> Path:
        return self.secrets_dir / "app-password"


NODE_HOSTS = ("localhost", "127.0.0.1")  # the names a node's certificate is valid for, on loopback


def ensure_certificates(files: SecureFiles, hosts: Sequence[str] = NODE_HOSTS) -> None:
    """A CA, the node's certificate (valid for ``hosts``: names and IP addresses) and the admin's,
    unless the TLS folder has them already."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    folder = files.tls_dir
    if all((folder / name).exists() for name in CERTIFICATE_FILES):
        return
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)

    def name(common: str) -> x509.Name:
        organisation = x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION)
        return x509.Name([organisation, x509.NameAttribute(NameOID.COMMON_NAME, common)])

    def signed(subject: str, key: rsa.RSAPrivateKey, issuer_key: rsa.RSAPrivateKey, ca: bool) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(name(subject))
            .issuer_name(name("root CA"))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=825))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if subject == "node":
            builder = builder.add_extension(x509.SubjectAlternativeName([_san(h) for h in hosts]), critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    def write(path: Path, data: bytes, private: bool = False) -> None:
        path.write_bytes(data)
        if private:
            path.chmod(0o600)

    new_key = lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)  # noqa: E731
    pem = serialization.Encoding.PEM
    ca_key, node_key, admin_key = new_key(), new_key(), new_key()
    keys = {"node-key.pem": node_key, "admin-key.pem": admin_key}
    for file, certificate in (
        ("root-ca.pem", signed("root CA", ca_key, ca_key, ca=True)),
        ("node.pem", signed("node", node_key, ca_key, ca=False)),
        ("admin.pem", signed("admin", admin_key, ca_key, ca=False)),
    ):
        write(folder / file, certificate.public_bytes(pem))
    for file, key in keys.items():
        pkcs8 = serialization.PrivateFormat.PKCS8
        write(folder / file, key.private_bytes(pem, pkcs8, serialization.NoEncryption()), private=True)


def _san(host: str) -> x509.GeneralName:
    from cryptography import x509

    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def ensure_passwords(files: SecureFiles) -> None:
    """The admin's and the application's passwords, generated once into owner-only files."""
    files.secrets_dir.mkdir(parents=True, exist_ok=True)
    files.secrets_dir.chmod(0o700)
    for path in (files.admin_password, files.app_password):
        if not path.exists():
            path.write_text(secrets.token_urlsafe(24) + "\n")
            path.chmod(0o600)


def node_settings() -> dict[str, object]:
    """opensearch.yml's security settings: TLS on transport and HTTP with our certificates."""
    dn = lambda common: f"CN={common},O={ORGANISATION}"  # noqa: E731
    return {
        "plugins.security.ssl.transport.pemcert_filepath": "node.pem",
        "plugins.security.ssl.transport.pemkey_filepath": "node-key.pem",
        "plugins.security.ssl.transport.pemtrustedcas_filepath": "root-ca.pem",
        "plugins.security.ssl.transport.enforce_hostname_verification": False,
        "plugins.security.ssl.http.enabled": True,
        "plugins.security.ssl.http.pemcert_filepath": "node.pem",
        "plugins.security.ssl.http.pemkey_filepath": "node-key.pem",
        "plugins.security.ssl.http.pemtrustedcas_filepath": "root-ca.pem",
        "plugins.security.allow_default_init_securityindex": True,
        "plugins.security.authcz.admin_dn": [dn("admin")],
        "plugins.security.nodes_dn": [dn("node")],
        "plugins.security.restapi.roles_enabled": ["all_access"],
        "plugins.security.audit.type": "noop",
        "plugins.security.system_indices.enabled": True,
    }


def app_role(index_patterns: Sequence[str]) -> dict[str, object]:
    """The application's role: its cluster actions, and everything on its own indices and aliases."""
    return {
        "cluster_permissions": list(APP_CLUSTER_PERMISSIONS),
        "index_permissions": [{"index_patterns": list(index_patterns), "allowed_actions": ["indices_all"]}],
    }


def install(
    files: SecureFiles,
    config_dir: Path,
    bundle: Path,
    lib: Path,
    patterns: Sequence[str],
    java: str,
    hosts: Sequence[str] = NODE_HOSTS,
) -> None:
    """A node's config folder made secure: the certificates (every node of a cluster the same ones,
    so that they trust each other; the node's valid for ``hosts``) and the plugin's YAML."""
    ensure_certificates(files, hosts)
    ensure_passwords(files)
    for name in CERTIFICATE_FILES:
        shutil.copy2(files.tls_dir / name, config_dir / name)
    write_security_config(files, config_dir / "opensearch-security", bundle, lib, patterns, java)


def write_security_config(
    files: SecureFiles, target: Path, bundle: Path, lib: Path, index_patterns: Sequence[str], java: str = "java"
) -> None:
    """The plugin's YAML (``target``): its defaults, our two users and the app's role."""
    if target.exists():
        return  # the security index holds the configuration from the first start on
    shutil.copytree(bundle / "config", target)
    # a search over a wildcard answers from the indices the user may read, instead of failing on the
    # others (the plugin's documented setting for applications that share a cluster)
    config = (target / "config.yml").read_text()
    (target / "config.yml").write_text(
        config.replace("#do_not_fail_on_forbidden: false", "do_not_fail_on_forbidden: true")
    )
    users = {
        "_meta": {"type": "internalusers", "config_version": 2},
        ADMIN_USER: {
            "hash": _hash(files.admin_password, bundle, lib, java),
            "reserved": True,
            "backend_roles": ["admin"],
        },
        APP_USER: {"hash": _hash(files.app_password, bundle, lib, java), "reserved": False},
    }
    roles = {"_meta": {"type": "roles", "config_version": 2}, APP_ROLE: app_role(index_patterns)}
    mapping = {
        "_meta": {"type": "rolesmapping", "config_version": 2},
        "all_access": {"reserved": False, "backend_roles": ["admin"], "users": [ADMIN_USER]},
        APP_ROLE: {"reserved": False, "users": [APP_USER]},
    }
    for name, content in (("internal_users.yml", users), ("roles.yml", roles), ("roles_mapping.yml", mapping)):
        (target / name).write_text(json.dumps(content, indent=2) + "\n")  # JSON is YAML


def _hash(password_file: Path, bundle: Path, lib: Path, java: str) -> str:
    """The bcrypt hash the plugin stores, by the plugin's own hasher (the password through the
    environment, not the command line)."""
    env = os.environ | {"HYBRID_SEARCH_HASH_INPUT": password_file.read_text().strip()}
    classpath = os.pathsep.join([str(bundle / "*"), str(lib / "*")])
    result = subprocess.run(
        [java, "-cp", classpath, "org.opensearch.security.tools.Hasher", "-env", "HYBRID_SEARCH_HASH_INPUT"],
        capture_output=True,
        text=True,
        env=env,
    )
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines or not lines[-1].startswith("$2"):
        raise LocalServiceError(f"the security plugin's hasher failed: {result.stderr[-500:]}")
    return lines[-1]
