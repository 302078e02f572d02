from pathlib import Path

from hybrid_search.local.redis import redis_command


def test_redis_runs_on_loopback_with_aof():
    argv = redis_command("/usr/bin/redis-server", 6391, Path("/data/r"))
    options = dict(zip(argv[1::2], argv[2::2], strict=True))
    assert options["--bind"] == "127.0.0.1"
    assert options["--port"] == "6391"
    assert options["--dir"] == "/data/r"
    assert options["--appendonly"] == "yes"
    assert options["--daemonize"] == "no"
