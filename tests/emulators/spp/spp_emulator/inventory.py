"""The Hypervisor Inventory: one paged PropertyCollector retrieval of the whole vCenter, turned into records.

Ids are stable hashes of (vCenter instance UUID, moref[, device key]) so that the same VM keeps its id from one
inventory run to the next, and a VM recreated under another moref gets a new one.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from pyVmomi import VmomiSupport, vim

from .ids import now_ms, stable_id
from .model import HYPERVISOR_ID, Cluster, Disk, Host, Inventory, Network, Nic, Vm, Volume
from .vcenter import VIM_NAMESPACE, XSI_TYPE, PropertyCollector, RetrieveFailed, container_spec, retrieve_raw

VM_PROPERTIES = [
    "name",
    "parent",
    "resourcePool",
    "config.instanceUuid",
    "config.uuid",
    "config.guestId",
    "config.template",
    "config.hardware.numCPU",
    "config.hardware.memoryMB",
    "config.hardware.device",
    "runtime.powerState",
    "runtime.host",
    "snapshot",
    "summary.config.vmPathName",
]

_OTHER_PROPERTIES = {
    # A standard port group is a network of the host that defines it, whether or not vCenter links the two in
    # host.network (the simulator does not for port groups added with AddPortGroup).
    vim.HostSystem: ["name", "parent", "network", "datastore", "config.network.portgroup"],
    vim.ComputeResource: ["name", "parent", "resourcePool"],  # also matches ClusterComputeResource
    vim.Datastore: ["name", "summary.capacity", "summary.freeSpace", "host"],
    vim.Folder: ["name", "parent"],
    vim.Datacenter: ["name", "parent"],
    vim.Network: ["name", "parent"],  # also matches distributed portgroups
    vim.dvs.DistributedVirtualPortgroup: ["key", "config.distributedVirtualSwitch"],
    vim.DistributedVirtualSwitch: ["uuid"],
}

# --- reading XML property values (see vcenter.retrieve_raw) ----------------------------------------------------


@functools.lru_cache(maxsize=None)
def _qualified(path: str) -> str:
    return "/".join(VIM_NAMESPACE + part for part in path.split("/"))


def _text(element: Element | None, path: str | None = None) -> str | None:
    if element is None:
        return None
    return element.text if path is None else element.findtext(_qualified(path))


def _int(element: Element | None, path: str | None = None) -> int:
    text = _text(element, path)
    return int(text) if text else 0


def _true(element: Element | None, path: str | None = None) -> bool:
    return _text(element, path) == "true"


def _xsi_type(element: Element) -> str:
    return element.get(XSI_TYPE, "").rsplit(":", 1)[-1]


def _children_text(element: Element | None, path: str | None = None) -> list[str]:
    if element is None:
        return []
    children = element if path is None else element.iterfind(_qualified(path))
    return [child.text for child in children]


@functools.lru_cache(maxsize=None)
def _is_nic(wsdl_type: str) -> bool:
    try:
        return issubclass(VmomiSupport.GetWsdlType("urn:vim25", wsdl_type), vim.vm.device.VirtualEthernetCard)
    except KeyError:
        return False


def _kind(wsdl_type: str) -> str:
    """The vSphere type of a retrieved object, with switch subtypes folded into one kind."""
    return "DistributedVirtualSwitch" if wsdl_type.endswith("DistributedVirtualSwitch") else wsdl_type


@dataclass
class Topology:
    """What is needed to turn VM properties into a Vm record: names and parents of everything around VMs."""

    vcenter_uuid: str
    parents: dict[str, tuple[str, str, str | None]] = field(default_factory=dict)  # moref -> (kind, name, parent)
    hosts: dict[str, Host] = field(default_factory=dict)  # by moref
    networks: dict[str, Network] = field(default_factory=dict)  # by moref
    networks_by_portgroup: dict[str, Network] = field(default_factory=dict)
    network_datacenters: dict[str, str] = field(default_factory=dict)  # network moref -> datacenter name
    datastore_names: dict[str, str] = field(default_factory=dict)

    def id_of(self, *parts: str) -> str:
        return stable_id(self.vcenter_uuid, *parts)

    def chain(self, moref: str | None) -> list[tuple[str, str, str]]:
        """(kind, name, moref) from the datacenter down to moref (inclusive)."""
        chain = []
        while moref and moref in self.parents:
            kind, name, parent = self.parents[moref]
            chain.append((kind, name, moref))
            if kind == "Datacenter":
                break
            moref = parent
        return list(reversed(chain))


# --- reading -------------------------------------------------------------------------------------------------


def read_inventory(service_instance, vcenter_uuid: str) -> Inventory:
    """Read every VM, host, cluster, datastore, network and folder in one paged retrieval."""
    object_specs, view = container_spec(service_instance, [vim.VirtualMachine, *_OTHER_PROPERTIES])
    property_specs = [PropertyCollector.PropertySpec(type=vim.VirtualMachine, pathSet=VM_PROPERTIES)]
    property_specs += [
        PropertyCollector.PropertySpec(type=kind, pathSet=paths) for kind, paths in _OTHER_PROPERTIES.items()
    ]
    others: dict[str, list[tuple[str, dict]]] = {}
    vm_sources: list[tuple[str, dict]] = []
    try:
        for wsdl_type, moref, props in retrieve_raw(service_instance, object_specs, property_specs):
            kind = _kind(wsdl_type)
            if kind == "VirtualMachine":
                # Converted once the topology (which may arrive later in the stream) is known.
                vm_sources.append((moref, _vm_source(props)))
            else:
                others.setdefault(kind, []).append((moref, _plain(kind, props)))
    finally:
        view.DestroyView()
    return _build(vcenter_uuid, others, vm_sources)


def read_vm(service_instance, moref: str, topology: Topology) -> Vm | None:
    """A fresh record of one VM (None when it no longer exists), placed with the last inventory's topology."""
    vm = vim.VirtualMachine(moref, service_instance._stub)  # pylint: disable=protected-access
    spec = PropertyCollector.PropertySpec(type=vim.VirtualMachine, pathSet=VM_PROPERTIES)
    try:
        for item in retrieve_raw(service_instance, [PropertyCollector.ObjectSpec(obj=vm)], [spec]):
            source = _vm_source(item[2])
            return _vm(moref, source, topology) if source["instance_uuid"] else None
    except RetrieveFailed as error:
        if error.fault == "ManagedObjectNotFound":
            return None
        raise
    return None


