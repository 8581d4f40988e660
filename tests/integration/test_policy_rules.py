# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""vm_backup_policy against the lab: the SecNumCloud rules stop a run before any write, ``rescan`` makes a new VM
assignable, and a server fault in the middle of a multi-call apply ends in a clear error that a second run repairs.

Each rule case breaks the rule on three VMs at once and adds one valid assignment to the same run. The run must fail
(check mode and real), name every offending VM with its fix, make no write call (the emulator counts them) and leave
the backup server's state exactly as it was, read through helpers.SppReader and through the emulator's own record of
the assignments.
"""

from __future__ import annotations

import collections
import uuid

import pytest

import vcenter
# Set-up goes straight through the SPP API (plain REST, helpers.py): fast, and independent of the module under test.
from helpers import CONVERGES, assign_policies, changed_pattern, create_sla_policy, hold_job

pytestmark = pytest.mark.integration
WRITES = "POST /ngp/hypervisor"
HOST_VMS = ["DC0_H0_VM0", "DC0_H0_VM1", "DC0_H0_VM2"]

Scenario = collections.namedtuple("Scenario", "args offenders fixes bystander")


def admin_dump(lab):
    """The emulator's own record of every VM and disk assignment, independent of the SPP API's rendering."""
    state = lab.admin("GET", "/state")
    return {"vm_policies": state["vm_policies"], "disk_policies": state["disk_policies"]}


def write_calls(lab):
    return lab.admin("GET", "/requests")["counts"].get(WRITES, 0)


def assert_refused_without_writes(lab, scenario):
    """Check mode and a real run both fail with every offender and fix named; nothing reaches the server."""
    before, dump = lab.spp.state(), admin_dump(lab)
    results = []
    for check in (True, False):
        lab.admin("DELETE", "/requests")
        result = lab.module("vm_backup_policy", scenario.args, check=check, expect_rc=2)
        assert write_calls(lab) == 0, "a refused run must not write"
        assert "Traceback" not in result["_output"]
        message = result["msg"]
        assert message.startswith("%d rule violation(s); nothing was changed:" % len(scenario.offenders)), message
        for offender, fix in zip(scenario.offenders, scenario.fixes):
            assert "] %s: " % offender in message, (offender, message)
            assert "Fix: %s" % fix in message, (fix, message)
        assert scenario.bystander not in message, "the valid assignment is no violation"
        assert sorted(v["vm"] for v in result["violations"]) == sorted(o.split(" / ")[0] for o in scenario.offenders)
        results.append(result)
    assert lab.spp.state() == before, "the backup server shows the same state"
    assert admin_dump(lab) == dump, "the emulator holds the same assignments"
    assert results[0]["msg"] == results[1]["msg"], "check mode runs the same rule checks"
    return results[1]


# -- the scenarios: three VMs break the rule, a fourth assignment in the same run is valid ------------------------

def last_policy_scenario(lab):
    assign_policies(lab, vms=dict({name: ["Gold"] for name in HOST_VMS}, DC0_C0_RP0_VM0=["Gold", "Silver"]))
    with lab.vcenter() as client:
        assert all(vcenter.power_state(client, name) == "poweredOn" for name in HOST_VMS)
    args = {"state": "absent", "assignments": [{"vm": name, "policies": ["Gold"]} for name in HOST_VMS]
            + [{"vm": "DC0_C0_RP0_VM0", "policies": ["Gold"]}]}  # valid: Silver stays
    fixes = ["keep at least one policy on %s, power it off first, or set enforce.last_policy_of_running_vm: false"
             % name for name in HOST_VMS]
    return Scenario(args, HOST_VMS, fixes, "DC0_C0_RP0_VM0")


def held_policy_scenario(lab):
    held = "Held-%s" % uuid.uuid4().hex[:4]
    create_sla_policy(lab, held, "Secondary")
    assign_policies(lab, vms={"DC0_C0_RP0_VM2": [held]})  # the policy's job appears with its first assignment
    hold_job(lab, "vmware_" + held)
    args = {"assignments": [{"vm": name, "policies": [held]} for name in HOST_VMS]
            + [{"vm": "DC0_C0_RP0_VM0", "policies": ["Silver"]}]}
    fix = ("release %s first (backup_sla_policy with held: false), or choose another policy (not held: Bronze, Gold, "
           "Silver), or set enforce.held_policy: false" % held)
    return Scenario(args, HOST_VMS, [fix] * 3, "DC0_C0_RP0_VM0")


def disk_policy_site_scenario(lab):
    offsite = "Offsite-%s" % uuid.uuid4().hex[:4]
    create_sla_policy(lab, offsite, "DR")
    args = {"assignments": [{"vm": name, "disk": "Hard disk 1", "policies": ["Gold"]} for name in HOST_VMS]
            + [{"vm": "DC0_C0_RP0_VM0", "disk": "Hard disk 1", "policies": [offsite]}]}
    fix = "choose a policy on a site other than Primary (%s (DR)), or set enforce.disk_policy_site: false" % offsite
    return Scenario(args, ["%s / Hard disk 1" % name for name in HOST_VMS], [fix] * 3, "DC0_C0_RP0_VM0")


SCENARIOS = {
    "last_policy_of_running_vm": last_policy_scenario,
    "held_policy": held_policy_scenario,
    "disk_policy_site": disk_policy_site_scenario,
}


def test_last_policy_of_a_running_vm_cannot_be_removed(fresh_lab):
    assert_refused_without_writes(fresh_lab, last_policy_scenario(fresh_lab))
    vms = fresh_lab.spp.state()["vms"]
    assert [vms[name] for name in HOST_VMS] == [["Gold"]] * 3
    assert vms["DC0_C0_RP0_VM0"] == ["Gold", "Silver"], "the valid removal was not applied either"


def test_a_held_policy_cannot_be_assigned(fresh_lab):
    result = assert_refused_without_writes(fresh_lab, held_policy_scenario(fresh_lab))
    assert all(v["rule"] == "held_policy" for v in result["violations"])
    assert fresh_lab.spp.state()["vms"]["DC0_C0_RP0_VM0"] == [], "the valid assignment was not applied either"


def test_a_set_that_keeps_a_held_policy_cannot_be_written(fresh_lab):
    # applySLAPolicies sends a VM's whole set, and the server refuses any call naming a held policy: adding Silver
    # next to a held policy would fail at the server, part-way through a multi-call run.
    held = "Held-%s" % uuid.uuid4().hex[:4]
    create_sla_policy(fresh_lab, held, "Secondary")
    assign_policies(fresh_lab, vms={name: [held] for name in HOST_VMS})
    hold_job(fresh_lab, "vmware_" + held)
    args = {"assignments": [{"name_pattern": "DC0_H0_VM*", "policies": ["Silver"]},
                            {"vm": "DC0_C0_RP0_VM0", "policies": ["Bronze"]}]}  # valid, and its call would go first
    fix = ("release %s first (backup_sla_policy with held: false), or remove %s from the VM in the same task "
           "(state: absent, or purge: true), or set enforce.held_policy: false" % (held, held))
    assert_refused_without_writes(fresh_lab, Scenario(args, HOST_VMS, [fix] * 3, "DC0_C0_RP0_VM0"))
    assert fresh_lab.spp.state()["vms"]["DC0_H0_VM0"] == [held]

    replaced = fresh_lab.module("vm_backup_policy", dict(args, purge=True))  # the fix: drop the held policy
    assert replaced["changed"] is True
    assert [fresh_lab.spp.state()["vms"][name] for name in HOST_VMS] == [["Silver"]] * 3


def test_a_disk_policy_must_target_another_site(fresh_lab):
    result = assert_refused_without_writes(fresh_lab, disk_policy_site_scenario(fresh_lab))
    assert [v["disk"] for v in result["violations"]] == ["Hard disk 1"] * 3
    assert "Gold target(s) site Primary, but DC0_H0_VM0 runs in site Primary" in result["msg"]
    assert all(not policies for policies in fresh_lab.spp.state()["disks"].values())


def test_a_vm_unknown_to_the_backup_server_needs_a_rescan(fresh_lab):
    names = ["ci-%s-%d" % (uuid.uuid4().hex[:4], index) for index in range(3)]
    with fresh_lab.vcenter() as client:
        try:
            for name in names:  # created after the last inventory: vCenter has them, the backup server does not
                vcenter.clone_vm(client, "DC0_H0_VM0", name)
            args = {"assignments": [{"vm": name, "policies": ["Gold"]} for name in names]
                    + [{"vm": "DC0_H0_VM0", "policies": ["Silver"]}]}
            scenario = Scenario(args, names, ["run with rescan: true"] * 3, "DC0_H0_VM0")
            result = assert_refused_without_writes(fresh_lab, scenario)
            assert {v["rule"] for v in result["violations"]} == {"unknown_to_backup"}
            assert not set(names) & set(fresh_lab.spp.state()["vms"]), "no inventory ran behind the user's back"

            everything_off = dict(args, enforce={rule: False for rule in SCENARIOS})
            refused = fresh_lab.module("vm_backup_policy", everything_off, expect_rc=2)
            assert "run with rescan: true" in refused["msg"], "no switch turns this rule off: the write is impossible"
        finally:
            for name in names:
                vcenter.destroy_vm(client, name)


@pytest.mark.parametrize("rule", sorted(SCENARIOS))
def test_each_switchable_rule_can_be_turned_off_explicitly(fresh_lab, rule):
    scenario = SCENARIOS[rule](fresh_lab)
    args = dict(scenario.args, enforce={rule: False})
    before = fresh_lab.spp.state()
    if rule == "held_policy":
        # The switch only removes the module's own check. This backup server (spp-api.md section 14.1) refuses any
        # assignment naming a held policy, so the same run reaches the server and gets its 409: a clear error, and
        # the call that names the held policy is the run's first (batches sort by set), so nothing was written.
        fresh_lab.admin("DELETE", "/requests")
        refused = fresh_lab.module("vm_backup_policy", args, expect_rc=2)
        assert "[held_policy]" not in refused["msg"] and write_calls(fresh_lab) == 1, "the module did not stop it"
        assert "HTTP 409 (SlaPolicyHeldException)" in refused["msg"] and "Traceback" not in refused["_output"]
        assert fresh_lab.spp.state() == before
        return
    results = fresh_lab.four_runs("vm_backup_policy", args)
    assert changed_pattern(results) == CONVERGES
    after = fresh_lab.spp.state()
    if rule == "last_policy_of_running_vm":
        assert [after["vms"][name] for name in HOST_VMS] == [[], [], []]
        assert after["vms"]["DC0_C0_RP0_VM0"] == ["Silver"]
    else:
        assert [after["disks"][(name, "Hard disk 1")] for name in HOST_VMS] == [["Gold"]] * 3
        assert [after["vms"][name] for name in HOST_VMS] == [[], [], []], "a disk policy is not the VM's"
        offsite = scenario.args["assignments"][-1]["policies"]
        assert after["disks"][("DC0_C0_RP0_VM0", "Hard disk 1")] == offsite


# -- rescan -------------------------------------------------------------------------------------------------------

def test_rescan_makes_a_new_vm_assignable_in_the_same_task(fresh_lab):
    name = "ci-%s" % uuid.uuid4().hex[:6]
    with fresh_lab.vcenter() as client:
        try:
            vcenter.clone_vm(client, "DC0_H0_VM0", name)
            assert name not in fresh_lab.spp.state()["vms"]
            results = fresh_lab.four_runs("vm_backup_policy", {"vm": name, "policies": ["Silver"], "rescan": True})
            assert changed_pattern(results) == CONVERGES
            assert [r["rescanned"] for r in results] == [False, True, False, False], "only a needed, real rescan"
            assert fresh_lab.spp.state()["vms"][name] == ["Silver"]
            state = fresh_lab.admin("GET", "/state")
            spp_id = next(vm_id for vm_id, vm in state["vms"].items() if vm["name"] == name)
            assert state["vm_policies"][spp_id] == ["Silver"]
        finally:
            vcenter.destroy_vm(client, name)


# -- a server fault in the middle of a multi-call apply -----------------------------------------------------------

FAULT_ASSIGNMENTS = [  # three distinct resulting sets, so three applySLAPolicies calls
    {"name_pattern": "DC0_H0_VM[01]", "policies": ["Gold"]},
    {"vm": "DC0_H0_VM2", "policies": ["Silver"]},
    {"vm": "DC0_C0_RP0_VM0", "policies": ["Silver"]},
    {"vm": "DC0_C0_RP0_VM1", "policies": ["Gold", "Silver"]},
]
EXPECTED_AFTER_FAULT = {"DC0_H0_VM0": ["Gold"], "DC0_H0_VM1": ["Gold"], "DC0_H0_VM2": ["Silver"],
                        "DC0_C0_RP0_VM0": ["Silver"], "DC0_C0_RP0_VM1": ["Gold", "Silver"], "DC0_C0_RP0_VM2": ["Bronze"]}


def test_a_fault_in_the_middle_of_a_multi_call_apply_is_repaired_by_the_next_run(fresh_lab):
    assign_policies(fresh_lab, vms={"DC0_C0_RP0_VM2": ["Bronze"]})  # outside the task: must be kept
    args = {"assignments": FAULT_ASSIGNMENTS}
    planned = fresh_lab.module("vm_backup_policy", args, check=True)
    assert planned["summary"]["calls"] == 3, planned["summary"]
    first_batch = sorted(c["vm_name"] for c in planned["changes"] if c["after"] == ["Gold"])  # batches sort by set
    assert first_batch == ["DC0_H0_VM0", "DC0_H0_VM1"]

    # Every applySLAPolicies after the first answers 503, for longer than the client retries (applySLAPolicies sets
    # a VM's whole set, so the client may send it again; Retry-After keeps the retries short).
    fresh_lab.admin("POST", "/faults", {"method": "POST", "path_prefix": "/ngp/hypervisor", "status": 503,
                                        "retry_after": 1, "after": 1, "count": 0})
    fresh_lab.admin("DELETE", "/requests")
    failed = fresh_lab.module("vm_backup_policy", args, expect_rc=2)
    assert "Traceback" not in failed["_output"]
    assert failed["msg"].startswith("1 of 3 write call(s) were applied before this failure"), failed["msg"]
    assert "HTTP 503" in failed["msg"] and "run the task again" in failed["msg"]
    assert (failed["applied_calls"], failed["total_calls"]) == (1, 3)
    assert write_calls(fresh_lab) >= 2, "the second call was tried (and retried) before giving up"
    half = fresh_lab.spp.state()["vms"]
    assert {name: half[name] for name in first_batch} == {"DC0_H0_VM0": ["Gold"], "DC0_H0_VM1": ["Gold"]}
    assert half["DC0_H0_VM2"] == half["DC0_C0_RP0_VM0"] == half["DC0_C0_RP0_VM1"] == [], "the rest not applied"

    fresh_lab.admin("DELETE", "/faults")
    fresh_lab.admin("DELETE", "/requests")
    repaired = fresh_lab.module("vm_backup_policy", args)
    assert repaired["changed"] is True and repaired["summary"]["calls"] == 2, repaired["summary"]
    assert write_calls(fresh_lab) == 2, "only the calls that were not applied are sent again"
    fresh_lab.admin("DELETE", "/requests")
    again = fresh_lab.module("vm_backup_policy", args)
    assert again["changed"] is False and write_calls(fresh_lab) == 0

    state = fresh_lab.spp.state()
    assert state["vms"] == EXPECTED_AFTER_FAULT, "every declared assignment exactly once, nothing lost"
    dump = fresh_lab.admin("GET", "/state")
    held_by = {dump["vms"][vm_id]["name"]: names for vm_id, names in dump["vm_policies"].items() if names}
    assert held_by == EXPECTED_AFTER_FAULT, "the emulator's own record: no duplicate, nothing lost"
