# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fast vCenter listing (XML read with ElementTree) against pyVmomi's own decoding of the same properties.

The reference below is written here on purpose, independently of the collection: its own PropertyCollector request,
through its own plain pyVmomi session, lets pyVmomi decode the answer into its objects and reads them the obvious way.
The collection's listing (called through the collection's VsphereClient) is the thing under test. Every VM of the lab
must give the same plain record both ways, after the lab got an independent disk on one VM and a snapshot on another.
"""

from __future__ import annotations

import contextlib
import uuid

import pytest
from pyVmomi import vim, vmodl

import vcenter
from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere import listing

pytestmark = pytest.mark.integration
SOURCE_VM = "DC0_H0_VM0"
# What a listing of VMs must read, with the context that places them (folders, hosts, clusters, networks, datastores,
# vApps); a type also covers its subtypes.
VM_PATHS = ["name", "parent", "parentVApp", "config.instanceUuid", "config.uuid", "config.template",
            "runtime.powerState", "runtime.host", "snapshot", "config.hardware.device"]
CONTEXT_PATHS = {
    "Folder": ["name", "parent"],
    "Datacenter": ["name", "parent"],
    "ComputeResource": ["name", "parent"],
    "HostSystem": ["name", "parent"],
    "Network": ["name"],
    "DistributedVirtualPortgroup": ["key"],
    "Datastore": ["name"],
    "VirtualApp": ["name", "parentFolder"],
}


# -- the reference: pyVmomi objects -------------------------------------------------------------------------------


def _moref(value):
    return value._moId if value is not None else None  # pylint: disable=protected-access


def _reference_disk(device):
    backing = device.backing
    return {
        "label": device.deviceInfo.label if device.deviceInfo else None,
        "key": device.key,
        "capacity_bytes": getattr(device, "capacityInBytes", None),
        "capacity_kb": getattr(device, "capacityInKB", None),
        "disk_mode": getattr(backing, "diskMode", None),
        "rdm": isinstance(backing, vim.vm.device.VirtualDisk.RawDiskMappingVer1BackingInfo),
        "datastore": _moref(getattr(backing, "datastore", None)),
        "file_name": getattr(backing, "fileName", None),
    }


def _reference_nic(device):
    backing = device.backing
    connectable = device.connectable
    return {
        "label": device.deviceInfo.label if device.deviceInfo else None,
        "key": device.key,
        "mac": device.macAddress,
        "connected": bool(connectable and connectable.connected),
        "start_connected": bool(connectable and connectable.startConnected),
        "network": _moref(getattr(backing, "network", None)),
        "portgroup_key": getattr(getattr(backing, "port", None), "portgroupKey", None),
        "device_name": getattr(backing, "deviceName", None) or getattr(backing, "opaqueNetworkId", None),
    }


def _reference_record(content):
    props = {prop.name: prop.val for prop in content.propSet}
    obj = content.obj
    record = {"type": obj._wsdlName, "name": props.get("name"), "parent": _moref(props.get("parent"))}
    if isinstance(obj, vim.VirtualMachine):
        devices = props.get("config.hardware.device") or []
        snapshot = props.get("snapshot")
        record.update(
            parent_vapp=_moref(props.get("parentVApp")),
            instance_uuid=props.get("config.instanceUuid"),
            bios_uuid=props.get("config.uuid"),
            template=bool(props.get("config.template")),
            power_state=str(props["runtime.powerState"]) if props.get("runtime.powerState") else None,
            host=_moref(props.get("runtime.host")),
            has_snapshots=bool(snapshot and snapshot.rootSnapshotList),
            disks=[_reference_disk(d) for d in devices if isinstance(d, vim.vm.device.VirtualDisk)],
            nics=[_reference_nic(d) for d in devices if isinstance(d, vim.vm.device.VirtualEthernetCard)],
        )
    elif "key" in props:
        record["key"] = props["key"]
    if "parentFolder" in props:
        record["parent_folder"] = _moref(props["parentFolder"])
    return _moref(obj), record


def _filter_spec(view):
    traverse = vmodl.query.PropertyCollector.TraversalSpec(name="view", type=vim.view.ContainerView, path="view",
                                                           skip=False)
    property_specs = [vmodl.query.PropertyCollector.PropertySpec(type=vim.VirtualMachine, pathSet=VM_PATHS)]
    property_specs += [vmodl.query.PropertyCollector.PropertySpec(type=getattr(vim, name), pathSet=paths)
                       for name, paths in CONTEXT_PATHS.items()]
    return vmodl.query.PropertyCollector.FilterSpec(
        objectSet=[vmodl.query.PropertyCollector.ObjectSpec(obj=view, skip=True, selectSet=[traverse])],
        propSet=property_specs)


def reference_records(client):
    """moref -> record, from a PropertyCollector request of our own, decoded by pyVmomi."""
    content = client.content
    types = [vim.VirtualMachine] + [getattr(vim, name) for name in CONTEXT_PATHS]
    view = content.viewManager.CreateContainerView(content.rootFolder, types, True)
    try:
        collector = content.propertyCollector
        options = vmodl.query.PropertyCollector.RetrieveOptions(maxObjects=2)
        result = collector.RetrievePropertiesEx(specSet=[_filter_spec(view)], options=options)
        records = {}
        while result is not None:
            records.update(_reference_record(item) for item in result.objects)
            result = collector.ContinueRetrievePropertiesEx(token=result.token) if result.token else None
        return records
    finally:
        view.Destroy()


# -- the test -----------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def cloned_vms(client, count):
    names = ["list-%s" % uuid.uuid4().hex[:6] for _index in range(count)]
    try:
        for name in names:
            vcenter.clone_vm(client, SOURCE_VM, name)
        yield names
    finally:
        for name in names:
            vcenter.destroy_vm(client, name)


def test_fast_listing_equals_pyvmomi_decoding(lab_env):
    collection_client = lab_env.vsphere_client()  # the collection's own client: its listing is under test
    try:
        with lab_env.vcenter() as client, cloned_vms(client, 2) as (with_independent_disk, with_snapshot):
            vcenter.add_disk(client, with_independent_disk, "Hard disk 2", disk_mode="independent_persistent")
            vcenter.take_snapshot(client, with_snapshot)

            expected = reference_records(client)
            records = listing.collect_records(collection_client, page_size=2)

            assert records.keys() == expected.keys()
            for moref, record in expected.items():
                assert records[moref] == record, moref
            by_name = {record["name"]: record for record in records.values() if record["type"] == "VirtualMachine"}
            assert [disk["disk_mode"] for disk in by_name[with_independent_disk]["disks"]] == \
                ["persistent", "independent_persistent"]
            assert by_name[with_snapshot]["has_snapshots"] and not by_name[with_independent_disk]["has_snapshots"]
            assert all(record["nics"] for record in by_name.values()), "every lab VM has a NIC"

            vms = listing.list_vms(collection_client)
            assert vms == listing.assemble_vms(expected)
            listed = next(vm for vm in vms if vm["name"] == with_independent_disk)
            assert [disk["mode"] for disk in listed["disks"]] == ["normal", "independent"]
    finally:
        collection_client.disconnect()
