"""Over https the request goes to the checked address while TLS still names the host: SNI and
the certificate check use the URL's name, so a certificate for another name is refused. A real
TLS server on the loopback with a certificate from a throwaway authority; a loopback DNS
server says where the name points."""

import datetime
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tenant_apps.integrations import gateway
from tests.dns_server import loopback_dns

pytestmark = pytest.mark.system
NAME = "hooks.example.test"


def _certificate(subject: str, issuer_key, issuer_name, key, *, ca: bool) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture
def tls_server(tmp_path, monkeypatch):
    """An https server on the loopback whose certificate names NAME, and a gateway that trusts
    its authority; yields (port, what the server saw)."""
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test authority")])
    ca = _certificate("Test authority", ca_key, ca_name, ca_key, ca=True)
    leaf = _certificate(NAME, ca_key, ca_name, key, ca=False)
    (tmp_path / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    seen: dict[str, list[str]] = {"sni": [], "host": []}
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(tmp_path / "leaf.pem", tmp_path / "key.pem")
    server_context.sni_callback = lambda sock, name, context: seen["sni"].append(name)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            seen["host"].append(self.headers["Host"])
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    client_context = ssl.create_default_context(cadata=ca.public_bytes(serialization.Encoding.PEM).decode())
    monkeypatch.setattr(gateway, "_tls_context", lambda: client_context)
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_https_goes_to_the_checked_address_with_the_names_sni_and_host(tls_server, settings):
    port, seen = tls_server
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    with loopback_dns() as dns:
        dns.a[NAME] = ["127.0.0.1"]
        settings.WEBHOOK_NAMESERVERS = [dns.nameserver]

        answer = gateway.post(url=f"https://{NAME}:{port}/hooks", body=b"{}", headers={}, timeout=5)

    assert (answer.status_code, answer.error) == (204, "")
    assert seen == {"sni": [NAME], "host": [f"{NAME}:{port}"]}


def test_a_certificate_for_another_name_is_refused(tls_server, settings):
    port, seen = tls_server
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    with loopback_dns() as dns:
        dns.a["other.example.test"] = ["127.0.0.1"]
        settings.WEBHOOK_NAMESERVERS = [dns.nameserver]

        answer = gateway.post(url=f"https://other.example.test:{port}/hooks", body=b"{}", headers={}, timeout=5)

    assert answer.status_code is None
    assert answer.error == "Connection failed (ConnectError)."
    assert seen["host"] == []
