# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""vm_restore against the lab: every mode and every test-restore lifecycle state, production with and without
overwrite, a lost restore answer and a failed restore job.

Each case restores a VM of its own (a clone of DC0_H0_VM0, protected and backed up by the test), runs check, real,
check, real, and reads the end state back through vCenter (pyVmomi) and the backup server (helpers.SppReader), never
from the module's answer nor through the collection's client.
Every VM a test creates is destroyed at the end, so the lab's standard VMs stay as they are.
"""

from __future__ import annotations


import pytest

import vcenter
from helpers import back_up, changed_pattern, protected_clone, vm_names_like

pytestmark = pytest.mark.integration
RESTORE_RUNS = [True, True, False, False]
MARKER_FIELD = "sovereign.vm_backup.restore"
TEST_FIELD = "sovereign.vm_backup.test"
RESTORE_POST = "POST /ngp/hypervisor"
TEST_ACTION_LINKS = {"end_iv", "cleanup", "rrp", "clone"}


# -- preparation --------------------------------------------------------------------------------------------------

@pytest.fixture
def source(fresh_lab):
    """A powered-on VM of the test's own, known to the backup server, protected by Gold and backed up once."""
    with protected_clone(fresh_lab, "rs", ["Gold"]) as name:
        yield name


# -- end-state readers (pyVmomi and helpers.SppReader) ------------------------------------------------------------

def vm_state(lab, name):
    """What vCenter says of the VM named ``name``: moref, instance UUID, power, NICs and restore marker; or None."""
    with lab.vcenter() as client:
        vm = vcenter.find_vm(client, name)
        if vm is None:
            return None
        nics = vcenter.nics(vm)
        return {
            "moref": vcenter.moref(vm),
            "instance_uuid": vm.config.instanceUuid,
            "power_state": str(vm.runtime.powerState),
            "macs": [nic.macAddress for nic in nics],
            "connected": [bool(nic.connectable.connected) for nic in nics],
            "start_connected": [bool(nic.connectable.startConnected) for nic in nics],
            "marker": vcenter.custom_value(client, vm, MARKER_FIELD),
        }


def is_test_active(session):
    """An active test restore: a restore session in PENDING with the test-restore action links (spp-api.md 14.9)."""
    return session.get("status") == "PENDING" and bool(set(session.get("links") or {}) & TEST_ACTION_LINKS)


def restore_posts(lab):
    return lab.admin("GET", "/requests")["counts"].get(RESTORE_POST, 0)


def expect_nothing_restored_in_check_mode(lab, name, before):
    def after_each(index, result):
        if index == 0:
            assert result["plan"]["steps"], result
            assert vm_names_like(lab, name) == before, "check mode created or removed a VM"
            assert lab.spp.restore_sessions() == [], "check mode started a restore"
    return after_each


# -- test mode ----------------------------------------------------------------------------------------------------

def test_test_restore_present(fresh_lab, source):
    original = vm_state(fresh_lab, source)
    results = fresh_lab.four_runs("vm_restore", {"vm": source},
                                  expect_nothing_restored_in_check_mode(fresh_lab, source, [source]))
    assert changed_pattern(results) == RESTORE_RUNS
    check, real, _check, last = results
    assert check["plan"]["steps"] == ["restore", "mark"] and check["name"] == source + "_TEST"
    assert check["recovery_point"]["id"] == real["recovery_point"]["id"] and check["recovery_point"]["time_iso"]
    assert check["recovery_point"]["session_status"] == "COMPLETED", "the backup that made the point succeeded"
    assert check["plan"]["destroys"] == [] and check["plan"]["target"]["network"] == "disconnected"

    test_vm = vm_state(fresh_lab, source + "_TEST")
    assert test_vm is not None and test_vm["moref"] == real["moref"] == last["moref"]
    assert test_vm["connected"] == [False] and test_vm["start_connected"] == [False], "test NICs are disconnected"
    assert test_vm["instance_uuid"] == real["instance_uuid"] != original["instance_uuid"]
    assert test_vm["macs"] == real["macs"]
    assert test_vm["marker"]["mode"] == "test" and test_vm["marker"]["state"] == "restored"
    assert test_vm["marker"]["recovery_point"]["id"] == real["recovery_point"]["id"]
    assert test_vm["marker"]["source"]["name"] == source and test_vm["marker"]["session_id"] == real["session_id"]
    assert vm_state(fresh_lab, source) == original, "the original is untouched"
    sessions = fresh_lab.spp.restore_sessions()
    assert [s["id"] for s in sessions] == [real["session_id"]]
    assert is_test_active(sessions[0]), sessions[0]
    assert real["state"] == last["state"] == "restored"


