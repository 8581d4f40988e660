# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""vSphere faults through the modules (issue 14, part 2), with the vSphere simulator's fault front
(``tests/emulators/vcsim/README.md``: ``Lab.vcenter_fault``).

1. A fault that vCenter answers (``NoPermission`` with its privilege, ``SystemError``, ``MethodDisabled``,
   ``TaskInProgress``, ``InvalidPowerState``) fails the task with the typed message and its fix: no traceback, no
   "MODULE FAILURE", and the VM is unchanged.
2. After a successful production restore, a marker that cannot be written (``NoPermission`` on ``SetField`` for every
   object but vCenter's root folder, where the request record lives) is a warning: the task reports the restore
   (changed, which VM), the restored VM is in production, the request record stays; once the privilege is back, a
   re-run writes the marker, restores nothing again, and the run after it changes nothing.

End states are read with plain pyVmomi (``vcenter.py``) and the emulator's admin API.
"""

from __future__ import annotations

import uuid

import pytest

import lab as lab_api  # tests/lab/lab.py: the vSphere simulator's fault API, by the lab's env
import vcenter
from helpers import back_up

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("vsphere_faults")]  # vCenter faults are lab-wide
MARKER_FIELD = "sovereign.vm_backup.restore"
REQUESTS_FIELD = "sovereign.vm_backup.restore_requests"
POLICIES = ["Gold"]


def run(lab, target, module_args, check=False):
    """Run a module target once, whatever its outcome; return (rc, result)."""
    rc, output, result = lab.playbook(target, {"module_args": module_args}, check=check, diff=True, expect_rc=None)
    assert result is not None, output[-3000:]
    result["_output"] = output
    return rc, result


def vm_of(lab, name):
    with lab.vcenter() as client:
        found = vcenter.find_vms(client, name)
        assert len(found) <= 1, "%d VMs carry the name %s" % (len(found), name)
        if not found:
            return None
        vm = found[0]
        return {"moref": vcenter.moref(vm), "instance_uuid": vm.config.instanceUuid, "name": vm.name,
                "power_state": str(vm.runtime.powerState), "marker": vcenter.custom_value(client, vm, MARKER_FIELD)}


def request_records(lab):
    with lab.vcenter() as client:
        return vcenter.custom_value(client, client.content.rootFolder, REQUESTS_FIELD) or {}


def own_warnings(result):
    """The module's warnings, without ansible-core's own about the templated ``args`` of the target."""
    return [text for text in result.get("warnings") or [] if not text.startswith("Using a template for task args")]


def restores(lab):
    return lab.admin("GET", "/state")["restores"]


@pytest.fixture
def own_vm(fresh_lab):
    """A powered-on VM of the test's own (a clone of DC0_H0_VM0), destroyed at the end, with its moref."""
    name = "vf%s" % uuid.uuid4().hex[:6]
    try:
        with fresh_lab.vcenter() as client:
            vm = vcenter.clone_vm(client, "DC0_H0_VM0", name, power_on=True)
            moref = vcenter.moref(vm)
        yield name, moref
    finally:
        lab_api.clear_vcenter_faults(fresh_lab.env)
        with fresh_lab.vcenter() as client:
            for vm_name in vcenter.names_like(client, name):
                vcenter.destroy_vm(client, vm_name)


# -- 1. a vCenter fault fails the task with its typed message -------------------------------------------------------

FAULTS = [
    ("NoPermission", {"privilegeId": "VirtualMachine.Interact.PowerOff"}, "PermissionDenied",
     ["lacks the privilege VirtualMachine.Interact.PowerOff on VirtualMachine", "Fix: grant it that privilege"]),
    ("SystemError", None, "VsphereFault", ["with an internal error", "The call may or may not have taken effect"]),
    ("MethodDisabled", {"source": "backup"}, "VsphereFault", ["has disabled this operation", "backup holds it"]),
    ("TaskInProgress", {"task": "Task:task-1"}, "VsphereFault", ["busy with another task (task-1)"]),
    ("InvalidPowerState", {"existingState": "suspended", "requestedState": "poweredOn"}, "VsphereFault",
     ["in its power state (suspended), which must be poweredOn"]),
]


@pytest.mark.parametrize("fault, fields, kind, words", FAULTS, ids=[fault[0] for fault in FAULTS])
def test_a_vcenter_fault_fails_the_task_with_its_fix(fresh_lab, own_vm, fault, fields, kind, words):
    name, moref = own_vm
    lab_api.vcenter_fault(fresh_lab.env, "PowerOffVM_Task", moref=moref, fault=fault, fields=fields, count=0)
    rc, result = run(fresh_lab, "vm_powerstate", {"vm": moref, "state": "powered-off", "timeout": 60})

    assert rc != 0 and result.get("failed"), result
    message = result["msg"]
    assert "power off VirtualMachine %s" % moref in message, message
    for word in words:
        assert word in message, message
    assert result.get("fault") == fault and result.get("method") == "PowerOffVM_Task", result
    assert "Traceback" not in result["_output"] and "MODULE FAILURE" not in result["_output"], result["_output"][-3000:]
    assert vm_of(fresh_lab, name)["power_state"] == "poweredOn", "nothing was powered off"
    del kind  # the typed kind shows through its message; the unit tests check the classes


def test_no_permission_on_rename_in_a_keep_current_restore_gives_the_name_back_and_the_fix(fresh_lab, own_vm):
    """The rename that a keep_current production restore starts with is refused: the task fails with the privilege
    and the fix, before any restore is posted, and production keeps its name."""
    name, moref = own_vm
    fresh_lab.module("vm_backup_policy", {"vm": name, "policies": POLICIES, "rescan": True})
    back_up(fresh_lab, "Gold", [name])
    fresh_lab.admin("DELETE", "/requests")
    lab_api.vcenter_fault(fresh_lab.env, "Rename_Task", moref=moref, fault="NoPermission",
                          fields={"privilegeId": "VirtualMachine.Config.Rename"}, count=0)
    rc, result = run(fresh_lab, "vm_restore", {"vm": name, "mode": "production", "keep_current": True,
                                               "timeout": 300})
    assert rc != 0 and result.get("failed"), result
    assert "lacks the privilege VirtualMachine.Config.Rename" in result["msg"], result["msg"]
    assert "MODULE FAILURE" not in result["_output"]
    assert vm_of(fresh_lab, name)["moref"] == moref, "production keeps its name"
    assert restores(fresh_lab) == {}, "no restore ran"
    assert fresh_lab.admin("GET", "/requests")["actions"].get("POST /ngp/hypervisor?action=restore", 0) == 0


# -- 2. a marker that cannot be written after a production restore is a warning ------------------------------------

def test_a_marker_refused_after_a_production_restore_is_a_warning_and_a_rerun_converges(fresh_lab, own_vm):
    name, original_moref = own_vm
    original = vm_of(fresh_lab, name)
    fresh_lab.module("vm_backup_policy", {"vm": name, "policies": POLICIES, "rescan": True})
    back_up(fresh_lab, "Gold", [name])
    with fresh_lab.vcenter() as client:
        root = vcenter.moref(client.content.rootFolder)
    # The request record (on the root folder) may be written; the marker (on any other object) may not. The restored
    # VM's moref is not known in advance, hence the rule for every object after the one that lets the root through.
    lab_api.vcenter_fault(fresh_lab.env, "SetField", moref=root, fault=None, hold_ms=1, count=0)
    lab_api.vcenter_fault(fresh_lab.env, "SetField", fault="NoPermission", count=0,
                          fields={"privilegeId": "Global.SetCustomField"})
    args = {"vm": name, "mode": "production", "overwrite": True, "restore_id": "CHG-%s" % name, "timeout": 600}

    rc, first = run(fresh_lab, "vm_restore", args)
    assert rc == 0 and first.get("changed") is True and not first.get("failed"), first
    restored = vm_of(fresh_lab, name)
    assert restored is not None and restored["moref"] == first["moref"] != original_moref, (restored, first)
    assert restored["instance_uuid"] == original["instance_uuid"], "a production restore keeps the identity"
    assert restored["marker"] is None, "the marker was refused"
    warnings = own_warnings(first)
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith("VM %s (%s) was restored from recovery point" % (name, restored["moref"])), warnings
    assert "is in production, protected with Gold, but its restore marker could not be written" in warnings[0]
    assert "lacks the privilege Global.SetCustomField" in warnings[0]
    assert "once the vCenter user has the privilege Global.SetCustomField (to set custom attributes), run the task " \
        "again; it writes the marker and restores nothing again" in warnings[0]
    record = request_records(fresh_lab)[original["instance_uuid"]]
    assert record["step"] == "protected" and record["restored_moref"] == restored["moref"], record
    assert len(restores(fresh_lab)) == 1

    lab_api.clear_vcenter_faults(fresh_lab.env)
    fresh_lab.admin("DELETE", "/requests")
    rc, second = run(fresh_lab, "vm_restore", args)
    assert rc == 0 and not second.get("failed") and not own_warnings(second), second
    assert second["moref"] == restored["moref"]
    rc, third = run(fresh_lab, "vm_restore", args)
    assert rc == 0 and third.get("changed") is False, third

    assert len(restores(fresh_lab)) == 1, "restored once"
    assert fresh_lab.admin("GET", "/requests")["actions"].get("POST /ngp/hypervisor?action=restore", 0) == 0
    now = vm_of(fresh_lab, name)
    assert now["moref"] == restored["moref"] and now["marker"]["request"] == "restore_id:CHG-%s" % name, now
    assert original["instance_uuid"] not in request_records(fresh_lab), "the record is removed once marked"
