# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Generate the lab's certificate authority and the loopback server certificate both lab servers use.

Run as ``python tests/lab/certs.py DIR``. Existing, still valid files are kept, so the step is idempotent.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

FILES = ("ca.pem", "ca-key.pem", "server.pem", "server-key.pem")
VALIDITY = datetime.timedelta(days=30)


def _write(path, data, private=False):
    with open(path, "wb") as handle:
        handle.write(data)
    if private:
        os.chmod(path, 0o600)


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _still_valid(directory):
    if not all(os.path.exists(os.path.join(directory, name)) for name in FILES):
        return False
    with open(os.path.join(directory, "server.pem"), "rb") as handle:
        cert = x509.load_pem_x509_certificate(handle.read())
    return cert.not_valid_after_utc - datetime.datetime.now(datetime.timezone.utc) > datetime.timedelta(days=1)


def generate(directory):
    """Write ca.pem, ca-key.pem, server.pem and server-key.pem into ``directory``; return the CA path."""
    os.makedirs(directory, exist_ok=True)
    ca_path = os.path.join(directory, "ca.pem")
    if _still_valid(directory):
        return ca_path
    now = datetime.datetime.now(datetime.timezone.utc)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sovereign.vm_backup lab CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )

    server_key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
             x509.IPAddress(ipaddress.ip_address("::1"))]
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    _write(os.path.join(directory, "ca-key.pem"), _key_pem(ca_key), private=True)
    _write(ca_path, ca_cert.public_bytes(serialization.Encoding.PEM))
    _write(os.path.join(directory, "server-key.pem"), _key_pem(server_key), private=True)
    _write(os.path.join(directory, "server.pem"), server_cert.public_bytes(serialization.Encoding.PEM))
    return ca_path


if __name__ == "__main__":
    print(generate(sys.argv[1] if len(sys.argv) > 1 else ".lab/certs"))
