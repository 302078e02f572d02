from pathlib import Path

import pytest

from hybrid_search.core.errors import LocalServiceError
from hybrid_search.local.opensearch import (
    CLASSPATH_PLUGINS,
    LAUNCHER_CLASS,
    MODULE_BUNDLES,
    LocalNodeConfig,
    artifacts_home,
    drop_parent_jars,
    home_without,
    java_command,
    module_descriptor,
    opensearch_yml,
    read_versions,
)


def test_versions_come_from_the_pom():
    versions = read_versions()
    # Plugin bundles must match core exactly: k-NN 2.19.1.0 was built for OpenSearch 2.19.1.
    assert versions.opensearch == "2.19.1"
    assert versions.knn == versions.neural_search == "2.19.1.0"
    assert versions.knn.startswith(versions.opensearch + ".")


def test_module_descriptor_is_a_valid_plugin_descriptor():
    painless, common = MODULE_BUNDLES
    text = module_descriptor(common, "2.19.1")
    props = dict(line.split("=", 1) for line in text.splitlines())
    assert props["name"] == "analysis-common"
    assert props["classname"] == "org.opensearch.analysis.common.CommonAnalysisPlugin"
    assert props["opensearch.version"] == props["version"] == "2.19.1"
    assert props["extended.plugins"] == "lang-painless"
    assert (
        dict(line.split("=", 1) for line in module_descriptor(painless, "2.19.1").splitlines())["extended.plugins"]
        == ""
    )


def test_artifacts_home_is_stable_and_named_by_versions(tmp_path):
    assert artifacts_home(tmp_path) == artifacts_home(tmp_path)
    assert artifacts_home(tmp_path).name.startswith("opensearch-2.19.1-knn-2.19.1.0-")


def test_node_config_is_single_node_on_loopback(tmp_path):
    config = LocalNodeConfig(node_dir=tmp_path, http_port=9250, transport_port=9350)
    yml = dict(line.split(": ", 1) for line in opensearch_yml(config).splitlines())
    assert yml["discovery.type"] == '"single-node"'
    assert yml["network.host"] == '"127.0.0.1"'
    assert yml["http.port"] == "9250"
    assert yml["path.data"] == f'"{tmp_path / "data"}"'
    assert config.url == "http://127.0.0.1:9250"


def test_a_secure_node_speaks_tls_with_our_certificates(tmp_path):
    config = LocalNodeConfig(node_dir=tmp_path, http_port=9250, transport_port=9350, secure=True)
    yml = dict(line.split(": ", 1) for line in opensearch_yml(config).splitlines())
    assert yml["plugins.security.ssl.http.enabled"] == "true"
    assert yml["plugins.security.ssl.http.pemtrustedcas_filepath"] == '"root-ca.pem"'
    assert config.url == "https://127.0.0.1:9250"
    assert config.secure_files.ca == tmp_path / "tls" / "root-ca.pem"
    assert "plugins.security" not in opensearch_yml(LocalNodeConfig(tmp_path, 9250, 9350))


def test_a_bundle_loses_the_jars_the_classpath_has_in_any_version(tmp_path):
    lib, bundle = tmp_path / "lib", tmp_path / "bundle"
    lib.mkdir()
    for name in ("netty-codec-4.1.118.Final.jar", "commons-codec-1.16.1.jar", "opensearch-2.19.1.jar"):
        (lib / name).touch()
    for name in ("netty-codec-4.1.118.Final.jar", "commons-codec-1.17.2.jar", "bcprov-jdk18on-1.78.jar", "x.yml"):
        bundle.mkdir(exist_ok=True)
        (bundle / name).touch()
    assert drop_parent_jars(bundle, lib) == ["commons-codec-1.17.2.jar", "netty-codec-4.1.118.Final.jar"]
    assert sorted(p.name for p in bundle.iterdir()) == ["bcprov-jdk18on-1.78.jar", "x.yml"]


def test_java_command_runs_the_launcher_with_heap_and_classpath_plugins(tmp_path):
    config = LocalNodeConfig(node_dir=tmp_path / "node", http_port=1, transport_port=2, heap="1g")
    argv = java_command(Path("/cache/home"), config)
    assert "-Xms1g" in argv and "-Xmx1g" in argv
    launcher = argv.index(LAUNCHER_CLASS)
    assert argv[launcher + 1 : launcher + 3] == ["/cache/home", str(tmp_path / "node" / "config")]
    assert tuple(argv[launcher + 3 :]) == CLASSPATH_PLUGINS
    assert argv[argv.index("-cp") + 1].startswith("/cache/home/lib/*")


def test_a_home_without_a_plugin_links_everything_else(tmp_path):
    home = tmp_path / "home"
    for folder in ("lib", "modules", "build", "plugins/opensearch-knn", "plugins/opensearch-neural-search"):
        (home / folder).mkdir(parents=True)
    view = home_without(home, tmp_path / "view", frozenset({"opensearch-neural-search"}))
    assert [p.name for p in (view / "plugins").iterdir()] == ["opensearch-knn"]
    assert (view / "plugins" / "opensearch-knn").resolve() == home / "plugins" / "opensearch-knn"
    assert all((view / name).resolve() == home / name for name in ("lib", "modules", "build"))
    with pytest.raises(LocalServiceError, match="opensearch-sql"):
        home_without(home, tmp_path / "view", frozenset({"opensearch-sql"}))
