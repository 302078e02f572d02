"""Write the build context of the OpenSearch image for places without a registry.

The node is assembled from Maven Central exactly as ``hybrid-search local`` assembles it (core 2.19.1,
its modules, k-NN and neural-search: ``hybrid_search/local/``), then copied into ``<context>/home``
beside its configuration and a start script with the same JVM command line, written for the paths
inside the image. Run from the repository: ``python docker/opensearch/assemble.py <context>``.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from hybrid_search.local.opensearch import (
    LOG4J2_PROPERTIES,
    LocalNodeConfig,
    ensure_artifacts,
    java_command,
    opensearch_yml,
)
from hybrid_search.settings import Settings

HOME = Path("/opt/opensearch")  # in the image
NODE = Path("/var/lib/opensearch")
JAVA_HOME = "/usr/lib/jvm/java-17-openjdk-amd64"  # Debian's openjdk-17-jre-headless


def main(context: Path) -> None:
    home = ensure_artifacts(Settings().cache_dir)
    shutil.rmtree(context / "home", ignore_errors=True)
    shutil.copytree(home, context / "home", symlinks=False)
    (context / "config").mkdir(parents=True, exist_ok=True)
    config = LocalNodeConfig(node_dir=NODE, http_port=9200, transport_port=9300, heap="1g", host="0.0.0.0")
    (context / "config" / "opensearch.yml").write_text(opensearch_yml(config))
    (context / "config" / "log4j2.properties").write_text(LOG4J2_PROPERTIES)
    command = java_command(HOME, config)
    command[0] = f"{JAVA_HOME}/bin/java"
    heap = [arg for arg in command if arg.startswith(("-Xms", "-Xmx"))]
    rest = " ".join(f"'{arg}'" for arg in command[1:] if arg not in heap)
    (context / "start.sh").write_text(
        "#!/bin/sh\n# OPENSEARCH_HEAP (e.g. 2g) sizes the heap; the node runs in the foreground\n"
        'heap="${OPENSEARCH_HEAP:-1g}"\n'
        f"mkdir -p {NODE}/data {NODE}/logs {NODE}/tmp\n"
        f'exec {command[0]} "-Xms$heap" "-Xmx$heap" {rest}\n'
    )
    (context / "start.sh").chmod(0o755)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
