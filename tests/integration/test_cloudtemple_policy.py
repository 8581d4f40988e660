# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""vm_backup_policy with ``backup_service: cloudtemple``: the Cloud Temple console's API is the backup service and its
compute API the VM inventory (no SPP_* and no VMWARE_* variable). Each case runs check, real, check, real; the end
state is read from SPP's own record (the console fronts SPP), the console emulator's request counts and activities,
never from the module's answer alone.

Zones of the lab (tests/lab/lab.py): the datacenter DC0 is in AZ05; SPP's site Primary (Gold, Silver, Bronze) in AZ06,
Secondary in AZ05, DR in AZ07. So a default SLA may protect a disk of a DC0 VM, an SLA on Secondary may not.
"""

from __future__ import annotations

import uuid

import pytest

from cloudtemple_console import ASSIGN_DISK, ASSIGN_VMS, held_policy
from helpers import CONVERGES, assign_policies, changed_pattern, create_sla_policy

pytestmark = [pytest.mark.integration, pytest.mark.covers("vm_backup_policy")]
TARGET = "vm_backup_policy"
HOST_VMS = ["DC0_H0_VM0", "DC0_H0_VM1", "DC0_H0_VM2"]


def assert_writes_only_in_real_changing_runs(console, expected):
    """``after_each`` of four_runs: the first real run sends ``expected`` ({route: calls}), the others send nothing."""
    def after_each(index, _result):
        writes = console.writes()
        assert writes == (expected if index == 1 else {}), (index, writes)
        console.clear_counts()
    console.clear_counts()
    return after_each


def test_vm_and_disk_assignments_converge(console):
    # Bronze backs up to Primary (AZ06), the VM runs in DC0 (AZ05): the console accepts it on a disk.
    args = {"assignments": [{"vm": "DC0_H0_VM1", "policies": ["Gold", "Silver"]},
                            {"vm": "DC0_H0_VM1", "disk": "Hard disk 1", "policies": ["Bronze"]}]}
    results = console.four_runs(TARGET, args, after_each=assert_writes_only_in_real_changing_runs(
        console, {ASSIGN_VMS: 1, ASSIGN_DISK: 1}))
    assert changed_pattern(results) == CONVERGES
    assert results[1]["summary"]["calls"] == 2, "one call for the VM's set, one for the disk's"
    assert "Traceback" not in results[1]["_output"]
    state = console.lab.spp.state()
    assert state["vms"]["DC0_H0_VM1"] == ["Gold", "Silver"]
    assert state["disks"][("DC0_H0_VM1", "Hard disk 1")] == ["Bronze"], "the disk has its own policy"
    assert [change["after"] for change in results[0]["changes"]] == [r["after"] for r in results[1]["changes"]]
    assert all(a["state"].get("completed") is not None for a in console.activities()), "every activity completed"


def test_one_assign_call_per_distinct_policy_set(console):
    args = {"assignments": [{"name_pattern": "DC0_H0_VM*", "policies": ["Gold"]},
                            {"vm": "DC0_C0_RP0_VM0", "policies": ["Silver"]},
                            {"vm": "DC0_C0_RP0_VM1", "policies": ["Silver"]}]}
    results = console.four_runs(TARGET, args, after_each=assert_writes_only_in_real_changing_runs(
        console, {ASSIGN_VMS: 2}))
    assert changed_pattern(results) == CONVERGES
    assert results[1]["summary"]["calls"] == 2 and results[1]["summary"]["vms_changed"] == 5
    ids = console.vm_ids(HOST_VMS + ["DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1"])
    assert sorted(console.assigned_sets(), key=len) == [
        frozenset((ids["DC0_C0_RP0_VM0"], ids["DC0_C0_RP0_VM1"])), frozenset(ids[name] for name in HOST_VMS)], \
        "each set went in one call naming all its VMs"
    vms = console.lab.spp.state()["vms"]
    assert [vms[name] for name in HOST_VMS] == [["Gold"]] * 3
    assert vms["DC0_C0_RP0_VM0"] == vms["DC0_C0_RP0_VM1"] == ["Silver"]
    assert vms["DC0_C0_RP0_VM2"] == [], "the VM no assignment names is left alone"


def test_purge_makes_the_set_exact(console):
    assign_policies(console.lab, vms={"DC0_H0_VM2": ["Gold", "Silver"]})
    args = {"vm": "DC0_H0_VM2", "policies": ["Bronze"], "purge": True}
    results = console.four_runs(TARGET, args, after_each=assert_writes_only_in_real_changing_runs(
        console, {ASSIGN_VMS: 1}))
    assert changed_pattern(results) == CONVERGES
    assert results[1]["changes"][0]["removed"] == ["Gold", "Silver"] and results[1]["changes"][0]["added"] == ["Bronze"]
    assert console.lab.spp.state()["vms"]["DC0_H0_VM2"] == ["Bronze"]


def test_scope_reports_drift_then_purges_it(console):
    assign_policies(console.lab, vms={"DC0_C0_RP0_VM0": ["Gold"], "DC0_C0_RP0_VM1": ["Gold", "Silver"],
                                      "DC0_C0_RP0_VM2": ["Gold"]})
    declared = {"assignments": [{"name_pattern": "DC0_C0_*", "policies": ["Gold"]}], "scope": "all"}
    console.clear_counts()
    drift = console.module(TARGET, declared)
    assert drift["changed"] is False and console.writes() == {}, "drift alone changes nothing"
    assert [(d["vm_name"], d["undeclared"]) for d in drift["drift"]] == [("DC0_C0_RP0_VM1", ["Silver"])]

    results = console.four_runs(TARGET, dict(declared, purge_scope=True),
                                after_each=assert_writes_only_in_real_changing_runs(console, {ASSIGN_VMS: 1}))
    assert changed_pattern(results) == CONVERGES
    assert results[3]["drift"] == []
    vms = console.lab.spp.state()["vms"]
    assert [vms["DC0_C0_RP0_VM%d" % index] for index in range(3)] == [["Gold"]] * 3


def test_a_folder_scope_needs_vcenter(console):
    """The console's VM object names no folder (docs/cloudtemple-api.md 12.2): a folder selector is refused before
    any write without vCenter, and works when the (optional) vCenter connection is given."""
    args = {"folder": "/DC0/vm", "policies": ["Silver"]}
    console.clear_counts()
    refused = console.module(TARGET, args, expect_rc=2)
    assert "folder" in refused["msg"] and "Traceback" not in refused["_output"], refused["msg"]
    assert console.writes() == {}
    with_vcenter = console.module(TARGET, args, vcenter=True)
    assert with_vcenter["changed"] is True
    assert all("Silver" in policies for policies in console.lab.spp.state()["vms"].values())


# -- the rules, before any write ----------------------------------------------------------------------------------

def assert_refused_without_writes(console, args, offenders, rule):
    """Check mode and a real run fail with one error that names every offender; the console receives no write and
    SPP holds the same assignments."""
    before = console.lab.spp.state()
    messages = []
    for check in (True, False):
        console.clear_counts()
        result = console.module(TARGET, args, check=check, expect_rc=2)
        assert console.writes() == {}, "a refused run must not write"
        assert "Traceback" not in result["_output"]
        message = result["msg"]
        assert message.startswith("%d rule violation(s); nothing was changed:" % len(offenders)), message
        for offender in offenders:
            assert "[%s] %s: " % (rule, offender) in message, (offender, message)
        assert sorted(v["vm"] for v in result["violations"]) == sorted(offenders)
        assert {v["rule"] for v in result["violations"]} == {rule}
        messages.append(message)
    assert messages[0] == messages[1], "check mode runs the same rule checks"
    assert console.lab.spp.state() == before, "SPP holds the same assignments"
    return messages[1]


def test_the_last_policy_of_a_running_vm_cannot_be_removed(console):
    assign_policies(console.lab, vms=dict({name: ["Gold"] for name in HOST_VMS}, DC0_C0_RP0_VM0=["Gold", "Silver"]))
    args = {"state": "absent", "assignments": [{"vm": name, "policies": ["Gold"]} for name in HOST_VMS]
            + [{"vm": "DC0_C0_RP0_VM0", "policies": ["Gold"]}]}  # valid: Silver stays
    message = assert_refused_without_writes(console, args, HOST_VMS, "last_policy_of_running_vm")
    assert "DC0_C0_RP0_VM0" not in message, "the valid removal is no violation"


def test_a_held_policy_cannot_be_assigned(console):
    held = "Held-%s" % uuid.uuid4().hex[:4]
    held_policy(console.lab, held, "DC0_C0_RP0_VM2")
    args = {"assignments": [{"vm": name, "policies": [held]} for name in HOST_VMS]
            + [{"vm": "DC0_C0_RP0_VM0", "policies": ["Silver"]}]}
    message = assert_refused_without_writes(console, args, HOST_VMS, "held_policy")
    assert held in message and "DC0_C0_RP0_VM0" not in message


def test_with_our_rules_off_the_console_refuses_by_itself(console):
    """The switches only remove our own checks: the console enforces the same rules (README "The console's
    refusals": a failed activity), so the write is sent once, fails with the console's reason, and applies nothing."""
    held = "Held-%s" % uuid.uuid4().hex[:4]
    held_policy(console.lab, held, "DC0_C0_RP0_VM2")
    assign_policies(console.lab, vms={"DC0_H0_VM0": ["Gold"]})
    before = console.lab.spp.state()
    cases = [({"vm": "DC0_H0_VM0", "policies": ["Gold"], "state": "absent",
               "enforce": {"last_policy_of_running_vm": False}}, "Cannot remove the last SLA policy"),
             ({"vm": "DC0_H0_VM1", "policies": [held], "enforce": {"held_policy": False}}, "is held")]
    for args, reason in cases:
        console.clear_counts()
        refused = console.module(TARGET, args, expect_rc=2)
        assert "failed on the Cloud Temple console" in refused["msg"] and reason in refused["msg"], refused["msg"]
        assert args["vm"] in refused["msg"] and "Traceback" not in refused["_output"]
        assert console.count(ASSIGN_VMS) == 1, "sent once, not resent"
    assert console.lab.spp.state() == before, "nothing was applied"


def test_a_disk_policy_in_the_vms_own_zone_is_refused(console):
    """Secondary is in AZ05, like DC0: the console refuses the disk assignment (a failed activity, README "The
    console's refusals"); the task says why and nothing is applied."""
    same_zone = "AZ05-%s" % uuid.uuid4().hex[:4]
    create_sla_policy(console.lab, same_zone, "Secondary")
    before = console.lab.spp.state()
    console.clear_counts()
    refused = console.module(TARGET, {"vm": "DC0_H0_VM0", "disk": "Hard disk 1", "policies": [same_zone]},
                             expect_rc=2)
    message = refused["msg"]
    assert "availability zone" in message and "DC0_H0_VM0" in message, message
    assert console.count(ASSIGN_DISK) == 1 and console.count(ASSIGN_VMS) == 0, "sent once, refused by the console"
    assert console.lab.spp.state()["disks"] == before["disks"], "the disk keeps its policies"
