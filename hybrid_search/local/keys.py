"""The API keys of a local stack: random ones, made by the first ``up`` into the data dir (0600), so
that a laptop's API never answers to the built-in ``dev-*`` keys that anyone can read in the code.

The file is shell syntax: ``set -a; . <data dir>/keys.env; set +a`` gives a shell (and every
``hybrid-search`` command or bench run from it) the same keys, and ``$ADMIN_KEY``, ``$MERCHANT_KEY``,
``$CLIENT_KEY`` for curl. A key set in the environment is kept: only built-in ones are replaced.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
from pathlib import Path

from hybrid_search.core.settings import Settings

KEYS_FILE = "keys.env"
CLIENT = "storefront"  # the client (a storefront backend) the local client key is for


def keys_path(settings: Settings) -> Path:
    return settings.data_dir / KEYS_FILE


def ensure_keys(settings: Settings, merchant: str) -> dict[str, str]:
    """The key settings (``HYBRID_SEARCH_*`` name -> value) that replace ``settings``' built-in keys:
    read from the keys file, or made at random and written there first (0600; ``merchant`` owns a
    merchant key). Keys of one's own stay out of the file. Empty where no key is built in."""
    built_in = settings.built_in_keys()
    if not built_in:
        return {}
    path = keys_path(settings)
    stored = read_keys(path) if path.exists() else {}
    made = {
        "HYBRID_SEARCH_ADMIN_KEY": secrets.token_urlsafe(24),
        "HYBRID_SEARCH_MERCHANT_KEYS": "{}",
        "HYBRID_SEARCH_CLIENT_KEYS": json.dumps({secrets.token_urlsafe(24): CLIENT}),
    }
    keys = {name: stored.get(name, made[name]) for name in built_in}
    if "HYBRID_SEARCH_MERCHANT_KEYS" in keys:
        merchants = json.loads(keys["HYBRID_SEARCH_MERCHANT_KEYS"])
        if merchant not in merchants.values():  # a key for each merchant ``up`` loads a catalog for
            merchants[secrets.token_urlsafe(24)] = merchant
            keys["HYBRID_SEARCH_MERCHANT_KEYS"] = json.dumps(merchants)
    if stored | keys != stored:
        _write(path, stored | keys, merchant)
    return keys


def read_keys(path: Path) -> dict[str, str]:
    """The ``HYBRID_SEARCH_*`` assignments of a keys file."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name, _, value = line.partition("=")
        if name.startswith("HYBRID_SEARCH_"):
            out[name] = shlex.split(value)[0]
    return out


def _write(path: Path, keys: dict[str, str], merchant: str) -> None:
    """``keys`` and their shortcuts for curl (``$MERCHANT_KEY``: ``merchant``'s) into ``path``,
    readable by its owner alone from the moment it exists."""
    shortcuts = {}
    if admin := keys.get("HYBRID_SEARCH_ADMIN_KEY"):
        shortcuts["ADMIN_KEY"] = admin
    merchants = json.loads(keys.get("HYBRID_SEARCH_MERCHANT_KEYS", "{}"))
    if owned := [key for key, owner in merchants.items() if owner == merchant]:
        shortcuts["MERCHANT_KEY"] = owned[0]
    if clients := json.loads(keys.get("HYBRID_SEARCH_CLIENT_KEYS", "{}")):
        shortcuts["CLIENT_KEY"] = next(iter(clients))
    lines = [f"{name}={shlex.quote(value)}" for name, value in (keys | shortcuts).items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write("# hybrid-search API keys (made by `hybrid-search up`): set -a; . this file; set +a\n")
        out.write("\n".join(lines) + "\n")
    staged.replace(path)
