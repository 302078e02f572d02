"""A real OpenSearch node (or a cluster of them on loopback) with the k-NN and neural-search plugins, and
the security plugin where a node is started secure, assembled from Maven Central artifacts.

Maven resolves core, modules and the plugin zips (``node/pom.xml``) into a cache folder laid
out like a distribution's home: ``lib/`` (the classpath), ``modules/`` and ``plugins/`` (bundles,
loaded and version-checked by OpenSearch itself), and ``build/classes`` (our launcher). Modules
that other bundles extend are bundles too; the rest are classpath plugins.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import ssl
import subprocess
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from hybrid_search.core.errors import LocalServiceError
from hybrid_search.local import security
from hybrid_search.local.process import ManagedProcess
from hybrid_search.local.security import SecureFiles

NODE_PROJECT = Path(__file__).parent / "node"
SECURITY_PLUGIN = "opensearch-security"  # loaded by secure nodes only (``LocalNodeConfig.secure``)
LAUNCHER_CLASS = "org.hybridsearch.local.LocalNode"
CLASSPATH_PLUGINS = (
    "org.opensearch.transport.Netty4Plugin",
    "org.opensearch.index.mapper.MapperExtrasPlugin",
    "org.opensearch.index.reindex.ReindexPlugin",
)


@dataclass(frozen=True)
class ModuleBundle:
    """A module the pom copies into ``modules/<name>/``; we write its plugin descriptor."""

    name: str
    classname: str
    description: str
    extended_plugins: tuple[str, ...] = ()


MODULE_BUNDLES = (
    ModuleBundle("lang-painless", "org.opensearch.painless.PainlessPlugin", "Painless scripting language"),
    ModuleBundle(
        "analysis-common",
        "org.opensearch.analysis.common.CommonAnalysisPlugin",
        "Common analysis (cjk, english, ...)",
        ("lang-painless",),
    ),
)


@dataclass(frozen=True)
class NodeVersions:
    opensearch: str
    knn: str
    neural_search: str


def read_versions(pom: Path = NODE_PROJECT / "pom.xml") -> NodeVersions:
    """The OpenSearch and k-NN versions the pom pins (the one place they are written)."""
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    props = ET.parse(pom).getroot().find("m:properties", ns)
    if props is None:
        raise LocalServiceError(f"{pom} has no <properties>")
    return NodeVersions(
        opensearch=props.findtext("m:opensearch.version", namespaces=ns) or "",
        knn=props.findtext("m:knn.version", namespaces=ns) or "",
        neural_search=props.findtext("m:neural.version", namespaces=ns) or "",
    )


def module_descriptor(bundle: ModuleBundle, opensearch_version: str) -> str:
    """plugin-descriptor.properties for a module bundle (the Maven jars do not carry one)."""
    return "\n".join(
        [
            f"description={bundle.description}",
            f"version={opensearch_version}",
            f"name={bundle.name}",
            f"classname={bundle.classname}",
            "java.version=11",
            f"opensearch.version={opensearch_version}",
            f"extended.plugins={','.join(bundle.extended_plugins)}",
            "has.native.controller=false",
            "",
        ]
    )


def artifacts_home(cache_dir: Path) -> Path:
    """Where the artifacts for the current pom and launcher live; a change to either is a new home."""
    digest = hashlib.sha256()
    for path in sorted(NODE_PROJECT.rglob("*")):
        if path.is_file() and path.suffix in {".xml", ".java"}:
            digest.update(path.relative_to(NODE_PROJECT).as_posix().encode())
            digest.update(path.read_bytes())
    versions = read_versions()
    return cache_dir / f"opensearch-{versions.opensearch}-knn-{versions.knn}-{digest.hexdigest()[:10]}"


def ensure_artifacts(cache_dir: Path) -> Path:
    """Resolve and assemble the node once; later calls return the cached home at once."""
    home = artifacts_home(cache_dir)
    if (home / ".complete").exists():
        return home
    mvn = shutil.which("mvn")
    if mvn is None:
        raise LocalServiceError("Maven ('mvn') is not on PATH; it resolves the OpenSearch artifacts")
    staging = home.with_name(home.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    result = subprocess.run(
        [mvn, "-B", "-q", "-f", str(NODE_PROJECT / "pom.xml"), "package", f"-Dhybrid.cache={staging}"],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise LocalServiceError(f"Maven could not assemble OpenSearch:\n{result.stdout[-4000:]}{result.stderr[-2000:]}")
    version = read_versions().opensearch
    for bundle in MODULE_BUNDLES:
        (staging / "modules" / bundle.name / "plugin-descriptor.properties").write_text(
            module_descriptor(bundle, version)
        )
    drop_parent_jars(staging / "plugins" / SECURITY_PLUGIN, staging / "lib")
    (staging / ".complete").write_text(json.dumps(asdict(read_versions())) + "\n")
    shutil.rmtree(home, ignore_errors=True)
    staging.rename(home)
    return home


def drop_parent_jars(bundle: Path, lib: Path) -> list[str]:
    """Remove from a plugin bundle the libraries the node's classpath already has (in any version).

    A distribution loads transport-netty4 and its friends as modules, each in a classloader of its
    own; this node has them on its classpath, so a bundle that ships them too (the security plugin:
    netty, the HTTP clients, commons-codec 1.17 beside core's 1.16) fails OpenSearch's jar-hell check."""
    artifact = re.compile(r"-\d[\w.]*\.jar$")
    parent = {artifact.sub("", jar.name) for jar in lib.glob("*.jar")}
    dropped = sorted(jar.name for jar in bundle.glob("*.jar") if artifact.sub("", jar.name) in parent)
    for name in dropped:
        (bundle / name).unlink()
    return dropped


@dataclass(frozen=True)
class LocalNodeConfig:
    """Where and how one local node runs."""

    node_dir: Path
    http_port: int
    transport_port: int
    heap: str = "2g"
    host: str = "127.0.0.1"
    cluster_name: str = "hybrid-search-local"
    without_plugins: frozenset[str] = frozenset()  # plugin bundles not to load (a cluster without neural-search)
    # one node of a cluster on loopback: its name and every node's transport port (none: a single node)
    node_name: str | None = None
    cluster_transport_ports: tuple[int, ...] = ()
    cluster_node_names: tuple[str, ...] = ()
    secure: bool = False  # the security plugin: TLS, users and roles (``security.py``)
    app_index_patterns: tuple[str, ...] = ()  # what the application's user may read and write (secure only)

    @property
    def url(self) -> str:
        return f"{'https' if self.secure else 'http'}://{self.host}:{self.http_port}"

    @property
    def secure_files(self) -> SecureFiles:
        """Certificates and passwords: the node's own, or its cluster's (in the nodes' parent folder)."""
        shared = self.node_dir.parent if self.cluster_transport_ports else self.node_dir
        return SecureFiles(shared / "tls", shared / "secrets")


def cluster_configs(base: LocalNodeConfig, nodes: int) -> list[LocalNodeConfig]:
    """``nodes`` nodes of one cluster on loopback from ``base``: HTTP on base's port and the next ones,
    transport on base's transport port and the next ones, a folder each under base's; every node is
    cluster-manager eligible and holds data. One node: ``base`` itself."""
    if nodes == 1:
        return [base]
    names = tuple(f"{base.cluster_name}-{i}" for i in range(1, nodes + 1))
    transports = tuple(base.transport_port + i for i in range(nodes))
    return [
        replace(
            base,
            node_dir=base.node_dir / name,
            http_port=base.http_port + i,
            transport_port=transports[i],
            node_name=name,
            cluster_transport_ports=transports,
            cluster_node_names=names,
        )
        for i, name in enumerate(names)
    ]


def opensearch_yml(config: LocalNodeConfig) -> str:
    settings: dict[str, object] = {
        "cluster.name": config.cluster_name,
        "node.name": config.node_name or config.cluster_name,
        "network.host": config.host,
        "http.port": config.http_port,
        "transport.port": config.transport_port,
        "path.data": str(config.node_dir / "data"),
        "path.logs": str(config.node_dir / "logs"),
        # A developer machine's disk is often fuller than a server's; do not go read-only at 95%.
        "cluster.routing.allocation.disk.threshold_enabled": False,
    }
    if config.cluster_transport_ports:
        settings["discovery.seed_hosts"] = [f"{config.host}:{port}" for port in config.cluster_transport_ports]
        settings["cluster.initial_cluster_manager_nodes"] = list(config.cluster_node_names)
    else:
        settings["discovery.type"] = "single-node"
    if config.secure:
        settings |= security.node_settings()
    return "".join(f"{key}: {json.dumps(value)}\n" for key, value in settings.items())


LOG4J2_PROPERTIES = """\
status = error
appender.console.type = Console
appender.console.name = console
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d{ISO8601}][%-5p][%-25c{1.}] [%node_name]%marker %m%n
rootLogger.level = info
rootLogger.appenderRef.console.ref = console
logger.deprecation.name = org.opensearch.deprecation
logger.deprecation.level = error
"""


def java_binary() -> str:
    java_home = os.environ.get("JAVA_HOME")
    return str(Path(java_home) / "bin" / "java") if java_home else (shutil.which("java") or "java")


def java_command(home: Path, config: LocalNodeConfig) -> list[str]:
    java = java_binary()
    classpath = os.pathsep.join([str(home / "lib" / "*"), str(home / "build" / "classes")])
    return [
        java,
        f"-Xms{config.heap}",
        f"-Xmx{config.heap}",
        "-XX:+UseG1GC",
        f"-Djava.io.tmpdir={config.node_dir / 'tmp'}",
        "-Djava.locale.providers=SPI,COMPAT",
        "-Dfile.encoding=UTF-8",
        "-Dlog4j2.disable.jmx=true",
        "-Dlog4j.shutdownHookEnabled=false",
        "-cp",
        classpath,
        LAUNCHER_CLASS,
        str(home),
        str(config.node_dir / "config"),
        *CLASSPATH_PLUGINS,
    ]


def home_without(home: Path, view: Path, plugins: frozenset[str]) -> Path:
    """A home at ``view`` that links to the cached one's folders and to every plugin bundle but ``plugins``."""
    unknown = plugins - {bundle.name for bundle in (home / "plugins").iterdir()}
    if unknown:
        raise LocalServiceError(f"no plugin bundle named {sorted(unknown)} in {home / 'plugins'}")
    shutil.rmtree(view, ignore_errors=True)
    (view / "plugins").mkdir(parents=True)
    for name in ("lib", "modules", "build"):
        (view / name).symlink_to(home / name, target_is_directory=True)
    for bundle in (home / "plugins").iterdir():
        if bundle.name not in plugins:
            (view / "plugins" / bundle.name).symlink_to(bundle, target_is_directory=True)
    return view


class LocalOpenSearch:
    """Start, stop and query the state of one local node."""

    def __init__(self, cache_dir: Path, config: LocalNodeConfig) -> None:
        self.cache_dir = cache_dir
        self.config = config
        self.process = ManagedProcess(
            "OpenSearch", config.node_dir / "opensearch.pid", config.node_dir / "logs" / "console.log"
        )

    def _get(self, path: str, timeout: float = 3) -> object:
        """GET ``path`` on the node as its admin (https with our CA on a secure node)."""
        request = urllib.request.Request(f"{self.config.url}{path}")
        context = None
        if self.config.secure:
            files = self.config.secure_files
            context = ssl.create_default_context(cafile=str(files.ca))
            credentials = f"{security.ADMIN_USER}:{files.admin_password.read_text().strip()}"
            request.add_header("Authorization", "Basic " + base64.b64encode(credentials.encode()).decode())
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:  # noqa: S310 - our node
            return json.load(response)

    def healthy(self) -> bool:
        try:
            health = self._get("/_cluster/health?wait_for_status=yellow&timeout=1s")
        except (urllib.error.URLError, OSError, ValueError):
            return False
        return isinstance(health, dict) and health.get("status") in {"green", "yellow"}

    def start(self, timeout_s: float = 180.0, wait: bool = True) -> int:
        """Start the node (assembling artifacts on first use) and, unless ``wait`` is off (a node of
        a cluster that forms once enough of its nodes run), wait for a yellow cluster."""
        if self.process.pid() is None and self.healthy():
            raise LocalServiceError(f"something else already serves {self.config.url}; stop it or pick another port")
        home = ensure_artifacts(self.cache_dir)
        node_dir = self.config.node_dir
        for sub in ("config", "data", "logs", "tmp"):
            (node_dir / sub).mkdir(parents=True, exist_ok=True)
        without = self.config.without_plugins
        if not self.config.secure and (home / "plugins" / SECURITY_PLUGIN).exists():
            without |= {SECURITY_PLUGIN}
        elif self.config.secure:
            bundle, patterns = home / "plugins" / SECURITY_PLUGIN, self.config.app_index_patterns
            config_dir = node_dir / "config"
            security.install(self.config.secure_files, config_dir, bundle, home / "lib", patterns, java_binary())
        if without:
            home = home_without(home, node_dir / "home", without)
        (node_dir / "config" / "opensearch.yml").write_text(opensearch_yml(self.config))
        (node_dir / "config" / "log4j2.properties").write_text(LOG4J2_PROPERTIES)
        return self.process.start(java_command(home, self.config), self.healthy if wait else lambda: True, timeout_s)

    def stop(self) -> bool:
        return self.process.stop()

    def plugins(self) -> dict[str, str]:
        """The plugin bundles the running node loaded (name -> version); empty when it does not answer."""
        try:
            rows = self._get("/_cat/plugins?format=json")
        except (urllib.error.URLError, OSError, ValueError):
            return {}
        assert isinstance(rows, list)
        return {row["component"]: row["version"] for row in rows if row["component"].startswith("opensearch-")}

    def status(self) -> dict[str, object]:
        healthy = self.healthy()
        return {
            "url": self.config.url,
            "pid": self.process.pid(),
            "healthy": healthy,
            "plugins": self.plugins() if healthy else {},
        }