def test_test_restore_promoted(fresh_lab, source):
    original = vm_state(fresh_lab, source)
    results = fresh_lab.four_runs("vm_restore", {"vm": source, "state": "promoted", "overwrite": True},
                                  expect_nothing_restored_in_check_mode(fresh_lab, source, [source]))
    assert changed_pattern(results) == RESTORE_RUNS
    check, real = results[0], results[1]
    assert check["plan"]["steps"] == ["record", "restore", "rrp", "protect", "mark", "forget"]
    assert check["plan"]["destroys"] == [{"name": source, "moref": original["moref"],
                                          "instance_uuid": original["instance_uuid"]}]
    assert check["diff"]["after"][source].startswith("promoted from ")

    assert vm_names_like(fresh_lab, source) == [source], "the test VM took the original's place"
    promoted = vm_state(fresh_lab, source)
    assert promoted["moref"] != original["moref"] and promoted["moref"] == real["moref"]
    assert promoted["instance_uuid"] == original["instance_uuid"] and promoted["macs"] == original["macs"]
    assert promoted["connected"] == [True]
    assert promoted["marker"]["state"] == "promoted" and promoted["marker"]["mode"] == "test"
    assert fresh_lab.spp.session(real["session_id"])["status"] == "COMPLETED"
    assert real["state"] == "promoted" and results[3]["state"] == "promoted"
    assert real["protected_with"] == ["Gold"]
    assert fresh_lab.spp.vm_by_moref(promoted["moref"])["policies"] == ["Gold"], "protected as the original was"


def test_test_restore_cloned(fresh_lab, source):
    original = vm_state(fresh_lab, source)
    results = fresh_lab.four_runs("vm_restore", {"vm": source, "state": "cloned"})
    assert changed_pattern(results) == RESTORE_RUNS
    assert results[0]["plan"]["steps"] == ["restore", "clone", "mark"] and results[0]["plan"]["destroys"] == []
    kept = vm_state(fresh_lab, source + "_TEST")
    assert kept["marker"]["state"] == "cloned" and kept["connected"] == [True]
    assert kept["instance_uuid"] != original["instance_uuid"]
    assert not set(kept["macs"]) & set(original["macs"])
    assert vm_state(fresh_lab, source) == original
    assert fresh_lab.spp.session(results[1]["session_id"])["status"] == "COMPLETED"


def test_test_restore_absent(fresh_lab, source):
    restored = fresh_lab.module("vm_restore", {"vm": source})
    assert vm_state(fresh_lab, source + "_TEST") is not None
    results = fresh_lab.four_runs("vm_restore", {"vm": source, "state": "absent"})
    assert changed_pattern(results) == RESTORE_RUNS
    assert results[0]["removed"] == [{"name": source + "_TEST", "moref": restored["moref"],
                                      "session_id": restored["session_id"],
                                      "recovery_point_id": restored["recovery_point"]["id"]}]
    assert results[0]["diff"]["after"] == {source + "_TEST": "absent"}
    assert vm_names_like(fresh_lab, source) == [source]
    ended = fresh_lab.spp.session(restored["session_id"])
    assert ended["status"] == "COMPLETED" and not is_test_active(ended)
    if fresh_lab.emulated:  # what the session did to each VM: the emulator's own record (the API does not say it)
        restores = fresh_lab.admin("GET", "/state")["restores"][restored["session_id"]]
        assert [entry["status"] for entry in restores] == ["cleaned up"]


def read_test_record(lab, name):
    """The test record (custom attribute sovereign.vm_backup.test) of the VM named ``name``, or None."""
    with lab.vcenter() as client:
        return vcenter.custom_value(client, vcenter.find_vm(client, name), TEST_FIELD)