def _plain(kind: str, props: dict[str, Element]) -> dict:
    """The non-VM properties as plain values."""
    plain = {"name": _text(props.get("name")), "parent": _text(props.get("parent"))}
    if kind == "HostSystem":
        plain["network"] = _children_text(props.get("network"))
        plain["datastore"] = _children_text(props.get("datastore"))
        plain["portgroups"] = _children_text(props.get("config.network.portgroup"), "HostPortGroup/spec/name")
    elif kind in ("ComputeResource", "ClusterComputeResource"):
        plain["resourcePool"] = _text(props.get("resourcePool"))
    elif kind == "Datastore":
        plain["capacity"] = _int(props.get("summary.capacity"))
        plain["free"] = _int(props.get("summary.freeSpace"))
        mounts = props.get("host")
        plain["mounts"] = [mount.findtext(_qualified("key")) for mount in mounts] if mounts is not None else []
    elif kind == "DistributedVirtualPortgroup":
        plain["key"] = _text(props.get("key"))
        plain["switch"] = _text(props.get("config.distributedVirtualSwitch"))
    elif kind == "DistributedVirtualSwitch":
        plain["uuid"] = _text(props.get("uuid"))
    return plain


def _vm_source(props: dict[str, Element]) -> dict:
    """VM properties as plain values; devices reduced to the disks and NICs."""
    devices = props.get("config.hardware.device")
    return {
        "name": _text(props.get("name")),
        "parent": _text(props.get("parent")),
        "resource_pool": _text(props.get("resourcePool")),
        "instance_uuid": _text(props.get("config.instanceUuid")),
        "bios_uuid": _text(props.get("config.uuid")) or "",
        "guest_id": _text(props.get("config.guestId")) or "otherGuest",
        "template": _true(props.get("config.template")),
        "num_cpu": _int(props.get("config.hardware.numCPU")) or 1,
        "memory_mb": _int(props.get("config.hardware.memoryMB")),
        "power_state": _text(props.get("runtime.powerState")) or "poweredOff",
        "host": _text(props.get("runtime.host")),
        "has_snapshots": props.get("snapshot") is not None,
        "vmx_path": _text(props.get("summary.config.vmPathName")),
        "disks": [device for device in devices if _xsi_type(device) == "VirtualDisk"] if devices is not None else [],
        "nics": [device for device in devices if _is_nic(_xsi_type(device))] if devices is not None else [],
    }


