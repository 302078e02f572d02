"""Write the build context of the OpenSearch image for places without a registry.

The node is assembled from Maven Central exactly as ``hybrid-search local`` assembles it (core 2.19.1,
its modules, k-NN, neural-search and the security plugin: ``hybrid_search/local/``), then copied into
``<context>/home`` beside its configuration and a start script with the same JVM command line, written
for the paths inside the image. The security plugin is off unless the container starts with
``OPENSEARCH_SECURE=1``: then ``secure.py`` (with the project's ``local/security.py``) sets the node
up as ``local up --secure`` does, and the node starts with TLS and users. Run from the repository:
``python docker/opensearch/assemble.py <context>``.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import replace
from pathlib import Path

from hybrid_search.core.settings import Settings
from hybrid_search.local.opensearch import (
    LOG4J2_PROPERTIES,
    LocalNodeConfig,
    ensure_artifacts,
    java_command,
    opensearch_yml,
)
from hybrid_search.local.security import APP_USER

HOME = Path("/opt/opensearch")  # in the image
PYTHON = Path("/opt/hybrid-search")  # secure.py and the modules it imports, in the image
NODE = Path("/var/lib/opensearch")
JAVA_HOME = "/usr/lib/jvm/java-17-openjdk-amd64"  # Debian's openjdk-17-jre-headless
REPOSITORY = Path(__file__).resolve().parents[2]


def main(context: Path) -> None:
    home = ensure_artifacts(Settings().cache_dir)
    shutil.rmtree(context / "home", ignore_errors=True)
    shutil.copytree(home, context / "home", symlinks=False)
    (context / "config").mkdir(parents=True, exist_ok=True)
    config = LocalNodeConfig(node_dir=NODE, http_port=9200, transport_port=9300, heap="1g", host="0.0.0.0")
    plain = opensearch_yml(config) + "plugins.security.disabled: true\n"
    (context / "config" / "opensearch.yml").write_text(plain)
    (context / "config" / "opensearch-secure.yml").write_text(opensearch_yml(replace(config, secure=True)))
    (context / "config" / "log4j2.properties").write_text(LOG4J2_PROPERTIES)
    python = context / "python" / "hybrid_search"  # what secure.py imports: local/security.py, core/errors.py
    shutil.rmtree(context / "python", ignore_errors=True)
    for module in ("__init__.py", "core/__init__.py", "core/errors.py", "local/__init__.py", "local/security.py"):
        (python / module).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPOSITORY / "hybrid_search" / module, python / module)
    shutil.copyfile(Path(__file__).with_name("secure.py"), context / "secure.py")
    command = java_command(HOME, config)
    command[0] = f"{JAVA_HOME}/bin/java"
    heap = [arg for arg in command if arg.startswith(("-Xms", "-Xmx"))]
    rest = " ".join(f"'{arg}'" for arg in command[1:] if arg not in heap)
    (context / "start.sh").write_text(
        "#!/bin/sh\n# OPENSEARCH_HEAP (e.g. 2g) sizes the heap; OPENSEARCH_SECURE=1 starts it with the security\n"
        "# plugin (secure.py sets it up); the node runs in the foreground\n"
        "set -e\n"
        'heap="${OPENSEARCH_HEAP:-1g}"\n'
        f"mkdir -p {NODE}/data {NODE}/logs {NODE}/tmp\n"
        'if [ "${OPENSEARCH_SECURE:-0}" = 1 ]; then\n'
        f"  PYTHONPATH={PYTHON} python3 {PYTHON}/secure.py {command[0]}\n"
        f"  cp {NODE}/config/opensearch-secure.yml {NODE}/config/opensearch.yml\n"
        "fi\n"
        f'exec {command[0]} "-Xms$heap" "-Xmx$heap" {rest}\n'
    )
    (context / "start.sh").chmod(0o755)
    client = NODE / "client"
    (context / "health.sh").write_text(
        "#!/bin/sh\n# yellow or green, asked as the application's user where the node is secure\n"
        "path='_cluster/health?wait_for_status=yellow&timeout=1s'\n"
        'if [ "${OPENSEARCH_SECURE:-0}" = 1 ]; then\n'
        f'  exec curl -fsS --cacert {client}/root-ca.pem -u "{APP_USER}:$(cat {client}/app-password)" '
        '"https://127.0.0.1:9200/$path"\n'
        "fi\n"
        'exec curl -fsS "http://127.0.0.1:9200/$path"\n'
    )
    (context / "health.sh").chmod(0o755)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
