"""The invoking thread's POSTs over TLS (PinnedTransport.send_now / answer on an HTTPS partner): the
request written on the TLS socket post() opened (its certificate checked against the host name), the
answer parsed from it, and the connection reused.

Against a real HTTPS server on 127.0.0.1 with a certificate for ``localhost`` made here, trusted by the
transport in place of certifi's bundle (the one thing patched).
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path

import certifi
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hookrelay.delivery.transport import PinnedTransport
from hookrelay.ssrf import parse_networks
from hookrelay_local.partner_server import PartnerServer

LOOPBACK = parse_networks(["loopback"])
HEADERS = {"User-Agent": "hookrelay-test/1", "Content-Type": "application/json"}
TIMEOUT = (2.0, 2.0)


def self_signed(directory: Path) -> tuple[Path, Path]:
    """(certificate, key) for ``localhost`` and 127.0.0.1, valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@pytest.fixture
def https_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An HTTPS partner on 127.0.0.1 (URL by the name ``localhost``), its certificate trusted."""
    cert, key = self_signed(tmp_path)
    monkeypatch.setattr(certifi, "where", lambda: str(cert))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with PartnerServer(tls=context) as server:
        yield server.url


def test_a_post_sent_at_once_over_tls_is_answered_and_its_connection_reused(https_server: str) -> None:
    # GIVEN a transport whose TLS connection to the partner is open after one post()
    transport = PinnedTransport(LOOPBACK)
    first = transport.post(https_server, b'{"n":1}', HEADERS, TIMEOUT)
    assert (first.status, first.read()) == (200, b'{"ok":true}')
    first.release_conn()
    # WHEN two more POSTs are sent at once on it, one after the other, and their answers read
    for n in (2, 3):
        sent = transport.send_now(https_server, b'{"n":%d}' % n, HEADERS, TIMEOUT)
        # THEN each goes out on the open TLS connection and is answered
        assert sent is not None
        assert isinstance(sent.conn.sock, ssl.SSLSocket)
        answer = transport.answer(sent, 2.0, 2.0)
        assert (answer.status, answer.read()) == (200, b'{"ok":true}')
        answer.release_conn()