def _build(
    vcenter_uuid: str, others: dict[str, list[tuple[str, dict]]], vm_sources: list[tuple[str, dict]]
) -> Inventory:
    topology = Topology(vcenter_uuid)
    for kind in ("Folder", "Datacenter", "ComputeResource", "ClusterComputeResource", "HostSystem"):
        for moref, props in others.get(kind, []):
            topology.parents[moref] = (kind, props["name"] or moref, props["parent"])
    topology.datastore_names = {moref: props["name"] or moref for moref, props in others.get("Datastore", [])}
    _add_networks(topology, others)
    clusters = _clusters(topology, others)
    hosts = _hosts(topology, others, clusters)
    volumes = _volumes(topology, others, hosts)
    vms = {}
    for moref, source in vm_sources:
        if source["instance_uuid"]:  # VMs whose configuration cannot be read are not inventoried
            vm = _vm(moref, source, topology)
            vms[vm.id] = vm
    folders_by_path = {
        _path(topology.chain(moref)): moref for moref, parent in topology.parents.items() if parent[0] == "Folder"
    }
    return Inventory(
        vms=vms,
        hosts=hosts,
        clusters=clusters,
        volumes=volumes,
        networks={network.id: network for network in topology.networks.values()},
        folders_by_path=folders_by_path,
        taken_ms=now_ms(),
        topology=topology,
    )


def _add_networks(topology: Topology, others: dict) -> None:
    switch_uuids = {moref: props["uuid"] for moref, props in others.get("DistributedVirtualSwitch", [])}
    for kind in ("Network", "DistributedVirtualPortgroup", "OpaqueNetwork"):
        for moref, props in others.get(kind, []):
            network = Network(
                id=topology.id_of(moref),
                moref=moref,
                name=props["name"] or moref,
                portgroup_key=props.get("key"),
                switch_uuid=switch_uuids.get(props.get("switch")),
            )
            topology.networks[moref] = network
            topology.network_datacenters[moref] = _datacenter_name(topology, props.get("parent") or "")
            if network.portgroup_key:
                topology.networks_by_portgroup[network.portgroup_key] = network


def _clusters(topology: Topology, others: dict) -> dict[str, Cluster]:
    hosts_by_parent: dict[str, list[str]] = {}
    for moref, props in others.get("HostSystem", []):
        hosts_by_parent.setdefault(props["parent"], []).append(topology.id_of(moref))
    clusters = {}
    for moref, props in others.get("ClusterComputeResource", []):
        cluster = Cluster(
            id=topology.id_of(moref),
            moref=moref,
            name=props["name"] or moref,
            datacenter_name=_datacenter_name(topology, moref),
            resource_pool_moref=props.get("resourcePool"),
            host_ids=tuple(hosts_by_parent.get(moref, ())),
        )
        clusters[cluster.id] = cluster
    return clusters


def _hosts(topology: Topology, others: dict, clusters: dict[str, Cluster]) -> dict[str, Host]:
    pools = {
        moref: props.get("resourcePool")
        for kind in ("ComputeResource", "ClusterComputeResource")
        for moref, props in others.get(kind, [])
    }
    orphans = _orphan_networks(topology, others)
    for moref, props in others.get("HostSystem", []):
        cluster = clusters.get(topology.id_of(props["parent"] or ""))
        topology.hosts[moref] = Host(
            id=topology.id_of(moref),
            moref=moref,
            name=props["name"] or moref,
            datacenter_name=_datacenter_name(topology, moref),
            cluster_id=cluster.id if cluster else None,
            cluster_name=cluster.name if cluster else None,
            resource_pool_moref=pools.get(props["parent"]),
            network_ids=_host_network_ids(topology, moref, props, orphans),
            volume_ids=tuple(topology.id_of(ds) for ds in props["datastore"]),
        )
    return {host.id: host for host in topology.hosts.values()}


def _host_network_ids(topology: Topology, host_moref: str, props: dict, orphans: set[str]) -> tuple[str, ...]:
    # Network names repeat across datacenters: a port group or an orphan is a network of the host's datacenter only.
    datacenter = _datacenter_name(topology, host_moref)
    nearby = {moref for moref, name in topology.network_datacenters.items() if name in (datacenter, "")}
    morefs = set(props["network"]) | (orphans & nearby)
    portgroups = set(props.get("portgroups") or ())
    morefs.update(moref for moref, net in topology.networks.items()
                  if not net.portgroup_key and net.name in portgroups and moref in nearby)
    return tuple(topology.id_of(moref) for moref in sorted(morefs))


def _orphan_networks(topology: Topology, others: dict) -> set[str]:
    """Standard networks that no host lists. In vSphere a port group belongs to the hosts that define it; the
    simulator's AddPortGroup creates the network without linking it to the host, so such a network is taken as
    defined on every host (a simulator gap, not SPP behaviour)."""
    claimed = {moref for _moref, props in others.get("HostSystem", []) for moref in props["network"]}
    return {moref for moref, net in topology.networks.items() if not net.portgroup_key and moref not in claimed}


