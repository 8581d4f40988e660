# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""vm_powerstate: power actions converge in four runs, and a VM without usable protection is never started. The end
state is read back through pyVmomi, never from the module's own answer."""

from __future__ import annotations

import uuid

import pytest

import vcenter
from helpers import CONVERGES, changed_pattern, cloned_vm, hold_job, power_state

pytestmark = pytest.mark.integration
VM = "DC0_H0_VM0"


def new_vm(lab):
    """A VM freshly cloned powered off, as a CI pipeline creates it; destroyed on the way out."""
    return cloned_vm(lab, VM, "ci")


def rescan(lab, name):
    _rc, output, inventory = lab.playbook("backup_inventory", {"rescan": True, "visible": [name]})
    assert inventory is not None, output[-3000:]
    assert name in [vm["name"] for vm in inventory["vms"]], "the backup server sees the new VM"


def assert_refused(lab, name, args, expected_reason):
    """Check mode and a real run both fail (rc 2) with the reason and a fix; the VM stays off, seen in vCenter."""
    for check in (True, False):
        result = lab.module("vm_powerstate", args, check=check, expect_rc=2)
        assert "Traceback" not in result["_output"]
        message = result["msg"]
        assert message.startswith("1 rule violation(s); %s was not powered on:" % name), message
        assert "[protected_before_power_on] %s: " % name in message, message
        assert expected_reason in message, message
        assert "Fix: " in message
        assert [v["rule"] for v in result["violations"]] == ["protected_before_power_on"]
        assert power_state(lab, name) == "poweredOff", "a refused power-on leaves the VM off"
    return result


def test_power_off_then_on_a_protected_vm(fresh_lab):
    fresh_lab.module("vm_backup_policy", {"vm": VM, "policies": ["Gold"]})
    assert power_state(fresh_lab, VM) == "poweredOn"

    expected_off = ["poweredOn", "poweredOff", "poweredOff", "poweredOff"]
    results = fresh_lab.four_runs("vm_powerstate", {"vm": VM, "state": "powered-off"},
                                  after_each=lambda i, r: _assert_state(fresh_lab, VM, expected_off[i]))
    assert changed_pattern(results) == CONVERGES
    assert results[0]["power_state_before"] == "poweredOn" and results[0]["power_state"] == "poweredOff"
    assert results[0]["protected"] is None, "powering off never reads the backup server"
    assert results[2]["action"] is None

    expected_on = ["poweredOff", "poweredOn", "poweredOn", "poweredOn"]
    results = fresh_lab.four_runs("vm_powerstate", {"vm": VM, "state": "powered-on"},
                                  after_each=lambda i, r: _assert_state(fresh_lab, VM, expected_on[i]))
    assert changed_pattern(results) == CONVERGES
    assert [r["protected"] for r in results[:2]] == [True, True]
    assert results[1]["policies"] == ["Gold"] and results[1]["moref"].startswith("vm-")


def _assert_state(lab, name, expected):
    assert power_state(lab, name) == expected


def test_restart_always_changes_and_shutdown_guest_waits_until_off(fresh_lab):
    fresh_lab.module("vm_backup_policy", {"vm": VM, "policies": ["Silver"]})
    for check in (True, False, False):
        result = fresh_lab.module("vm_powerstate", {"vm": VM, "state": "restarted"}, check=check)
        assert result["changed"] and result["action"] == "reset"
        assert power_state(fresh_lab, VM) == "poweredOn"
    results = fresh_lab.four_runs("vm_powerstate", {"vm": VM, "state": "shutdown-guest", "timeout": 60})
    assert changed_pattern(results) == CONVERGES
    assert power_state(fresh_lab, VM) == "poweredOff"
    restarted = fresh_lab.module("vm_powerstate", {"vm": VM, "state": "restarted"})
    assert restarted["action"] == "power_on" and restarted["protected"] is True
    assert power_state(fresh_lab, VM) == "poweredOn"


def test_refuses_an_unknown_then_unprotected_vm(fresh_lab):
    with new_vm(fresh_lab) as name:
        args = {"vm": name, "state": "powered-on"}
        unknown = assert_refused(fresh_lab, name, args, "the backup server does not know %s yet" % name)
        assert "vm_backup_policy with rescan: true" in unknown["msg"]

        rescan(fresh_lab, name)
        refused = assert_refused(fresh_lab, name, args, "%s has no VM-level backup policy." % name)
        assert "assign a policy that is not held (vm_backup_policy)" in refused["msg"]
        restart = fresh_lab.module("vm_powerstate", dict(args, state="restarted"), expect_rc=2)
        assert "was not powered on" in restart["msg"]
        assert power_state(fresh_lab, name) == "poweredOff", "restarted from off is a power-on: refused too"

        fresh_lab.module("vm_backup_policy", {"vm": name, "policies": ["Bronze"]})
        results = fresh_lab.four_runs("vm_powerstate", args)
        assert changed_pattern(results) == CONVERGES
        assert power_state(fresh_lab, name) == "poweredOn"


def test_refuses_a_held_only_vm_unless_enforcement_is_off(fresh_lab):
    held = "Held-%s" % uuid.uuid4().hex[:4]
    fresh_lab.module("backup_sla_policy", {"name": held, "site": "Secondary", "retention": {"days": 7}})
    with new_vm(fresh_lab) as name:
        fresh_lab.module("vm_backup_policy", {"vm": name, "policies": [held], "rescan": True})
        hold_job(fresh_lab, "vmware_%s" % held)
        args = {"vm": name, "state": "powered-on"}
        refused = assert_refused(fresh_lab, name, args, "held or unknown policies only (%s)" % held)
        assert "release one of them (backup_sla_policy with held: false)" in refused["msg"]

        results = fresh_lab.four_runs("vm_powerstate", dict(args, enforce_protection=False))
        assert changed_pattern(results) == CONVERGES
        assert results[1]["protected"] is None, "not read when enforcement is off"
        assert power_state(fresh_lab, name) == "poweredOn"


def test_unknown_and_ambiguous_names_are_clear_errors(fresh_lab):
    missing = fresh_lab.module("vm_powerstate", {"vm": "no-such-vm", "state": "powered-off"}, expect_rc=2)
    assert "vCenter has no VM no-such-vm" in missing["msg"]
    folder = "/DC0/vm/dup-%s" % uuid.uuid4().hex[:4]
    with new_vm(fresh_lab) as name:
        with fresh_lab.vcenter() as client:
            try:
                vcenter.create_folder(client, folder)
                vcenter.clone_vm(client, VM, name, power_on=False, folder=folder)
                assert len(vcenter.find_vms(client, name)) == 2
                twice = fresh_lab.module("vm_powerstate", {"vm": name, "state": "powered-off"}, expect_rc=2)
                assert "2 VMs are named %s" % name in twice["msg"]
            finally:
                vcenter.destroy_vm(client, name)
                vcenter.destroy_vm(client, name)
                vcenter.destroy_folder(client, folder)
