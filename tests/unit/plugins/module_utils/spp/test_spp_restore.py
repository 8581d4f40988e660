# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The restore side of the SPP client: the request as IBM's samples send it (spp/restore.py), how restore sessions
read (spp/answers.py), and the calls against the scripted server: the POST, the session of a job name, the
test-restore actions and the map keys read from the recovery point (spp/versions.py)."""

from __future__ import annotations

import json

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import (
    AmbiguousResult,
    Conflict,
    InvalidRequest,
    NotFound,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.log_mentions import mentions_any
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import answers as spp_answers
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import restore as spp_restore
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import versions as spp_versions

from restore_fixtures import BASE, T0, active_test_session, copy, session, spp_vm, version
from spp_fake_server import DROP, Reply

EMPTY_MAPS = {"mapvirtualnetwork": {}, "mapRRPdatastore": {}, "mapsubnet": {}}


# -- the request (pure) -------------------------------------------------------------------------------------------

def test_payload_of_a_default_test_restore_pins_the_backup_copy():
    point = version("v1", T0)
    point["copies"] = [copy("c2", "REPLICATION", point["links"]["self"]["href"]),
                       copy("c1", "BACKUP", point["links"]["self"]["href"])]
    payload = spp_restore.build_restore_payload(spp_vm("a1"), point, "test")
    source = payload["spec"]["source"][0]
    assert source["href"] == "%s/a1?from=recovery" % BASE and source["id"] == "a1"
    assert source["version"] == {"href": point["links"]["self"]["href"],
                                 "copy": {"href": point["copies"][1]["links"]["self"]["href"]},
                                 "metadata": {"useLatest": False, "protectionTime": T0}}
    subpolicy = payload["spec"]["subpolicy"][0]
    assert subpolicy["type"] == "IV" and subpolicy["source"] is None, "the task named no copy: the server picks"
    assert subpolicy["destination"] == dict(EMPTY_MAPS, systemDefined=True)
    option = subpolicy["option"]
    assert option["mode"] == "test" and "vmNameSuffix" not in option
    assert option["poweron"] is False and option["allowvmoverwrite"] is False and option["streaming"] is False
    assert payload["subType"] == "vmware" and payload["script"]["preGuest"] is None


def test_payload_without_copies_pins_the_version():
    point = version("v1", T0)
    reference = spp_restore.build_restore_payload(spp_vm("a1"), point, "clone")["spec"]["source"][0]["version"]
    assert reference == {"href": point["links"]["self"]["href"], "metadata": {"useLatest": False, "protectionTime": T0}}


def test_payload_of_a_clone_with_a_name_a_copy_and_an_alternate_location():
    source, point = spp_vm("a1"), version("v1", T0)
    offload = copy("c9", "SPPOFFLOAD", point["links"]["self"]["href"])
    destination = spp_restore.build_destination(
        source_href=source["links"]["self"]["href"], name="web01_REST",
        target={"href": "https://spp/h/1", "name": "esx1", "resourceType": "host"},
        datastore_map={"https://spp/ds/1": "https://spp/ds/2"}, network_map={"https://spp/n/1": "https://spp/n/2"},
        folder="/DC0/vm/restored")
    payload = spp_restore.build_restore_payload(source, point, "clone", copy=offload, name="web01_REST",
                                                destination=destination, power_on=True,
                                                site_href="https://spp/api/site/2000")
    subpolicy = payload["spec"]["subpolicy"][0]
    assert subpolicy["destination"] == {
        "systemDefined": True,
        "target": {"href": "https://spp/h/1", "name": "esx1", "resourceType": "host"},
        "mapvm": {"%s/a1?from=recovery" % BASE: {"name": "web01_REST"}},
        "mapRRPdatastore": {"https://spp/ds/1": "https://spp/ds/2"},
        "mapvirtualnetwork": {"https://spp/n/1": {"recovery": "https://spp/n/2", "test": "https://spp/n/2"}},
        "mapsubnet": {},
        "vmfolderpath": "/DC0/vm/restored"}
    assert subpolicy["option"]["mode"] == "clone" and subpolicy["option"]["poweron"] is True
    assert subpolicy["source"] == {"copy": {"site": {"href": "https://spp/api/site/2000"}, "isOffload": True}}
    reference = payload["spec"]["source"][0]["version"]
    assert reference["copy"] == {"href": offload["links"]["self"]["href"]}
    assert reference["metadata"] == {"useLatest": False, "protectionTime": T0}


def test_payload_of_a_production_restore():
    payload = spp_restore.build_restore_payload(spp_vm("a1"), version("v1", T0), "production", allow_overwrite=True)
    option = payload["spec"]["subpolicy"][0]["option"]
    assert option["mode"] == "recovery" and option["allowvmoverwrite"] is True and "vmNameSuffix" not in option
    assert "mapvm" not in payload["spec"]["subpolicy"][0]["destination"]
    assert spp_restore.build_restore_payload(spp_vm("a1"), version("v1", T0), "clone",
                                             allow_overwrite=True)["spec"]["subpolicy"][0]["option"][
        "allowvmoverwrite"] is False, "overwrite is for production only"
    with pytest.raises(InvalidRequest):
        spp_restore.build_restore_payload(spp_vm("a1"), version("v1", T0), "production", name="x")


def test_default_names_and_copies():
    assert spp_answers.default_name("test", "web01") == "web01_TEST"
    assert spp_answers.default_name("clone", "web01") == "web01_CLONE"
    assert spp_answers.default_name("clone", "web01", "web01_REST") == "web01_REST"
    assert spp_answers.default_name("production", "web01", "ignored") == "web01"
    assert spp_answers.default_copy(version("v1", T0)) is None
    only = copy("c3", "REPLICATION", "https://spp/v")
    assert spp_answers.default_copy(version("v1", T0, copies=[only])) is only


# -- reading restore sessions (pure) ------------------------------------------------------------------------------

def test_restore_phases():
    assert spp_answers.is_restore_session(session("s1", "RUNNING"))
    assert spp_answers.is_restore_session({"jobName": "onDemandRestore_1767225600000", "serviceId": "x"})
    assert not spp_answers.is_restore_session({"jobName": "vmware_Gold", "serviceId": "x", "properties": {}})
    phases = {
        "running": [session("s1", "RUNNING"), session("s2", "PENDING"), session("s3", "PENDING", ["cancel"])],
        "test-active": [active_test_session("s4"), active_test_session("s5", actions=["cleanup"])],
        "succeeded": [session("s6", "COMPLETED"), session("s7", "PARTIAL")],
        "failed": [session("s8", "FAILED"), session("s9", "CANCELLED")],
    }
    for phase, sessions in phases.items():
        assert [spp_answers.restore_phase(one) for one in sessions] == [phase] * len(sessions), phase
    assert spp_answers.test_action_links(active_test_session("s4")) == ["clone", "end_iv", "rrp"]


def test_the_clean_up_link_is_end_iv_or_cleanup():
    assert spp_answers.test_action_link(active_test_session("s1"), "cleanup")[0] == "end_iv"
    assert spp_answers.test_action_link(active_test_session("s1", actions=["cleanup", "rrp"]), "cleanup")[0] == \
        "cleanup"
    assert spp_answers.test_action_link(active_test_session("s1", actions=["rrp"]), "cleanup") is None
    assert spp_answers.test_action_link(active_test_session("s1"), "rrp")[1].endswith("?action=rrp")


def test_log_mentions_of_the_source():
    assert mentions_any([{"message": "Restoring virtual machine web01 from ..."}], ["web01"])
    assert not mentions_any([{"message": "Virtual machine web01_TEST restored."}], ["web01"])
    assert mentions_any([{"messageParams": ["web01"]}], ["web01"])


# -- against the scripted server ----------------------------------------------------------------------------------

def test_start_restore_is_sent_once_and_a_lost_answer_says_what_to_look_for(fake_spp, make_client):
    fake_spp.route("POST", "/ngp/hypervisor", DROP)
    client = make_client(fake_spp)
    payload = spp_restore.build_restore_payload(spp_vm("a1"), version("v1", T0), "test")
    with pytest.raises(AmbiguousResult) as caught:
        spp_restore.start_restore(client, payload)
    assert fake_spp.count("POST", "/ngp/hypervisor") == 1
    assert "look for its restore job session" in caught.value.message and "web01" in caught.value.message


def test_start_restore_returns_the_answer_and_the_session_is_found_by_job_name(fake_spp, make_client):
    fake_spp.route("POST", "/ngp/hypervisor", Reply(201, {"statusCode": 201, "response": {
        "name": "onDemandRestore_1", "id": "1006"}}))
    mine = dict(session("177", "RUNNING"), jobName="onDemandRestore_1")
    fake_spp.route("GET", "/api/endeavour/jobsession", Reply(200, {"sessions": [mine, session("178", "RUNNING")],
                                                                   "total": 0}))
    client = make_client(fake_spp)
    answer = spp_restore.start_restore(client, spp_restore.build_restore_payload(spp_vm("a1"), version("v1", T0),
                                                                                 "clone"))
    assert answer == {"name": "onDemandRestore_1", "id": "1006"}
    sent = fake_spp.requests[-1]
    assert sent.query == {"action": "restore"} and sent.json["spec"]["subpolicy"][0]["option"]["mode"] == "clone"
    assert [s["id"] for s in spp_restore.sessions_of_job(client, "onDemandRestore_1")] == ["177"]
    criteria = json.loads(fake_spp.requests[-1].query["filter"])
    assert criteria == [{"property": "jobName", "value": "onDemandRestore_1", "op": "="}]


def test_site_href_is_built_from_the_site_id(fake_spp, make_client):
    client = make_client(fake_spp)
    assert spp_restore.site_href(client, copy("c1", "BACKUP", "https://spp/v")) == fake_spp.url + "/api/site/2000"
    assert spp_restore.site_href(client, None) is None


def test_session_action_follows_the_link_by_name(fake_spp, make_client):
    fake_spp.route("POST", "/api/endeavour/jobsession/177", Reply(201, {"id": "177", "status": "RUNNING"}))
    client = make_client(fake_spp)
    href = fake_spp.url + "/api/endeavour/jobsession/177"
    active = {"id": "177", "status": "PENDING", "links": {"self": {"href": href}, "end_iv": {"href": href + "?x=1"},
                                                          "rrp": {"href": href + "?action=rrp"}}}
    assert spp_restore.session_action(client, active, "rrp")["status"] == "RUNNING"
    sent = fake_spp.requests[-1]
    assert sent.query == {"action": "rrp"} and sent.json == {}
    spp_restore.session_action(client, active, "cleanup")
    assert fake_spp.requests[-1].query == {"x": "1"}, "clean-up is the end_iv link"
    with pytest.raises(Conflict) as caught:
        spp_restore.session_action(client, active, "clone")
    message = caught.value.message
    assert "offers no 'clone' action" in message and "its links are: end_iv, rrp, self" in message


def test_map_keys_come_from_the_recovery_point(fake_spp, make_client):
    """Source datastores and networks are the version's (links.volumes, links.vnics -> networks), targets by name."""
    def listing(key, *items):
        return Reply(200, {key: [{"name": name, "links": {"self": {"href": fake_spp.url + href}}, **extra}
                                 for name, href, extra in items], "total": len(items)})

    point = version("v1", T0)
    point["links"] = {key: {"href": fake_spp.url + "/v1/" + key} for key in ("self", "volumes", "vnics")}
    point["hypervisorHostname"] = "esx2"
    fake_spp.route("GET", "/v1/volumes", listing("volumes", ("ds-a", "/api/hypervisor/1001/volume/1?from=hlo", {})))
    fake_spp.route("GET", "/v1/vnics", listing("vnics", ("nic1", "/v1/vnic/1", {
        "links": {"self": {"href": "x"}, "networks": {"href": fake_spp.url + "/v1/vnic/1/networks"}}})))
    fake_spp.route("GET", "/v1/vnic/1/networks", listing("networks", ("VM Network", "/net/1?from=recovery", {})))
    fake_spp.route("GET", "/api/hypervisor/1001/volume", listing("volumes", ("ds-b", "/vol/2", {})))
    fake_spp.route("GET", "/api/hypervisor/1001/host", listing(
        "hosts", ("esx1", "/host/1", {}),
        ("esx2", "/host/2", {"links": {"self": {"href": "h2"}, "networks": {"href": fake_spp.url + "/host/2/net"}}})))
    fake_spp.route("GET", "/host/2/net", listing("networks", ("isolated", "/net/9?from=hlo", {})))
    client = make_client(fake_spp)
    resolved = spp_restore.resolve_destination(client, "1001", point, datastore_map={"ds-a": "ds-b"},
                                               network_map={"VM Network": "isolated"})
    assert resolved == {"target": None,
                        "datastore_map": {fake_spp.url + "/api/hypervisor/1001/volume/1?from=hlo": fake_spp.url +
                                          "/vol/2"},
                        "network_map": {fake_spp.url + "/net/1?from=recovery": fake_spp.url + "/net/9?from=hlo"}}
    with pytest.raises(InvalidRequest) as caught:
        spp_restore.resolve_destination(client, "1001", point, datastore_map={"ds-x": "ds-b"})
    assert "the recovery point has no datastore named ds-x (known: ds-a)" in caught.value.message
    with pytest.raises(InvalidRequest):  # an href must be one of the version's, exactly
        spp_restore.resolve_destination(client, "1001", point,
                                        datastore_map={fake_spp.url + "/api/hypervisor/1001/volume/1": "ds-b"})


def test_a_version_without_the_links_cannot_be_mapped(fake_spp, make_client):
    point = version("v1", T0)
    point["links"] = {"self": {"href": fake_spp.url + "/v1"}}
    fake_spp.route("GET", "/v1", Reply(200, dict(point)))
    client = make_client(fake_spp)
    with pytest.raises(NotFound) as caught:
        spp_versions.version_networks(client, point)
    assert "has no 'vnics' link" in caught.value.message
