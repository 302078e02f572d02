import ipaddress

from cryptography import x509

from hybrid_search.local.security import CERTIFICATE_FILES, SecureFiles, ensure_certificates, ensure_passwords


def test_the_node_certificate_names_its_hosts_and_is_signed_by_our_own_ca(tmp_path):
    files = SecureFiles(tmp_path / "tls", tmp_path / "secrets")
    ensure_certificates(files, ("opensearch", "localhost", "127.0.0.1"))
    assert sorted(p.name for p in files.tls_dir.iterdir()) == sorted(CERTIFICATE_FILES)
    node = x509.load_pem_x509_certificate((files.tls_dir / "node.pem").read_bytes())
    names = node.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["opensearch", "localhost"]
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    ca = x509.load_pem_x509_certificate(files.ca.read_bytes())
    node.verify_directly_issued_by(ca)
    assert "demo" not in ca.subject.rfc4514_string().lower()
    assert (files.tls_dir / "node-key.pem").stat().st_mode & 0o777 == 0o600
    before = (files.tls_dir / "node.pem").read_bytes()
    ensure_certificates(files, ("elsewhere",))  # kept: a cluster's nodes share them
    assert (files.tls_dir / "node.pem").read_bytes() == before


def test_passwords_are_generated_once_owner_only(tmp_path):
    files = SecureFiles(tmp_path / "tls", tmp_path / "secrets")
    ensure_passwords(files)
    admin, app = files.admin_password.read_text(), files.app_password.read_text()
    assert admin != app and len(app.strip()) >= 24
    assert files.app_password.stat().st_mode & 0o777 == 0o600
    ensure_passwords(files)
    assert files.admin_password.read_text() == admin
