# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SppClient against a scripted SPP server on loopback: retries, re-login, lost answers, paging, error mapping."""

from __future__ import annotations

import socket
import time

import pytest
import requests
import urllib3

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import (
    AmbiguousResult,
    ApiError,
    AuthenticationError,
    BadRequest,
    Conflict,
    ConnectionFailure,
    NotFound,
    ServerBusy,
    VmBackupError,
)

from spp_fake_server import DROP, GARBLE, SPP_PASSWORD, Reply

HV_PATH = "/api/hypervisor"


def ok(body=None):
    return Reply(200, body if body is not None else {"hypervisors": [{"id": "1001"}]})


# -- retries ------------------------------------------------------------------------------------------------------


def test_get_retries_503_then_succeeds(fake_spp, make_client, log_lines):
    fake_spp.route("GET", HV_PATH, Reply(503), Reply(503), ok())
    client = make_client(fake_spp)
    assert client.get(HV_PATH) == {"hypervisors": [{"id": "1001"}]}
    assert fake_spp.count("GET", HV_PATH) == 3
    assert sum("HTTP 503" in line for line in log_lines) == 2


def test_429_waits_at_least_retry_after(fake_spp, make_client, log_lines):
    fake_spp.route("GET", HV_PATH, Reply(429, headers={"Retry-After": "1"}), ok())
    client = make_client(fake_spp)
    client.login()
    started = time.monotonic()
    client.get(HV_PATH)
    assert time.monotonic() - started >= 1.0
    assert fake_spp.count("GET", HV_PATH) == 2
    assert any("Retry-After" in line for line in log_lines)


def test_retry_after_is_clamped_to_a_minute(fake_spp, make_client):
    fake_spp.route("GET", HV_PATH, Reply(503, headers={"Retry-After": "86400"}), ok())
    client = make_client(fake_spp)
    waits = []
    client._sleep = waits.append
    client.get(HV_PATH)
    assert waits == [60.0]


def test_gives_up_with_server_busy_after_the_retries(fake_spp, make_client):
    fake_spp.route("GET", HV_PATH, Reply(503, {"id": "Busy", "description": "try later"}))
    client = make_client(fake_spp, retries=2)
    with pytest.raises(ServerBusy) as caught:
        client.get(HV_PATH)
    assert fake_spp.count("GET", HV_PATH) == 3
    assert caught.value.status == 503
    assert "gave up after 3 attempts" in str(caught.value)
    assert "try later" in str(caught.value)


def test_get_is_retried_after_a_dropped_connection(fake_spp, make_client):
    fake_spp.route("GET", HV_PATH, DROP, ok())
    client = make_client(fake_spp)
    assert client.get(HV_PATH)["hypervisors"]
    assert fake_spp.count("GET", HV_PATH) == 2


def test_get_is_retried_after_a_read_timeout(fake_spp, make_client):
    calls = []

    def slow_once(request):
        calls.append(request)
        if len(calls) == 1:
            time.sleep(0.4)
        return ok()

    fake_spp.route("GET", HV_PATH, slow_once)
    client = make_client(fake_spp, timeout=(1, 0.2))
    assert client.get(HV_PATH)["hypervisors"]
    assert fake_spp.count("GET", HV_PATH) == 2


def test_put_and_delete_are_retried(fake_spp, make_client):
    fake_spp.route("PUT", "/ngp/slapolicy/2000", Reply(502), Reply(200, {"id": "2000"}))
    fake_spp.route("DELETE", "/ngp/slapolicy/2000", Reply(504), Reply(204))
    client = make_client(fake_spp)
    assert client.put("/ngp/slapolicy/2000", json={"name": "Gold"}) == {"id": "2000"}
    assert client.delete("/ngp/slapolicy/2000") is None
    assert fake_spp.count("PUT") == 2 and fake_spp.count("DELETE", "/ngp/slapolicy/2000") == 2


# -- POST: never replayed once it may have been executed -----------------------------------------------------------

START_PATH = "/api/endeavour/job/1004"


def test_post_with_a_lost_answer_is_not_repeated(fake_spp, make_client):
    fake_spp.route("POST", START_PATH, DROP)
    client = make_client(fake_spp)
    with pytest.raises(AmbiguousResult) as caught:
        client.post(START_PATH, params={"action": "start"},
                    lost_answer_hint="the server may have started the job; check job sessions before retrying")
    assert fake_spp.count("POST", START_PATH) == 1
    assert "check job sessions before retrying" in str(caught.value)
    assert "answer was lost" in str(caught.value)


