# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Terraform provider's waits that hurt users, as tests of vm_backup_policy with ``backup_service: cloudtemple``
(docs/cloudtemple-api.md section 15). Every wait is bounded, and each test asserts its duration (loosely: the lab's
machine is shared).

- #45 and #72: a VM is not yet visible to the backup service right after it appears, even after the Hypervisor
  Inventory job ran. The console emulator's visibility lag keeps a VM 404 on the backup routes for some seconds after
  it first sees it in SPP: the module waits (bounded by rescan_timeout), then assigns once; too short a bound fails
  clearly, naming the VM, and assigns nothing.
- #306: an empty assignment (``slaPolicies: []``) whose activity stays ``waiting`` for ever: the task ends with a
  clear error within its bound (``write_timeout``) and says what to do.
"""

from __future__ import annotations

import pytest

import vcenter
from cloudtemple_console import ASSIGN_VMS, INVENTORY_JOB, elapsed, run_inventory_job
from helpers import assign_policies, cloned_vm

pytestmark = [pytest.mark.integration, pytest.mark.covers("vm_backup_policy")]
TARGET = "vm_backup_policy"
SOURCE = "DC0_H0_VM0"
ANSIBLE_OVERHEAD = 30  # seconds ansible-playbook may add to a module's own bound on a loaded two-core machine


def test_assign_right_after_the_vm_appears_waits_until_it_is_visible(console):
    lag = 6
    with cloned_vm(console.lab, SOURCE, "ct-lag") as name:
        assert name not in console.lab.spp.vms(), "SPP has not inventoried the new VM"
        console.visibility_lag(lag)
        sessions_before = console.lab.spp.session_ids()
        with elapsed() as took:
            result = console.module(TARGET, {"vm": name, "policies": ["Gold"], "rescan": True, "rescan_timeout": 120})
        assert result["changed"] is True and result["rescanned"] is True
        assert lag <= took() <= 120 + ANSIBLE_OVERHEAD, took()
        assert console.lab.spp.policies_of(name) == ["Gold"]
        assert console.count(ASSIGN_VMS) == 1, "assigned once, once the VM was visible"
        # The lag is the console's, not SPP's: one Hypervisor Inventory run makes SPP know the VM; the wait then polls
        # the console's read of the VM (#72's fix, docs/cloudtemple-api.md 10.4 step 3) instead of running the
        # tenant-wide inventory job again and again.
        inventory_runs = [s for s in console.lab.spp.sessions(INVENTORY_JOB) if s["id"] not in sessions_before]
        assert len(inventory_runs) == 1, "the Hypervisor Inventory job ran %d times" % len(inventory_runs)
        assigned = console.activities("assign")
        assert [list(a["state"]) for a in assigned] == [["completed"]], "no 'Could not find virtual machine' failure"


def test_a_visibility_wait_too_short_fails_clearly_and_assigns_nothing(console):
    bound = 5
    with cloned_vm(console.lab, SOURCE, "ct-lag") as name:
        console.visibility_lag(600)
        with elapsed() as took:
            result = console.module(TARGET, {"vm": name, "policies": ["Gold"], "rescan": True,
                                             "rescan_timeout": bound}, expect_rc=2)
        assert took() <= bound + ANSIBLE_OVERHEAD, took()
        message = result["msg"]
        assert name in message and "rescan_timeout" in message, message
        assert "Traceback" not in result["_output"]
        assert console.count(ASSIGN_VMS) == 0, "nothing is assigned to a VM the backup service cannot see"
        assert console.lab.spp.policies_of(name) == []


def powered_off_vm_with_gold(console, name):
    """The clone ``name`` (powered off), inventoried by SPP and protected by Gold only: removing Gold from it is an
    empty assignment that the last-policy rule allows (it does not run)."""
    run_inventory_job(console.lab)
    assign_policies(console.lab, vms={name: ["Gold"]})
    with console.lab.vcenter() as client:
        assert vcenter.power_state(client, name) == "poweredOff"


def test_an_empty_assignment_that_never_starts_ends_with_a_clear_error(console):
    bound = 5  # write_timeout: the task's own bound on the activity's wait
    with cloned_vm(console.lab, SOURCE, "ct-empty") as name:
        powered_off_vm_with_gold(console, name)
        console.admin("POST", "/activity-waiting", {"kind": "empty_assignment", "count": 0})
        with elapsed() as took:
            result = console.module(TARGET, {"vm": name, "policies": ["Gold"], "state": "absent",
                                             "write_timeout": bound}, expect_rc=2)
        message = result["msg"]
        assert bound <= took() <= bound + ANSIBLE_OVERHEAD, "no hang: %s s" % took()
        assert name in message and "waiting" in message, message
        assert "console" in message and "#306" in message, "it says what to do: %s" % message
        assert "Traceback" not in result["_output"]
        assert console.count(ASSIGN_VMS) == 1, "sent once, never resent"
        assert [list(a["state"]) for a in console.activities("assign")] == [["waiting"]]
        assert console.lab.spp.policies_of(name) == ["Gold"], "nothing was applied"


def test_an_empty_policy_list_is_clear(console):
    """``policies: []`` with ``purge: true`` asks for no policy at all: whatever the module decides, it decides it
    quickly and clearly, and it never leaves a running VM without a policy."""
    assign_policies(console.lab, vms={"DC0_H0_VM1": ["Gold"]})
    console.admin("POST", "/activity-waiting", {"kind": "empty_assignment", "count": 0})
    with elapsed() as took:
        result = console.module(TARGET, {"vm": "DC0_H0_VM1", "policies": [], "purge": True}, expect_rc=None)
    assert took() <= 60, took()
    assert "Traceback" not in result["_output"]
    assert result.get("failed") and result["msg"], "a running VM keeps its last policy: %s" % result
    assert console.count(ASSIGN_VMS) == 0
    assert console.lab.spp.policies_of("DC0_H0_VM1") == ["Gold"]
