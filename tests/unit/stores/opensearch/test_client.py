"""The client every process builds: several nodes with failover, TLS verified against a CA file,
basic auth (from a secrets file too) and AWS SigV4, against real servers on loopback."""

import base64
import datetime
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from opensearchpy.exceptions import SerializationError

from hybrid_search.core.errors import ServiceUnavailableError
from hybrid_search.core.settings import Settings
from hybrid_search.stores.opensearch.client import make_client, translated_errors
from tests.net import free_port  # bound and let go: nothing listens there

ROOT = {"name": "node-1", "cluster_name": "test", "version": {"number": "2.19.1", "distribution": "opensearch"}}
REFUSED = {"error": {"type": "security_exception", "reason": "unauthorized"}}


class Node(BaseHTTPRequestHandler):
    """Answers ``GET /`` as an OpenSearch node does, or 401 when ``status`` says so; keeps each
    request's headers."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.server.seen.append(self.headers)  # case-insensitive, as HTTP header names are
        status = self.server.status
        body = json.dumps(ROOT if status == 200 else REFUSED)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *_) -> None:
        pass


def serve(status: int = 200, tls: ssl.SSLContext | None = None):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Node)
    server.seen, server.status = [], status
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def node():
    server = serve()
    yield server
    server.shutdown()


def url(server, scheme: str = "http") -> str:
    return f"{scheme}://127.0.0.1:{server.server_address[1]}"


def test_a_request_a_node_cannot_take_is_retried_on_the_next(node):
    dead = f"http://127.0.0.1:{free_port()}"
    client = make_client(Settings(opensearch_hosts=f"{dead},{url(node)}", opensearch_timeout_s=2))
    for _ in range(4):  # round the pool: the dead node's turns go to the live one
        assert client.info()["cluster_name"] == "test"
    assert len(node.seen) == 4


def test_every_node_down_is_a_503():
    hosts = ",".join(f"http://127.0.0.1:{free_port()}" for _ in range(2))
    client = make_client(Settings(opensearch_hosts=hosts, opensearch_timeout_s=2))
    with pytest.raises(ServiceUnavailableError, match="unreachable"), translated_errors("reading"):
        client.info()


def test_basic_auth_reads_the_password_from_a_secrets_file(node, tmp_path):
    secret = tmp_path / "password"
    secret.write_text("s3cret:with colon\n")
    client = make_client(Settings(opensearch_url=url(node), opensearch_user="app", opensearch_password_file=secret))
    client.info()
    assert node.seen[0]["Authorization"] == "Basic " + base64.b64encode(b"app:s3cret:with colon").decode()


def test_a_wrong_password_is_a_503_naming_the_refusal_not_a_500():
    server = serve(status=401)
    try:
        client = make_client(Settings(opensearch_url=url(server), opensearch_user="app", opensearch_password="wrong"))
        with pytest.raises(ServiceUnavailableError, match="refused our credentials"), translated_errors("reading"):
            client.info()
    finally:
        server.shutdown()


def test_aws_sigv4_signs_every_request_with_the_sdks_credentials(node, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    client = make_client(Settings(opensearch_url=url(node), opensearch_aws_region="eu-west-1"))
    client.info()
    headers = node.seen[0]
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/es/aws4_request" in headers["Authorization"]
    assert headers["X-Amz-Content-SHA256"]


def certificates(folder: Path) -> tuple[Path, ssl.SSLContext]:
    """A CA of our own and a certificate it signs for 127.0.0.1: (the CA's file, the server's context)."""
    now = datetime.datetime.now(datetime.UTC)

    def certificate(subject: str, key, issuer: str, issuer_key, ca: bool) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            import ipaddress

            san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
            builder = builder.add_extension(san, critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key, node_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = certificate("test CA", ca_key, "test CA", ca_key, ca=True)
    leaf = certificate("node-1", node_key, "test CA", ca_key, ca=False)
    ca_file, cert_file, key_file = folder / "ca.pem", folder / "node.pem", folder / "node-key.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        node_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return ca_file, context


def test_https_verifies_the_nodes_certificate_against_the_ca_file(tmp_path):
    ca_file, context = certificates(tmp_path)
    server = serve(tls=context)
    try:
        trusted = make_client(Settings(opensearch_url=url(server, "https"), opensearch_ca_file=ca_file))
        assert trusted.info()["cluster_name"] == "test"
        # verification is on by default: without our CA the node's certificate is refused
        unknown = make_client(Settings(opensearch_url=url(server, "https"), opensearch_timeout_s=2))
        with pytest.raises(ServiceUnavailableError), translated_errors("reading"):
            unknown.info()
    finally:
        server.shutdown()


def test_the_serializer_writes_what_the_standard_library_would_and_numpy_too():
    serializer = make_client(Settings()).transport.serializer
    body = {
        "title": "Men Café Sneaker 男士",
        "price": 12.5,
        "when": datetime.datetime(2026, 12, 7, 8, 30, tzinfo=datetime.UTC),
        "nested": [{"n": 1}, None, True],
    }
    vector = np.array([0.1, -0.25, 1e-7], dtype=np.float32)
    written = serializer.dumps(body | {"vector": vector, "one": np.float32(0.5), "count": np.int64(3)})
    assert isinstance(written, str)
    read = json.loads(written)  # what the node reads
    assert {k: read[k] for k in body} == json.loads(json.dumps(body, default=lambda d: d.isoformat()))
    assert read["vector"] == pytest.approx(vector.tolist()) and read["one"] == 0.5 and read["count"] == 3
    assert serializer.dumps('{"already": "a body"}') == '{"already": "a body"}'  # bulk lines pass as they are
    assert serializer.loads(written.encode())["title"] == body["title"]
    with pytest.raises(SerializationError):
        serializer.dumps({"x": object()})
    with pytest.raises(SerializationError):
        serializer.loads("{not json")
