# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the client unit tests: a scripted SPP server on loopback, throw-away TLS certificates, vcsim."""

from __future__ import annotations

import datetime
import ipaddress
import os
import re
import ssl
import subprocess
import sys
import time

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils.cloudtemple._client import CloudTempleClient
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp._client import SppClient

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
# The test modules import the fake server by name, whatever pytest's import mode.
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from spp_fake_server import SPP_PASSWORD, SPP_USER, FakeSpp  # noqa: E402  pylint: disable=wrong-import-position
from ct_fake_server import CT_CLIENT_ID, CT_SECRET, FakeConsole  # noqa: E402  pylint: disable=wrong-import-position
from fake_time import FakeTime  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture
def fake_spp():
    server = FakeSpp()
    yield server
    server.close()


@pytest.fixture
def log_lines():
    return []


@pytest.fixture
def make_client(log_lines):
    """Build an ``SppClient`` with fast retries for a fake server; closes every client at the end."""
    clients = []

    def build(server, **overrides):
        options = dict(username=SPP_USER, password=SPP_PASSWORD, timeout=5, retries=3, backoff=0.01,
                       max_backoff=0.05, logger=log_lines.append)
        options.update(overrides)
        client = SppClient(server.url, **options)
        clients.append(client)
        return client

    yield build
    for client in clients:
        client._http.close()


# -- the Cloud Temple console ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ct_server():
    server = FakeConsole()
    yield server
    server.close()


@pytest.fixture
def console(ct_server):
    """The module's scripted Cloud Temple console, reset for each test (one server per module keeps the tests
    fast)."""
    ct_server.reset()
    return ct_server


@pytest.fixture
def fake_time():
    return FakeTime(start=1000.0)


@pytest.fixture
def make_ct(log_lines, fake_time):
    """Build a ``CloudTempleClient`` for a fake console, on the fake clock (nothing sleeps for real, so the retry and
    wait tests take no time), without jitter or pacing; closes every client at the end."""
    clients = []

    def build(server, **overrides):
        options = dict(client_id=CT_CLIENT_ID, secret_id=CT_SECRET, timeout=5, logger=log_lines.append, max_rate=None)
        options.update(overrides)
        url = options.pop("url", server.url)
        client = CloudTempleClient(url, **options)
        client._sleep = fake_time.sleep
        client._clock = fake_time.clock
        client._rand = lambda: 0.0
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()


# -- TLS ----------------------------------------------------------------------------------------------------------


def _write_certificates(directory):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def certificate(subject, issuer, public_key, signing_key, ca, names=()):
        builder = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
                   .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
                   .public_key(public_key)
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=2))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if ca:
            builder = builder.add_extension(
                x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                              data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                              encipher_only=False, decipher_only=False), critical=True)
            builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        else:
            builder = builder.add_extension(x509.SubjectAlternativeName(list(names)), critical=False)
            builder = builder.add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                                            critical=False)
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key()), critical=False)
        return builder.sign(signing_key, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = certificate("unit-test CA", "unit-test CA", ca_key.public_key(), ca_key, True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    server_cert = certificate("127.0.0.1", "unit-test CA", server_key.public_key(), ca_key, False, names)
    paths = {name: os.path.join(directory, name + ".pem") for name in ("ca", "server", "server-key")}
    with open(paths["ca"], "wb") as handle:
        handle.write(ca_cert.public_bytes(serialization.Encoding.PEM))
    with open(paths["server"], "wb") as handle:
        handle.write(server_cert.public_bytes(serialization.Encoding.PEM))
    with open(paths["server-key"], "wb") as handle:
        handle.write(server_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()))
    return paths


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory):
    """``{"ca", "server", "server-key"}`` PEM paths: a throw-away CA and a server certificate for 127.0.0.1."""
    return _write_certificates(str(tmp_path_factory.mktemp("certs")))


@pytest.fixture
def fake_spp_tls(tls_files):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls_files["server"], tls_files["server-key"])
    server = FakeSpp(ssl_context=context)
    yield server
    server.close()


# -- vcsim --------------------------------------------------------------------------------------------------------


def vcsim_binary():
    candidate = os.environ.get("VCSIM_BIN") or os.path.join(ROOT, ".lab", "bin", "vcsim")
    return candidate if os.access(candidate, os.X_OK) else None


@pytest.fixture(scope="module")
def vcsim(tls_files):
    """A vSphere simulator on loopback over TLS: ``(host, port)``. Skipped when the binary is not built."""
    binary = vcsim_binary()
    if binary is None:
        pytest.skip("vcsim is not built (make lab builds .lab/bin/vcsim; or set VCSIM_BIN)")
    process = subprocess.Popen(
        [binary, "-listen", "127.0.0.1:0", "-tls-cert", tls_files["server"], "-tls-key", tls_files["server-key"],
         "-datacenters", "1", "-clusters", "1", "-cluster-hosts", "2", "-hosts", "1", "-vms", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        deadline = time.monotonic() + 30
        line = ""
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if line.startswith("VCSIM_URL=") or not line:
                break
        match = re.search(r"VCSIM_URL=https://([^:/]+):(\d+)/sdk", line)
        if not match:
            pytest.fail("vcsim did not start: %r" % line)
        yield match.group(1), int(match.group(2))
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
