"""The changes a backup server makes in vCenter: snapshots, new VMs, NIC and identity changes, power, removal."""

from __future__ import annotations

from dataclasses import dataclass

from pyVmomi import vim

from .vcenter import object_properties, vm_by_moref, wait_for_task

SCSI_CONTROLLER_KEY = -100
SCSI_RESERVED_UNIT = 7  # the controller's own unit number


@dataclass(frozen=True)
class NetworkTarget:
    """Where a NIC attaches: a standard network (moref + name) or a distributed portgroup (key + switch)."""

    name: str | None
    moref: str | None = None
    portgroup_key: str | None = None
    switch_uuid: str | None = None

    @classmethod
    def from_recorded(cls, network: dict) -> NetworkTarget:
        return cls(network.get("name"), network.get("moref"), network.get("portgroupKey"), network.get("switchUuid"))


def _managed(service_instance, kind, moref: str | None):
    return kind(moref, service_instance._stub) if moref else None  # pylint: disable=protected-access


def find_vm(service_instance, moref: str | None) -> vim.VirtualMachine | None:
    """The VM with this moref, or None when it does not exist (any more)."""
    if not moref:
        return None
    vm = vm_by_moref(service_instance, moref)
    return vm if object_properties(service_instance, vm, vim.VirtualMachine, ["name"]) else None


def vm_property(service_instance, vm, path: str):
    return (object_properties(service_instance, vm, vim.VirtualMachine, [path]) or {}).get(path)


# --- snapshots -----------------------------------------------------------------------------------------------


def create_snapshot(service_instance, vm, name: str, description: str, quiesce: bool):
    task = vm.CreateSnapshot_Task(name=name, description=description, memory=False, quiesce=quiesce)
    return wait_for_task(service_instance, task)


def remove_snapshot(service_instance, snapshot) -> None:
    wait_for_task(service_instance, snapshot.RemoveSnapshot_Task(removeChildren=False))


# --- power, name, removal ------------------------------------------------------------------------------------


def power_on(service_instance, vm) -> None:
    if vm_property(service_instance, vm, "runtime.powerState") != "poweredOn":
        wait_for_task(service_instance, vm.PowerOnVM_Task())


def power_off(service_instance, vm) -> None:
    if vm_property(service_instance, vm, "runtime.powerState") == "poweredOn":
        wait_for_task(service_instance, vm.PowerOffVM_Task())


def destroy(service_instance, vm) -> None:
    power_off(service_instance, vm)
    wait_for_task(service_instance, vm.Destroy_Task())


def rename(service_instance, vm, name: str) -> None:
    wait_for_task(service_instance, vm.Rename_Task(newName=name))


# --- new VMs -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Placement:
    folder_moref: str
    pool_moref: str | None
    host_moref: str | None
    datastore_moref: str | None = None  # mapRRPdatastore: where the new VM's files go; None: as the source
    datastore_name: str | None = None


def clone_vm(service_instance, source, name: str, placement: Placement, instance_uuid: str | None = None):
    """A powered-off full clone of source. NICs keep the source's MACs until reconfigure_nics changes them."""
    relocate = vim.vm.RelocateSpec(
        pool=_managed(service_instance, vim.ResourcePool, placement.pool_moref),
        host=_managed(service_instance, vim.HostSystem, placement.host_moref),
        datastore=_managed(service_instance, vim.Datastore, placement.datastore_moref),
    )
    spec = vim.vm.CloneSpec(location=relocate, powerOn=False, template=False)
    if instance_uuid:
        spec.config = vim.vm.ConfigSpec(instanceUuid=instance_uuid)
    folder = _managed(service_instance, vim.Folder, placement.folder_moref)
    clone = wait_for_task(service_instance, source.CloneVM_Task(folder=folder, name=name, spec=spec))
    host = vm_property(service_instance, clone, "runtime.host")
    if placement.host_moref and host is not None and host._moId != placement.host_moref:  # pylint: disable=W0212
        # The simulator places clones on the source's host whatever the spec says; a real vCenter does not.
        wait_for_task(service_instance, clone.RelocateVM_Task(spec=relocate))
    return clone


