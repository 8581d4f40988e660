# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""CloudTempleClient against a scripted console on loopback: the token exchange and its cache, the replay after a
401, retries of reads, writes sent once, error mapping, secrets kept out of every message, parallel reads."""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import (
    AmbiguousResult,
    ApiError,
    AuthenticationError,
    ConfigurationError,
    ConnectionFailure,
    NotFound,
    ServerBusy,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.cloudtemple import _client as ct
from ansible_collections.sovereign.vm_backup.plugins.module_utils.cloudtemple._client import (
    CloudTempleClient,
    Listing,
    read_many,
)

from ct_fake_server import CT_CLIENT_ID, CT_SECRET, DROP, TOKEN_PATH, FakeConsole, Reply, make_jwt, write_reply

POLICIES = "/api/backup/v1/spp/policies"
ASSIGN = "/api/backup/v1/spp/policies/assign/virtual_machine"
ACTIVITY_ID = "8c6c3447-7381-4719-831f-f957d748fda6"


def ok(body=None):
    return Reply(200, body if body is not None else [{"id": "p1", "name": "SLA_DAILY"}])


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- the token (section 3) -----------------------------------------------------------------------------------------


def test_the_token_exchange_posts_the_pat_and_the_bearer_is_reused(console, make_ct):
    console.route("GET", POLICIES, ok())
    client = make_ct(console)
    client.get(POLICIES)
    client.get(POLICIES)
    exchange = [request for request in console.requests if request.path == TOKEN_PATH]
    assert len(exchange) == 1
    assert exchange[0].json == {"id": CT_CLIENT_ID, "secret": CT_SECRET}
    assert "Authorization" not in exchange[0].headers
    assert exchange[0].headers["Content-Type"] == "application/json"
    assert [request.bearer for request in console.calls()] == [console.issued[0]] * 2


def test_the_bearer_is_exchanged_again_shortly_before_it_expires(console, make_ct, fake_time):
    console.route("GET", POLICIES, ok())
    client = make_ct(console)
    client.get(POLICIES)
    fake_time.now += 265  # a 300 s token is reused up to 30 s before its exp
    client.get(POLICIES)
    assert console.exchanges == 1
    fake_time.now += 10
    client.get(POLICIES)
    assert console.exchanges == 2
    assert console.calls()[-1].bearer == console.issued[1]


def test_token_lifetime_prefers_exp_minus_iat_and_falls_back():
    assert ct.token_lifetime({"exp": 1300, "iat": 1000}, now=5000) == 300
    assert ct.token_lifetime({"exp": 1300}, now=1100) == 200
    assert ct.token_lifetime({}, now=1100) == ct.TOKEN_LIFETIME
    assert ct.jwt_claims(make_jwt({"exp": 12, "scope": {"id": "t"}}))["scope"] == {"id": "t"}
    for text in ("", "abc", "a.b", "a..c", "a.!!!.c", "a.WzEsMl0.c"):  # WzEsMl0: [1,2], not an object
        with pytest.raises(ValueError):
            ct.jwt_claims(text)


def test_a_401_exchanges_the_token_once_and_replays_the_call_once(console, make_ct):
    console.route("GET", POLICIES, ok())
    client = make_ct(console)
    client.get(POLICIES)
    console.revoke_tokens()
    assert client.get(POLICIES) == [{"id": "p1", "name": "SLA_DAILY"}]
    assert console.exchanges == 2
    assert len(console.calls("GET", POLICIES)) == 3


def test_a_second_401_is_an_authentication_error(console, make_ct):
    console.route("GET", POLICIES, Reply(401, "token revoked"))
    client = make_ct(console)
    with pytest.raises(AuthenticationError) as caught:
        client.get(POLICIES)
    assert console.exchanges == 2
    assert len(console.calls()) == 2
    assert "even with a fresh bearer token" in str(caught.value)


def test_a_write_refused_with_401_is_replayed_once(console, make_ct):
    console.route("POST", ASSIGN, write_reply(ACTIVITY_ID))
    client = make_ct(console)
    client.authenticate()
    console.revoke_tokens()
    assert client.write("POST", ASSIGN, json={"virtualMachineIds": ["vm"], "slaPolicies": ["p"]}) == ACTIVITY_ID
    assert len(console.calls("POST", ASSIGN)) == 2


def test_bad_credentials_are_an_authentication_error_with_a_fix(console, make_ct):
    client = make_ct(console, secret_id="not-the-secret-at-all")
    with pytest.raises(AuthenticationError) as caught:
        client.get(POLICIES)
    text = str(caught.value)
    assert "cloudtemple_secret_id" in text and "CLOUDTEMPLE_SECRET_ID" in text
    assert "not-the-secret-at-all" not in text
    assert console.exchanges == 1  # a refusal is not retried
    assert console.calls() == []


def test_the_token_exchange_is_retried_like_a_read(console, make_ct, fake_time):
    console.route("POST", TOKEN_PATH, Reply(503), console._issue)
    client = make_ct(console)
    client.authenticate()
    assert console.exchanges == 2
    assert fake_time.sleeps == [0.5]


def test_a_token_answer_that_is_not_a_jwt_is_not_echoed(console, make_ct):
    console.route("POST", TOKEN_PATH, Reply(200, "<html>login page " + CT_SECRET + "</html>"))
    client = make_ct(console)
    with pytest.raises(ApiError) as caught:
        client.authenticate()
    assert "not a JWT" in str(caught.value)
    assert "login page" not in str(caught.value)


def test_threads_sharing_a_client_share_one_exchange(console, make_ct):
    console.route("GET", POLICIES, ok())
    client = make_ct(console)
    errors = []

    def read():
        try:
            client.get(POLICIES)
        except Exception as exc:  # pylint: disable=broad-except
            errors.append(exc)

    threads = [threading.Thread(target=read) for _thread in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert console.exchanges == 1
    assert len(console.calls()) == 8


def test_no_secret_or_bearer_in_any_error_or_log_line_even_at_debug(console, make_ct, log_lines, caplog):
    caplog.set_level(logging.DEBUG)
    logging.getLogger("urllib3").setLevel(logging.DEBUG)

    def echo(request):
        return Reply(500, "backend said: bearer %s for secret %s" % (request.bearer, CT_SECRET))

    console.route("GET", POLICIES, echo)
    console.route("GET", "/api/activity/v1/activities/x", lambda request: Reply(403, "denied " + request.bearer))
    console.route("POST", ASSIGN, lambda request: Reply(502, "gateway saw " + request.headers["Authorization"]))
    client = make_ct(console)
    texts = []
    for call in (lambda: client.get(POLICIES), lambda: client.get("/api/activity/v1/activities/x"),
                 lambda: client.write("POST", ASSIGN, json={})):
        with pytest.raises(Exception) as caught:
            call()
        texts.append(str(caught.value))
        texts.append(repr(caught.value.to_result()))
    console.revoke_tokens()
    with pytest.raises(ServerBusy) as caught:
        client.get(POLICIES)
    texts.append(str(caught.value))
    bad = make_ct(console, secret_id=CT_SECRET + "x")
    with pytest.raises(AuthenticationError) as caught:
        bad.authenticate()
    texts.append(str(caught.value))
    everything = "\n".join(texts + log_lines + [caplog.text, repr(client)])
    assert "backend said" in everything and "gateway saw" in everything
    assert console.issued
    for secret in [CT_SECRET] + console.issued + [token.rsplit(".", 1)[1] for token in console.issued]:
        assert secret not in everything


# -- retries of reads (section 4.3) ---------------------------------------------------------------------------------


def test_a_read_waits_as_retry_after_says(console, make_ct, fake_time, log_lines):
    console.route("GET", POLICIES, Reply(429, {"error": {"status": "429 Too Many Requests"}},
                                         headers={"Retry-After": "2"}), ok())
    client = make_ct(console)
    assert client.get(POLICIES)
    assert fake_time.sleeps == [2.0]
    assert any("Retry-After" in line for line in log_lines)


def test_retry_after_is_capped_at_five_seconds(console, make_ct, fake_time):
    console.route("GET", POLICIES, Reply(503, headers={"Retry-After": "120"}), ok())
    make_ct(console).get(POLICIES)
    assert fake_time.sleeps == [5.0]


def test_a_read_gives_up_after_three_attempts(console, make_ct, fake_time):
    console.route("GET", POLICIES, Reply(502, "Bad Gateway"))
    with pytest.raises(ServerBusy) as caught:
        make_ct(console).get(POLICIES)
    assert len(console.calls()) == 3
    assert fake_time.sleeps == [0.5, 1.0]
    assert "gave up after 3 attempts" in str(caught.value) and "Bad Gateway" in str(caught.value)


def test_a_read_is_retried_after_a_dropped_connection(console, make_ct):
    console.route("GET", POLICIES, DROP, ok())
    assert make_ct(console).get(POLICIES)
    assert len(console.calls()) == 2


def test_a_read_that_times_out_is_retried(console, make_ct):
    def slow(_request):
        time.sleep(0.25)
        return ok()

    console.route("GET", POLICIES, slow, ok())
    assert make_ct(console, timeout=0.1).get(POLICIES)
    assert len(console.calls()) == 2


def test_an_unreachable_console_is_a_connection_failure_after_three_attempts(make_ct, console, fake_time):
    client = make_ct(console, url="http://127.0.0.1:%d" % free_port())
    with pytest.raises(ConnectionFailure) as caught:
        client.get(POLICIES)
    assert "3 attempt(s)" in str(caught.value) and "cloudtemple_url" in str(caught.value)
    assert fake_time.sleeps == [0.5, 1.0]


# -- writes: sent once (section 4.3), activity ids (section 5.1) -----------------------------------------------------


@pytest.mark.parametrize("answer", [Reply(503, "Service Unavailable"), Reply(500, "boom"), Reply(429, "slow down"), DROP],
                         ids=["503", "500", "429", "dropped"])
def test_a_write_whose_outcome_is_unknown_is_sent_once(console, make_ct, answer):
    console.route("POST", ASSIGN, answer, write_reply(ACTIVITY_ID))
    client = make_ct(console)
    with pytest.raises(AmbiguousResult) as caught:
        client.write("POST", ASSIGN, json={"virtualMachineIds": ["vm"], "slaPolicies": ["p"]})
    assert len(console.calls("POST", ASSIGN)) == 1
    assert "activit" in str(caught.value)


def test_a_write_that_times_out_is_ambiguous(console, make_ct):
    def slow(_request):
        time.sleep(0.25)
        return write_reply(ACTIVITY_ID)

    console.route("PATCH", "/api/compute/v1/vcenters/virtual_machines/power", slow)
    client = make_ct(console, timeout=0.1)
    with pytest.raises(AmbiguousResult):
        client.write("PATCH", "/api/compute/v1/vcenters/virtual_machines/power", json={"id": "vm"})
    assert len(console.calls()) == 1


def test_a_write_is_tried_again_when_the_connection_never_opened(console, make_ct, fake_time):
    client = make_ct(console)
    client.authenticate()
    client.base_url = "http://127.0.0.1:%d" % free_port()
    with pytest.raises(ConnectionFailure):
        client.write("POST", ASSIGN, json={})
    assert fake_time.sleeps == [0.5, 1.0]


def test_a_write_returns_the_activity_id_of_its_location(console, make_ct):
    console.route("POST", ASSIGN, write_reply(ACTIVITY_ID), write_reply("/api/activity/v1/activities/" + ACTIVITY_ID,
                                                                        status=200))
    client = make_ct(console)
    assert client.write("POST", ASSIGN, json={}) == ACTIVITY_ID
    assert client.write("POST", ASSIGN, json={}) == ACTIVITY_ID


def test_a_write_without_location_is_an_api_error(console, make_ct):
    console.route("POST", ASSIGN, Reply(201, ""))
    with pytest.raises(ApiError) as caught:
        make_ct(console).write("POST", ASSIGN, json={})
    assert "Location" in str(caught.value)


def test_a_refused_write_is_its_typed_error_not_ambiguous(console, make_ct):
    console.route("PATCH", "/api/compute/v1/vcenters/virtual_machines/power",
                  Reply(400, "cannot power on a virtual machine because it has no sla policies"))
    with pytest.raises(ApiError) as caught:
        make_ct(console).write("PATCH", "/api/compute/v1/vcenters/virtual_machines/power", json={})
    assert caught.value.status == 400 and "no sla policies" in str(caught.value)


# -- errors (section 4) ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method, path, permission", [
    ("GET", POLICIES, "backup_iaas_spp_read"),
    ("POST", ASSIGN, "backup_iaas_spp_write"),
    ("GET", "/api/compute/v1/vcenters/virtual_machines/vm-1", "compute_iaas_vmware_read"),
    ("PATCH", "/api/compute/v1/vcenters/virtual_machines/power", "compute_iaas_vmware_virtual_machine_power"),
    ("GET", "/api/activity/v1/activities/a-1", "activity_read"),
])
def test_a_403_names_the_permission_the_route_needs(console, make_ct, method, path, permission):
    console.route(method, path, Reply(403, "Forbidden."))
    client = make_ct(console)
    with pytest.raises(ApiError) as caught:
        if method == "GET":
            client.get(path)
        else:
            client.write(method, path, json={})
    assert caught.value.status == 403
    assert permission in str(caught.value) and "Forbidden." in str(caught.value)
    assert caught.value.details["permission"] == permission


def test_a_404_is_not_found_and_get_or_none_reads_it_as_none(console, make_ct):
    client = make_ct(console)
    with pytest.raises(NotFound):
        client.get("/api/backup/v1/spp/jobs/nope")
    assert client.get_or_none("/api/backup/v1/spp/jobs/nope") is None


def test_error_bodies_are_shortened_to_one_line(console, make_ct):
    console.route("GET", POLICIES, Reply(418, "<html><body><h1>Teapot</h1>\n" + "x" * 2000 + "</body></html>"))
    with pytest.raises(ApiError) as caught:
        make_ct(console).get(POLICIES)
    assert "Teapot" in str(caught.value) and "<h1>" not in str(caught.value) and len(str(caught.value)) < 500


def test_a_redirect_is_not_followed(console, make_ct):
    console.route("GET", POLICIES, Reply(302, "", headers={"Location": "https://elsewhere.example/login"}))
    with pytest.raises(ApiError) as caught:
        make_ct(console).get(POLICIES)
    assert "cloudtemple_url" in str(caught.value)
    assert len(console.calls()) == 1


def test_a_206_listing_is_returned_and_flagged_partial(console, make_ct, log_lines):
    console.route("GET", POLICIES, Reply(206, [{"id": "p1"}]), ok())
    client = make_ct(console)
    partial = client.listing(POLICIES)
    assert partial == [{"id": "p1"}] and isinstance(partial, Listing) and partial.partial
    assert not client.listing(POLICIES).partial
    assert any("206" in line for line in log_lines)


def test_a_listing_that_is_not_an_array_is_an_api_error(console, make_ct):
    console.route("GET", POLICIES, ok({"items": []}))
    with pytest.raises(ApiError):
        make_ct(console).listing(POLICIES)


def test_an_answer_that_is_not_json_is_an_api_error(console, make_ct):
    console.route("GET", POLICIES, Reply(200, "<html>maintenance</html>"))
    with pytest.raises(ApiError) as caught:
        make_ct(console).get(POLICIES)
    assert "maintenance" in str(caught.value)


# -- the base URL -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("given", ["https://shiva.cloud-temple.com", "https://shiva.cloud-temple.com/",
                                   "https://shiva.cloud-temple.com/api", "https://shiva.cloud-temple.com/api/",
                                   "shiva.cloud-temple.com", " https://shiva.cloud-temple.com/api "])
def test_the_base_url_may_end_with_api_or_a_slash(given):
    assert ct.normalise_base_url(given) == "https://shiva.cloud-temple.com"


def test_the_api_prefix_is_written_once(console, make_ct):
    console.route("GET", POLICIES, ok())
    make_ct(console, url=console.url + "/api/").get(POLICIES)
    assert console.calls()[0].path == POLICIES


@pytest.mark.parametrize("given", ["https://user:pa55word@shiva.cloud-temple.com", "https://pa55word@host", "",
                                   "ftp://host"])
def test_a_url_with_credentials_or_no_http_is_refused_without_repeating_them(given):
    with pytest.raises(ConfigurationError) as caught:
        CloudTempleClient(given, CT_CLIENT_ID, CT_SECRET)
    assert "pa55word" not in str(caught.value) and "cloudtemple_url" in str(caught.value)


# -- TLS ----------------------------------------------------------------------------------------------------------


@pytest.fixture
def console_tls(tls_files):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls_files["server"], tls_files["server-key"])
    server = FakeConsole(ssl_context=context)
    yield server
    server.close()


def test_tls_with_the_ca_path_and_a_clear_error_without_it(console_tls, make_ct, tls_files):
    console_tls.route("GET", POLICIES, ok())
    assert make_ct(console_tls, ca_path=tls_files["ca"]).get(POLICIES)
    with pytest.raises(ConnectionFailure) as caught:
        make_ct(console_tls).get(POLICIES)
    assert "cloudtemple_ca_path" in str(caught.value)
    with pytest.raises(ConfigurationError):
        make_ct(console_tls, ca_path="/nonexistent/ca.pem")


# -- pacing and parallel reads ------------------------------------------------------------------------------------


def test_requests_are_paced_under_the_rate_limit(console, make_ct, fake_time):
    console.route("GET", POLICIES, ok())
    client = make_ct(console, max_rate=10)
    for _read in range(3):
        client.get(POLICIES)
    assert len(fake_time.sleeps) == 3  # four sends (the exchange, three reads): each after the first waits
    assert all(abs(pause - 0.1) < 0.01 for pause in fake_time.sleeps)


def test_read_many_reads_each_id_once_with_a_bounded_pool(console, make_ct):
    state = {"now": 0, "most": 0}
    lock = threading.Lock()

    def answer(request):
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        time.sleep(0.03)
        with lock:
            state["now"] -= 1
        vm_id = request.path.rsplit("/", 1)[1]
        return Reply(404, "not found") if vm_id == "vm-9" else Reply(200, {"id": vm_id})

    ids = ["vm-%d" % index for index in range(10)]
    for vm_id in ids:
        console.route("GET", "/api/backup/v1/spp/virtual_machines/" + vm_id, answer)
    client = make_ct(console)

    def read(client, vm_id):
        return client.get_or_none("/api/backup/v1/spp/virtual_machines/" + vm_id)

    result = read_many(client, read, ids + ids[:3], workers=3)
    assert list(result) == ids
    assert result["vm-1"] == {"id": "vm-1"} and result["vm-9"] is None
    assert len(console.calls()) == 10 and console.exchanges == 1
    assert 1 < state["most"] <= 3


def test_read_many_raises_the_first_error(console, make_ct):
    console.route("GET", POLICIES, Reply(400, "bad"))
    client = make_ct(console)
    with pytest.raises(ApiError):
        read_many(client, lambda client, item: client.get(POLICIES), ["a", "b", "c"], workers=2)