def test_test_result_is_recorded_and_skip_if_tested_skips_a_passed_point(fresh_lab, source):
    restored = fresh_lab.module("vm_restore", {"vm": source, "power_on": True})
    point = restored["recovery_point"]["id"]
    results = fresh_lab.four_runs("vm_restore", {"vm": source, "recovery_point": point, "state": "absent",
                                                 "test_result": "passed"})
    assert changed_pattern(results) == RESTORE_RUNS
    assert results[0]["last_test"]["result"] == "passed" and results[0]["removed"]
    record = read_test_record(fresh_lab, source)
    assert record["result"] == "passed" and record["recovery_point"]["id"] == point
    assert record["test_vm"] == source + "_TEST" and record["when"].endswith("Z")
    assert results[3]["last_test"]["when"] == record["when"], "an unchanged run does not rewrite the record"
    assert vm_names_like(fresh_lab, source) == [source]

    skipped = fresh_lab.four_runs("vm_restore", {"vm": source, "power_on": True, "skip_if_tested": True})
    assert changed_pattern(skipped) == [False] * 4
    assert all(result["skipped_tested"] and result["last_test"]["result"] == "passed" for result in skipped)
    assert vm_names_like(fresh_lab, source) == [source], "a passed point is not restored again"

    back_up(fresh_lab, "Gold", [source])  # a new recovery point is tested again
    again = fresh_lab.module("vm_restore", {"vm": source, "power_on": True, "skip_if_tested": True}, check=True)
    assert again["changed"] and not again["skipped_tested"] and again["recovery_point"]["id"] != point


# -- clone mode ---------------------------------------------------------------------------------------------------

def test_clone_from_a_point_before_a_time(fresh_lab, source):
    back_up(fresh_lab, "Gold", [source])  # two points: the clone takes the older one
    newest, older = fresh_lab.spp.versions_of(source)[:2]
    before = newest["protectionInfo"]["protectionTime"]
    original = vm_state(fresh_lab, source)
    args = {"vm": source, "mode": "clone", "recovery_point": {"before": before}}
    results = fresh_lab.four_runs("vm_restore", args)
    assert changed_pattern(results) == RESTORE_RUNS
    assert {r["recovery_point"]["id"] for r in results} == {older["id"]}
    clone = vm_state(fresh_lab, source + "_CLONE")
    assert clone["moref"] == results[1]["moref"] and clone["connected"] == [True]
    assert clone["instance_uuid"] != original["instance_uuid"], "a clone has a new instance UUID"
    assert not set(clone["macs"]) & set(original["macs"]), "a clone has new MAC addresses"
    assert clone["marker"]["mode"] == "clone" and clone["marker"]["recovery_point"]["id"] == older["id"]
    assert vm_state(fresh_lab, source) == original
    assert len(fresh_lab.spp.restore_sessions()) == 1


# -- production mode ----------------------------------------------------------------------------------------------

def test_production_with_overwrite(fresh_lab, source):
    original = vm_state(fresh_lab, source)
    args = {"vm": source, "mode": "production", "overwrite": True, "power_on": True}
    results = fresh_lab.four_runs("vm_restore", args,
                                  expect_nothing_restored_in_check_mode(fresh_lab, source, [source]))
    assert changed_pattern(results) == RESTORE_RUNS
    assert results[0]["plan"]["destroys"] == [{"name": source, "moref": original["moref"],
                                               "instance_uuid": original["instance_uuid"]}]
    assert vm_names_like(fresh_lab, source) == [source]
    replaced = vm_state(fresh_lab, source)
    assert replaced["moref"] != original["moref"], "the current VM was replaced"
    assert replaced["instance_uuid"] == original["instance_uuid"] and replaced["macs"] == original["macs"]
    assert replaced["power_state"] == "poweredOn" and replaced["connected"] == [True]
    assert replaced["marker"]["mode"] == "production" and replaced["marker"]["state"] == "restored"
    assert fresh_lab.spp.vm_by_moref(replaced["moref"])["policies"] == ["Gold"], "protected as the original was"
    assert results[3]["moref"] == replaced["moref"]
    assert fresh_lab.spp.session(results[1]["session_id"])["status"] == "COMPLETED"
    assert len(fresh_lab.spp.restore_sessions()) == 1