def create_vm(
    service_instance, config: dict, name: str, placement: Placement, *, instance_uuid: str | None, keep_macs: bool
):
    """A powered-off VM rebuilt from a recorded configuration (the original no longer exists)."""
    recorded = next((disk["datastore"] for disk in config["disks"] if disk.get("datastore")), None)
    datastore = placement.datastore_name or recorded
    changes = [
        vim.vm.device.VirtualDeviceSpec(
            operation="add",
            device=vim.vm.device.ParaVirtualSCSIController(key=SCSI_CONTROLLER_KEY, busNumber=0, sharedBus="noSharing"),
        )
    ]
    units = (unit for unit in range(64) if unit != SCSI_RESERVED_UNIT)
    for index, disk in enumerate(config["disks"]):
        backing = vim.vm.device.VirtualDisk.FlatVer2BackingInfo(
            fileName=f"[{placement.datastore_name or disk.get('datastore') or datastore}]",
            diskMode=disk.get("diskMode") or "persistent",
            thinProvisioned=True,
        )
        device = vim.vm.device.VirtualDisk(
            key=-(index + 1),
            controllerKey=SCSI_CONTROLLER_KEY,
            unitNumber=next(units),
            capacityInKB=max(1, disk["sizeBytes"] // 1024),
            backing=backing,
        )
        changes.append(vim.vm.device.VirtualDeviceSpec(operation="add", fileOperation="create", device=device))
    for index, nic in enumerate(config["nics"]):
        device_class = getattr(vim.vm.device, nic.get("deviceType") or "", None) or vim.vm.device.VirtualVmxnet3
        device = device_class(key=-(1000 + index))
        device.backing = _nic_backing(service_instance, NetworkTarget.from_recorded(nic["network"]))
        device.connectable = vim.vm.device.VirtualDevice.ConnectInfo(
            connected=nic["connected"], startConnected=nic["startConnected"], allowGuestControl=True
        )
        if keep_macs and nic.get("mac"):
            device.addressType, device.macAddress = "manual", nic["mac"]
        else:
            device.addressType = "generated"
        changes.append(vim.vm.device.VirtualDeviceSpec(operation="add", device=device))
    spec = vim.vm.ConfigSpec(
        name=name,
        guestId=config.get("guestId") or "otherGuest",
        numCPUs=config.get("numCPU") or 1,
        memoryMB=config.get("memoryMB") or 32,
        files=vim.vm.FileInfo(vmPathName=f"[{datastore}]" if datastore else ""),
        deviceChange=changes,
    )
    if instance_uuid:
        spec.instanceUuid = instance_uuid
    folder = _managed(service_instance, vim.Folder, placement.folder_moref)
    task = folder.CreateVM_Task(
        config=spec,
        pool=_managed(service_instance, vim.ResourcePool, placement.pool_moref),
        host=_managed(service_instance, vim.HostSystem, placement.host_moref),
    )
    return wait_for_task(service_instance, task)


# --- NICs and identity ---------------------------------------------------------------------------------------


def _nic_backing(service_instance, target: NetworkTarget):
    if target.portgroup_key:
        port = vim.dvs.PortConnection(switchUuid=target.switch_uuid, portgroupKey=target.portgroup_key)
        return vim.vm.device.VirtualEthernetCard.DistributedVirtualPortBackingInfo(port=port)
    return vim.vm.device.VirtualEthernetCard.NetworkBackingInfo(
        deviceName=target.name, network=_managed(service_instance, vim.Network, target.moref)
    )


@dataclass(frozen=True)
class NicChange:
    """What to do with one NIC (NICs are taken in device-key order)."""

    connected: bool
    network: NetworkTarget | None = None  # None: stay on the current network
    mac: str | None = None  # a fixed MAC to set; None with new_mac False keeps the current one
    new_mac: bool = False  # let vCenter generate a fresh MAC


def reconfigure(service_instance, vm, nic_changes: list[NicChange], instance_uuid: str | None = None) -> None:
    """Apply NIC changes (and optionally a new instance UUID) in one ReconfigVM task."""
    devices = vm_property(service_instance, vm, "config.hardware.device") or []
    nics = sorted((d for d in devices if isinstance(d, vim.vm.device.VirtualEthernetCard)), key=lambda d: d.key)
    device_changes = []
    for nic, change in zip(nics, nic_changes):
        nic.connectable = nic.connectable or vim.vm.device.VirtualDevice.ConnectInfo(allowGuestControl=True)
        nic.connectable.connected = change.connected
        nic.connectable.startConnected = change.connected
        if change.network is not None:
            nic.backing = _nic_backing(service_instance, change.network)
        if change.new_mac:
            nic.addressType, nic.macAddress = "generated", None
        elif change.mac:
            nic.addressType, nic.macAddress = "manual", change.mac
        device_changes.append(vim.vm.device.VirtualDeviceSpec(operation="edit", device=nic))
    spec = vim.vm.ConfigSpec(deviceChange=device_changes)
    if instance_uuid:
        spec.instanceUuid = instance_uuid
    wait_for_task(service_instance, vm.ReconfigVM_Task(spec=spec))


def identity(service_instance, vm) -> tuple[str, list[str]]:
    """(instance UUID, MAC addresses in device-key order) of a VM, as vCenter shows them now."""
    props = (
        object_properties(service_instance, vm, vim.VirtualMachine, ["config.instanceUuid", "config.hardware.device"])
        or {}
    )
    devices = props.get("config.hardware.device") or []
    nics = sorted((d for d in devices if isinstance(d, vim.vm.device.VirtualEthernetCard)), key=lambda d: d.key)
    return props.get("config.instanceUuid", ""), [nic.macAddress for nic in nics]
