# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""vSphere faults become typed errors with a fix (issue 14): ``_client.fault_error`` on pyVmomi's own fault objects,
``tasks.task_error`` for a task that ends in a fault, and the client against the vSphere simulator's fault front
(``tests/emulators/vcsim/README.md``), where pyVmomi raises the faults as vCenter sends them."""

from __future__ import annotations

import pytest
import requests
from pyVmomi import vim, vmodl

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import (
    AuthenticationError,
    NotFound,
    PermissionDenied,
    TaskFailed,
    VsphereFault,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere import _client, listing, tasks, vms

ORIGIN = "https://vc.example:443"
VM = vim.VirtualMachine("vm-42")


def error_of(fault, method="SetField", subject=VM, **kwargs):
    return _client.fault_error(fault, method, subject, ORIGIN, "ansible@vsphere.local", **kwargs)


# -- the mapping, on pyVmomi's fault objects ------------------------------------------------------------------------

def test_no_permission_names_the_object_the_privilege_and_the_fix():
    error = error_of(vim.fault.NoPermission(object=VM, privilegeId="Global.SetCustomField", msg="Permission denied"))
    assert isinstance(error, PermissionDenied) and isinstance(error, TaskFailed)
    assert error.message == (
        "vCenter https://vc.example:443 refused to set a custom attribute value on VirtualMachine vm-42: the user "
        "'ansible@vsphere.local' lacks the privilege Global.SetCustomField on VirtualMachine vm-42. Fix: grant it that "
        "privilege (a role that has it, on VirtualMachine vm-42 or on a parent with propagation), then run the task "
        "again")
    assert error.details == {"privilege": "Global.SetCustomField", "user": "ansible@vsphere.local",
                             "fault": "NoPermission", "method": "SetField", "object": "vm-42"}


def test_no_permission_without_a_privilege_names_the_one_the_method_needs():
    error = error_of(vim.fault.NoPermission(msg="denied"), method="Rename_Task")
    assert "refused to rename VirtualMachine vm-42" in error.message
    assert "lacks the privilege VirtualMachine.Config.Rename" in error.message


@pytest.mark.parametrize("fault, kind, words", [
    (vmodl.fault.SystemError(reason="database unavailable", msg="A general system error occurred"), VsphereFault,
     "failed to power off VirtualMachine vm-42 with an internal error (database unavailable). The call may or may not "
     "have taken effect"),
    (vim.fault.MethodDisabled(source="com.vendor.backup"), VsphereFault,
     "has disabled this operation (power off VirtualMachine vm-42) for now: com.vendor.backup holds it"),
    (vim.fault.InvalidPowerState(existingState="poweredOff", requestedState="poweredOn"), VsphereFault,
     "cannot power off VirtualMachine vm-42 in its power state (poweredOff), which must be poweredOn"),
    (vim.fault.TaskInProgress(task=vim.Task("task-9")), VsphereFault,
     "cannot power off VirtualMachine vm-42 now: it is busy with another task (task-9). Wait until that task ends"),
    (vim.fault.InvalidState(msg="The operation is not allowed in the current state."), VsphereFault,
     "cannot power off VirtualMachine vm-42 in its current state (The operation is not allowed in the current "
     "state)"),
    (vim.fault.FileLocked(msg="locked"), VsphereFault, "refused to power off VirtualMachine vm-42: FileLocked: locked"),
    (vim.fault.NotAuthenticated(), AuthenticationError, "the session is not (or no longer) valid"),
])
def test_each_fault_kind_has_its_explanation(fault, kind, words):
    error = error_of(fault, method="PowerOffVM_Task")
    assert type(error) is kind  # pylint: disable=unidiomatic-typecheck
    assert words in error.message, error.message
    assert "vCenter https://vc.example:443" in error.message


@pytest.mark.parametrize("fault, method", [
    (vmodl.fault.ManagedObjectNotFound(obj=VM), "Fetch"),
    (vim.fault.DuplicateName(name="x"), "AddCustomFieldDef"),
    (vim.fault.ToolsUnavailable(), "ShutdownGuest"),
    (vim.fault.InvalidPowerState(), "ShutdownGuest"),
])
def test_faults_that_callers_explain_themselves_pass_through(fault, method):
    assert error_of(fault, method=method) is None
    assert error_of(fault, method=method, passthrough=False) is not None


class Info:
    key = "task-7"
    descriptionId = "VirtualMachine.rename"
    entityName = "web01"
    entity = VM
    state = "error"
    progress = None

    def __init__(self, error):
        self.error = error


def test_a_task_fault_keeps_the_task_description_and_gets_the_fix():
    error = tasks.task_error(Info(vim.fault.NoPermission(object=VM, privilegeId="VirtualMachine.Config.Rename")))
    assert isinstance(error, PermissionDenied)
    assert error.message.startswith(
        "vSphere task task-7 (VirtualMachine.rename on 'web01') failed: vCenter refused to rename 'web01' (VirtualMachine "
        "vm-42): the user of this task lacks the privilege VirtualMachine.Config.Rename on VirtualMachine vm-42.")
    assert error.details["task"] == "task-7" and error.details["entity"] == "web01"
    assert error.details["privilege"] == "VirtualMachine.Config.Rename"


# -- against the simulator's fault front ----------------------------------------------------------------------------

@pytest.fixture
def vcenter(vcsim, tls_files):
    """A connected client and a function that adds a fault rule to the simulator (cleared at the end)."""
    host, port = vcsim
    admin = "https://%s:%d/__vcsim__" % (host, port)

    def fault(method, **rule):
        answer = requests.post(admin + "/faults", json=dict(rule, method=method), verify=tls_files["ca"], timeout=30)
        answer.raise_for_status()
        return answer.json()

    client = _client.VsphereClient(host, "user", "pass", port=port, ca_path=tls_files["ca"])
    with client:
        try:
            yield client, fault
        finally:
            requests.delete(admin + "/faults", verify=tls_files["ca"], timeout=30)


def a_vm(client):
    return next(vm for vm in vms.list_vms_with_markers(client) if not vm["template"])


def test_no_permission_on_a_custom_attribute_is_typed(vcenter):
    client, fault = vcenter
    vm = a_vm(client)
    fault("SetField", fault="NoPermission", fields={"privilegeId": "Global.SetCustomField",
                                                    "object": "VirtualMachine:%s" % vm["moref"]})
    with pytest.raises(PermissionDenied) as caught:
        vms.set_marker(client, vm["moref"], {"state": "restored"})
    assert "refused to set a custom attribute value on VirtualMachine %s" % vm["moref"] in caught.value.message
    assert "lacks the privilege Global.SetCustomField on VirtualMachine %s" % vm["moref"] in caught.value.message
    assert caught.value.details["privilege"] == "Global.SetCustomField"
    assert "user 'user'" in caught.value.message


def test_no_permission_on_a_new_custom_attribute_definition_is_typed(vcenter):
    client, fault = vcenter
    fault("AddCustomFieldDef", fault="NoPermission", fields={"privilegeId": "Global.ManageCustomFields"})
    with pytest.raises(PermissionDenied, match="refused to create a custom attribute definition on "
                                               "CustomFieldsManager .*Global.ManageCustomFields"):
        vms.marker_field_key(client, create=True, name="sovereign.vm_backup.unit_%d" % id(client))


@pytest.mark.parametrize("rule, kind, words", [
    ({"fault": "SystemError", "message": "injected"}, VsphereFault, "with an internal error (injected)"),
    ({"fault": "MethodDisabled", "fields": {"source": "backup"}}, VsphereFault, "backup holds it"),
    ({"fault": "TaskInProgress", "fields": {"task": "Task:task-1"}}, VsphereFault, "busy with another task (task-1)"),
    ({"fault": "NoPermission", "fields": {"privilegeId": "VirtualMachine.Config.Rename"}}, PermissionDenied,
     "lacks the privilege VirtualMachine.Config.Rename"),
])
def test_a_refused_rename_is_typed(vcenter, rule, kind, words):
    client, fault = vcenter
    vm = a_vm(client)
    fault("Rename_Task", moref=vm["moref"], **rule)
    with pytest.raises(kind) as caught:
        vms.rename_vm(client, vm["moref"], vm["name"] + "_x", timeout=30)
    assert words in caught.value.message and "rename VirtualMachine %s" % vm["moref"] in caught.value.message
    assert vms.vm_details(client, vm["moref"])["name"] == vm["name"], "nothing was renamed"


def test_a_task_that_ends_in_a_fault_is_typed(vcenter):
    client, _fault = vcenter
    vm = a_vm(client)
    details = vms.vm_details(client, vm["moref"])
    method = vim.VirtualMachine(vm["moref"], client.si._stub)  # pylint: disable=protected-access
    start = method.PowerOnVM_Task if details["power_state"] == "poweredOn" else method.PowerOffVM_Task
    with pytest.raises(VsphereFault) as caught:
        tasks.wait_for_task(start(), timeout=30)
    assert caught.value.message.startswith("vSphere task ")
    assert "in its power state" in caught.value.message and caught.value.details["fault"] == "InvalidPowerState"


def test_faults_the_callers_explain_are_left_to_them(vcenter):
    client, _fault = vcenter
    assert vms.vm_details(client, "vm-999999") is None
    with pytest.raises(NotFound):
        listing.find_vm_by_moref(client, "vm-999999")
