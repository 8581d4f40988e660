# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The contract of the vSphere simulator's fault API (tests/emulators/vcsim/README.md), seen by plain pyVmomi: injected
faults are typed vSphere faults, scoped by method and moref, counted and ordered as documented; holds freeze the caller
(and a caller killed during a hold before the effect never reaches the simulator); everything else passes unchanged.

The faults apply to every client of the simulator, the SPP emulator included: these tests scope them to VMs cloned for
the test, and clear them afterwards."""

from __future__ import annotations

import ssl
import subprocess
import sys
import textwrap
import threading
import time
import uuid

import pytest
import requests
from pyVim.connect import Disconnect, SmartConnect
from pyVim.task import WaitForTask
from pyVmomi import vim, vmodl

from conftest import wait_until
from lab import LabError, vcsim_admin

SOURCE_VM = "DC0_H0_VM1"


@pytest.fixture(name="si", scope="module")
def si_fixture(lab):
    env = lab.env
    connection = SmartConnect(host=env["VMWARE_HOST"], port=int(env["VMWARE_PORT"]), user=env["VMWARE_USER"],
                              pwd=env["VMWARE_PASSWORD"],
                              sslContext=ssl.create_default_context(cafile=env["VMWARE_CA_PATH"]))
    yield connection
    Disconnect(connection)


@pytest.fixture(autouse=True)
def no_faults(lab):
    lab.clear_vcenter_faults()
    yield
    lab.clear_vcenter_faults()


def _vm_named(si, name):
    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    try:
        return next((vm for vm in view.view if vm.name == name), None)
    finally:
        view.Destroy()


def _clone(si, request):
    """A powered-off VM cloned for this test, destroyed afterwards."""
    source = _vm_named(si, SOURCE_VM)
    name = "fault-%s" % uuid.uuid4().hex[:8]
    spec = vim.vm.CloneSpec(location=vim.vm.RelocateSpec(), powerOn=False, template=False)
    WaitForTask(source.CloneVM_Task(folder=source.parent, name=name, spec=spec))
    vm = _vm_named(si, name)
    request.addfinalizer(lambda: WaitForTask(vm.Destroy_Task()))
    return vm


@pytest.fixture(name="vm")
def vm_fixture(si, request):
    return _clone(si, request)


@pytest.fixture(name="other_vm")
def other_vm_fixture(si, request):
    return _clone(si, request)


def _moref(managed_object):
    return managed_object._moId  # pylint: disable=protected-access


def _rename(vm, name):
    WaitForTask(vm.Rename_Task(newName=name))


# --- faults ------------------------------------------------------------------------------------------------------


def test_a_system_error_fails_the_call_and_leaves_the_name(lab, vm):
    before = vm.name
    rule = lab.vcenter_fault("Rename_Task", moref=_moref(vm))
    assert rule["remaining"] == 1 and rule["fired"] == 0

    with pytest.raises(vmodl.fault.SystemError) as raised:  # pyVmomi's class of vim25 SystemError
        vm.Rename_Task(newName=before + "-renamed")
    assert "Rename_Task" in raised.value.reason and _moref(vm) in raised.value.msg
    time.sleep(0.5)  # a task would have finished by now
    assert vm.name == before
    assert lab.vcenter_calls(_moref(vm))["Rename_Task"] == 1

    assert lab.clear_vcenter_faults() == {"cleared": 0}  # count 1: the rule is used up and gone
    _rename(vm, before + "-renamed")
    assert vm.name == before + "-renamed"


def test_after_effect_renames_and_still_raises(lab, vm):
    new_name = vm.name + "-renamed"
    lab.vcenter_fault("Rename_Task", moref=_moref(vm), after_effect=True, message="the answer was lost")

    with pytest.raises(vmodl.fault.SystemError) as raised:
        vm.Rename_Task(newName=new_name)
    assert raised.value.msg == "the answer was lost"
    wait_until(lambda: vm.name == new_name, message="the rename to take effect")


def test_a_fault_scoped_to_another_moref_does_not_fire(lab, vm, other_vm):
    lab.vcenter_fault("Rename_Task", moref=_moref(other_vm))
    _rename(vm, vm.name + "-renamed")
    (rule,) = lab.vcenter_faults()
    assert rule["fired"] == 0 and rule["remaining"] == 1
    with pytest.raises(vmodl.fault.SystemError):
        other_vm.Rename_Task(newName=other_vm.name + "-renamed")


def test_count_and_after(lab, vm):
    lab.vcenter_fault("Rename_Task", moref=_moref(vm), count=2, after=1)
    outcomes = []
    for index in range(4):
        try:
            _rename(vm, "%s-%d" % (vm.name, index))
            outcomes.append("ok")
        except vmodl.fault.SystemError:
            outcomes.append("fault")
    assert outcomes == ["ok", "fault", "fault", "ok"]


def test_count_zero_lasts_until_cleared(lab, vm):
    lab.vcenter_fault("Rename_Task", moref=_moref(vm), count=0)
    for attempt in range(3):
        with pytest.raises(vmodl.fault.SystemError):
            vm.Rename_Task(newName="never-%d" % attempt)
    (rule,) = lab.vcenter_faults()
    assert rule["fired"] == 3 and rule["remaining"] is None
    assert lab.clear_vcenter_faults() == {"cleared": 1}
    assert lab.vcenter_faults() == []
    _rename(vm, vm.name + "-renamed")


def test_typed_faults_and_their_fields(lab, si, vm):
    lab.vcenter_fault("PowerOnVM_Task", moref=_moref(vm), fault="NoPermission")
    with pytest.raises(vim.fault.NoPermission) as raised:
        vm.PowerOnVM_Task()
    assert _moref(raised.value.object) == _moref(vm)

    lab.vcenter_fault("PowerOnVM_Task", moref=_moref(vm), fault="MethodDisabled", fields={"source": "backup"})
    with pytest.raises(vim.fault.MethodDisabled) as raised:
        vm.PowerOnVM_Task()
    assert raised.value.source == "backup"

    lab.vcenter_fault("Destroy_Task", moref=_moref(vm), fault="TaskInProgress", fields={"task": "Task:task-1"})
    with pytest.raises(vim.fault.TaskInProgress) as raised:
        vm.Destroy_Task()
    assert _moref(raised.value.task) == "task-1"
    assert _vm_named(si, vm.name) is not None  # not destroyed


def test_set_field_is_scoped_by_its_entity(lab, si, vm, other_vm):
    manager = si.RetrieveContent().customFieldsManager
    key = next((f.key for f in manager.field if f.name == "vcsim-fault-test"), None)
    if key is None:
        key = manager.AddCustomFieldDef(name="vcsim-fault-test", moType=vim.VirtualMachine).key
    lab.vcenter_fault("SetField", moref=_moref(vm))
    manager.SetField(entity=other_vm, key=key, value="other")
    with pytest.raises(vmodl.fault.SystemError):
        manager.SetField(entity=vm, key=key, value="this")
    assert lab.vcenter_calls(_moref(vm))["SetField"] == 1  # pyVmomi reads properties with Fetch calls, also counted


# --- holds -------------------------------------------------------------------------------------------------------


def test_hold_delays_the_answer_and_is_listed(lab, vm):
    new_name = vm.name + "-held"
    lab.vcenter_fault("Rename_Task", moref=_moref(vm), fault=None, hold_ms=1500)
    finished = {}

    def call():
        started = time.monotonic()
        _rename(vm, new_name)
        finished["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=call)
    thread.start()
    held = lab.wait_vcenter_held("Rename_Task", timeout=10)
    assert held["phase"] == "before" and _moref(vm) in held["morefs"]
    thread.join(30)
    assert finished["seconds"] >= 1.4
    assert vm.name == new_name
    assert lab.vcenter_held() == []


def test_clearing_releases_a_held_call(lab, vm):
    lab.vcenter_fault("Rename_Task", moref=_moref(vm), fault=None, hold_ms=60000)
    thread = threading.Thread(target=_rename, args=(vm, vm.name + "-released"))
    started = time.monotonic()
    thread.start()
    lab.wait_vcenter_held("Rename_Task", timeout=10)
    lab.clear_vcenter_faults()
    thread.join(30)
    assert time.monotonic() - started < 30
    assert vm.name.endswith("-released")


_RENAME_SCRIPT = textwrap.dedent("""
    import ssl, sys
    from pyVim.connect import SmartConnect
    from pyVmomi import vim
    host, port, user, pwd, ca, moref, name = sys.argv[1:]
    si = SmartConnect(host=host, port=int(port), user=user, pwd=pwd, sslContext=ssl.create_default_context(cafile=ca))
    vim.VirtualMachine(moref, si._stub).Rename_Task(newName=name)
