# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""vSphere tags through vCenter's tagging REST API: the session, the tag -> VM mapping the assignments use, and the
error mapping, with a fake ``requests.Session``; then once against vcsim's REST API (skipped without vcsim)."""

from __future__ import annotations

import json
import re

import pytest
import requests

from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere import tags as vsphere_tags
from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import (
    ApiError,
    AuthenticationError,
    ConnectionFailure,
    InvalidRequest,
    MissingLibraryError,
)

PASSWORD = "Not-a-real-pw-1"
BASE = "https://vc.example:443/rest/com/vmware/cis"


class FakeVsphere:
    def __init__(self, validate_certs=True, ca_path=None):
        self.origin = "https://vc.example:443"
        self.validate_certs = validate_certs
        self.ca_path = ca_path

    def credentials(self):
        return "administrator@vsphere.local", PASSWORD


class FakeResponse:
    def __init__(self, status_code=200, body=None, text=None):
        self.status_code = status_code
        self.content = b"" if body is None and text is None else (text or json.dumps(body)).encode()
        self.text = text if text is not None else (json.dumps(body) if body is not None else "")
        self._body = body

    def json(self):
        return self._body


class FakeHttp:
    """Stands for ``requests.Session``: answers from ``routes`` ({(method, path): response or exception})."""

    instances = []

    def __init__(self):
        self.headers = {}
        self.requests = []
        self.closed = False
        self.routes = dict(FakeHttp.routes)
        FakeHttp.instances.append(self)

    def request(self, method, url, **kwargs):
        assert url.startswith(BASE), url
        path = url[len(BASE):]
        self.requests.append((method, path, kwargs, dict(self.headers)))
        answer = self.routes.get((method, path), FakeResponse(404, text="no route %s %s" % (method, path)))
        if isinstance(answer, Exception):
            raise answer
        return answer

    def close(self):
        self.closed = True


def tag_routes(tags, attached, categories=None):
    """``tags``: {tag_id: name or (category id, name)}; ``attached``: {tag_id: [(type, id), ...]}; ``categories``:
    {category id: name} -> routes of the fake server. A tag given by name alone is in category ``cat-1``."""
    routes = {
        ("POST", "/session"): FakeResponse(body={"value": "session-42"}),
        ("DELETE", "/session"): FakeResponse(200),
        ("GET", "/tagging/tag"): FakeResponse(body={"value": list(tags)}),
        ("POST", "/tagging/tag-association"): FakeResponse(body={"value": [
            {"tag_id": tag_id, "object_ids": [{"type": kind, "id": moref} for kind, moref in objects]}
            for tag_id, objects in attached.items()]}),
    }
    for tag_id, name in tags.items():
        category_id, name = name if isinstance(name, tuple) else ("cat-1", name)
        routes[("GET", "/tagging/tag/id:%s" % tag_id)] = FakeResponse(
            body={"value": {"id": tag_id, "name": name, "category_id": category_id, "description": ""}})
    for category_id, name in (categories or {"cat-1": "backup-tier"}).items():
        routes[("GET", "/tagging/category/id:%s" % category_id)] = FakeResponse(
            body={"value": {"id": category_id, "name": name, "description": "", "cardinality": "MULTIPLE"}})
    return routes


TAGS = {"urn:tag:1": "backup", "urn:tag:2": "no-backup", "urn:tag:3": "empty"}
ATTACHED = {"urn:tag:1": [("VirtualMachine", "vm-1"), ("Datastore", "datastore-9"), ("VirtualMachine", "vm-2")],
            "urn:tag:2": [("VirtualMachine", "vm-3"), ("HostSystem", "host-1")]}


@pytest.fixture
def http(monkeypatch):
    FakeHttp.instances = []
    FakeHttp.routes = tag_routes(TAGS, ATTACHED)
    monkeypatch.setattr(vsphere_tags.requests, "Session", FakeHttp)
    return FakeHttp


def only_session(http):
    (session,) = http.instances
    return session


# -- the session ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("validate_certs, ca_path, verify", [(True, None, True), (True, "/etc/ca.pem", "/etc/ca.pem"),
                                                             (False, "/etc/ca.pem", False)])