def test_post_read_timeout_is_ambiguous(fake_spp, make_client):
    def slow(request):
        time.sleep(0.4)
        return Reply(200, {})

    fake_spp.route("POST", START_PATH, slow)
    client = make_client(fake_spp, timeout=(1, 0.2))
    with pytest.raises(AmbiguousResult):
        client.post(START_PATH)
    assert fake_spp.count("POST", START_PATH) == 1


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_post_throttling_or_gateway_answer_is_ambiguous_and_not_repeated(fake_spp, make_client, status):
    # A proxy in front of SPP may answer these after the backend acted: even a 503 does not prove it did not.
    fake_spp.route("POST", START_PATH, Reply(status, headers={"Retry-After": "1"}), Reply(200, {}))
    client = make_client(fake_spp)
    with pytest.raises(AmbiguousResult) as caught:
        client.post(START_PATH, lost_answer_hint="the server may have started the job; check job sessions")
    assert fake_spp.count("POST", START_PATH) == 1
    assert caught.value.details["status"] == status
    text = str(caught.value)
    assert "got HTTP %d" % status in text and "may have been carried out" in text
    assert text.endswith("the server may have started the job; check job sessions")


def test_post_is_sent_again_when_the_connection_could_not_be_opened(fake_spp, make_client, log_lines):
    client = make_client(fake_spp)
    client.login()
    fake_spp.route("POST", START_PATH, Reply(200, {"id": "1004"}))
    send = client._send
    refusals = []

    def refused_once(*args):
        if not refusals:
            refusals.append(args)
            reason = urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection: [Errno 111] "
                                                                 "Connection refused")
            raise requests.exceptions.ConnectionError(urllib3.exceptions.MaxRetryError(None, START_PATH, reason))
        return send(*args)

    client._send = refused_once
    assert client.post(START_PATH) == {"id": "1004"}
    assert len(refusals) == 1 and fake_spp.count("POST", START_PATH) == 1
    assert any("retry 1 of 3" in line for line in log_lines)


def test_post_tls_error_after_the_request_was_sent_is_a_lost_answer(fake_spp_tls, make_client, tls_files):
    fake_spp_tls.route("POST", START_PATH, GARBLE, Reply(200, {}))
    client = make_client(fake_spp_tls, ca_path=tls_files["ca"])
    with pytest.raises(AmbiguousResult) as caught:
        client.post(START_PATH, lost_answer_hint="check the job sessions")
    assert fake_spp_tls.count("POST", START_PATH) == 1
    text = str(caught.value)
    assert "answer was lost" in text and "check the job sessions" in text
    assert "handshake" not in text.lower()


def test_get_tls_error_after_the_request_was_sent_is_retried(fake_spp_tls, make_client, tls_files):
    fake_spp_tls.route("GET", HV_PATH, GARBLE, ok())
    client = make_client(fake_spp_tls, ca_path=tls_files["ca"])
    assert client.get(HV_PATH)["hypervisors"]
    assert fake_spp_tls.count("GET", HV_PATH) == 2


def test_logout_is_one_attempt(fake_spp, make_client):
    client = make_client(fake_spp)
    client.login()
    fake_spp.route("DELETE", "/api/endeavour/session", Reply(503))
    client.close()
    assert fake_spp.count("DELETE", "/api/endeavour/session") == 1 and not client.logged_in


def test_post_500_is_not_repeated(fake_spp, make_client):
    fake_spp.route("POST", START_PATH, Reply(500, {"id": "Boom", "description": "internal"}), Reply(200, {}))
    client = make_client(fake_spp)
    with pytest.raises(ServerBusy):
        client.post(START_PATH)
    assert fake_spp.count("POST", START_PATH) == 1


def test_read_only_post_may_opt_into_retries(fake_spp, make_client):
    fake_spp.route("POST", "/api/hypervisor/search", DROP, Reply(200, {"vms": []}))
    client = make_client(fake_spp)
    assert client.post("/api/hypervisor/search", json={"name": "*"}, retry=True) == {"vms": []}
    assert fake_spp.count("POST", "/api/hypervisor/search") == 2


