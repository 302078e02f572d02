"""A secure node's set-up in its container, before every start (``OPENSEARCH_SECURE=1``,
docker/compose.secure.yaml): what ``hybrid-search local up --secure`` does on a machine.

At the first start: a CA of our own, the node's certificate (for the names in ``OPENSEARCH_HOSTNAMES``,
the compose service's among them) and the admin's, into the ``secure`` volume with the two generated
passwords (the admin's, for set-up only, never leaves it); the plugin's YAML with the two users and the
application's least-privileged role (``OPENSEARCH_APP_INDEX_PATTERNS``). The CA and the application's
password are copied into the ``client`` volume, which the application's containers mount read-only.
Later starts keep all of it (and the security index what it was initialised with).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from hybrid_search.local.security import SecureFiles, install

HOME = Path("/opt/opensearch")
NODE = Path("/var/lib/opensearch")


def main(java: str) -> None:
    """Set the node up, hashing the passwords with ``java`` (the node's own, from start.sh)."""
    files = SecureFiles(NODE / "secure" / "tls", NODE / "secure" / "secrets")
    hosts = os.environ.get("OPENSEARCH_HOSTNAMES", "opensearch,localhost,127.0.0.1").split(",")
    patterns = os.environ["OPENSEARCH_APP_INDEX_PATTERNS"].split(",")
    bundle = HOME / "plugins" / "opensearch-security"
    install(files, NODE / "config", bundle, HOME / "lib", patterns, java, hosts)
    client = NODE / "client"
    shutil.copyfile(files.ca, client / "root-ca.pem")
    shutil.copyfile(files.app_password, client / "app-password")
    (client / "app-password").chmod(0o644)  # the application's containers run as another user


if __name__ == "__main__":
    main(sys.argv[1])