def test_login_uses_the_soap_credentials_and_tls_settings(http, validate_certs, ca_path, verify):
    session = vsphere_tags.TaggingSession(FakeVsphere(validate_certs, ca_path), timeout=7)
    method, path, kwargs, headers = only_session(http).requests[0]
    assert (method, path) == ("POST", "/session")
    assert kwargs == {"timeout": 7, "verify": verify, "auth": ("administrator@vsphere.local", PASSWORD)}
    assert vsphere_tags.SESSION_HEADER not in headers
    assert session.http.headers[vsphere_tags.SESSION_HEADER] == "session-42"


def test_later_calls_carry_the_session_and_no_password(http):
    session = vsphere_tags.TaggingSession(FakeVsphere())
    session.list_tags()
    session.category_names(["cat-1"])
    for _method, _path, kwargs, headers in only_session(http).requests[1:]:
        assert headers[vsphere_tags.SESSION_HEADER] == "session-42" and "auth" not in kwargs
        assert kwargs["verify"] is True and kwargs["timeout"] == 60


def test_list_tags_reads_each_tag_with_its_category(http):
    session = vsphere_tags.TaggingSession(FakeVsphere())
    assert session.list_tags() == [{"id": "urn:tag:1", "name": "backup", "category_id": "cat-1"},
                                   {"id": "urn:tag:2", "name": "no-backup", "category_id": "cat-1"},
                                   {"id": "urn:tag:3", "name": "empty", "category_id": "cat-1"}]
    assert [r[:2] for r in only_session(http).requests[1:]] == [
        ("GET", "/tagging/tag"), ("GET", "/tagging/tag/id:urn:tag:1"), ("GET", "/tagging/tag/id:urn:tag:2"),
        ("GET", "/tagging/tag/id:urn:tag:3")]


def test_category_names_reads_each_category_once(http):
    session = vsphere_tags.TaggingSession(FakeVsphere())
    assert session.category_names(["cat-1", "cat-1"]) == {"cat-1": "backup-tier"}
    assert [r[:2] for r in only_session(http).requests[1:]] == [("GET", "/tagging/category/id:cat-1")]


def test_attached_vms_is_one_bulk_call_keeping_virtual_machines_only(http):
    session = vsphere_tags.TaggingSession(FakeVsphere())
    members = session.attached_vms(iter(["urn:tag:1", "urn:tag:2"]))
    assert members == {"urn:tag:1": {"vm-1", "vm-2"}, "urn:tag:2": {"vm-3"}}
    method, path, kwargs, _headers = only_session(http).requests[-1]
    assert (method, path) == ("POST", "/tagging/tag-association")
    assert kwargs["params"] == {"~action": "list-attached-objects-on-tags"}
    assert kwargs["json"] == {"tag_ids": ["urn:tag:1", "urn:tag:2"]}


def test_attached_vms_tolerates_entries_without_objects(http):
    http.routes[("POST", "/tagging/tag-association")] = FakeResponse(body={"value": [
        {"tag_id": "urn:tag:3", "object_ids": None}, {"tag_id": "urn:tag:2"}]})
    session = vsphere_tags.TaggingSession(FakeVsphere())
    assert session.attached_vms(["urn:tag:2", "urn:tag:3"]) == {"urn:tag:2": set(), "urn:tag:3": set()}


# -- members_of_tags: what the assignments use ------------------------------------------------------------------------

def test_members_of_tags_maps_each_name_to_its_vm_morefs_and_logs_out(http):
    members = vsphere_tags.members_of_tags(FakeVsphere(), ["backup", "empty"])
    assert members == {"backup": {"vm-1", "vm-2"}, "empty": set()}
    session = only_session(http)
    association = [r for r in session.requests if r[1] == "/tagging/tag-association"]
    assert len(association) == 1 and association[0][2]["json"] == {"tag_ids": ["urn:tag:1", "urn:tag:3"]}
    assert session.requests[-1][:2] == ("DELETE", "/session") and session.closed


def test_an_unknown_tag_lists_the_existing_ones_and_still_logs_out(http):
    with pytest.raises(InvalidRequest) as caught:
        vsphere_tags.members_of_tags(FakeVsphere(), ["backup", "gold", "archive"])
    assert caught.value.message == "vCenter has no tag archive, gold (tags: backup, empty, no-backup)"
    session = only_session(http)
    assert not any(r[1] == "/tagging/tag-association" for r in session.requests)
    assert session.requests[-1][:2] == ("DELETE", "/session") and session.closed


