import json
import os
import stat
import subprocess

from hybrid_search.core.settings import Settings
from hybrid_search.local.keys import ensure_keys, keys_path


def test_the_first_up_makes_random_keys_readable_by_the_owner_alone(tmp_path):
    settings = Settings(data_dir=tmp_path)
    keys = ensure_keys(settings, "fashion")
    assert set(keys) == {"HYBRID_SEARCH_ADMIN_KEY", "HYBRID_SEARCH_MERCHANT_KEYS", "HYBRID_SEARCH_CLIENT_KEYS"}
    assert stat.S_IMODE(os.stat(keys_path(settings)).st_mode) == 0o600
    served = Settings(
        data_dir=tmp_path,
        admin_key=keys["HYBRID_SEARCH_ADMIN_KEY"],
        merchant_keys=json.loads(keys["HYBRID_SEARCH_MERCHANT_KEYS"]),
        client_keys=json.loads(keys["HYBRID_SEARCH_CLIENT_KEYS"]),
    )
    assert served.built_in_keys() == []
    assert list(served.merchant_keys.values()) == ["fashion"]
    assert ensure_keys(Settings(data_dir=tmp_path), "fashion") == keys  # the next up keeps them
    assert ensure_keys(Settings(data_dir=tmp_path / "other"), "fashion") != keys  # random, not derived


def test_a_shell_reads_the_same_keys_and_the_shortcuts_for_curl(tmp_path):
    keys = ensure_keys(Settings(data_dir=tmp_path), "fashion")
    shown = subprocess.run(
        ["bash", "-c", f"set -a; . {keys_path(Settings(data_dir=tmp_path))}; set +a; env"],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ["PATH"]},
    ).stdout.splitlines()
    env = dict(line.split("=", 1) for line in shown if "=" in line)
    assert {name: env[name] for name in keys} == keys
    assert env["ADMIN_KEY"] == keys["HYBRID_SEARCH_ADMIN_KEY"]
    assert json.loads(keys["HYBRID_SEARCH_MERCHANT_KEYS"])[env["MERCHANT_KEY"]] == "fashion"
    assert env["CLIENT_KEY"] in json.loads(keys["HYBRID_SEARCH_CLIENT_KEYS"])


def test_keys_of_ones_own_are_kept_and_each_merchant_gets_a_key(tmp_path):
    own = Settings(data_dir=tmp_path, admin_key="mine")
    keys = ensure_keys(own, "fashion")
    assert "HYBRID_SEARCH_ADMIN_KEY" not in keys
    assert "ADMIN_KEY" not in keys_path(own).read_text()  # no key that would not work, nor one's own
    more = ensure_keys(own, "shoes")
    merchants = json.loads(more["HYBRID_SEARCH_MERCHANT_KEYS"])
    assert sorted(merchants.values()) == ["fashion", "shoes"]
    assert json.loads(keys["HYBRID_SEARCH_MERCHANT_KEYS"]).items() <= merchants.items()
    assert more["HYBRID_SEARCH_CLIENT_KEYS"] == keys["HYBRID_SEARCH_CLIENT_KEYS"]
    nothing_built_in = Settings(data_dir=tmp_path, admin_key="a", merchant_keys={"m": "x"}, client_keys={"c": "y"})
    assert ensure_keys(nothing_built_in, "fashion") == {}
