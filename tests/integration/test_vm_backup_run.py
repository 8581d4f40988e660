# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""vm_backup_run against the lab: each case runs through ansible-playbook, and the end state is read back through the
backup server (sessions, recovery points: helpers.SppReader) and through vCenter with pyVmomi (no snapshot left
behind), never from the module's own answer alone nor through the collection's client. The emulator's admin API
injects the faults and counts the requests."""

from __future__ import annotations

import uuid

import pytest

import vcenter
from helpers import can_hold, changed_pattern, start_adhoc_backup, start_job

pytestmark = pytest.mark.integration
TARGET = "vm_backup_run"
FAST = {"poll_interval": 1}
ALWAYS = [True, True, True, True]  # a backup is an action: every run (and every check) reports a change
WRITES = ("POST /ngp/hypervisor",)  # ad hoc backups; job starts are POST /api/endeavour/job/<id>


def assign(lab, assignments):
    lab.module("vm_backup_policy", {"assignments": assignments})


def backup_writes(lab):
    counts = lab.admin("GET", "/requests")["counts"]
    return {key: value for key, value in counts.items()
            if key in WRITES or (key.startswith("POST /api/endeavour/job/") and value)}


def snapshots(lab, name):
    with lab.vcenter() as client:
        return vcenter.snapshot_names(client, name)


def by_name(result):
    return {vm["name"]: vm for vm in result["vms"]}


# -- backups ------------------------------------------------------------------------------------------------------

def test_one_vm(fresh_lab):
    assign(fresh_lab, [{"vm": "DC0_H0_VM0", "policies": ["Gold"]}])
    fresh_lab.admin("DELETE", "/requests")
    before = fresh_lab.spp.session_ids()

    def after_each(index, result):
        if index in (0, 2):  # check mode: the plan, and nothing started
            assert result["plan"] == [{"policy": "Gold", "job": "vmware_Gold", "action": "adhoc", "scope": "vms",
                                       "vms": ["DC0_H0_VM0"], "covers": ["DC0_H0_VM0"], "running_session": None}]
            assert result["scope"] == "vms"
            assert result["sessions"] == [] and result["vms"][0]["outcome"] == "planned"
            assert backup_writes(fresh_lab) == {} and fresh_lab.spp.session_ids() == before
            assert len(fresh_lab.spp.versions_of("DC0_H0_VM0")) == (0 if index == 0 else 1)
        else:
            fresh_lab.admin("DELETE", "/requests")
            before.update(fresh_lab.spp.session_ids())

    results = fresh_lab.four_runs(TARGET, dict(FAST, vms=["DC0_H0_VM0"]), after_each=after_each)
    assert changed_pattern(results) == ALWAYS

    versions = fresh_lab.spp.versions_of("DC0_H0_VM0")
    assert len(versions) == 2, "two real runs, two recovery points"
    for result, version in zip((results[3], results[1]), versions):  # newest first
        vm = result["vms"][0]
        assert vm["outcome"] == "success" and vm["policy"] == "Gold"
        assert vm["recovery_point"]["id"] == version["id"]
        assert vm["recovery_point"]["time"] == version["protectionInfo"]["protectionTime"]
        assert vm["consistency"] == version["consistency"] == "application"
        assert vm["session_id"] == version["sessionId"] == result["sessions"][0]["id"]
        assert vm["not_captured_disks"] == []
        assert fresh_lab.spp.session(vm["session_id"])["status"] == "COMPLETED"
        assert result["sessions"][0]["status"] == "COMPLETED" and result["sessions"][0]["started"] is True
        assert result["progress"] and result["progress"][-1].endswith("is COMPLETED at 100%")
        assert result["log"] == [] and result["duration_seconds"] >= 0
    assert snapshots(fresh_lab, "DC0_H0_VM0") == [], "the backup's snapshot is removed"


def test_several_vms_across_two_slas(fresh_lab):
    assign(fresh_lab, [{"vm": "DC0_H0_VM0", "policies": ["Gold"]}, {"vm": "DC0_H0_VM2", "policies": ["Gold"]},
                       {"vm": "DC0_H0_VM1", "policies": ["Silver"]}])
    args = dict(FAST, vms=["DC0_H0_VM2", "DC0_H0_VM1", "DC0_H0_VM0"])
    results = fresh_lab.four_runs(TARGET, args)
    assert changed_pattern(results) == ALWAYS
    for result in results:
        assert [(p["policy"], p["vms"]) for p in result["plan"]] == [("Gold", ["DC0_H0_VM2", "DC0_H0_VM0"]),
                                                                     ("Silver", ["DC0_H0_VM1"])]
    assert [len(r["sessions"]) for r in results] == [0, 2, 0, 2], "one ad hoc backup per SLA, none in check mode"

    result = results[3]
    sessions = {s["policy"]: s for s in result["sessions"]}
    assert [vm["name"] for vm in result["vms"]] == args["vms"], "results in the order asked"
    for name, policy in (("DC0_H0_VM0", "Gold"), ("DC0_H0_VM2", "Gold"), ("DC0_H0_VM1", "Silver")):
        vm = by_name(result)[name]
        versions = fresh_lab.spp.versions_of(name)
        assert len(versions) == 2
        assert vm["outcome"] == "success" and vm["policy"] == policy
        assert vm["session_id"] == sessions[policy]["id"] == versions[0]["sessionId"]
        assert versions[0]["protectionInfo"]["storageProfileName"] == policy
        assert snapshots(fresh_lab, name) == []
    for item in result["sessions"]:
        spp_session = fresh_lab.spp.session(item["id"])
        assert spp_session["status"] == "COMPLETED" and spp_session["jobName"] == "vmware_" + item["policy"]

    result = fresh_lab.module(TARGET, dict(args, policy="Silver"), expect_rc=2)
    assert "[policy_not_assigned] DC0_H0_VM2" in result["msg"] and "[policy_not_assigned] DC0_H0_VM0" in result["msg"]
    assert "DC0_H0_VM1" not in result["msg"], "policy must be one of each VM's policies"


def test_whole_policy(fresh_lab):
    assign(fresh_lab, [{"name_pattern": "DC0_H0_VM[01]", "policies": ["Silver"]},
                       {"vm": "DC0_H0_VM2", "policies": ["Gold"]}])
    results = fresh_lab.four_runs(TARGET, dict(FAST, policy="Silver"))
    assert changed_pattern(results) == ALWAYS
    result = results[3]
    assert result["plan"] == [{"policy": "Silver", "job": "vmware_Silver", "action": "start_job", "scope": "policy",
                               "vms": ["DC0_H0_VM0", "DC0_H0_VM1"], "covers": ["DC0_H0_VM0", "DC0_H0_VM1"],
                               "running_session": None}]
    assert result["scope"] == "policy"
    assert [vm["name"] for vm in result["vms"]] == ["DC0_H0_VM0", "DC0_H0_VM1"]
    assert len(fresh_lab.spp.sessions("vmware_Silver")) == 2, "the policy's own job ran, once per real run"
    assert fresh_lab.spp.sessions("vmware_Gold") == []
    for vm in result["vms"]:
        assert vm["outcome"] == "success"
        assert fresh_lab.spp.versions_of(vm["name"])[0]["sessionId"] == result["sessions"][0]["id"]
    assert fresh_lab.spp.versions_of("DC0_H0_VM2") == []


def test_skip_if_backed_up_within(fresh_lab):
    assign(fresh_lab, [{"vm": "DC0_H0_VM0", "policies": ["Gold"]}, {"vm": "DC0_H0_VM1", "policies": ["Gold"]}])
    args = dict(FAST, vms=["DC0_H0_VM0"], skip_if_backed_up_within="1h")
    results = fresh_lab.four_runs(TARGET, args)
    assert changed_pattern(results) == [True, True, False, False]
    assert len(fresh_lab.spp.versions_of("DC0_H0_VM0")) == 1
    skipped = results[3]["vms"][0]
    assert skipped["outcome"] == "skipped" and results[3]["sessions"] == [] and results[3]["plan"] == []
    assert skipped["recovery_point"] == results[1]["vms"][0]["recovery_point"], "the point that satisfied the skip"

    # Only some are recent: the others run, the recent one is reported as skipped.
    result = fresh_lab.module(TARGET, dict(args, vms=["DC0_H0_VM0", "DC0_H0_VM1"]))
    assert result["changed"] is True
    assert result["plan"][0]["vms"] == ["DC0_H0_VM1"]
    assert {n: vm["outcome"] for n, vm in by_name(result).items()} == {"DC0_H0_VM0": "skipped", "DC0_H0_VM1": "success"}
    assert len(fresh_lab.spp.versions_of("DC0_H0_VM0")) == 1 and len(fresh_lab.spp.versions_of("DC0_H0_VM1")) == 1

    # The same for a whole policy: only the VMs without a recent point get an ad hoc backup.
    assign(fresh_lab, [{"vm": "DC0_H0_VM2", "policies": ["Gold"]}])
    result = fresh_lab.module(TARGET, dict(FAST, policy="Gold", skip_if_backed_up_within="1h"))
    assert [(p["action"], p["vms"]) for p in result["plan"]] == [("adhoc", ["DC0_H0_VM2"])]
    result = fresh_lab.module(TARGET, dict(FAST, policy="Gold", skip_if_backed_up_within="1h"))
    assert result["changed"] is False

    bad = fresh_lab.module(TARGET, dict(args, skip_if_backed_up_within="soon"), expect_rc=2)
    assert "is not a duration such as 30m" in bad["msg"]


def test_wait_false_returns_once_started(fresh_lab):
    assign(fresh_lab, [{"vm": "DC0_H0_VM0", "policies": ["Gold"]}])
    result = fresh_lab.module(TARGET, dict(FAST, vms=["DC0_H0_VM0"], wait=False))
    assert result["changed"] is True and result["vms"][0]["outcome"] == "running"
    session_id = result["sessions"][0]["id"]
    assert fresh_lab.spp.wait_until_settled(session_id)["status"] == "COMPLETED"
    assert fresh_lab.spp.versions_of("DC0_H0_VM0")[0]["sessionId"] == session_id


def test_independent_disk_is_named_as_not_captured(fresh_lab):
    name = "bk-indep-%s" % uuid.uuid4().hex[:4]
    with fresh_lab.vcenter() as client:
        vcenter.clone_vm(client, "DC0_H0_VM0", name)
    try:
        with fresh_lab.vcenter() as client:
            label = vcenter.add_disk(client, name, "Hard disk 2", disk_mode="independent_persistent")
        fresh_lab.admin("POST", "/inventory")
        assign(fresh_lab, [{"vm": name, "policies": ["Gold"]}])
        result = fresh_lab.module(TARGET, dict(FAST, vms=[name]))
        vm = result["vms"][0]
        assert vm["outcome"] == "success" and vm["not_captured_disks"] == [label]
        assert any(label in line and line.startswith("WARN") for line in vm["messages"])
        assert [(line["type"], line["message_id"]) for line in result["log"]] == [("WARN", "CTGGA2393")]
        captured = {d["label"]: d.get("captured") for d in fresh_lab.spp.versions_of(name)[0]["vmConfig"]["disks"]}
        assert captured[label] is False
    finally:
        with fresh_lab.vcenter() as client:
            vcenter.destroy_vm(client, name)
        fresh_lab.admin("POST", "/inventory")


# -- pre-flight ---------------------------------------------------------------------------------------------------

def test_preflight_refuses_every_bad_target_and_starts_nothing(fresh_lab):
    new_vm = "bk-new-%s" % uuid.uuid4().hex[:4]
    held = "Held-%s" % uuid.uuid4().hex[:4]
    fresh_lab.module("backup_sla_policy", {"name": held, "site": "Secondary", "retention": {"days": 7}})
    assign(fresh_lab, [{"vm": "DC0_H0_VM0", "policies": ["Gold"]}, {"vm": "DC0_H0_VM2", "policies": [held]},
                       {"vm": "DC0_C0_RP0_VM0", "policies": ["Gold"]}])
    # The public record shows no hold link (spp-api.md 14.17): there the policy stays usable, and DC0_H0_VM2 is a
    # valid target like DC0_H0_VM0.
    is_held = can_hold(fresh_lab, "vmware_" + held)
    fresh_lab.module("backup_sla_policy", {"name": held, "held": True}, expect_rc=0 if is_held else 2)
    valid = {"DC0_H0_VM0"} if is_held else {"DC0_H0_VM0", "DC0_H0_VM2"}
    with fresh_lab.vcenter() as client:
        vcenter.clone_vm(client, "DC0_H0_VM0", new_vm)  # after the last inventory: unknown to the backup server
        vcenter.take_snapshot(client, "DC0_C0_RP0_VM0", "user-snapshot")
    try:
        fresh_lab.admin("DELETE", "/requests")
        before = fresh_lab.spp.session_ids()
        args = dict(FAST, vms=["DC0_H0_VM0", "ghost-vm", new_vm, "DC0_H0_VM1", "DC0_H0_VM2", "DC0_C0_RP0_VM0"])
        for check in (True, False):
            result = fresh_lab.module(TARGET, args, check=check, expect_rc=2)
            message = result["msg"]
            assert message.startswith("%d rule violation(s); no backup was started:" % (6 - len(valid)))
            for expected in ("[vm_not_found] ghost-vm", "[unknown_to_backup] %s" % new_vm, "[no_policy] DC0_H0_VM1",
                             "[first_backup_with_snapshots] DC0_C0_RP0_VM0") + (
                                 ("[all_policies_held] DC0_H0_VM2",) if is_held else ()):
                assert expected in message, message
            assert "DC0_H0_VM0" not in message and ("DC0_H0_VM2" in message) is is_held
            assert "never deletes a snapshot" in message and "rescan_until_visible" in message
            assert {v["vm"] for v in result["violations"]} == set(args["vms"]) - valid
        assert backup_writes(fresh_lab) == {}, "no ad hoc backup and no job start was sent"
        assert fresh_lab.spp.session_ids() == before
        assert fresh_lab.spp.versions_of("DC0_H0_VM0") == []
        assert snapshots(fresh_lab, "DC0_C0_RP0_VM0") == ["user-snapshot"], "the user's snapshot is left alone"

        # A held policy named explicitly, and a whole held policy, are refused as well.
        if is_held:
            result = fresh_lab.module(TARGET, dict(FAST, policy=held), expect_rc=2)
            assert "[policy_held] all 1 VM(s) of %s" % held in result["msg"]
        result = fresh_lab.module(TARGET, dict(FAST, policy="Bronze"), expect_rc=2)
        assert "SLA policy Bronze protects no VM" in result["msg"]
        result = fresh_lab.module(TARGET, dict(FAST, policy="Platinum"), expect_rc=2)
        assert "no SLA policy named 'Platinum'" in result["msg"]
        assert backup_writes(fresh_lab) == {} and fresh_lab.spp.session_ids() == before
    finally:
        with fresh_lab.vcenter() as client:
            vcenter.remove_snapshots(client, "DC0_C0_RP0_VM0")
            vcenter.destroy_vm(client, new_vm)


# -- faults -------------------------------------------------------------------------------------------------------

def test_a_failing_vm_is_named_with_its_error_line(fresh_lab):
    assign(fresh_lab, [{"vm": "DC0_H0_VM0", "policies": ["Gold"]}, {"vm": "DC0_H0_VM1", "policies": ["Gold"]}])
    fresh_lab.admin("POST", "/vm-failure", {"vm": "DC0_H0_VM1", "message": "datastore ds-7 is not reachable"})
    result = fresh_lab.module(TARGET, dict(FAST, vms=["DC0_H0_VM0", "DC0_H0_VM1"]), expect_rc=2)
    message = result["msg"]
    assert message.startswith("the backup failed for 1 of 2 VM(s) (1 success):")
    assert "- DC0_H0_VM1 (session %s): ERROR CTGGA2391: Backup of virtual machine DC0_H0_VM1 failed: datastore ds-7 " \
           "is not reachable" % result["sessions"][0]["id"] in message
    assert result["changed"] is True and result["sessions"][0]["status"] == "PARTIAL"
    vms = by_name(result)
    assert vms["DC0_H0_VM0"]["outcome"] == "success" and vms["DC0_H0_VM0"]["recovery_point"]["id"]
    assert vms["DC0_H0_VM1"]["outcome"] == "failed" and vms["DC0_H0_VM1"]["recovery_point"] is None
    assert [(line["type"], line["message_id"]) for line in result["log"]] == [("ERROR", "CTGGA2391")]
    assert fresh_lab.spp.session(result["sessions"][0]["id"])["status"] == "PARTIAL"
    assert fresh_lab.spp.versions_of("DC0_H0_VM1") == [] and len(fresh_lab.spp.versions_of("DC0_H0_VM0")) == 1


@pytest.mark.parametrize("fault", [{"drop_after_effect": True}, {"status": 503, "after_effect": True}],
                         ids=["dropped", "503-after-effect"])
def test_a_lost_answer_to_the_backup_request_is_not_sent_again(fresh_lab, fault):
    assign(fresh_lab, [{"vm": "DC0_H0_VM0", "policies": ["Gold"]}])
    fresh_lab.admin("POST", "/faults", dict(fault, method="POST", path_prefix="/ngp/hypervisor"))
    fresh_lab.admin("DELETE", "/requests")
    # The server started the backup but its answer was lost: the run finds the session started since and follows it.
    result = fresh_lab.module(TARGET, dict(FAST, vms=["DC0_H0_VM0"]))
    assert backup_writes(fresh_lab) == {"POST /ngp/hypervisor": 1}, "sent once, never replayed"
    started = fresh_lab.spp.sessions("vmware_Gold")
    assert len(started) == 1, "the server did start it"
    assert [s["id"] for s in result["sessions"]] == [started[0]["id"]] and result["sessions"][0]["started"]
    assert result["vms"][0]["outcome"] == "success" and result["vms"][0]["session_id"] == started[0]["id"]
    assert fresh_lab.spp.session(started[0]["id"])["status"] == "COMPLETED"


def test_a_lost_answer_to_a_backup_request_that_started_nothing_fails_clearly(fresh_lab):
    assign(fresh_lab, [{"vm": "DC0_H0_VM0", "policies": ["Gold"]}])
    # A 503 answered instead of the request: nothing started, so no session shows up; the run is not resent either.
    fresh_lab.admin("POST", "/faults", {"method": "POST", "path_prefix": "/ngp/hypervisor", "status": 503})
    fresh_lab.admin("DELETE", "/requests")
    result = fresh_lab.module(TARGET, dict(FAST, vms=["DC0_H0_VM0"]), expect_rc=2)
    assert "got HTTP 503" in result["msg"]
    assert "may have started the backup of DC0_H0_VM0 with SLA 'Gold'" in result["msg"]
    assert "look at the sessions of job 'vmware_Gold'" in result["msg"]
    assert backup_writes(fresh_lab) == {"POST /ngp/hypervisor": 1}, "sent once, never replayed"
    assert fresh_lab.spp.sessions("vmware_Gold") == []


def test_timeout_shorter_than_the_job_names_the_session_that_keeps_running(fresh_lab):
    assign(fresh_lab, [{"vm": "DC0_H0_VM0", "policies": ["Gold"]}])
    fresh_lab.admin("POST", "/speed", {"factor": 5})
    try:
        result = fresh_lab.module(TARGET, dict(FAST, vms=["DC0_H0_VM0"], timeout=1), expect_rc=2)
        session_id = result["sessions"][0]["id"]
        still = fresh_lab.spp.session(session_id)
        assert still["status"] in ("PENDING", "RUNNING"), "the job keeps running on the server"
    finally:
        fresh_lab.admin("POST", "/speed", {"factor": 0.05})
    message = result["msg"]
    assert "SPP job session %s (job 'vmware_Gold') is " % session_id in message
    assert "keeps running on the server" in message and "follow session %s" % session_id in message
    assert "has not failed" in message and "failed in a session" not in message
    assert result["running_sessions"] == [session_id] and result["vms"][0]["outcome"] == "running"
    assert fresh_lab.spp.wait_until_settled(session_id)["status"] == "COMPLETED", "and it ends well"
    assert fresh_lab.spp.versions_of("DC0_H0_VM0")[0]["sessionId"] == session_id
    assert snapshots(fresh_lab, "DC0_H0_VM0") == []


def test_if_running_wait_attaches_to_the_running_session(fresh_lab):
    assign(fresh_lab, [{"vm": "DC0_H0_VM0", "policies": ["Gold"]}, {"vm": "DC0_H0_VM1", "policies": ["Gold"]}])
    fresh_lab.admin("POST", "/speed", {"factor": 2})
    try:
        # The whole job runs (someone started it): the task follows it rather than failing on the 409.
        running = start_job(fresh_lab, "vmware_Gold")
        result = fresh_lab.module(TARGET, dict(FAST, vms=["DC0_H0_VM0"]))
        assert result["plan"][0]["running_session"] == running
        assert [(s["id"], s["started"], s["status"]) for s in result["sessions"]] == [(running, False, "COMPLETED")]
        assert result["vms"][0]["outcome"] == "success" and result["vms"][0]["session_id"] == running
        assert [s["id"] for s in fresh_lab.spp.sessions("vmware_Gold")] == [running], "no second run"

        # A run of another VM of the same SLA: followed, then this VM gets a backup of its own.
        other = start_adhoc_backup(fresh_lab, "Gold", ["DC0_H0_VM0"])
        result = fresh_lab.module(TARGET, dict(FAST, vms=["DC0_H0_VM1"]))
        assert [(s["id"] == other, s["started"]) for s in result["sessions"]] == [(True, False), (False, True)]
        vm = result["vms"][0]
        assert vm["outcome"] == "success" and vm["session_id"] == result["sessions"][1]["id"]
        assert fresh_lab.spp.versions_of("DC0_H0_VM1")[0]["sessionId"] == vm["session_id"]
    finally:
        fresh_lab.admin("POST", "/speed", {"factor": 0.05})


def test_if_running_fail_refuses_and_starts_nothing(fresh_lab):
    assign(fresh_lab, [{"vm": "DC0_H0_VM0", "policies": ["Gold"]}, {"vm": "DC0_H0_VM1", "policies": ["Silver"]}])
    fresh_lab.admin("POST", "/speed", {"factor": 2})
    try:
        running = start_job(fresh_lab, "vmware_Gold")
        fresh_lab.admin("DELETE", "/requests")
        before = fresh_lab.spp.session_ids()
        result = fresh_lab.module(TARGET, dict(FAST, vms=["DC0_H0_VM1", "DC0_H0_VM0"], if_running="fail"), expect_rc=2)
        assert "[job_running] DC0_H0_VM0: job vmware_Gold of SLA policy Gold is already running (session %s)" % running \
            in result["msg"]
        assert backup_writes(fresh_lab) == {} and fresh_lab.spp.session_ids() == before, "not even the Silver one"
        fresh_lab.spp.wait_until_settled(running)
    finally:
        fresh_lab.admin("POST", "/speed", {"factor": 0.05})


def test_no_secret_in_verbose_output(fresh_lab):
    assign(fresh_lab, [{"vm": "DC0_H0_VM0", "policies": ["Gold"]}])
    _rc, output, _result = fresh_lab.playbook(TARGET, {"module_args": dict(FAST, vms=["DC0_H0_VM0"])}, verbosity=3)
    assert fresh_lab.env["SPP_PASSWORD"] not in output and fresh_lab.env["VMWARE_PASSWORD"] not in output
    for session_id in fresh_lab.admin("GET", "/state")["login_session_ids"]:
        assert session_id not in output