def test_an_unknown_tag_without_any_tag_says_none(http):
    http.routes = tag_routes({}, {})
    with pytest.raises(InvalidRequest) as caught:
        vsphere_tags.members_of_tags(FakeVsphere(), ["backup"])
    assert caught.value.message == "vCenter has no tag backup (tags: none)"


SHARED = {"urn:tag:1": ("cat-gold", "backup"), "urn:tag:9": ("cat-silver", "backup"),
          "urn:tag:5": ("cat-gold", "empty")}
SHARED_CATEGORIES = {"cat-gold": "gold", "cat-silver": "silver"}
SHARED_ATTACHED = {"urn:tag:1": [("VirtualMachine", "vm-1")], "urn:tag:9": [("VirtualMachine", "vm-2")]}


def test_a_tag_name_shared_by_two_categories_is_not_silently_narrowed(http):
    """Defect of issue 14: a name used in two categories kept one tag and silently dropped the other one's VMs. The
    bare name is now an error that lists the candidates as category/tag, raised before the associations are read."""
    http.routes = tag_routes({"urn:tag:1": ("cat-gold", "backup"), "urn:tag:9": ("cat-silver", "backup")},
                             SHARED_ATTACHED, SHARED_CATEGORIES)
    with pytest.raises(InvalidRequest) as caught:
        vsphere_tags.members_of_tags(FakeVsphere(), ["backup"])
    assert caught.value.message == ("the tag name backup is used in 2 categories; select one as category/tag: "
                                    "gold/backup, silver/backup")
    assert caught.value.details == {"candidates": {"backup": ["gold/backup", "silver/backup"]}}
    session = only_session(http)
    assert not any(r[1] == "/tagging/tag-association" for r in session.requests)
    assert session.requests[-1][:2] == ("DELETE", "/session") and session.closed


def test_category_slash_tag_selects_exactly_and_reads_only_the_categories_it_needs(http):
    http.routes = tag_routes(SHARED, SHARED_ATTACHED, SHARED_CATEGORIES)
    members = vsphere_tags.members_of_tags(FakeVsphere(), ["silver/backup", "empty"])
    assert members == {"silver/backup": {"vm-2"}, "empty": set()}
    session = only_session(http)
    categories = sorted(r[1] for r in session.requests if r[1].startswith("/tagging/category/"))
    assert categories == ["/tagging/category/id:cat-gold", "/tagging/category/id:cat-silver"]
    association = [r for r in session.requests if r[1] == "/tagging/tag-association"]
    assert association[0][2]["json"] == {"tag_ids": ["urn:tag:9", "urn:tag:5"]}


def test_a_unique_name_reads_no_category(http):
    http.routes = tag_routes(SHARED, SHARED_ATTACHED, SHARED_CATEGORIES)
    assert vsphere_tags.members_of_tags(FakeVsphere(), ["empty"]) == {"empty": set()}
    assert not any(r[1].startswith("/tagging/category/") for r in only_session(http).requests)


def test_two_selectors_of_one_tag_ask_for_its_associations_once(http):
    http.routes = tag_routes(SHARED, SHARED_ATTACHED, SHARED_CATEGORIES)
    members = vsphere_tags.members_of_tags(FakeVsphere(), ["gold/empty", "empty"])
    assert members == {"gold/empty": set(), "empty": set()}
    association = [r for r in only_session(http).requests if r[1] == "/tagging/tag-association"]
    assert association[0][2]["json"] == {"tag_ids": ["urn:tag:5"]}


# -- the pure selection ---------------------------------------------------------------------------------------------

TAG_LIST = [{"id": "t1", "name": "backup", "category_id": "c1"}, {"id": "t2", "name": "backup", "category_id": "c2"},
            {"id": "t3", "name": "weekly", "category_id": "c1"}, {"id": "t4", "name": "b/c", "category_id": "c3"},
            {"id": "t5", "name": "c", "category_id": "c4"}]
CATEGORY_NAMES = {"c1": "gold", "c2": "silver", "c3": "a", "c4": "a/b"}


@pytest.mark.parametrize("selectors, needed", [
    (["weekly"], set()),
    (["backup"], {"c1", "c2"}),
    (["gold/backup"], {"c1", "c2"}),
    (["gold/weekly", "weekly"], {"c1"}),
    (["a/b/c"], {"c3", "c4"}),  # "a" + "b/c", or "a/b" + "c"
    (["nothing/here"], set()),
])
def test_categories_to_name(selectors, needed):
    assert vsphere_tags.categories_to_name(selectors, TAG_LIST) == needed


