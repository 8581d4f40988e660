# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Bulk listing of the VMs of a vCenter through the PropertyCollector.

Considered private: only this collection may import it. A paged ``RetrievePropertiesEx`` over a recursive
ContainerView reads the folders, datacenters, hosts, clusters, networks and datastores needed to describe the VMs,
and the VMs' references; then the VMs' properties are read in pages of ``page_size`` VMs named one by one, two pages
at a time (``PARALLEL_PAGES``). Reading VM attributes one by one would be 25-30 times slower even on loopback (see
testbed.md).

The VM pages exist for the parsing to overlap the server's work: while one page is read here, vCenter prepares the
next, instead of the client waiting for the server to gather every VM before the first byte. They also bound what the
server builds at once, which ``maxObjects`` does not do on every server: vcsim ignores it and answers 50,000 VMs with
their devices as one document of about 335 MB, which costs it (and the client) more per VM than pages of 1,000 do. A
VM deleted between the two reads is reported missing by the server and left out (``reportMissingObjectsInResults``).

The work is split in two: ``_xml_record`` turns the retrieved XML values (``_soap``: pyVmomi sends the request, the
answer is parsed with ElementTree, several times faster than pyVmomi's own decoding) into plain dicts, and the pure
functions below (``assemble_vms`` and its helpers) build the result from those dicts, so they are unit-testable
without vCenter.
"""

from __future__ import annotations

import concurrent.futures
import functools

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import NotFound
from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere import _soap
from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere._client import vim, vmodl
from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere._soap import VIM_NAMESPACE, XSI_TYPE

try:
    from pyVmomi import VmomiSupport
except ImportError:
    VmomiSupport = None  # _client reports the missing library when a client is created

VM_PROPERTIES = [
    "name", "parent", "parentVApp", "config.instanceUuid", "config.uuid", "config.template", "runtime.powerState",
    "runtime.host", "snapshot",
]
# The device list is most of the payload (about 6 KB of XML per simulated VM, several times the rest), so callers
# that need no disks or NICs can leave it out.
DEVICE_PROPERTY = "config.hardware.device"
# VM pages under way at once: the server prepares one while the client parses the other. More would only queue on
# the client's single interpreter lock, and load the server more.
PARALLEL_PAGES = 2
# Managed entity type name -> properties read for it. A type also covers its subtypes, both in the ContainerView and
# in a PropertySpec: ComputeResource covers ClusterComputeResource, Network covers DistributedVirtualPortgroup.
CONTEXT_PROPERTIES = {
    "Folder": ["name", "parent"],
    "Datacenter": ["name", "parent"],
    "ComputeResource": ["name", "parent"],
    "HostSystem": ["name", "parent"],
    "Network": ["name"],
    "DistributedVirtualPortgroup": ["key"],
    "Datastore": ["name"],
    "VirtualApp": ["name", "parentFolder"],
}


# -- pure functions over plain dicts ------------------------------------------------------------------------------


def classify_disk_mode(disk_mode, rdm=False):
    """``rdm`` for a raw device mapping, ``independent`` for independent disks, else ``normal``.

    Neither RDM nor independent disks are captured by VM snapshots, so backups do not protect them.
    """
    if rdm:
        return "rdm"
    if disk_mode and str(disk_mode).startswith("independent"):
        return "independent"
    return "normal"


def disk_size_bytes(capacity_bytes, capacity_kb):
    if capacity_bytes:
        return int(capacity_bytes)
    if capacity_kb:
        return int(capacity_kb) * 1024
    return 0


def datastore_from_file_name(file_name):
    """``ds1`` from ``[ds1] web01/web01.vmdk``; None when the name has no datastore part."""
    if file_name and file_name.startswith("[") and "]" in file_name:
        return file_name[1:file_name.index("]")]
    return None


def _ancestors(moref, objects):
    """``moref`` and its parents, nearest first, stopping at the root folder or at an unknown object."""
    chain = []
    seen = set()
    while moref and moref in objects and moref not in seen:
        seen.add(moref)
        chain.append(moref)
        moref = objects[moref].get("parent")
    return chain


def folder_path(moref, objects):
    """Inventory path of a folder, e.g. ``/DC0/vm/sub``; the root folder ("Datacenters") is left out."""
    names = [objects[item].get("name") for item in _ancestors(moref, objects) if objects[item].get("parent")]
    return "/" + "/".join(reversed([name for name in names if name]))


def datacenter_name(moref, objects):
    for item in _ancestors(moref, objects):
        if objects[item].get("type") == "Datacenter":
            return objects[item].get("name")
    return None


def vm_folder(record, objects):
    """Folder moref of a VM; a VM in a vApp has no parent folder, so the vApp's folder stands in."""
    if record.get("parent"):
        return record["parent"]
    vapp = objects.get(record.get("parent_vapp") or "")
    return vapp.get("parent_folder") if vapp else None


def network_name(nic, objects, portgroups_by_key):
    """Name of the network a NIC is backed by: standard network moref, distributed portgroup key, or device name."""
    if nic.get("network") in objects:
        return objects[nic["network"]].get("name")
    if nic.get("portgroup_key") in portgroups_by_key:
        return portgroups_by_key[nic["portgroup_key"]]
    return nic.get("device_name") or nic.get("portgroup_key")


def assemble_disk(disk, objects):
    datastore = objects.get(disk.get("datastore") or "", {}).get("name")
    return {
        "label": disk.get("label"),
        "key": disk.get("key"),
        "size_bytes": disk_size_bytes(disk.get("capacity_bytes"), disk.get("capacity_kb")),
        "mode": classify_disk_mode(disk.get("disk_mode"), disk.get("rdm")),
        "datastore": datastore or datastore_from_file_name(disk.get("file_name")),
    }


def assemble_nic(nic, objects, portgroups_by_key):
    return {
        "label": nic.get("label"),
        "key": nic.get("key"),
        "mac": nic.get("mac"),
        "network": network_name(nic, objects, portgroups_by_key),
        "connected": bool(nic.get("connected")),
        "start_connected": bool(nic.get("start_connected")),
    }


def assemble_vm(moref, record, objects, portgroups_by_key):
    """The contract's dict for one VM from its plain record and the plain context objects.

    ``disks`` and ``nics`` stay None when the record has none because the devices were not read.
    """
    folder = vm_folder(record, objects)
    host = objects.get(record.get("host") or "") or {}
    compute = objects.get(host.get("parent") or "") or {}
    disks, nics = record.get("disks"), record.get("nics")
    return {
        "name": record.get("name"),
        "moref": moref,
        "instance_uuid": record.get("instance_uuid"),
        "bios_uuid": record.get("bios_uuid"),
        "power_state": record.get("power_state"),
        "has_snapshots": bool(record.get("has_snapshots")),
        "folder": folder_path(folder, objects) if folder else None,
        "datacenter": datacenter_name(folder, objects) if folder else None,
        "host": host.get("name"),
        "cluster": compute.get("name") if compute.get("type") == "ClusterComputeResource" else None,
        "template": bool(record.get("template")),
        "disks": None if disks is None else [assemble_disk(disk, objects) for disk in disks],
        "nics": None if nics is None else [assemble_nic(nic, objects, portgroups_by_key) for nic in nics],
    }


def assemble_vms(objects):
    """Every VM among the plain ``objects`` (moref -> record), assembled and sorted by name then moref."""
    portgroups_by_key = {
        record["key"]: record.get("name")
        for record in objects.values()
        if record.get("type") == "DistributedVirtualPortgroup" and record.get("key")
    }
    vms = [
        assemble_vm(moref, record, objects, portgroups_by_key)
        for moref, record in objects.items()
        if record.get("type") == "VirtualMachine"
    ]
    vms.sort(key=lambda vm: (vm["name"] or "", vm["moref"]))
    return vms


# -- XML property values to plain dicts ---------------------------------------------------------------------------
# The answer is read as XML (see ``_soap``); each value reads as pyVmomi would decode it: text for strings and
# references, an absent member as the default of its pyVmomi type, devices and backings classified by their xsi:type
# through pyVmomi's type registry, so that every subtype counts (VirtualVmxnet3, VirtualSriovEthernetCard...).


@functools.lru_cache(maxsize=None)
def _qualified(path):
    return "/".join("{%s}%s" % (VIM_NAMESPACE, part) for part in path.split("/"))


@functools.lru_cache(maxsize=None)
def _wsdl_class(xsi_type):
    """The pyVmomi class named by an xsi:type (``VirtualVmxnet3``, ``vim25:VirtualDisk``); None if unknown."""
    if not xsi_type:
        return None
    try:
        return VmomiSupport.GuessWsdlType(xsi_type.rpartition(":")[2])
    except KeyError:
        return None


def _class_of(element):
    return _wsdl_class(element.get(XSI_TYPE)) if element is not None else None


@functools.lru_cache(maxsize=None)
def _is_a(cls, base):
    return cls is not None and issubclass(cls, base)


@functools.lru_cache(maxsize=None)
def _absent(cls, name):
    """What pyVmomi gives for member ``name`` missing from a ``cls`` answer (``getattr(obj, name, None)``)."""
    return getattr(cls(), name, None) if cls is not None else None


def _text(element):
    """A string or reference value (pyVmomi reads an empty element as ``""``); None when the value is absent."""
    if element is None:
        return None
    return element.text or ""


def _true(element):
    return element is not None and element.text in ("true", "1")


def _member(element, cls, name, convert=None):
    """Member ``name`` of the data object ``element`` of pyVmomi class ``cls``, as ``getattr(obj, name, None)``."""
    if element is None:
        return None
    child = element.find(_qualified(name))
    if child is None:
        return _absent(cls, name)
    text = child.text or ""
    return convert(text) if convert else text


def _label(device):
    info = device.find(_qualified("deviceInfo"))
    return _member(info, vim.Description, "label")


def _xml_disk(device, device_class):
    backing = device.find(_qualified("backing"))
    backing_class = _class_of(backing)
    return {
        "label": _label(device),
        "key": _member(device, device_class, "key", int),
        "capacity_bytes": _member(device, device_class, "capacityInBytes", int),
        "capacity_kb": _member(device, device_class, "capacityInKB", int),
        "disk_mode": _member(backing, backing_class, "diskMode"),
        "rdm": _is_a(backing_class, vim.vm.device.VirtualDisk.RawDiskMappingVer1BackingInfo),
        "datastore": _member(backing, backing_class, "datastore"),
        "file_name": _member(backing, backing_class, "fileName"),
    }


def _xml_nic(device, device_class):
    backing = device.find(_qualified("backing"))
    backing_class = _class_of(backing)
    connectable = device.find(_qualified("connectable"))
    port = backing.find(_qualified("port")) if backing is not None else None
    return {
        "label": _label(device),
        "key": _member(device, device_class, "key", int),
        "mac": _member(device, device_class, "macAddress"),
        "connected": connectable is not None and _true(connectable.find(_qualified("connected"))),
        "start_connected": connectable is not None and _true(connectable.find(_qualified("startConnected"))),
        "network": _member(backing, backing_class, "network"),
        "portgroup_key": _member(port, vim.dvs.PortConnection, "portgroupKey"),
        "device_name": _member(backing, backing_class, "deviceName")
        or _member(backing, backing_class, "opaqueNetworkId"),
    }


@functools.lru_cache(maxsize=None)
def _device_kind(xsi_type):
    """``(kind, pyVmomi class)`` of a device's xsi:type; kind is ``disk``, ``nic`` or None for any other device."""
    device_class = _wsdl_class(xsi_type)
    if _is_a(device_class, vim.vm.device.VirtualDisk):
        return "disk", device_class
    if _is_a(device_class, vim.vm.device.VirtualEthernetCard):
        return "nic", device_class
    return None, device_class


def _xml_devices(devices):
    """``(disks, nics)`` of a ``config.hardware.device`` value (None when the VM has no readable configuration)."""
    disks, nics = [], []
    for device in devices if devices is not None else ():
        kind, device_class = _device_kind(device.get(XSI_TYPE))
        if kind == "disk":
            disks.append(_xml_disk(device, device_class))
        elif kind == "nic":
            nics.append(_xml_nic(device, device_class))
    return disks, nics


def _xml_record(obj_type, props, with_devices=True):
    """The plain record of one retrieved object: its type (WSDL name), ``{property path: <val> element}``."""
    record = {"type": obj_type, "name": _text(props.get("name")), "parent": _text(props.get("parent"))}
    if _is_a(_wsdl_class(obj_type), vim.VirtualMachine):
        snapshot = props.get("snapshot")
        record.update(
            parent_vapp=_text(props.get("parentVApp")),
            instance_uuid=_text(props.get("config.instanceUuid")),
            bios_uuid=_text(props.get("config.uuid")),
            template=_true(props.get("config.template")),
            power_state=_text(props.get("runtime.powerState")) or None,
            host=_text(props.get("runtime.host")),
            has_snapshots=snapshot is not None and snapshot.find(_qualified("rootSnapshotList")) is not None,
            disks=None,
            nics=None,
        )
        if with_devices:
            record["disks"], record["nics"] = _xml_devices(props.get(DEVICE_PROPERTY))
    elif "key" in props:
        record["key"] = _text(props["key"])
    if "parentFolder" in props:
        record["parent_folder"] = _text(props["parentFolder"])
    return record


def _moref(value):
    return value._moId if value is not None else None


def plain_nic(device):
    """One virtual NIC (a pyVmomi object) as plain data, for the restore helpers of ``vms``."""
    backing = device.backing
    connectable = device.connectable
    port = getattr(backing, "port", None)
    return {
        "label": device.deviceInfo.label if device.deviceInfo else None,
        "key": device.key,
        "mac": device.macAddress,
        "connected": bool(connectable and connectable.connected),
        "start_connected": bool(connectable and connectable.startConnected),
        "network": _moref(getattr(backing, "network", None)),
        "portgroup_key": getattr(port, "portgroupKey", None),
        "device_name": getattr(backing, "deviceName", None) or getattr(backing, "opaqueNetworkId", None),
    }


# -- PropertyCollector --------------------------------------------------------------------------------------------


def _context_spec(view):
    """Every object of the ContainerView: the context objects with their properties, the VMs without any (an empty
    ``pathSet`` reads none: only their references, whose properties ``_vm_spec`` reads)."""
    traverse = vmodl.query.PropertyCollector.TraversalSpec(name="view", type=vim.view.ContainerView, path="view",
                                                           skip=False)
    object_spec = vmodl.query.PropertyCollector.ObjectSpec(obj=view, skip=True, selectSet=[traverse])
    property_specs = [vmodl.query.PropertyCollector.PropertySpec(type=vim.VirtualMachine, pathSet=[])]
    for type_name, paths in CONTEXT_PROPERTIES.items():
        property_specs.append(vmodl.query.PropertyCollector.PropertySpec(type=getattr(vim, type_name), pathSet=paths))
    return vmodl.query.PropertyCollector.FilterSpec(objectSet=[object_spec], propSet=property_specs)


def _vm_spec(stub, morefs, with_devices=True):
    """The properties of the VMs ``morefs``; a VM deleted since its reference was read is reported missing."""
    object_specs = [vmodl.query.PropertyCollector.ObjectSpec(obj=vim.VirtualMachine(moref, stub)) for moref in morefs]
    vm_paths = VM_PROPERTIES + [DEVICE_PROPERTY] if with_devices else VM_PROPERTIES
    return vmodl.query.PropertyCollector.FilterSpec(
        objectSet=object_specs, propSet=[vmodl.query.PropertyCollector.PropertySpec(type=vim.VirtualMachine,
                                                                                    pathSet=vm_paths)],
        reportMissingObjectsInResults=True)


def retrieve_all(property_collector, spec_set, page_size):
    """Every ``ObjectContent`` of a retrieval, page by page (``RetrievePropertiesEx`` then the continuation token).

    Decoded by pyVmomi, for the small retrievals of ``vms`` that want pyVmomi objects; bulk listings of many VMs go
    through ``_soap.retrieve_properties``.
    """
    options = vmodl.query.PropertyCollector.RetrieveOptions(maxObjects=page_size)
    result = property_collector.RetrievePropertiesEx(specSet=spec_set, options=options)
    while result is not None:
        yield from result.objects or []
        if not result.token:
            return
        result = property_collector.ContinueRetrievePropertiesEx(token=result.token)


def _read_pages(read, pages, workers):
    """``[read(page) for page in pages]`` with at most ``workers`` pages under way; the first error is raised."""
    if len(pages) <= 1 or workers <= 1:
        return [read(page) for page in pages]
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(read, page) for page in pages]
        try:
            return [future.result() for future in futures]
        except BaseException:
            for future in futures:
                future.cancel()  # pages not started yet are dropped; the ones under way end on their own
            raise


