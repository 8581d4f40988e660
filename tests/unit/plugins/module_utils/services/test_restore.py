# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure parts of vm_restore: options, source resolution, recovery points, markers, sessions, the plan, the
restore request; plus start_restore and session_action against the scripted SPP server."""

from __future__ import annotations

import json

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import restore as restore_service
from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import (
    AmbiguousResult,
    Conflict,
    InvalidRequest,
    NotFound,
    RuleViolation,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import restore as spp_restore
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.log_mentions import mentions_any
from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere import vms as vsphere_vms

from spp_fake_server import DROP, Reply
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import answers as spp_answers

BASE = "https://spp/api/hypervisor/1001/vm"
UUID = "11111111-2222-3333-4444-555555555555"
T0 = 1767225600000  # 2026-01-01T00:00:00Z


def spp_vm(vm_id, name="web01", moref="vm-10", uuid=UUID, protected=T0, policies=("Gold",)):
    return {"id": vm_id, "name": name, "hypervisorKey": "1001", "storageProfiles": list(policies),
            "config": {"instanceUuid": uuid}, "nativeObject": {"mor": {"val": moref}},
            "protectionInfo": {"protectionTime": protected} if protected else {},
            "links": {"self": {"href": "%s/%s?from=recovery" % (BASE, vm_id)}}}


def version(version_id, when, vm_id="a1", copies=()):
    href = "%s/%s/version/%s?from=recovery" % (BASE, vm_id, version_id)
    return {"id": version_id, "protectionInfo": {"protectionTime": when, "storageProfileName": "Gold"},
            "links": {"self": {"href": href}}, "copies": list(copies)}


def copy(copy_id, kind, version_href, site="https://spp/api/site/2000"):
    return {"id": copy_id, "protectionInfo": {"subPolicyType": kind},
            "links": {"self": {"href": version_href.split("?")[0] + "/copy/%s?from=recovery" % copy_id},
                      "version": {"href": version_href}, "site": {"href": site}}}


def vc_vm(name, moref, uuid=UUID, marker=None, power="poweredOn"):
    return {"name": name, "moref": moref, "instance_uuid": uuid, "template": False, "power_state": power,
            "marker": marker}


def source_of(vcenter, recovery, ref="web01"):
    source = restore_service.resolve_source(ref, vcenter, recovery)
    source["spp_id"] = source["ids"][0]
    return source


def marker(state="restored", mode="test", point="v1", spp_id="a1", uuid=UUID, session="s1", moref="vm-20"):
    return {"source": {"name": "web01", "instance_uuid": uuid, "spp_id": spp_id},
            "recovery_point": {"id": point, "time": T0}, "mode": mode, "session_id": session, "state": state,
            "moref": moref, "v": 1}


def request(**overrides):
    base = {"vm": "web01", "recovery_point": None, "copy": None, "mode": "test", "name": None, "state": "present",
            "overwrite": False, "host": None, "cluster": None, "datastore_map": None, "network_map": None,
            "folder": None, "power_on": False, "wait": True, "timeout": 3600}
    base.update(overrides)
    return base


POINT = {"id": "v1", "time": T0, "time_iso": "2026-01-01T00:00:00.000Z"}


# -- options ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("2026-01-01T00:00:00Z", T0),
    ("2026-01-01T01:00:00+01:00", T0),
    ("2026-01-01 00:00:00", T0),
    ("2026-01-01T00:00:00.250Z", T0 + 250),
    (T0, T0),
    (str(T0), T0),
])
def test_parse_time(value, expected):
    assert restore_service.parse_time(value) == expected


@pytest.mark.parametrize("value", ["yesterday", True, "2026-13-01"])
def test_parse_time_refuses_what_is_not_a_time(value):
    with pytest.raises(InvalidRequest) as caught:
        restore_service.parse_time(value)
    assert "recovery_point.before" in caught.value.message


def test_iso_time():
    assert restore_service.iso_time(T0 + 5) == "2026-01-01T00:00:00.005Z"
    assert restore_service.iso_time(None) is None


@pytest.mark.parametrize("value, expected", [
    (None, None), ("", None), ("latest", "latest"), ("LATEST", "latest"), ("1795307314135", "1795307314135"),
    (1795307314135, "1795307314135"), ({"before": "2026-01-01T00:00:00Z"}, {"before": T0}),
])
def test_parse_recovery_point(value, expected):
    assert restore_service.parse_recovery_point(value) == expected


@pytest.mark.parametrize("value", [{"after": 1}, {"before": 1, "x": 2}, [1], True])
def test_parse_recovery_point_refusals(value):
    with pytest.raises(InvalidRequest):
        restore_service.parse_recovery_point(value)


def test_check_request_lists_every_problem():
    with pytest.raises(InvalidRequest) as caught:
        restore_service.check_request(request(mode="production", state="promoted", name="x", host="h", cluster="c"))
    problems = caught.value.details["problems"]
    assert len(problems) == 3
    assert "state promoted applies to test restores only" in problems[0]
    assert "keeps the original name" in problems[1] and "keep_current: true" in problems[1]
    restore_service.check_request(request(state="absent"))
    restore_service.check_request(request(mode="clone", name="web01_REST"))


# -- source resolution --------------------------------------------------------------------------------------------

def test_live_vm_by_name_moref_or_uuid():
    vcenter = [vc_vm("web01", "vm-10"), vc_vm("db01", "vm-11", uuid="other")]
    recovery = [spp_vm("a1"), spp_vm("b2", name="db01", moref="vm-11", uuid="other")]
    for ref in ("web01", "vm-10", UUID):
        source = restore_service.resolve_source(ref, vcenter, recovery)
        assert source["ids"] == ["a1"] and source["current"]["moref"] == "vm-10" and source["name"] == "web01"


def test_lineage_after_a_production_restore_follows_the_instance_uuid():
    # The production restore gave web01 a new moref (vm-30); the backup server has the old record and, after an
    # inventory and a backup, a new one with the same instance UUID.
    vcenter = [vc_vm("web01", "vm-30")]
    recovery = [spp_vm("a1", protected=T0), spp_vm("c3", moref="vm-30", protected=T0 + 1000)]
    source = restore_service.resolve_source("web01", vcenter, recovery)
    assert source["ids"] == ["a1", "c3"]
    assert [r["id"] for r in source["records"]] == ["c3", "a1"]
    assert source["current"]["moref"] == "vm-30"


def test_deleted_vm_is_restored_from_its_records():
    source = restore_service.resolve_source("web01", [vc_vm("other", "vm-99", uuid="x")], [spp_vm("a1")])
    assert source["current"] is None and source["ids"] == ["a1"]


def test_unknown_vm_is_not_found():
    with pytest.raises(NotFound) as caught:
        restore_service.resolve_source("ghost", [vc_vm("web01", "vm-10")], [spp_vm("a1")])
    assert "no recovery point of VM ghost" in caught.value.message


def test_two_vms_with_the_same_name_in_vcenter():
    with pytest.raises(InvalidRequest) as caught:
        restore_service.resolve_source("web01", [vc_vm("web01", "vm-10"), vc_vm("web01", "vm-12", uuid="u2")], [])
    assert "vm-10, vm-12" in caught.value.message


def test_deleted_vms_of_the_same_name_are_ambiguous_until_named_by_uuid():
    recovery = [spp_vm("a1"), spp_vm("b2", moref="vm-40", uuid="u2")]
    with pytest.raises(InvalidRequest) as caught:
        restore_service.resolve_source("web01", [], recovery)
    assert "2 different VMs" in caught.value.message and "instance UUID u2" in caught.value.message
    assert restore_service.resolve_source("u2", [], recovery)["ids"] == ["b2"]


def test_renamed_current_vm_after_keep_current():
    # web01 was renamed web01_OLD and a clone took the name web01 (new UUID, never backed up).
    vcenter = [vc_vm("web01_OLD", "vm-10"), vc_vm("web01", "vm-50", uuid="clone-uuid")]
    source = restore_service.resolve_source("web01", vcenter, [spp_vm("a1")])
    assert source["ids"] == ["a1"]
    assert source["current"]["name"] == "web01_OLD"


# -- recovery points ----------------------------------------------------------------------------------------------

def test_versions_of_a_lineage_are_merged_newest_first():
    old, new = spp_vm("a1"), spp_vm("c3", moref="vm-30")
    pairs = restore_service.merge_versions([(old, [version("v1", T0), version("v0", T0 - 10)]),
                                            (new, [version("v2", T0 + 10, vm_id="c3")])])
    assert [v["id"] for _vm, v in pairs] == ["v2", "v1", "v0"]
    assert restore_service.choose_point(pairs, "latest")[0] is new
    assert restore_service.choose_point(pairs, "v1")[0] is old
    assert restore_service.choose_point(pairs, {"before": T0})[1]["id"] == "v0"
    with pytest.raises(NotFound):
        restore_service.choose_point(pairs, {"before": T0 - 10})


def test_point_summary_with_a_copy():
    point = version("v1", T0)
    replica = copy("c9", "REPLICATION", point["links"]["self"]["href"])
    point["sessionId"] = 1767225500000
    assert restore_service.point_summary(point, replica, "replication") == {
        "id": "v1", "time": T0, "time_iso": "2026-01-01T00:00:00.000Z", "copy_kind": "replication", "copy_id": "c9",
        "policy": "Gold", "session_id": "1767225500000", "session_status": None}
    assert restore_service.point_summary(point)["copy_kind"] is None


# -- markers ------------------------------------------------------------------------------------------------------

def test_marker_text_round_trip_and_copies():
    text = vsphere_vms.encode_marker(marker())
    assert " " not in text and json.loads(text)["state"] == "restored"
    assert vsphere_vms.decode_marker(text) == marker()
    assert vsphere_vms.decode_marker("not json") is None
    assert vsphere_vms.decode_marker('{"v": 99}') is None
    assert vsphere_vms.decode_marker("") is None
    # The simulator appends values instead of replacing them: the last value of the key wins.
    assert vsphere_vms.marker_value([(0, "a"), (1, "x"), (0, "b")], 0) == "b"
    assert vsphere_vms.marker_value([(1, "x")], 0) is None
    # A marker that came along with a copied VM is not that VM's own.
    assert vsphere_vms.own_marker(marker(moref="vm-20"), "vm-20")
    assert vsphere_vms.own_marker(marker(moref="vm-20"), "vm-21") is None


def test_marked_vms_match_source_point_mode_and_name():
    source = source_of([vc_vm("web01", "vm-10")], [spp_vm("a1")])
    vcenter = [
        vc_vm("web01_TEST", "vm-20", uuid="t", marker=marker()),
        vc_vm("web01_CLONE", "vm-21", uuid="c", marker=marker(mode="clone", moref="vm-21")),
        vc_vm("web01_OLDTEST", "vm-22", uuid="o", marker=marker(point="v0", moref="vm-22")),
        vc_vm("other_TEST", "vm-23", uuid="z", marker=marker(spp_id="zz", uuid="zz", moref="vm-23")),
    ]
    found = restore_service.marked_vms(vcenter, source, "v1", "test", target_name="web01_TEST")
    assert [vm["moref"] for vm in found] == ["vm-20"]
    assert restore_service.marked_vms(vcenter, source, "v1", "test", target_name="web01_T2") == []
    assert [vm["moref"] for vm in restore_service.marked_vms(vcenter, source, None, "test")] == ["vm-22", "vm-20"]
    # A promoted test VM took the source's name.
    promoted = [vc_vm("web01", "vm-20", marker=marker(state="promoted"))]
    assert restore_service.marked_vms(promoted, source, "v1", "test", target_name="web01_TEST")
    # The lineage matches by instance UUID even when the SPP id is a newer record's.
    assert restore_service.marker_matches(marker(spp_id="c3"), ["a1"], UUID)
    assert not restore_service.marker_matches(marker(spp_id="c3", uuid="x"), ["a1"], UUID)


# -- restore sessions ---------------------------------------------------------------------------------------------

def session(session_id, status, entries=(), mode="test"):
    return {"id": session_id, "status": status, "serviceId": "serviceprovider.recovery.hypervisor",
            "jobName": "onDemandRestore_%s" % session_id,
            "properties": {"restoreMode": mode, "postRestoreInfo": list(entries)}}


def entry(name="web01_TEST", moref="vm-20", status="active", point="v1", mode="test", source="a1"):
    return {"sourceVmId": source, "sourceVmName": "web01", "versionId": point, "mode": mode, "name": name,
            "moref": moref, "status": status}


def test_classify_sessions():
    source = source_of([vc_vm("web01", "vm-10")], [spp_vm("a1")])
    logs = {"s3": [{"messageParams": ["web01", "v1", "web01_TEST", "test"]}], "s4": [{"message": "Job started."}],
            "s5": []}
    sessions = [
        session("s1", "RESOURCE ACTIVE", [entry()]),
        session("s2", "RESOURCE ACTIVE", [entry(name="web01_T2")]),
        session("s3", "RUNNING"),
        session("s4", "RUNNING"),
        session("s5", "PENDING"),
        session("s6", "COMPLETED", [entry(point="v0")]),
    ]
    matches, undecided = restore_service.classify_sessions(sessions, source, "v1", "test", lambda s: logs[s["id"]],
                                                           "web01_TEST")
    assert [(s["id"], e is not None) for s, e in matches] == [("s1", True), ("s3", False)]
    assert [s["id"] for s in undecided] == ["s5"]


def test_usable_match():
    by_moref = {"vm-20": vc_vm("web01_TEST", "vm-20")}
    active = (session("s1", "RESOURCE ACTIVE", [entry()]), entry())
    running = (session("s2", "RUNNING"), None)
    assert restore_service.usable_match([active, running], by_moref, "test")[0]["id"] == "s2"
    assert restore_service.usable_match([active], by_moref, "test")[0]["id"] == "s1"
    assert restore_service.usable_match([active], {}, "test") is None, "the test VM is gone"
    ended = (session("s3", "COMPLETED", [entry()]), entry())
    assert restore_service.usable_match([ended], by_moref, "test") is None, "a test restore no longer RESOURCE ACTIVE"
    cleaned = (session("s4", "COMPLETED", [entry(status="cleaned up")]), entry(status="cleaned up"))
    assert restore_service.usable_match([cleaned], by_moref, "test") is None
    clone = entry(mode="clone", status="restored")
    assert restore_service.usable_match([(session("s5", "COMPLETED", [clone], "clone"), clone)], by_moref, "clone")
    assert restore_service.usable_match([(session("s6", "FAILED", [clone], "clone"), clone)], by_moref, "clone") is None


# -- the plan -----------------------------------------------------------------------------------------------------

def plan_for(req, vcenter=None, marked=None, follow=None, holder=None, records=None):
    vcenter = [vc_vm("web01", "vm-10")] if vcenter is None else vcenter
    source = source_of(vcenter, records or [spp_vm("a1")])
    return restore_service.plan_restore(req, source, POINT, "web01_TEST", marked, follow, holder)


def test_plan_new_test_restore():
    plan = plan_for(request())
    assert plan == {"steps": ["restore", "mark"], "via": "post", "destroys": [], "renames": [], "spp_mode": "test",
                    "changed": True}


def test_plan_marked_restore_is_unchanged():
    marked = vc_vm("web01_TEST", "vm-20", uuid="t", marker=marker())
    assert plan_for(request(), marked=marked)["steps"] == []
    promoted = vc_vm("web01", "vm-20", marker=marker(state="promoted"))
    assert plan_for(request(), marked=promoted)["changed"] is False
    assert plan_for(request(state="promoted"), marked=promoted)["changed"] is False


def test_plan_follows_an_existing_session():
    plan = plan_for(request(), follow=(session("s1", "RUNNING"), None))
    assert plan["steps"] == ["restore", "mark"] and plan["via"] == "follow"


def test_plan_promote_destroys_the_original():
    marked = vc_vm("web01_TEST", "vm-20", uuid="t", marker=marker())
    plan = plan_for(request(state="promoted"), marked=marked)
    assert plan["steps"] == ["rrp", "mark"] and plan["via"] is None
    assert plan["destroys"] == [{"name": "web01", "moref": "vm-10", "instance_uuid": UUID}]
    fresh = plan_for(request(state="cloned"))
    assert fresh["steps"] == ["restore", "clone", "mark"] and fresh["destroys"] == []


def test_plan_cannot_promote_a_clone():
    marked = vc_vm("web01_TEST", "vm-20", uuid="t", marker=marker(state="cloned"))
    with pytest.raises(InvalidRequest) as caught:
        plan_for(request(state="promoted"), marked=marked)
    assert "already cloned" in caught.value.message


def test_plan_production_needs_overwrite_while_the_vm_exists():
    with pytest.raises(RuleViolation) as caught:
        plan_for(request(mode="production"))
    text = caught.value.message
    assert text.startswith("1 rule violation(s); nothing was changed:")
    assert "[production_restore_overwrites] web01 (vm-10)" in text
    assert "overwrite: true" in text and "mode: clone" in text and "keep_current: true" in text
    plan = plan_for(request(mode="production", overwrite=True))
    assert plan["steps"] == ["restore", "mark"] and plan["destroys"][0]["moref"] == "vm-10"
    deleted = plan_for(request(mode="production"), vcenter=[])
    assert deleted["destroys"] == [], "rebuilding a deleted VM needs no overwrite"


def test_plan_production_keeping_the_current_vm():
    plan = plan_for(request(mode="production", keep_current=True))
    assert plan["steps"] == ["rename_current", "restore", "power_off_current", "mark"]
    assert plan["destroys"] == [] and plan["spp_mode"] == "clone"
    assert plan["renames"] == [{"name": "web01", "moref": "vm-10", "to": "web01_OLD"}]
    # After a rename whose restore answer was lost: the VM is already web01_OLD, and powered off meanwhile.
    renamed = [vc_vm("web01_OLD", "vm-10", power="poweredOff")]
    again = plan_for(request(mode="production", keep_current=True), vcenter=renamed,
                     follow=(session("s1", "RUNNING"), None))
    assert again["steps"] == ["restore", "mark"] and again["via"] == "follow"
    with pytest.raises(InvalidRequest) as caught:
        plan_for(request(mode="production", keep_current=True), holder=vc_vm("web01", "vm-66", uuid="x"))
    assert "needs that name free" in caught.value.message
    deleted = plan_for(request(mode="production", keep_current=True), vcenter=[])
    assert deleted["spp_mode"] == "production" and deleted["renames"] == []


def test_check_request_keep_current():
    for wrong in (request(keep_current=True), request(mode="production", keep_current=True, overwrite=True)):
        with pytest.raises(InvalidRequest):
            restore_service.check_request(wrong)


def test_plan_production_refuses_a_vm_the_backup_server_did_not_record():
    # Same instance UUID, but a moref the backup server never saw: SPP would create a second VM of that name.
    with pytest.raises(InvalidRequest) as caught:
        plan_for(request(mode="production", overwrite=True), vcenter=[vc_vm("web01", "vm-77")])
    assert "second VM named web01" in caught.value.message


def test_plan_refuses_a_name_taken_by_another_vm():
    holder = vc_vm("web01_TEST", "vm-21", uuid="t2", marker=marker(point="v0", moref="vm-21"))
    with pytest.raises(InvalidRequest) as caught:
        plan_for(request(), holder=holder)
    assert "web01_TEST (vm-21) already exists" in caught.value.message
    assert "a test restore of web01 from 2026-01-01T00:00:00.000Z, now restored" in caught.value.message


def test_plan_cleanup():
    marked = [vc_vm("web01_TEST", "vm-20", uuid="t", marker=marker())]
    adopted_vm = vc_vm("web01_T2", "vm-21", uuid="t2")
    by_moref = {"vm-20": marked[0], "vm-21": adopted_vm}
    matches = [(session("s2", "RESOURCE ACTIVE", [entry(name="web01_T2", moref="vm-21")]),
                entry(name="web01_T2", moref="vm-21")),
               (session("s3", "COMPLETED", [entry(moref="vm-22")]), entry(moref="vm-22"))]
    removes = restore_service.plan_cleanup(marked, matches, by_moref)
    assert removes == [
        {"name": "web01_T2", "moref": "vm-21", "session_id": "s2", "recovery_point_id": "v1"},
        {"name": "web01_TEST", "moref": "vm-20", "session_id": "s1", "recovery_point_id": "v1"},
    ]
    assert [r["moref"] for r in restore_service.plan_cleanup(marked, matches, by_moref, name="web01_TEST")] == ["vm-20"]


# -- the restore request (spp/restore.py) -------------------------------------------------------------------------

def test_payload_of_a_default_test_restore():
    source, point = spp_vm("a1"), version("v1", T0)
    payload = spp_restore.build_restore_payload(source, point, "test")
    entry_ = payload["spec"]["source"][0]
    assert entry_["href"] == "%s/a1?from=recovery" % BASE and entry_["id"] == "a1"
    assert entry_["version"] == {"href": point["links"]["self"]["href"],
                                 "metadata": {"useLatest": False, "protectionTime": T0}}
    subpolicy = payload["spec"]["subpolicy"][0]
    assert subpolicy["type"] == "IV" and subpolicy["source"] is None
    assert subpolicy["destination"] == {"systemDefined": True}
    option = subpolicy["option"]
    assert option["mode"] == "test" and option["vmNameSuffix"] == "_TEST"
    assert option["poweron"] is False and option["allowvmoverwrite"] is False and option["streaming"] is False


def test_payload_of_a_clone_with_a_name_a_copy_and_an_alternate_location():
    source, point = spp_vm("a1"), version("v1", T0)
    offload = copy("c9", "SPPOFFLOAD", point["links"]["self"]["href"])
    destination = spp_restore.build_destination(
        source_href=source["links"]["self"]["href"], name="web01_REST",
        target={"href": "https://spp/h/1", "name": "esx1", "resourceType": "host"},
        datastore_map={"https://spp/ds/1": "https://spp/ds/2"}, network_map={"https://spp/n/1": "https://spp/n/2"},
        folder="/DC0/vm/restored")
    payload = spp_restore.build_restore_payload(source, point, "clone", copy=offload, name="web01_REST",
                                                destination=destination, power_on=True)
    subpolicy = payload["spec"]["subpolicy"][0]
    assert subpolicy["destination"] == {
        "target": {"href": "https://spp/h/1", "name": "esx1", "resourceType": "host"},
        "mapvm": {"%s/a1?from=recovery" % BASE: {"name": "web01_REST"}},
        "mapRRPdatastore": {"https://spp/ds/1": "https://spp/ds/2"},
        "mapvirtualnetwork": {"https://spp/n/1": {"recovery": "https://spp/n/2", "test": "https://spp/n/2"}},
        "vmfolderpath": "/DC0/vm/restored"}
    assert subpolicy["option"]["mode"] == "clone" and subpolicy["option"]["poweron"] is True
    assert "vmNameSuffix" not in subpolicy["option"]
    assert subpolicy["source"] == {"copy": {"site": {"href": "https://spp/api/site/2000"}, "isOffload": True}}
    assert payload["spec"]["source"][0]["version"]["copy"] == {"href": offload["links"]["self"]["href"]}


def test_payload_of_a_production_restore():
    payload = spp_restore.build_restore_payload(spp_vm("a1"), version("v1", T0), "production", allow_overwrite=True)
    option = payload["spec"]["subpolicy"][0]["option"]
    assert option["mode"] == "recovery" and option["allowvmoverwrite"] is True and "vmNameSuffix" not in option
    assert spp_restore.build_restore_payload(spp_vm("a1"), version("v1", T0), "clone",
                                             allow_overwrite=True)["spec"]["subpolicy"][0]["option"][
        "allowvmoverwrite"] is False, "overwrite is for production only"
    with pytest.raises(InvalidRequest):
        spp_restore.build_restore_payload(spp_vm("a1"), version("v1", T0), "production", name="x")


def test_default_names():
    assert spp_answers.default_name("test", "web01") == "web01_TEST"
    assert spp_answers.default_name("clone", "web01") == "web01_CLONE"
    assert spp_answers.default_name("clone", "web01", "web01_REST") == "web01_REST"
    assert spp_answers.default_name("production", "web01", "ignored") == "web01"


def test_session_readers():
    restore_session = session("s1", "RESOURCE ACTIVE", [entry()])
    assert spp_answers.is_restore_session(restore_session)
    assert not spp_answers.is_restore_session({"jobName": "vmware_Gold", "serviceId": "x", "properties": {}})
    assert spp_answers.find_entry(restore_session, ["a1"], "v1", "test")["moref"] == "vm-20"
    assert spp_answers.find_entry(restore_session, ["a1"], "v1", "clone") is None
    assert spp_answers.find_entry(restore_session, ["zz"], "v1") is None
    assert [spp_answers.entry_state(entry(status=s)) for s in
            ("active", "restored", "moved to production", "kept as clone", "cleaned up")] == [
        "restored", "restored", "promoted", "cloned", "absent"]
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


def test_start_restore_returns_the_session(fake_spp, make_client):
    fake_spp.route("POST", "/ngp/hypervisor", Reply(201, {"statusCode": 201, "response": {
        "name": "onDemandRestore_1", "id": "1006", "sessionId": "177"}}))
    client = make_client(fake_spp)
    answer = spp_restore.start_restore(client, spp_restore.build_restore_payload(spp_vm("a1"), version("v1", T0),
                                                                                 "clone"))
    assert answer["sessionId"] == "177"
    sent = fake_spp.requests[-1]
    assert sent.query == {"action": "restore"} and sent.json["spec"]["subpolicy"][0]["option"]["mode"] == "clone"


def test_session_action_follows_the_link_by_name(fake_spp, make_client):
    fake_spp.route("POST", "/api/endeavour/jobsession/177", Reply(201, {"id": "177", "status": "RUNNING"}))
    client = make_client(fake_spp)
    active = {"id": "177", "status": "RESOURCE ACTIVE",
              "links": {"rrp": {"href": fake_spp.url + "/api/endeavour/jobsession/177?action=rrp"}}}
    assert spp_restore.session_action(client, active, "rrp")["status"] == "RUNNING"
    sent = fake_spp.requests[-1]
    assert sent.query == {"action": "rrp"} and sent.json == {}
    with pytest.raises(Conflict) as caught:
        spp_restore.session_action(client, active, "cleanup")
    assert "offers no 'cleanup' action" in caught.value.message and "actions offered: rrp" in caught.value.message


def test_test_records():
    point = {"id": "v1", "time": 1000, "time_iso": restore_service.iso_time(1000)}
    record = restore_service.new_test_record(point, "passed", 5000, "web01_TEST")
    assert record == {"recovery_point": {"id": "v1", "time": 1000, "time_iso": "1970-01-01T00:00:01.000Z"},
                      "result": "passed", "when": "1970-01-01T00:00:05.000Z", "test_vm": "web01_TEST"}
    later = restore_service.new_test_record(point, "passed", 9000, "web01_TEST")
    assert restore_service.same_test_record(record, later), "when is not compared"
    assert not restore_service.same_test_record(record, restore_service.new_test_record(point, "failed", 5000, "web01_TEST"))
    assert not restore_service.same_test_record(None, record)
    assert restore_service.passed_test(record, "v1") and not restore_service.passed_test(record, "v2")
    assert not restore_service.passed_test(dict(record, result="failed"), "v1") and not restore_service.passed_test(None, "v1")
    stored = vsphere_vms.decode_marker(vsphere_vms.encode_marker(dict(record, moref="vm-10")))
    assert restore_service.public_test_record(stored) == record and restore_service.public_test_record(None) is None


@pytest.mark.parametrize("overrides", [
    {"test_result": "passed", "state": "present"},
    {"test_result": "passed", "mode": "clone", "state": "present"},
    {"skip_if_tested": True, "state": "absent"},
    {"skip_if_tested": True, "mode": "clone"},
])
def test_check_request_test_options(overrides):
    with pytest.raises(InvalidRequest):
        restore_service.check_request(request(**overrides))


def test_check_request_accepts_test_options():
    restore_service.check_request(request(test_result="failed", state="absent"))
    restore_service.check_request(request(test_result="passed", state="promoted"))
    restore_service.check_request(request(skip_if_tested=True))


def test_after_keep_current_the_named_vm_follows_its_marker_to_the_source_lineage():
    # web01 was restored with keep_current: the previous VM is web01_OLD (the backup server renamed its record at
    # the next inventory), the restored web01 has a new moref and UUID and carries the marker of the source.
    restored = vc_vm("web01", "vm-30", uuid="new-uuid", marker=marker(mode="production", spp_id="a1", moref="vm-30"))
    kept = vc_vm("web01_OLD", "vm-10", power="poweredOff")
    recovery = [spp_vm("a1", name="web01_OLD")]  # the restored VM has no recovery point of its own yet
    source = restore_service.resolve_source("web01", [restored, kept], recovery)
    assert source["ids"] == ["a1"]
    assert source["current"] is restored and source["name"] == "web01"
