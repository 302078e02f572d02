"""Debian packages the local services need (redis-server, FreeDict's dictionaries), installed with
apt-get when we are root on a Debian machine."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence

from hybrid_search.core.errors import LocalServiceError


def apt_install(packages: Sequence[str]) -> None:
    """Install ``packages`` (updating the package lists once if they are stale); LocalServiceError
    names the command to run where this process cannot."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise LocalServiceError(f"missing Debian packages; run: sudo apt-get install -y {' '.join(packages)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", *packages]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, check=False)
        result = subprocess.run(install, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise LocalServiceError(f"apt-get could not install {' '.join(packages)}:\n{result.stderr[-2000:]}")