def collect_records(client, page_size=1000, devices=True, workers=PARALLEL_PAGES):
    """moref -> plain record for every VM and every context object of the vCenter."""
    content = client.content
    types = [vim.VirtualMachine] + [getattr(vim, name) for name in CONTEXT_PROPERTIES]
    options = vmodl.query.PropertyCollector.RetrieveOptions(maxObjects=page_size)
    try:
        view = content.viewManager.CreateContainerView(content.rootFolder, types, True)
    except vmodl.MethodFault as fault:
        raise _soap.fault_error(client.origin, "CreateContainerView", fault._wsdlName, fault.msg) from None
    records, vm_morefs = {}, []
    try:
        for obj_type, moref, props in _soap.retrieve_properties(client, [_context_spec(view)], options):
            if _is_a(_wsdl_class(obj_type), vim.VirtualMachine):
                vm_morefs.append(moref)
            else:
                records[moref] = _xml_record(obj_type, props, devices)
    finally:
        view.Destroy()

    def read_page(morefs):
        spec = _vm_spec(client.si._stub, morefs, devices)  # pylint: disable=protected-access
        return [(moref, _xml_record(obj_type, props, devices))
                for obj_type, moref, props in _soap.retrieve_properties(client, [spec], options)]

    pages = [vm_morefs[start:start + page_size] for start in range(0, len(vm_morefs), page_size)]
    for page in _read_pages(read_page, pages, workers):
        records.update(page)
    return records


def list_vms(client, page_size=1000, devices=True):
    """Every VM (templates included) as the contract's dicts, sorted by name.

    ``devices=False`` skips reading the virtual hardware: ``disks`` and ``nics`` are then None, and the listing is
    several times faster.
    """
    return assemble_vms(collect_records(client, page_size, devices))


def find_vm_by_moref(client, moref):
    """The ``vim.VirtualMachine`` with this moref (e.g. ``vm-42``); ``NotFound`` when vCenter has none."""
    vm = vim.VirtualMachine(moref, client.si._stub)
    # Building the reference checks nothing; reading one property proves that the VM exists.
    try:
        vm.name  # pylint: disable=pointless-statement
    except vmodl.fault.ManagedObjectNotFound:
        raise NotFound(None, description="vCenter %s has no VM with moref '%s'" % (client.origin, moref)) from None
    return vm
