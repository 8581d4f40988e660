# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SppClient over HTTPS with a throw-away CA: verified, unverifiable, and verification turned off."""

from __future__ import annotations

import warnings

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import ConnectionFailure

from spp_fake_server import Reply


@pytest.fixture
def tls_server(fake_spp_tls):
    fake_spp_tls.route("GET", "/api/hypervisor", Reply(200, {"hypervisors": []}))
    return fake_spp_tls


def test_verified_with_the_lab_ca(tls_server, make_client, tls_files):
    client = make_client(tls_server, ca_path=tls_files["ca"])
    assert client.get("/api/hypervisor") == {"hypervisors": []}


def test_unknown_ca_fails_with_a_fix(tls_server, make_client):
    client = make_client(tls_server)
    with pytest.raises(ConnectionFailure) as caught:
        client.get("/api/hypervisor")
    text = str(caught.value)
    assert text.startswith("TLS certificate verification failed for %s: " % tls_server.url)
    assert "Set spp_ca_path to the CA that signed the server certificate" in text
    assert "spp_validate_certs: false" in text
    assert tls_server.count() == 0  # nothing was sent, nothing retried


def test_wrong_ca_fails(tls_server, make_client, tmp_path, tls_files):
    # A valid CA file that did not sign the server certificate: the server certificate itself.
    client = make_client(tls_server, ca_path=tls_files["server"])
    with pytest.raises(ConnectionFailure) as caught:
        client.get("/api/hypervisor")
    assert "certificate verification failed" in str(caught.value)


def test_validation_off_works_without_warnings(tls_server, make_client):
    client = make_client(tls_server, validate_certs=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert client.get("/api/hypervisor") == {"hypervisors": []}
    assert not [warning for warning in caught if "Unverified HTTPS" in str(warning.message)]


def test_plain_http_server_behind_an_https_url(fake_spp, make_client):
    fake_spp.url = fake_spp.url.replace("http://", "https://")
    client = make_client(fake_spp, validate_certs=False, retries=0)
    with pytest.raises(ConnectionFailure) as caught:
        client.get("/api/hypervisor")
    assert "TLS handshake with" in str(caught.value) and "scheme and port" in str(caught.value)