@pytest.mark.parametrize("selectors, chosen", [
    (["weekly"], {"weekly": "t3"}),
    (["gold/backup", "silver/backup"], {"gold/backup": "t1", "silver/backup": "t2"}),
    (["gold/weekly", "weekly"], {"gold/weekly": "t3", "weekly": "t3"}),
    (["b/c"], {"b/c": "t4"}),
    (["t5"], {"t5": "t5"}),  # when only the id tells two tags apart (a "/" in their names)
    ([], {}),
])
def test_select_tags(selectors, chosen):
    assert vsphere_tags.select_tags(selectors, TAG_LIST, CATEGORY_NAMES) == chosen


def test_select_tags_lists_every_unknown_and_ambiguous_selector_at_once():
    with pytest.raises(InvalidRequest) as caught:
        vsphere_tags.select_tags(["backup", "bronze/backup", "a/b/c", "missing"], TAG_LIST, CATEGORY_NAMES)
    assert caught.value.message == (
        "vCenter has no tag bronze/backup, missing (tags: b/c, backup, c, weekly); "
        "the tag name a/b/c is used in 2 categories; select one as category/tag: a/b/c (tag id t4), "
        "a/b/c (tag id t5); "
        "the tag name backup is used in 2 categories; select one as category/tag: gold/backup, silver/backup")
    assert caught.value.details == {"unknown": ["bronze/backup", "missing"],
                                    "candidates": {"a/b/c": ["a/b/c (tag id t4)", "a/b/c (tag id t5)"],
                                                   "backup": ["gold/backup", "silver/backup"]}}


# -- error mapping --------------------------------------------------------------------------------------------------

def test_rejected_credentials_are_an_authentication_error_without_the_password(http):
    http.routes[("POST", "/session")] = FakeResponse(401, text="unauthenticated")
    with pytest.raises(AuthenticationError) as caught:
        vsphere_tags.TaggingSession(FakeVsphere())
    assert "tagging API" in caught.value.message and PASSWORD not in caught.value.message


def test_an_error_status_is_an_api_error_with_a_bounded_description(http):
    http.routes[("GET", "/tagging/tag")] = FakeResponse(503, text="x" * 2000)
    session = vsphere_tags.TaggingSession(FakeVsphere())
    with pytest.raises(ApiError) as caught:
        session.list_tags()
    assert caught.value.status == 503 and caught.value.method == "GET"
    assert caught.value.url == BASE + "/tagging/tag"
    assert caught.value.description == "x" * 500


def test_a_tls_failure_says_which_option_fixes_it(http):
    http.routes[("POST", "/session")] = requests.exceptions.SSLError("certificate verify failed")
    with pytest.raises(ConnectionFailure) as caught:
        vsphere_tags.TaggingSession(FakeVsphere())
    message = caught.value.message
    assert message.startswith("TLS verification failed for %s: " % BASE)
    assert "certificate verify failed" in message and "vcenter_ca_path" in message
    assert "vcenter_validate_certs" in message and PASSWORD not in message


def test_an_unreachable_server_is_a_connection_failure(http):
    http.routes[("POST", "/session")] = requests.exceptions.ConnectTimeout("timed out")
    with pytest.raises(ConnectionFailure) as caught:
        vsphere_tags.TaggingSession(FakeVsphere())
    assert caught.value.message == "could not reach the vCenter tagging API at %s: timed out" % BASE


def test_close_is_best_effort(http):
    http.routes[("DELETE", "/session")] = FakeResponse(500, text="gone")
    session = vsphere_tags.TaggingSession(FakeVsphere())
    session.close()
    assert only_session(http).closed
    http.instances[0].routes[("DELETE", "/session")] = requests.exceptions.ConnectionError("reset")
    session.close()


def test_an_error_while_reading_still_logs_out(http):
    http.routes[("POST", "/tagging/tag-association")] = FakeResponse(500, text="boom")
    with pytest.raises(ApiError):
        vsphere_tags.members_of_tags(FakeVsphere(), ["backup"])
    session = only_session(http)
    assert session.requests[-1][:2] == ("DELETE", "/session") and session.closed


class ShortPasswordVsphere(FakeVsphere):
    def credentials(self):
        return "administrator@vsphere.local", "ab"


