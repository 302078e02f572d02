"""The client against the real node: a host that is down among the cluster's hosts costs nothing but a
retry, sniffing finds the node's own address, and the health check reads through it."""

from hybrid_search.stores.opensearch.client import cluster_health, make_client
from tests.net import free_port  # bound and let go: nothing listens there


def test_a_node_down_among_the_hosts_is_passed_over(settings):
    hosts = f"http://127.0.0.1:{free_port()},{settings.opensearch_url}"
    client = make_client(settings.model_copy(update={"opensearch_hosts": tuple(hosts.split(","))}))
    for _ in range(4):
        assert cluster_health(client)["status"] in {"green", "yellow"}


def test_sniffing_learns_the_nodes_the_cluster_publishes(settings):
    client = make_client(settings.model_copy(update={"opensearch_sniff": True}))
    assert cluster_health(client)["nodes"] == len(client.transport.connection_pool.connections) >= 1
