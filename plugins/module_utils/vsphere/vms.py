# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Restored VMs in vCenter: the restore marker (a custom attribute), one VM's details, rename and power.

Considered private: only this collection may import it.

The marker is the vCenter custom attribute ``sovereign.vm_backup.restore`` on a VM that a restore created, holding
compact JSON: the source VM, the recovery point, the mode, the restore session and the lifecycle state. It is what
makes a restore idempotent: a second run finds the VM by its marker. Markers of every VM are read in one
PropertyCollector pass (``customValue``), never VM by VM. A marker also records the moref of the VM it was written
on, so that a marker copied along with a VM (vCenter clones may copy custom values) is not mistaken for the
clone's own.

Simulator notes (govmomi 0.24): custom field keys start at 0, ``availableField`` is empty on VMs created after the
field, and ``SetField`` appends a value instead of replacing it. So the field key is read from the
CustomFieldsManager, and the last value of the key wins.
"""

from __future__ import annotations

import json

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import NotFound, TaskFailed
from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere import tasks
from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere._client import vim, vmodl
from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere.listing import plain_nic, retrieve_all

MARKER_FIELD = "sovereign.vm_backup.restore"
# The outcome of the last test of a recovery point, on the VM whose backup was tested (see ``test_record``).
TEST_FIELD = "sovereign.vm_backup.test"
MARKER_VERSION = 1
LIST_PROPERTIES = ["name", "config.instanceUuid", "config.template", "runtime.powerState", "customValue"]
DETAIL_PROPERTIES = LIST_PROPERTIES + ["config.hardware.device"]


# -- pure ---------------------------------------------------------------------------------------------------------


def encode_marker(marker):
    """Compact JSON of a marker dict (keys sorted, so that equal markers give equal text)."""
    return json.dumps(dict(marker, v=MARKER_VERSION), separators=(",", ":"), sort_keys=True)


def decode_marker(text):
    """The marker dict of a custom value; None when empty or not a marker of this collection."""
    if not text:
        return None
    try:
        marker = json.loads(text)
    except ValueError:
        return None
    if not isinstance(marker, dict) or marker.get("v") != MARKER_VERSION:
        return None
    return marker


def marker_value(custom_values, key):
    """The text of field ``key`` among a VM's ``customValue`` entries ``[(key, value), ...]``; the last one wins."""
    text = None
    for value_key, value in custom_values:
        if value_key == key:
            text = value
    return text


def own_marker(marker, moref):
    """The marker when it was written on the VM ``moref``; None for a marker carried over by a copy of a VM."""
    if marker and marker.get("moref") == moref:
        return marker
    return None


# -- pyVmomi ------------------------------------------------------------------------------------------------------


def marker_field_key(client, create=False, name=MARKER_FIELD, mo_type=None):
    """Key of the marker's (or field ``name``'s) custom field definition, for objects of ``mo_type`` (VMs by
    default); created once when ``create`` and missing, else None."""
    mo_type = mo_type or vim.VirtualMachine
    manager = client.content.customFieldsManager
    for field in manager.field or []:
        if field.name == name and field.managedObjectType in (None, mo_type):
            return field.key
    if not create:
        return None
    try:
        return manager.AddCustomFieldDef(name=name, moType=mo_type).key
    except vim.fault.DuplicateName:
        # Created meanwhile by a concurrent run: read it back.
        manager = client.content.customFieldsManager
        return next(field.key for field in manager.field or [] if field.name == name)


def field_keys(client):
    """``(marker key, test record key)``, from one read of the field definitions; None for a missing one."""
    keys = {}
    for field in client.content.customFieldsManager.field or []:
        if field.name in (MARKER_FIELD, TEST_FIELD) and field.managedObjectType in (None, vim.VirtualMachine):
            keys.setdefault(field.name, field.key)
    return keys.get(MARKER_FIELD), keys.get(TEST_FIELD)


def _record(obj_content, key, test_key=None):
    props = {prop.name: prop.val for prop in obj_content.propSet}
    moref = obj_content.obj._moId  # pylint: disable=protected-access
    values = [(value.key, getattr(value, "value", None)) for value in props.get("customValue") or []]
    record = {
        "name": props.get("name"),
        "moref": moref,
        "instance_uuid": props.get("config.instanceUuid"),
        "template": bool(props.get("config.template")),
        "power_state": str(props["runtime.powerState"]) if props.get("runtime.powerState") else None,
        "marker": own_marker(decode_marker(marker_value(values, key)), moref) if key is not None else None,
        "test_record": own_marker(decode_marker(marker_value(values, test_key)), moref) if test_key is not None
        else None,
    }
    if "config.hardware.device" in props:
        nics = [device for device in props["config.hardware.device"] or []
                if isinstance(device, vim.vm.device.VirtualEthernetCard)]
        record["nics"] = [_nic(device) for device in sorted(nics, key=lambda device: device.key)]
        record["macs"] = [nic["mac"] for nic in record["nics"]]
    return record


def _nic(device):
    """A NIC as restore results show it: the inventory's reading, with the network by name or portgroup key."""
    nic = plain_nic(device)
    return {"label": nic["label"], "mac": nic["mac"], "connected": nic["connected"],
            "start_connected": nic["start_connected"], "network": nic["device_name"] or nic["portgroup_key"]}