# -- session ------------------------------------------------------------------------------------------------------


def test_logs_in_again_once_after_an_expired_session(fake_spp, make_client):
    fake_spp.route("GET", HV_PATH, ok())
    client = make_client(fake_spp)
    client.get(HV_PATH)
    fake_spp.expire_sessions()
    assert client.get(HV_PATH)["hypervisors"]
    assert fake_spp.count("POST", "/api/endeavour/session") == 2
    assert fake_spp.count("GET", HV_PATH) == 3
    sent = [request.session_id for request in fake_spp.requests if request.path == HV_PATH]
    assert sent[0] == sent[1] != sent[2]


def test_post_is_replayed_after_a_401(fake_spp, make_client):
    fake_spp.route("POST", START_PATH, Reply(200, {"id": "1004"}))
    client = make_client(fake_spp)
    client.login()
    fake_spp.expire_sessions()
    assert client.post(START_PATH) == {"id": "1004"}
    assert fake_spp.count("POST", START_PATH) == 2  # the 401 answer proves the first one was not executed


def test_second_401_raises_authentication_error(fake_spp, make_client):
    fake_spp.route("GET", HV_PATH, Reply(401, {"id": "SessionExpired", "description": "nope"}))
    client = make_client(fake_spp)
    with pytest.raises(AuthenticationError) as caught:
        client.get(HV_PATH)
    assert fake_spp.count("POST", "/api/endeavour/session") == 2
    assert fake_spp.count("GET", HV_PATH) == 2
    assert "even after a fresh login" in str(caught.value)


def test_bad_credentials(fake_spp, make_client):
    client = make_client(fake_spp, password="wrong-password")
    with pytest.raises(AuthenticationError) as caught:
        client.get(HV_PATH)
    assert "spp_username and spp_password" in str(caught.value)
    assert "wrong-password" not in str(caught.value)
    assert fake_spp.count("POST", "/api/endeavour/session") == 1


def test_context_manager_logs_out(fake_spp, make_client):
    fake_spp.route("GET", HV_PATH, ok())
    with make_client(fake_spp) as client:
        client.get(HV_PATH)
        assert client.logged_in
    assert not client.logged_in
    assert fake_spp.count("DELETE", "/api/endeavour/session") == 1
    assert not fake_spp.sessions


def test_context_manager_swallows_a_failed_logout(fake_spp, make_client, log_lines):
    fake_spp.route("GET", HV_PATH, ok())
    fake_spp.route("DELETE", "/api/endeavour/session", DROP)
    with make_client(fake_spp) as client:
        client.get(HV_PATH)
    assert any("logout failed" in line for line in log_lines)


def test_request_count_counts_every_http_request(fake_spp, make_client):
    fake_spp.route("GET", HV_PATH, Reply(503), ok())
    client = make_client(fake_spp)
    client.get(HV_PATH)
    assert client.request_count == len(fake_spp.requests) == 3  # login + 503 + 200


# -- errors -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status, error_class", [(400, BadRequest), (404, NotFound), (409, Conflict),
                                                 (403, ApiError)])
def test_api_error_mapping(fake_spp, make_client, status, error_class):
    fake_spp.route("GET", "/api/endeavour/job/9", Reply(status, {"id": "SomeError", "description": "what went wrong",
                                                                 "title": "Error"}))
    client = make_client(fake_spp)
    with pytest.raises(error_class) as caught:
        client.get("/api/endeavour/job/9")
    assert type(caught.value) is error_class  # pylint: disable=unidiomatic-typecheck
    assert caught.value.status == status
    assert caught.value.error_id == "SomeError"
    assert caught.value.description == "what went wrong"
    assert "/api/endeavour/job/9" in str(caught.value)


def test_ngp_unwraps_the_response(fake_spp, make_client):
    wrapped = {"statusCode": 201, "response": {"name": "onDemandRestore_1"}}
    fake_spp.route("POST", "/ngp/hypervisor", Reply(201, wrapped))
    client = make_client(fake_spp)
    assert client.ngp("POST", "/ngp/hypervisor", params={"action": "restore"}, json={}) == {"name": "onDemandRestore_1"}