@pytest.mark.parametrize("vsphere, password", [(FakeVsphere(), PASSWORD), (ShortPasswordVsphere(), "ab")])
def test_errors_of_the_tagging_api_carry_no_password_nor_session(http, vsphere, password):
    """Issue 14: the tagging API's error paths were not redacted. A server (or proxy) that echoes what it got: the
    password and the session token go, whatever their length, and the rest of the text stays readable."""
    echo = "bad request from administrator with password %s in session session-42; see the table" % password
    http.routes[("GET", "/tagging/tag")] = FakeResponse(400, text=echo)
    http.routes[("POST", "/tagging/tag-association")] = requests.exceptions.ConnectionError(
        "reset while sending session-42 / %s" % password)
    http.routes[("GET", "/tagging/category/id:cat-1")] = requests.exceptions.SSLError("bad record for %s" % password)
    session = vsphere_tags.TaggingSession(vsphere)
    messages = []
    for call in (session.list_tags, lambda: session.attached_vms(["urn:tag:1"]),
                 lambda: session.category_names(["cat-1"])):
        with pytest.raises((ApiError, ConnectionFailure)) as caught:
            call()
        messages.extend([caught.value.message, repr(caught.value.to_result())])
    text = "\n".join(messages)
    assert "session-42" not in text
    assert not re.search(r"(?<![^\W_])%s(?![^\W_])" % re.escape(password), text), text
    assert "********" in text and "see the table" in text


def test_a_password_echoed_at_login_is_redacted(http):
    http.routes[("POST", "/session")] = FakeResponse(500, text="cannot log in administrator/%s" % PASSWORD)
    with pytest.raises(ApiError) as caught:
        vsphere_tags.TaggingSession(FakeVsphere())
    assert PASSWORD not in str(caught.value) and "administrator/********" in str(caught.value)


def test_without_requests_the_session_is_a_missing_library_error(monkeypatch):
    monkeypatch.setattr(vsphere_tags, "HAS_REQUESTS", False)
    monkeypatch.setattr(vsphere_tags, "REQUESTS_IMPORT_ERROR", "Traceback: no requests")
    with pytest.raises(MissingLibraryError) as caught:
        vsphere_tags.TaggingSession(FakeVsphere())
    assert "requests" in caught.value.message and caught.value.details == {"exception": "Traceback: no requests"}


# -- against vcsim ----------------------------------------------------------------------------------------------------

def test_members_of_tags_against_vcsim(vcsim, tls_files):
    from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere import listing
    from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere._client import VsphereClient

    host, port = vcsim
    with VsphereClient(host, "user", PASSWORD, port=port, ca_path=tls_files["ca"]) as client:
        morefs = sorted(vm["moref"] for vm in listing.list_vms(client, devices=False))
        # Set up a category, two tags and one attachment through the same REST API.
        rest = requests.Session()
        base = "https://%s:%d%s" % (host, port, vsphere_tags.REST)
        login = rest.post(base + "/session", auth=("user", PASSWORD), verify=tls_files["ca"], timeout=10)
        login.raise_for_status()
        rest.headers[vsphere_tags.SESSION_HEADER] = login.json()["value"]

        def create(path, spec):
            answer = rest.post(base + path, json={"create_spec": spec}, verify=tls_files["ca"], timeout=10)
            answer.raise_for_status()
            return answer.json()["value"]

        category = create("/tagging/category", {"name": "unit-backup", "description": "", "cardinality": "MULTIPLE",
                                                "associable_types": []})
        tagged = create("/tagging/tag", {"name": "unit-tagged", "description": "", "category_id": category})
        create("/tagging/tag", {"name": "unit-untagged", "description": "", "category_id": category})
        attach = rest.post(base + "/tagging/tag-association/id:%s" % tagged, params={"~action": "attach"},
                           json={"object_id": {"type": "VirtualMachine", "id": morefs[0]}},
                           verify=tls_files["ca"], timeout=10)
        attach.raise_for_status()
        rest.close()

        members = vsphere_tags.members_of_tags(client, ["unit-tagged", "unit-untagged"])
        assert members == {"unit-tagged": {morefs[0]}, "unit-untagged": set()}
        with pytest.raises(InvalidRequest) as caught:
            vsphere_tags.members_of_tags(client, ["unit-missing"])
        assert "unit-tagged" in caught.value.message