""")


def _rename_in_a_process(lab, vm, name):
    env = lab.env
    return subprocess.Popen([sys.executable, "-c", _RENAME_SCRIPT, env["VMWARE_HOST"], env["VMWARE_PORT"],
                             env["VMWARE_USER"], env["VMWARE_PASSWORD"], env["VMWARE_CA_PATH"], _moref(vm), name])


@pytest.mark.parametrize("after_effect", [False, True], ids=["killed-before-the-effect", "killed-after-the-effect"])
def test_a_caller_killed_during_a_hold(lab, vm, after_effect):
    before, new_name = vm.name, vm.name + "-killed"
    lab.vcenter_fault("Rename_Task", moref=_moref(vm), after_effect=after_effect, hold_ms=60000)
    process = _rename_in_a_process(lab, vm, new_name)
    try:
        held = lab.wait_vcenter_held("Rename_Task", timeout=30)
        assert held["phase"] == ("after" if after_effect else "before")
    finally:
        process.kill()
        process.wait(30)
    wait_until(lambda: lab.vcenter_held() == [], message="the hold to end with its caller")
    if after_effect:
        wait_until(lambda: vm.name == new_name, message="the rename the simulator received to take effect")
    else:
        time.sleep(0.5)  # a rename task would have finished by now
        assert vm.name == before


# --- counting, pass-through, admin API ---------------------------------------------------------------------------


def test_calls_are_counted_and_reset(lab, vm):
    lab.reset_vcenter_calls()
    _rename(vm, vm.name + "-1")
    _rename(vm, vm.name + "-2")
    assert lab.vcenter_calls()["Rename_Task"] == 2
    assert lab.vcenter_calls(_moref(vm))["Rename_Task"] == 2
    assert lab.reset_vcenter_calls() == {}
    assert "Rename_Task" not in lab.vcenter_calls()


def test_tagging_rest_passes_through_the_front(lab):
    """The vAPI tagging endpoints (this govmomi serves them at /rest only; /api is not simulated)."""
    env = lab.env
    base = "https://%s:%s" % (env["VMWARE_HOST"], env["VMWARE_PORT"])
    http = requests.Session()
    http.trust_env = False
    auth = (env["VMWARE_USER"], env["VMWARE_PASSWORD"])
    ca = env["VMWARE_CA_PATH"]

    response = http.post(base + "/rest/com/vmware/cis/session", auth=auth, verify=ca, timeout=30)
    assert response.status_code == 200, response.text
    rest_headers = {"vmware-api-session-id": response.json()["value"]}
    name = "fault-api-%s" % uuid.uuid4().hex[:8]
    spec = {"name": name, "description": "", "cardinality": "SINGLE", "associable_types": ["VirtualMachine"]}
    response = http.post(base + "/rest/com/vmware/cis/tagging/category", json={"create_spec": spec},
                         headers=rest_headers, verify=ca, timeout=30)
    assert response.status_code == 200, response.text
    category = response.json()["value"]

    response = http.get(base + "/rest/com/vmware/cis/tagging/category/id:" + category, headers=rest_headers,
                        verify=ca, timeout=30)
    assert response.status_code == 200 and response.json()["value"]["name"] == name, response.text
    response = http.delete(base + "/rest/com/vmware/cis/tagging/category/id:" + category, headers=rest_headers,
                           verify=ca, timeout=30)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("body, complaint", [
    ({"fault": "SystemError"}, "method is required"),
    ({"method": "Rename_Task", "fault": "NoSuchFault"}, "not a vim25 fault"),
    ({"method": "Rename_Task", "fault": None}, "needs fault"),
    ({"method": "Rename_Task", "hold": 5}, "unknown field"),
    ({"method": "Rename_Task", "fault": "SystemError", "fields": {"nothing": "x"}}, "is no text field"),
    ({"method": "Rename_Task", "fault": "SystemError", "after": -1}, "after must be"),
])
def test_bad_fault_rules_are_refused(lab, body, complaint):
    with pytest.raises(LabError, match="400") as raised:
        vcsim_admin(lab.env, "POST", "/faults", body)
    assert complaint in str(raised.value)
    assert lab.vcenter_faults() == []