def test_ngp_plain_json_passes_through(fake_spp, make_client):
    fake_spp.route("GET", "/ngp/slapolicy", Reply(200, {"slapolicies": [], "total": 0}))
    client = make_client(fake_spp)
    assert client.ngp("GET", "/ngp/slapolicy") == {"slapolicies": [], "total": 0}


@pytest.mark.parametrize("status, error_class", [(400, BadRequest), (404, NotFound), (409, Conflict)])
def test_ngp_error_bodies_are_mapped(fake_spp, make_client, status, error_class):
    body = {"statusCode": status, "response": {"id": "NgpError", "description": "ngp says no", "title": "Error"}}
    fake_spp.route("DELETE", "/ngp/slapolicy/2000", Reply(status, body))
    client = make_client(fake_spp)
    with pytest.raises(error_class) as caught:
        client.ngp("DELETE", "/ngp/slapolicy/2000")
    assert caught.value.error_id == "NgpError"
    assert caught.value.description == "ngp says no"


def test_ngp_wrapper_error_inside_a_200_is_raised(fake_spp, make_client):
    fake_spp.route("POST", "/ngp/hypervisor", Reply(200, {"statusCode": 409, "response": "policy is held"}))
    client = make_client(fake_spp)
    with pytest.raises(Conflict) as caught:
        client.ngp("POST", "/ngp/hypervisor", json={}, retry=True)
    assert caught.value.description == "policy is held"


def test_non_json_error_body(fake_spp, make_client):
    fake_spp.route("GET", HV_PATH, Reply(500, "<html><body><h1>Internal error</h1></body></html>"))
    client = make_client(fake_spp, retries=0)
    with pytest.raises(ServerBusy) as caught:
        client.get(HV_PATH)
    assert caught.value.description == "Internal error"


def test_redirects_are_not_followed(fake_spp, make_client):
    fake_spp.route("GET", HV_PATH, Reply(302, headers={"Location": "https://elsewhere.example/api/hypervisor"}))
    client = make_client(fake_spp)
    with pytest.raises(ApiError) as caught:
        client.get(HV_PATH)
    assert caught.value.status == 302 and "set spp_url" in str(caught.value)
    assert fake_spp.count("GET", HV_PATH) == 1


def test_success_without_json_is_an_api_error(fake_spp, make_client):
    fake_spp.route("GET", HV_PATH, Reply(200, "<html>login page</html>"))
    client = make_client(fake_spp)
    with pytest.raises(ApiError) as caught:
        client.get(HV_PATH)
    assert "not JSON" in str(caught.value)


def test_connection_refused_is_a_connection_failure(make_client):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    class Nowhere:
        url = "http://127.0.0.1:%d" % port

    client = make_client(Nowhere, retries=1)
    with pytest.raises(ConnectionFailure) as caught:
        client.get(HV_PATH)
    assert "could not reach SPP" in str(caught.value)
    assert "Connection refused" in str(caught.value)


# -- pagination ---------------------------------------------------------------------------------------------------

VMS = [{"id": "%032x" % number, "name": "vm%02d" % number} for number in range(7)]


def test_paginate_follows_next_page_links(fake_spp, make_client):
    path = "/api/hypervisor/1001/vm"

    def page(request):
        size = int(request.query["pageSize"])
        start = int(request.query["pageStartIndex"])
        body = {"vms": VMS[start:start + size], "total": len(VMS), "links": {}}
        if start + size < len(VMS):
            body["links"]["nextPage"] = {
                "href": fake_spp.href("%s?from=hlo&pageSize=%d&pageStartIndex=%d" % (path, size, start + size))}
        return Reply(200, body)

    fake_spp.route("GET", path, page)
    client = make_client(fake_spp)
    assert list(client.paginate(path, "vms", params={"from": "hlo"}, page_size=3)) == VMS
    pages = [request for request in fake_spp.requests if request.path == path]
    assert [request.query["pageStartIndex"] for request in pages] == ["0", "3", "6"]
    assert all(request.query["from"] == "hlo" for request in pages)


def test_paginate_falls_back_to_start_index_arithmetic(fake_spp, make_client):
    path = "/api/endeavour/job"

    def page(request):
        start, size = int(request.query["pageStartIndex"]), int(request.query["pageSize"])
        return Reply(200, {"jobs": VMS[start:start + size], "total": len(VMS)})

    fake_spp.route("GET", path, page)
    client = make_client(fake_spp)
    assert list(client.paginate(path, "jobs", page_size=2)) == VMS
    assert fake_spp.count("GET", path) == 4