def test_production_keeping_the_current_vm(fresh_lab, source):
    original = vm_state(fresh_lab, source)
    args = {"vm": source, "mode": "production", "keep_current": True, "power_on": True}
    results = fresh_lab.four_runs("vm_restore", args,
                                  expect_nothing_restored_in_check_mode(fresh_lab, source, [source]))
    assert changed_pattern(results) == RESTORE_RUNS
    plan = results[0]["plan"]
    assert plan["steps"] == ["record", "rename_current", "restore", "power_off_current", "protect", "mark",
                             "forget"] and plan["destroys"] == []
    assert plan["renames"] == [{"name": source, "moref": original["moref"], "to": source + "_OLD"}]
    assert vm_names_like(fresh_lab, source) == [source, source + "_OLD"]
    kept = vm_state(fresh_lab, source + "_OLD")
    assert kept["moref"] == original["moref"] and kept["instance_uuid"] == original["instance_uuid"]
    assert kept["power_state"] == "poweredOff" and kept["marker"] is None
    restored = vm_state(fresh_lab, source)
    assert restored["moref"] == results[1]["moref"] == results[3]["moref"]
    assert restored["power_state"] == "poweredOn" and restored["connected"] == [True]
    assert restored["instance_uuid"] != original["instance_uuid"], "restored as a clone: a new identity"
    assert restored["marker"]["mode"] == "production"
    assert restored["marker"]["kept"] == {"name": source + "_OLD", "moref": original["moref"]}
    assert fresh_lab.spp.vm_by_moref(restored["moref"])["policies"] == ["Gold"], "protected as the original was"
    assert len(fresh_lab.spp.restore_sessions()) == 1


def test_production_without_overwrite_is_refused(fresh_lab, source):
    original = vm_state(fresh_lab, source)
    fresh_lab.admin("DELETE", "/requests")
    for check in (True, False):
        refused = fresh_lab.module("vm_restore", {"vm": source, "mode": "production"}, check=check, expect_rc=2)
        message = refused["msg"]
        assert message.startswith("1 rule violation(s); nothing was changed:"), message
        assert "destroys the current VM %s" % source in message and "overwrite: true" in message
        assert "mode: clone" in message and "keep_current: true" in message
        assert refused["violations"][0]["vm"] == "%s (%s)" % (source, original["moref"])
    assert restore_posts(fresh_lab) == 0, "nothing was sent"
    assert fresh_lab.spp.restore_sessions() == []
    assert vm_state(fresh_lab, source) == original
    assert vm_names_like(fresh_lab, source) == [source]


def test_wait_false_returns_the_session_and_the_next_run_follows_it(fresh_lab, source):
    args = {"vm": source, "mode": "clone", "wait": False}
    started = fresh_lab.module("vm_restore", args)
    assert started["changed"] and started["session_id"] and started["state"] in ("running", "restored")
    followed = fresh_lab.module("vm_restore", dict(args, wait=True))
    assert followed["session_id"] == started["session_id"] and followed["state"] == "restored"
    assert fresh_lab.module("vm_restore", dict(args, wait=True))["changed"] is False
    assert [s["id"] for s in fresh_lab.spp.restore_sessions()] == [started["session_id"]]
    assert vm_state(fresh_lab, source + "_CLONE")["marker"]["session_id"] == started["session_id"]


# -- faults -------------------------------------------------------------------------------------------------------

def test_lost_restore_answer_does_not_start_a_second_restore(fresh_lab, source):
    fresh_lab.admin("DELETE", "/requests")
    fresh_lab.admin("POST", "/faults", {"method": "POST", "path_prefix": "/ngp/hypervisor",
                                        "drop_after_effect": True, "count": 1})
    args = {"vm": source, "mode": "clone"}
    # The POST reached the server but its answer was lost: the run finds the session it started and follows it.
    first = fresh_lab.module("vm_restore", args)
    assert first["changed"] and first["name"] == source + "_CLONE" and first["plan"]["via"] == "post"
    again = fresh_lab.module("vm_restore", args)
    assert again["changed"] is False and again["session_id"] == first["session_id"]
    assert again["moref"] == first["moref"]
    assert restore_posts(fresh_lab) == 1, "the restore was posted once"
    sessions = fresh_lab.spp.restore_sessions()
    assert len(sessions) == 1 and sessions[0]["id"] == first["session_id"]
    assert vm_names_like(fresh_lab, source) == [source, source + "_CLONE"], "exactly one restored VM"
    assert vm_state(fresh_lab, source + "_CLONE")["marker"]["session_id"] == sessions[0]["id"]