def _volumes(topology: Topology, others: dict, hosts: dict[str, Host]) -> dict[str, Volume]:
    volumes = {}
    for moref, props in others.get("Datastore", []):
        volume_id = topology.id_of(moref)
        # A host that lists the datastore sees it, even when the datastore's own mount list is shorter.
        host_ids = {topology.id_of(host) for host in props["mounts"] if host}
        host_ids |= {host.id for host in hosts.values() if volume_id in host.volume_ids}
        volumes[volume_id] = Volume(
            id=volume_id,
            moref=moref,
            name=props["name"] or moref,
            capacity=props["capacity"],
            free=props["free"],
            host_ids=tuple(sorted(host_ids)),
            cluster_ids=tuple(sorted({hosts[h].cluster_id for h in host_ids if h in hosts and hosts[h].cluster_id})),
        )
    return volumes


def _datacenter_name(topology: Topology, moref: str) -> str:
    chain = topology.chain(moref)
    return chain[0][1] if chain and chain[0][0] == "Datacenter" else ""


def _path(chain: list[tuple[str, str, str]]) -> str:
    return "/" + "/".join(link[1] for link in chain)


def _vm(moref: str, source: dict, topology: Topology) -> Vm:
    chain = topology.chain(source["parent"])
    datacenter = chain[0] if chain and chain[0][0] == "Datacenter" else ("Datacenter", "", "")
    host = topology.hosts.get(source["host"] or "")
    keys = [f"{'DC' if kind == 'Datacenter' else 'FLDR'}:{ref}" for kind, _name, ref in chain]
    return Vm(
        id=topology.id_of(moref),
        name=source["name"] or moref,
        moref=moref,
        instance_uuid=source["instance_uuid"],
        bios_uuid=source["bios_uuid"],
        guest_id=source["guest_id"],
        num_cpu=source["num_cpu"],
        memory_mb=source["memory_mb"],
        power_state=source["power_state"],
        template=source["template"],
        has_snapshots=source["has_snapshots"],
        datacenter_name=datacenter[1],
        datacenter_moref=datacenter[2],
        folder_path=_path(chain),
        folder_moref=source["parent"] or "",
        host_id=host.id if host else None,
        host_moref=host.moref if host else None,
        host_name=host.name if host else None,
        cluster_id=host.cluster_id if host else None,
        cluster_name=host.cluster_name if host else None,
        resource_pool_moref=source["resource_pool"] or (host.resource_pool_moref if host else None),
        vmx_path=source["vmx_path"],
        metadata_path="/".join([f"/MS:{HYPERVISOR_ID}", *keys, f"VM:{moref}"]),
        disks=tuple(_disk(moref, device, topology) for device in source["disks"]),
        nics=tuple(_nic(device, topology) for device in source["nics"]),
    )


def _disk(vm_moref: str, device: Element, topology: Topology) -> Disk:
    key = _int(device, "key")
    backing = device.find(_qualified("backing"))
    disk_mode = _text(backing, "diskMode") or "persistent"
    if backing is not None and _xsi_type(backing) == "VirtualDiskRawDiskMappingVer1BackingInfo":
        mode = "rdm"
    elif disk_mode.startswith("independent"):
        mode = "independent"
    else:
        mode = "normal"
    return Disk(
        id=topology.id_of(vm_moref, str(key)),
        key=key,
        label=_text(device, "deviceInfo/label") or f"disk {key}",
        size_bytes=_int(device, "capacityInBytes") or _int(device, "capacityInKB") * 1024,
        mode=mode,
        disk_mode=disk_mode,
        datastore_name=topology.datastore_names.get(_text(backing, "datastore") or ""),
        file_name=_text(backing, "fileName"),
        datastore_moref=_text(backing, "datastore") or None,
    )


def _nic(device: Element, topology: Topology) -> Nic:
    key = _int(device, "key")
    backing = device.find(_qualified("backing"))
    portgroup_key = _text(backing, "port/portgroupKey")
    if portgroup_key:
        network = topology.networks_by_portgroup.get(portgroup_key)
    else:
        network = topology.networks.get(_text(backing, "network") or "")
        device_name = _text(backing, "deviceName")
        if network is None and device_name:
            network = next((net for net in topology.networks.values() if net.name == device_name), None)
    return Nic(
        key=key,
        label=_text(device, "deviceInfo/label") or f"nic {key}",
        device_type=_xsi_type(device),
        mac=_text(device, "macAddress") or "",
        address_type=_text(device, "addressType") or "generated",
        network_name=network.name if network else _text(backing, "deviceName"),
        network_moref=network.moref if network else None,
        portgroup_key=portgroup_key,
        switch_uuid=_text(backing, "port/switchUuid"),
        connected=_true(device, "connectable/connected"),
        start_connected=_true(device, "connectable/startConnected"),
    )