def test_paginate_a_search_resends_the_body(fake_spp, make_client):
    path = "/api/hypervisor/search"

    def page(request):
        assert request.json == {"name": "*", "hypervisorType": "vmware"}
        start, size = int(request.query["pageStartIndex"]), int(request.query["pageSize"])
        body = {"vdisks": VMS[start:start + size], "total": len(VMS)}
        if start + size < len(VMS):
            body["links"] = {"nextPage": {"href": fake_spp.href(
                "%s?resourceType=vdisk&from=hlo&pageSize=%d&pageStartIndex=%d" % (path, size, start + size))}}
        return Reply(200, body)

    fake_spp.route("POST", path, page)
    client = make_client(fake_spp)
    items = list(client.paginate(path, "vdisks", params={"resourceType": "vdisk", "from": "hlo"}, page_size=4,
                                 method="POST", json={"name": "*", "hypervisorType": "vmware"}))
    assert items == VMS
    assert fake_spp.count("POST", path) == 2


def test_paginate_stops_on_a_repeated_link(fake_spp, make_client):
    path = "/api/endeavour/jobsession"
    link = {"nextPage": {"href": fake_spp.href(path + "?page=2")}}
    # Other items each time (the same ones would end the listing on their own: see the next test), the same link.
    fake_spp.route("GET", path, Reply(200, {"sessions": VMS[:2], "total": 0, "links": link}),
                   Reply(200, {"sessions": VMS[2:4], "total": 0, "links": link}))
    client = make_client(fake_spp)
    assert len(list(client.paginate(path, "sessions", page_size=2))) == 4
    assert fake_spp.count("GET", path) == 2


# -- bounds (issue 14): a server that does not page must not keep a task reading forever ---------------------------


def test_paginate_stops_when_the_server_ignores_the_start_index(fake_spp, make_client, log_lines):
    """total: 0 (APAR IT45897) and pageStartIndex ignored: the same full page at every start index."""
    path = "/api/endeavour/jobsession"
    fake_spp.route("GET", path, Reply(200, {"sessions": VMS[:2], "total": 0}))
    client = make_client(fake_spp)
    assert list(client.paginate(path, "sessions", page_size=2)) == VMS[:2], "each item once"
    assert [request.query["pageStartIndex"] for request in fake_spp.requests if request.path == path] == ["0", "2"]
    assert any("does not page" in line and "may be incomplete" in line for line in log_lines)


def test_paginate_stops_when_a_link_gives_the_same_page_again(fake_spp, make_client):
    path = "/api/endeavour/jobsession"
    counter = iter(range(1000))

    def fresh_link_same_items(_request):  # a new link every time: only the items tell that it goes in circles
        return Reply(200, {"sessions": VMS[:3], "links": {"nextPage": {"href": fake_spp.href(
            "%s?page=%d" % (path, next(counter)))}}})

    fake_spp.route("GET", path, fresh_link_same_items)
    client = make_client(fake_spp)
    assert list(client.paginate(path, "sessions", page_size=3)) == VMS[:3]
    assert fake_spp.count("GET", path) == 2


def test_paginate_gives_up_after_the_page_limit_with_a_clear_error(fake_spp, make_client):
    """New items on every page and total: 0, for ever: the page limit ends it with an error, never silently."""
    path = "/api/endeavour/jobsession"
    counter = iter(range(10 ** 6))

    def endless(request):
        size = int(request.query["pageSize"])
        return Reply(200, {"sessions": [{"id": str(next(counter))} for _row in range(size)], "total": 0})

    fake_spp.route("GET", path, endless)
    client = make_client(fake_spp)
    received = []
    with pytest.raises(ApiError) as caught:
        received.extend(client.paginate(path, "sessions", page_size=2, max_pages=5))
    assert fake_spp.count("GET", path) == 5 and len(received) == 10
    message = str(caught.value)
    assert "GET /api/endeavour/jobsession did not end after 5 pages (10 items, pageSize 2)" in message
    assert "total: 0 with pageStartIndex ignored" in message