def test_lost_restore_answer_then_a_failed_search_fails_clearly_and_the_rerun_follows(fresh_lab, source):
    fresh_lab.admin("DELETE", "/requests")
    fresh_lab.admin("POST", "/faults", {"method": "POST", "path_prefix": "/ngp/hypervisor",
                                        "drop_after_effect": True, "count": 1})
    # The session listing before the POST goes through; the search after the lost answer cannot read.
    fresh_lab.admin("POST", "/faults", {"method": "GET", "path_prefix": "/api/endeavour/jobsession", "status": 503,
                                        "after": 1, "count": 0})
    args = {"vm": source}
    first = fresh_lab.module("vm_restore", args, expect_rc=2)
    assert "its answer was lost" in first["msg"], first["msg"]
    assert "look for its restore job session" in first["msg"] and "attaches to it" in first["msg"]
    fresh_lab.admin("DELETE", "/faults")
    results = [fresh_lab.module("vm_restore", args, check=True), fresh_lab.module("vm_restore", args),
               fresh_lab.module("vm_restore", args)]
    assert results[0]["plan"]["via"] == "follow" and results[1]["plan"]["via"] == "follow"
    assert changed_pattern(results) == [True, True, False]
    assert restore_posts(fresh_lab) == 1, "the restore was posted once"
    sessions = fresh_lab.spp.restore_sessions()
    assert [s["id"] for s in sessions] == [results[1]["session_id"]]
    assert vm_names_like(fresh_lab, source) == [source, source + "_TEST"], "exactly one restored VM"
    assert vm_state(fresh_lab, source + "_TEST")["marker"]["state"] == "restored"


@pytest.mark.parametrize("keep", [False, True], ids=["overwrite", "keep_current"])
def test_failed_restore_job_leaves_production_untouched(fresh_lab, source, keep):
    original = vm_state(fresh_lab, source)
    assert original["power_state"] == "poweredOn"
    fresh_lab.admin("POST", "/restore-failure", {"vm": source, "message": "vSnap mount failed (injected)"})
    args = {"vm": source, "mode": "production", "overwrite": not keep, "keep_current": keep}
    failed = fresh_lab.module("vm_restore", args, expect_rc=2)
    message = failed["msg"]
    assert "ended FAILED" in message and "vSnap mount failed (injected)" in message, message
    assert "session %s" % failed["session_id"] in message
    assert "production VM %s (%s) is untouched" % (source, original["moref"]) in message
    if keep:
        assert "renamed %s_OLD for the restore, and has its name back" % source in message
    assert vm_state(fresh_lab, source) == original, "same moref, UUID, MACs, name and power state; no marker"
    assert vm_names_like(fresh_lab, source) == [source]
    assert fresh_lab.spp.session(failed["session_id"])["status"] == "FAILED"


def test_a_timeout_names_the_session_and_the_restore_goes_on(fresh_lab, source):
    speed = fresh_lab.admin("GET", "/state")["speed"]
    fresh_lab.admin("POST", "/speed", {"factor": 5})  # a restore now takes about 12 s
    try:
        late = fresh_lab.module("vm_restore", {"vm": source, "timeout": 2}, expect_rc=2)
    finally:
        fresh_lab.admin("POST", "/speed", {"factor": speed})
    (running,) = fresh_lab.spp.restore_sessions()
    message = late["msg"]
    assert "SPP job session %s" % running["id"] in message and "keeps running on the server" in message, message
    assert "Running this task again follows session %s instead of starting another restore" % running["id"] in message
    assert late["session_id"] == running["id"]
    done = fresh_lab.module("vm_restore", {"vm": source})
    assert done["changed"] and done["session_id"] == running["id"] and done["plan"]["via"] == "follow"
    assert [s["id"] for s in fresh_lab.spp.restore_sessions()] == [running["id"]]
    assert vm_state(fresh_lab, source + "_TEST")["marker"]["session_id"] == running["id"]


def test_no_secret_in_verbose_output(fresh_lab, source):
    _rc, output, result = fresh_lab.playbook("vm_restore", {"module_args": {"vm": source, "mode": "clone"}},
                                             verbosity=3)
    assert result["changed"] and result["name"] == source + "_CLONE"
    state = fresh_lab.admin("GET", "/state")
    assert state["login_session_ids"], "the run must have logged in"
    for secret in [fresh_lab.env["SPP_PASSWORD"], fresh_lab.env["VMWARE_PASSWORD"]] + state["login_session_ids"]:
        assert secret not in output
