# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure helpers of the SPP client: Retry-After, backoff (_retry), paging arithmetic, error bodies, ngp (_errors_map),
payloads, waits."""

from __future__ import annotations

import email.utils
import ssl

import pytest
import requests
import urllib3

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import (
    ApiError,
    AuthenticationError,
    BadRequest,
    ConfigurationError,
    Conflict,
    NotFound,
    ServerBusy,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import _client, _errors_map, _retry, jobs, policies
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import answers as spp_answers

# -- Retry-After --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [
    ("5", 5.0), (" 2 ", 2.0), ("1.5", 1.5), ("0", 1.0), ("-3", 1.0), ("3600", 60.0),
    (None, None), ("", None), ("soon", None), ("nan", None),
])
def test_parse_retry_after_seconds(value, expected):
    assert _retry.parse_retry_after(value) == expected


def test_parse_retry_after_http_date():
    now = 1_700_000_000.0
    assert _retry.parse_retry_after(email.utils.formatdate(now + 7, usegmt=True), now=now) == 7.0
    assert _retry.parse_retry_after(email.utils.formatdate(now - 30, usegmt=True), now=now) == 1.0
    assert _retry.parse_retry_after(email.utils.formatdate(now + 3600, usegmt=True), now=now) == 60.0


# -- backoff ------------------------------------------------------------------------------------------------------


def test_backoff_is_exponential_with_equal_jitter_and_capped():
    assert _retry.backoff_delay(0, 0.5, 30, rand=lambda: 0.0) == 0.25
    assert _retry.backoff_delay(0, 0.5, 30, rand=lambda: 1.0) == 0.5
    assert _retry.backoff_delay(3, 0.5, 30, rand=lambda: 0.0) == 2.0
    assert _retry.backoff_delay(3, 0.5, 30, rand=lambda: 1.0) == 4.0
    assert _retry.backoff_delay(20, 0.5, 30, rand=lambda: 1.0) == 30


@pytest.mark.parametrize("status, retry, expected", [
    (503, True, True), (502, True, True), (504, True, True), (429, True, True),
    (200, True, False), (500, True, False), (409, True, False),
    (429, False, False), (502, False, False), (503, False, False), (504, False, False),  # never after it may have run
])
def test_may_resend_after(status, retry, expected):
    assert _retry.may_resend_after(status, retry) is expected


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_throttling_and_gateway_answers_to_a_post_that_may_not_be_replayed_leave_its_effect_unknown(status):
    # A proxy answers these on its own, possibly after the backend acted: even a 503 proves nothing.
    assert _retry.answer_leaves_effect_unknown("POST", status, retry=False)
    assert not _retry.answer_leaves_effect_unknown("POST", status, retry=True)
    assert not _retry.answer_leaves_effect_unknown("DELETE", status, retry=False)  # the logout, sent once


@pytest.mark.parametrize("status", [200, 201, 400, 404, 409, 500])
def test_other_answers_are_not_ambiguous(status):
    assert not _retry.answer_leaves_effect_unknown("POST", status, retry=False)


@pytest.mark.parametrize("sent, retry, expected", [
    (False, False, True),   # the connection could not be opened: nothing reached the server
    (True, False, False),   # it may have been executed
    (True, True, True), (False, True, True),
])
def test_may_resend_after_transport_error(sent, retry, expected):
    assert _retry.may_resend_after_transport_error(sent, retry) is expected


# -- TLS failures: while opening the connection, or on an open one ---------------------------------------------------


def _requests_ssl_error(inner, url="/ngp/hypervisor"):
    """The chain that requests and urllib3 build around an ``ssl`` error."""
    wrapped = urllib3.exceptions.SSLError(inner)
    pool_error = urllib3.exceptions.MaxRetryError(None, url, reason=wrapped)
    return requests.exceptions.SSLError(pool_error)


@pytest.mark.parametrize("inner", [
    ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local "
                                    "issuer certificate (_ssl.c:1006)"),
    ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)"),
    ssl.SSLError(1, "[SSL: SSLV3_ALERT_HANDSHAKE_FAILURE] sslv3 alert handshake failure (_ssl.c:1006)"),
    ssl.SSLError(1, "[SSL: TLSV1_ALERT_PROTOCOL_VERSION] tlsv1 alert protocol version (_ssl.c:1006)"),
    ssl.SSLError(1, "[SSL: UNSUPPORTED_PROTOCOL] unsupported protocol (_ssl.c:1006)"),
    ssl.SSLError(1, "[SSL: NO_SHARED_CIPHER] no shared cipher (_ssl.c:1006)"),
    ssl.SSLError(1, "[SSL: TLSV1_ALERT_UNKNOWN_CA] tlsv1 alert unknown ca (_ssl.c:1006)"),
    TimeoutError("_ssl.c:989: The handshake operation timed out"),
], ids=["verify", "wrong-version", "handshake-alert", "protocol-alert", "unsupported", "cipher", "unknown-ca",
        "handshake-timeout"])
def test_tls_failures_while_opening_the_connection(inner):
    assert _errors_map.tls_failed_while_opening(_requests_ssl_error(inner))
    assert _errors_map.tls_failed_while_opening(inner)
    assert not _client.request_may_have_been_sent(_requests_ssl_error(inner))


@pytest.mark.parametrize("inner", [
    ssl.SSLEOFError(8, "EOF occurred in violation of protocol (_ssl.c:2427)"),
    ssl.SSLError(1, "[SSL: DECRYPTION_FAILED_OR_BAD_RECORD_MAC] decryption failed or bad record mac (_ssl.c:2580)"),
    ssl.SSLError(1, "[SSL: BAD_RECORD_MAC] bad record mac (_ssl.c:2580)"),
    ssl.SSLZeroReturnError(6, "TLS/SSL connection has been closed (EOF) (_ssl.c:1006)"),
], ids=["eof", "decryption-failed", "bad-record-mac", "zero-return"])
def test_tls_failures_on_an_open_connection_may_follow_the_request(inner):
    assert not _errors_map.tls_failed_while_opening(_requests_ssl_error(inner))
    assert _client.request_may_have_been_sent(_requests_ssl_error(inner))


def test_words_of_the_url_do_not_make_a_tls_failure_a_handshake_failure():
    eof = ssl.SSLEOFError(8, "EOF occurred in violation of protocol (_ssl.c:2427)")
    error = _requests_ssl_error(eof, url="/api/endeavour/alert/handshake/certificate")
    assert not _errors_map.tls_failed_while_opening(error)


def test_tls_failure_codes_are_read_from_messages_without_the_ssl_exception():
    error = requests.exceptions.SSLError("HTTPSConnectionPool(host='spp', port=443): Max retries exceeded with url: / "
                                         "(Caused by SSLError(SSLError(1, '[SSL: WRONG_VERSION_NUMBER] wrong version "
                                         "number (_ssl.c:1006)')))")
    assert _errors_map.tls_failed_while_opening(error)
    assert not _errors_map.tls_failed_while_opening(requests.exceptions.SSLError("EOF occurred in violation of "
                                                                                 "protocol"))


@pytest.mark.parametrize("error, sent", [
    (requests.exceptions.ConnectTimeout("connect timed out"), False),
    (requests.exceptions.ConnectionError(urllib3.exceptions.MaxRetryError(
        None, "/", reason=urllib3.exceptions.NewConnectionError(None, "[Errno 111] Connection refused"))), False),
    (requests.exceptions.ConnectionError(urllib3.exceptions.MaxRetryError(
        None, "/", reason=urllib3.exceptions.NameResolutionError("spp", None, OSError("no such host")))), False),
    (requests.exceptions.ConnectionError(urllib3.exceptions.ProtocolError(
        "Connection aborted.", ConnectionResetError(104, "Connection reset by peer"))), True),
    (requests.exceptions.ReadTimeout("read timed out"), True),
    (requests.exceptions.ChunkedEncodingError("incomplete chunk"), True),
], ids=["connect-timeout", "refused", "dns", "reset", "read-timeout", "chunked"])
def test_request_may_have_been_sent(error, sent):
    assert _client.request_may_have_been_sent(error) is sent


def test_resend_delay_prefers_retry_after():
    assert _retry.resend_delay(0, "7", 0.5, 30) == (7.0, " (Retry-After)")
    delay, why = _retry.resend_delay(3, None, 0.5, 30)
    assert 2.0 <= delay <= 4.0 and why == ""


# -- pagination arithmetic ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("start, size, received, total, expected", [
    (0, 100, 100, 250, 100),
    (200, 100, 50, 250, None),
    (100, 100, 100, 200, None),
    (0, 100, 0, 250, None),
    (0, 100, 100, 0, 100),       # APAR IT45897: total 0, a full page may be followed by more
    (0, 100, 99, 0, None),
    (0, 100, 100, None, 100),
    (0, 100, 100, True, 100),    # a bool is not a total
])
def test_next_page_start(start, size, received, total, expected):
    assert _client.next_page_start(start, size, received, total) == expected


# -- error bodies -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("body, expected", [
    ({"id": "JobRunning", "description": "concurrent runs are not supported", "title": "Error"},
     ("JobRunning", "concurrent runs are not supported")),
    (b'{"statusCode": 409, "response": {"id": "SlaInUse", "description": "assigned", "title": "Error"}}',
     ("SlaInUse", "assigned")),
    ('{"statusCode": 400, "response": "{\\"id\\": \\"Bad\\", \\"description\\": \\"in a string\\"}"}',
     ("Bad", "in a string")),
    ({"statusCode": 400, "response": {"response": {"description": "nested"}}}, (None, "nested")),
    ({"statusCode": 500, "response": "plain text"}, (None, "plain text")),
    ({"title": "Error"}, (None, "Error")),
    ({"message": "from a proxy"}, (None, "from a proxy")),
    ("<html><body><h1>502 Bad Gateway</h1></body></html>", (None, "502 Bad Gateway")),
    (b"", (None, None)),
    (None, (None, None)),
    ("[1, 2]", (None, "[1, 2]")),
])
def test_parse_error_body(body, expected):
    assert _errors_map.parse_error_body(body) == expected


def test_parse_error_body_keeps_comparisons_in_json_text():
    assert _errors_map.parse_error_body({"description": "size must be <= 10 and > 0"}) == (
        None, "size must be <= 10 and > 0")


def test_long_error_bodies_are_shortened():
    error_id, description = _errors_map.parse_error_body("x" * 5000)
    assert error_id is None and len(description) == 300 and description.endswith("...")


@pytest.mark.parametrize("status, error_class", [
    (400, BadRequest), (404, NotFound), (409, Conflict), (429, ServerBusy), (500, ServerBusy), (503, ServerBusy),
    (403, ApiError), (418, ApiError),
])
def test_error_for_status(status, error_class):
    error = _errors_map.error_for_status(status, "Id", "text", "GET", "https://spp/api/x")
    assert type(error) is error_class  # pylint: disable=unidiomatic-typecheck
    assert str(error) == "GET https://spp/api/x failed with HTTP %d (Id): text" % status


def test_error_for_answer_redacts_and_notes_the_attempts():
    error = _errors_map.error_for_answer(503, b'{"description": "token Very-secret-1 busy"}', "GET", "u", attempts=3,
                                         secrets=("Very-secret-1", None, "abc"))
    assert type(error) is ServerBusy  # pylint: disable=unidiomatic-typecheck
    assert error.description == "token ******** busy (gave up after 3 attempts)"
    error = _errors_map.error_for_answer(302, b"", "GET", "u", location="https://elsewhere/")
    assert type(error) is ApiError and "redirected to https://elsewhere/" in str(error)  # pylint: disable=unidiomatic-typecheck


def test_find_by_name_lists_the_known_names():
    items = [{"name": "job%02d" % number} for number in range(25, 0, -1)]
    assert spp_answers.find_by_name(items, "job07", "job") == {"name": "job07"}
    with pytest.raises(NotFound) as caught:
        spp_answers.find_by_name(items, "nope", "job", limit=3)
    assert str(caught.value) == "SPP has no job named 'nope' (known: job01, job02, job03, ...)"
    with pytest.raises(NotFound) as caught:
        spp_answers.find_by_name(items[:2], "nope", "SLA policy")
    assert str(caught.value) == "SPP has no SLA policy named 'nope' (known: job24, job25)"
    with pytest.raises(NotFound) as caught:
        spp_answers.find_by_name([], "nope", "SLA policy", limit=20)
    assert str(caught.value) == "SPP has no SLA policy named 'nope' (known: none)"


def test_lookup_errors_read_as_their_description():
    assert str(NotFound(None, description="SPP has no job named 'x'")) == "SPP has no job named 'x'"


# -- ngp ----------------------------------------------------------------------------------------------------------


def test_unwrap_ngp():
    assert _errors_map.unwrap_ngp({"statusCode": 201, "response": {"name": "r"}}) == {"name": "r"}
    assert _errors_map.unwrap_ngp({"slapolicies": []}) == {"slapolicies": []}
    assert _errors_map.unwrap_ngp(None) is None
    with pytest.raises(Conflict) as caught:
        _errors_map.unwrap_ngp({"statusCode": 409, "response": {"id": "Held", "description": "held"}}, "POST", "u")
    assert caught.value.error_id == "Held"
    with pytest.raises(AuthenticationError):
        _errors_map.unwrap_ngp({"statusCode": 401, "response": "expired"}, "GET", "u")


# -- URLs ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("given, expected", [
    ("https://spp.example.com", "https://spp.example.com"),
    ("https://spp.example.com:8443/", "https://spp.example.com:8443"),
    ("spp.example.com", "https://spp.example.com"),
    ("http://127.0.0.1:9000/prefix/", "http://127.0.0.1:9000/prefix"),
])
def test_normalise_base_url(given, expected):
    assert _client.normalise_base_url(given) == expected


@pytest.mark.parametrize("given", ["", None, "ftp://spp.example.com", "https://"])
def test_normalise_base_url_rejects(given):
    with pytest.raises(ConfigurationError):
        _client.normalise_base_url(given)


@pytest.mark.parametrize("given", [
    "https://admin:Pa55-w0rd@spp.corp.test",
    "https://admin:Pa55-w0rd@spp.corp.test:8443/prefix",
    "admin:Pa55-w0rd@spp.corp.test",
    "http://Pa55-w0rd@spp.corp.test",
    "ftp://admin:Pa55-w0rd@spp.corp.test",
    "https:/admin:Pa55-w0rd@spp.corp.test",
    "  https://admin:p@ss:Pa55-w0rd@spp.corp.test  ",
])
def test_credentials_in_the_url_are_refused_without_repeating_them(given):
    """Issue 14: userinfo would be printed with the URL in every connection error; refused, and not echoed."""
    with pytest.raises(ConfigurationError) as caught:
        _client.normalise_base_url(given)
    message = str(caught.value)
    assert "Pa55-w0rd" not in message and "admin" not in message and "spp.corp.test" not in message.split("e.g.", maxsplit=1)[0]
    assert "spp_username and spp_password" in message


def test_a_client_is_never_built_with_credentials_in_the_url():
    with pytest.raises(ConfigurationError) as caught:
        _client.SppClient("https://admin:Pa55-w0rd@127.0.0.1:1", "admin", "Pa55-w0rd")
    assert "Pa55-w0rd" not in str(caught.value) and "Pa55-w0rd" not in repr(caught.value.to_result())


def test_url_for():
    client = _client.SppClient("https://spp.example.com:8443", "u", "p")
    assert client.url_for("/api/x") == "https://spp.example.com:8443/api/x"
    assert client.url_for("api/x") == "https://spp.example.com:8443/api/x"
    same = "https://spp.example.com:8443/api/hypervisor/1001/vm?from=hlo&pageStartIndex=100"
    assert client.url_for(same) == same
    assert (client.url_for("https://spp-internal:443/api/hypervisor?from=hlo")
            == "https://spp.example.com:8443/api/hypervisor?from=hlo")


def test_verify_setting(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("not checked here")
    assert _client.SppClient("https://h", "u", "p")._verify is True
    assert _client.SppClient("https://h", "u", "p", ca_path=str(ca))._verify == str(ca)
    assert _client.SppClient("https://h", "u", "p", validate_certs=False, ca_path=str(ca))._verify is False
    with pytest.raises(ConfigurationError) as caught:
        _client.SppClient("https://h", "u", "p", ca_path=str(tmp_path / "missing.pem"))
    assert "spp_ca_path" in str(caught.value)


def test_repr_hides_secrets():
    client = _client.SppClient("https://h", "u", "Very-secret-1")
    client._session_id = "0123456789abcdef0123456789abcdef"
    assert "Very-secret-1" not in repr(client) and client._session_id not in repr(client)


# -- job helpers --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status, resource_active, settled", [
    ("COMPLETED", False, True), ("partial", False, True), ("FAILED", False, True), ("CANCELLED", False, True),
    ("ABORTED", False, True), ("RUNNING", False, False), ("PENDING", False, False),
    ("RESOURCE ACTIVE", False, False), ("RESOURCE ACTIVE", True, True), ("RESOURCE_ACTIVE", True, True),
])
def test_is_settled(status, resource_active, settled):
    assert spp_answers.is_settled(spp_answers.session_status({"status": status}), resource_active) is settled


def test_action_params():
    assert jobs.action_params("https://spp/api/endeavour/job/1004", "start") == {"action": "start",
                                                                                 "actionname": "start"}
    assert jobs.action_params("https://spp/api/endeavour/job/1004?action=start&actionname=start", "start") is None


def test_describe_session():
    session = {"id": "1577", "jobName": "vmware_Gold", "status": "RUNNING", "percent": 40}
    assert spp_answers.describe_session(session) == "SPP job session 1577 (job 'vmware_Gold') is RUNNING at 40%"
    assert (spp_answers.describe_session(session, service="the Cloud Temple console API")
            == "the Cloud Temple console API job session 1577 (job 'vmware_Gold') is RUNNING at 40%")


# -- payloads -----------------------------------------------------------------------------------------------------

VM = {"id": "4f0c", "name": "web01", "metadataPath": "/MS:1001/DC:dc/VM:4f0c",
      "links": {"self": {"href": "https://spp/api/hypervisor/1001/vm/4f0c?from=hlo"}}}
GOLD = {"id": "2000", "name": "Gold", "links": {"self": {"href": "https://spp/api/spec/storageprofile/2000"}}}


def test_apply_sla_payload():
    assert policies.apply_sla_payload([VM], [GOLD]) == {
        "subtype": "vmware", "version": "1.0",
        "resources": [{"href": "https://spp/api/hypervisor/1001/vm/4f0c?from=hlo", "id": "4f0c",
                       "metadataPath": "/MS:1001/DC:dc/VM:4f0c"}],
        "slapolicies": [{"href": "https://spp/api/spec/storageprofile/2000", "id": "2000", "name": "Gold"}],
    }
    assert policies.apply_sla_payload([VM], [])["slapolicies"] == []


def test_apply_options_payload():
    payload = policies.apply_options_payload([VM], {"makeApplicationConsistent": False})
    assert payload["options"] == {"makeApplicationConsistent": False}
    assert payload["resources"][0]["id"] == "4f0c"


def test_payload_rejects_resources_without_links():
    with pytest.raises(ApiError) as caught:
        policies.apply_sla_payload([{"id": "x", "name": "web02"}], [GOLD])
    assert "web02" in str(caught.value)


# -- jobs as the public record shows them (spp-api.md 14.7, 14.14, 14.17) ------------------------------------------


@pytest.mark.parametrize("job, expected", [
    ({"status": "HELD"}, (True, "status")),
    ({"status": "IDLE", "lastSessionStatus": "HELD"}, (False, "status")),  # the job's own status decides
    ({"lastSessionStatus": "HELD"}, (True, "lastSessionStatus")),
    ({"lastrun": {"status": "COMPLETED"}}, (False, "lastrun.status")),
    ({}, (False, None)),
    (None, (False, None)),
])
def test_held_state_says_which_field_it_read(job, expected):
    assert spp_answers.held_state(job) == expected


def test_held_job_names():
    assert spp_answers.held_job_names([{"name": "a", "status": "HELD"}, {"name": "b", "status": "IDLE"}]) == {"a"}


@pytest.mark.parametrize("schema, expected", [
    ({"parameter": {"actionname": {"values": [{"name": "Backup", "value": "start"}, {"name": "R", "value": "r"}]}}},
     "start"),
    ({"parameter": {"actionname": {"values": []}}}, None),
    ({}, None),
    (None, None),
])
def test_start_actionname_is_the_first_workflow(schema, expected):
    assert spp_answers.start_actionname(schema) == expected


def test_link_names_and_started_since():
    assert spp_answers.link_names({"links": {"start": {}, "self": {}}}) == ["self", "start"]
    assert spp_answers.link_names({}) == [] and spp_answers.link_names(None) == []
    assert spp_answers.started_since({"start": 2000}, 2000) and not spp_answers.started_since({"start": 1999}, 2000)
    assert not spp_answers.started_since({}, 1) and not spp_answers.started_since({"start": "x"}, 1)


def test_protection_policy():
    assert spp_answers.protection_policy({"protectionInfo": {"storageProfileName": "Gold"}}) == "Gold"
    assert spp_answers.protection_policy({"protectionInfo": {}}) is None and spp_answers.protection_policy(None) is None