def test_paginate_has_a_default_page_limit(fake_spp, make_client, monkeypatch):
    from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import _client  # noqa  pylint: disable=C0415

    monkeypatch.setattr(_client, "MAX_PAGES", 3)
    counter = iter(range(10 ** 6))
    fake_spp.route("GET", "/api/endeavour/log/job", lambda request: Reply(200, {"logs": [{"id": next(counter)}]}))
    client = make_client(fake_spp)
    with pytest.raises(ApiError, match="did not end after 3 pages"):
        list(client.paginate("/api/endeavour/log/job", "logs", page_size=1))


def test_the_real_page_limit_is_roomy():
    from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import _client  # noqa  pylint: disable=C0415

    assert _client.MAX_PAGES * 100 >= 4 * 50000, "50,000 VMs fit four times over, even at a server's 100 per page"


def test_links_to_another_host_are_rebased(fake_spp, make_client):
    fake_spp.route("GET", HV_PATH, ok())
    client = make_client(fake_spp)
    assert client.get("https://spp-internal.example:8443/api/hypervisor?from=hlo")["hypervisors"]
    assert fake_spp.requests[-1].query == {"from": "hlo"}


# -- secrets ------------------------------------------------------------------------------------------------------


def test_secrets_never_reach_messages_or_logs(fake_spp, make_client, log_lines):
    def echo_session(request):
        # A (hypothetical) server that echoes the header into its error text.
        return Reply(400, {"id": "Bad", "description": "session %s cannot do that" % request.session_id})

    fake_spp.route("GET", HV_PATH, Reply(503), Reply(401), ok())
    fake_spp.route("GET", "/api/echo", echo_session)
    fake_spp.route("POST", START_PATH, DROP)
    fake_spp.route("GET", "/api/busy", Reply(503))
    client = make_client(fake_spp, retries=1)
    texts = []
    client.get(HV_PATH)
    for action in (lambda: client.get("/api/echo"), lambda: client.post(START_PATH),
                   lambda: client.get("/api/busy")):
        with pytest.raises(VmBackupError) as caught:
            action()
        texts.extend([str(caught.value), repr(caught.value), repr(caught.value.to_result())])
    fake_spp.route("GET", "/api/401", Reply(401, {"id": "x", "description": "bad"}))
    with pytest.raises(AuthenticationError) as caught:
        client.get("/api/401")
    texts.extend([str(caught.value), repr(caught.value.to_result()), repr(client)])
    client.close()
    assert fake_spp.issued, "the client logged in"
    everything = "\n".join(texts + log_lines)
    for secret in fake_spp.issued + [SPP_PASSWORD]:
        assert secret not in everything
    assert "********" in everything  # the echoed session id was redacted, not dropped silently


@pytest.mark.parametrize("password", ["ab", "x", "Q7!"])
def test_a_short_password_is_redacted_too(fake_spp, make_client, log_lines, password):
    """Issue 14: secrets shorter than 4 characters used to be left in. They go where they stand as a word of their
    own; the letters of other words stay, so that the message can still be read."""
    fake_spp.password = password

    def echo(request):  # a server (or proxy) that echoes what it was given
        text = "user admin with password %s refused by the table rule (%s)" % (password, request.session_id)
        return Reply(400, {"id": "Bad", "description": text})

    fake_spp.route("GET", "/api/echo", echo)
    fake_spp.route("GET", "/api/html", Reply(200, "<html>password: %s</html>" % password))
    fake_spp.route("GET", "/api/401", Reply(401, {"id": "Denied", "description": "login %s refused" % password}))
    client = make_client(fake_spp, retries=0, password=password)
    texts = []
    for path, error in (("/api/echo", BadRequest), ("/api/html", ApiError), ("/api/401", AuthenticationError)):
        with pytest.raises(error) as caught:
            client.get(path)
        texts.extend([str(caught.value), repr(caught.value.to_result())])
    client.log("the password %s must not reach the log" % password)
    client.close()
    everything = "\n".join(texts + log_lines)
    assert not _as_a_word(password, everything), everything
    for session_id in fake_spp.issued:
        assert session_id not in everything
    assert "refused by the table rule" in everything, "ordinary words keep their letters"


def _as_a_word(secret, text):
    import re  # pylint: disable=import-outside-toplevel

    return re.search(r"(?<![^\W_])%s(?![^\W_])" % re.escape(secret), text)