def list_vms_with_markers(client, page_size=1000):
    """Every VM's name, moref, instance UUID, power state and own restore marker (None when it has none).

    One paged PropertyCollector pass over a ContainerView, plus one read of the field definitions.
    """
    key, test_key = field_keys(client)
    content = client.content
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    try:
        collector = vmodl.query.PropertyCollector
        traverse = collector.TraversalSpec(name="view", type=vim.view.ContainerView, path="view", skip=False)
        spec = collector.FilterSpec(
            objectSet=[collector.ObjectSpec(obj=view, skip=True, selectSet=[traverse])],
            propSet=[collector.PropertySpec(type=vim.VirtualMachine, pathSet=LIST_PROPERTIES)])
        return [_record(item, key, test_key) for item in retrieve_all(content.propertyCollector, [spec], page_size)]
    finally:
        view.Destroy()


def _vm_ref(client, moref):
    return vim.VirtualMachine(moref, client.si._stub)  # pylint: disable=protected-access


def vm_details(client, moref):
    """Name, instance UUID, power state, NICs (MAC, connected, network), MACs and marker of one VM; None if gone."""
    collector = vmodl.query.PropertyCollector
    spec = collector.FilterSpec(objectSet=[collector.ObjectSpec(obj=_vm_ref(client, moref), skip=False)],
                                propSet=[collector.PropertySpec(type=vim.VirtualMachine, pathSet=DETAIL_PROPERTIES)])
    try:
        objects = list(retrieve_all(client.content.propertyCollector, [spec], 10))
    except vmodl.fault.ManagedObjectNotFound:
        return None
    if not objects or not objects[0].propSet:
        return None
    return _record(objects[0], *field_keys(client))


def set_marker(client, moref, marker, field=MARKER_FIELD):
    """Write ``marker`` (a dict; its ``moref`` is set to this VM's) on the VM; the field is created if missing.

    ``field=TEST_FIELD`` writes a test record (the outcome of a test of one of this VM's recovery points) instead.
    """
    # Checked first: the simulator drops the connection on SetField for an unknown VM instead of raising a fault.
    if vm_details(client, moref) is None:
        raise NotFound(None, description="vCenter %s has no VM with moref '%s' to mark" % (client.origin, moref))
    key = marker_field_key(client, create=True, name=field)
    text = encode_marker(dict(marker, moref=moref))
    client.content.customFieldsManager.SetField(entity=_vm_ref(client, moref), key=key, value=text)
    return decode_marker(text)


def _run(client, moref, start, timeout, progress):
    try:
        task = start(_vm_ref(client, moref))
    except vmodl.fault.ManagedObjectNotFound:
        raise NotFound(None, description="vCenter %s has no VM with moref '%s'" % (client.origin, moref)) from None
    return tasks.wait_for_task(task, timeout=timeout, progress=progress)


def rename_vm(client, moref, name, timeout=600, progress=None):
    """Rename the VM (``Rename_Task``) and wait for it."""
    return _run(client, moref, lambda vm: vm.Rename_Task(newName=name), timeout, progress)


def power_off_vm(client, moref, timeout=600, progress=None, suspended=False):
    """Power the VM off (hard) unless it already is off; returns whether it changed.

    A suspended VM is left alone unless ``suspended`` is true, in which case it is powered off too.
    """
    details = vm_details(client, moref)
    if details is None:
        raise NotFound(None, description="vCenter %s has no VM with moref '%s'" % (client.origin, moref))
    if details["power_state"] == "poweredOff" or (details["power_state"] != "poweredOn" and not suspended):
        return False
    _run(client, moref, lambda vm: vm.PowerOffVM_Task(), timeout, progress)
    return True


def power_on_vm(client, moref, timeout=600, progress=None):
    """Power the VM on unless it already is on; returns whether it changed."""
    details = vm_details(client, moref)
    if details is None:
        raise NotFound(None, description="vCenter %s has no VM with moref '%s'" % (client.origin, moref))
    if details["power_state"] == "poweredOn":
        return False
    _run(client, moref, lambda vm: vm.PowerOnVM_Task(), timeout, progress)
    return True


def reset_vm(client, moref, timeout=600, progress=None):
    """Hard-reset a powered-on VM (``ResetVM_Task``, like pressing the reset button) and wait for it."""
    return _run(client, moref, lambda vm: vm.ResetVM_Task(), timeout, progress)


def shutdown_guest(client, moref):
    """Ask the guest OS to shut down (``ShutdownGuest``, through VMware Tools). Returns at once: the caller waits
    until the VM is off. Raises ``TaskFailed`` when the guest cannot be asked (no VMware Tools running, wrong state).
    """
    try:
        _vm_ref(client, moref).ShutdownGuest()
    except vmodl.fault.ManagedObjectNotFound:
        raise NotFound(None, description="vCenter %s has no VM with moref '%s'" % (client.origin, moref)) from None
    except (vim.fault.ToolsUnavailable, vim.fault.InvalidState, vim.fault.TaskInProgress) as fault:
        raise TaskFailed("vCenter %s refused to shut down the guest of %s: %s. A guest shutdown needs VMware Tools "
                         "running in the guest; use state: powered-off for a hard power-off."
                         % (client.origin, moref, tasks.fault_message(fault)), fault=tasks.fault_message(fault)) from None


def find_folder(client, path):
    """The moref of the VM folder at inventory path ``path`` (``/DC0/vm/restored``), or None when there is none."""
    found = client.content.searchIndex.FindByInventoryPath(inventoryPath=str(path).strip("/"))
    return found._moId if isinstance(found, vim.Folder) else None  # pylint: disable=protected-access
