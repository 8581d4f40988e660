"""The console's side of vCenter: a pool of pyVmomi sessions and the reads and power actions of the compute API
(docs/cloudtemple-api.md 12), built on the SPP emulator's vCenter code (spp_emulator.vcenter, .inventory, .vmops).

Nothing here is cached except what only names objects: the vCenter's ``about``, the last topology (datacenters,
folders, hosts) that places a freshly read VM, and the index from disk ids back to (VM, device key), which a disk id
cannot be inverted to (ids.disk_id is a hash). Power states, disks and snapshots are read from vCenter on each call.
"""

from __future__ import annotations

import contextlib
import datetime
import http.client
import threading
from dataclasses import dataclass
from typing import Callable, Iterator, TypeVar
from urllib.parse import urlsplit

from pyVmomi import vim

from spp_emulator import vcenter, vmops
from spp_emulator.inventory import Topology, read_inventory, read_vm
from spp_emulator.model import Inventory, Vm
from spp_emulator.vcenter import VCENTER_ERRORS, VCenterConfig, object_properties, vm_by_moref

from . import ids

Result = TypeVar("Result")
POOL_SIZE = 8
FEW_VMS = 20  # up to this many VMs are looked up one by one; more are read in one retrieval


@dataclass(frozen=True)
class About:
    instance_uuid: str
    name: str
    full_name: str
    vendor: str
    version: str
    build: str
    api_type: str
    api_version: str


@dataclass(frozen=True)
class DiskDetail:
    """One virtual disk as the compute API shows it (12.3)."""

    key: int
    label: str
    capacity: int
    unit_number: int | None
    file_name: str
    disk_mode: str
    thin: bool
    datastore_moref: str | None
    controller_key: int | None
    controller_bus: int | None
    controller_type: str | None


@dataclass(frozen=True)
class Snapshot:
    moref: str
    name: str
    create_ms: int


class VCenterPool:
    """Logged-in ServiceInstances, reused across requests; one broken by a transport error or an expired session is
    dropped, and ``run`` retries once on a fresh one."""

    def __init__(self, config: VCenterConfig):
        self.config = config
        self._lock = threading.Lock()
        self._idle: list[tuple[object, contextlib.ExitStack]] = []

    @contextlib.contextmanager
    def session(self) -> Iterator[object]:
        with self._lock:
            entry = self._idle.pop() if self._idle else None
        if entry is None:
            stack = contextlib.ExitStack()
            entry = (stack.enter_context(vcenter.connect(self.config)), stack)
        healthy = True  # a fault vCenter answers leaves the session usable
        try:
            yield entry[0]
        except (vim.fault.NotAuthenticated, OSError, http.client.HTTPException):
            healthy = False
            raise
        finally:
            with self._lock:
                keep = healthy and len(self._idle) < POOL_SIZE
                if keep:
                    self._idle.append(entry)
            if not keep:
                with contextlib.suppress(*VCENTER_ERRORS):
                    entry[1].close()

    def run(self, work: Callable[[object], Result]) -> Result:
        for attempt in (1, 2):
            try:
                with self.session() as service_instance:
                    return work(service_instance)
            except (vim.fault.NotAuthenticated, OSError):
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


class Compute:
    def __init__(self, config: VCenterConfig):
        self.pool = VCenterPool(config)
        self.url = config.url
        self._lock = threading.Lock()
        self._about: About | None = None
        self._topology: Topology | None = None
        self._disks: dict[str, tuple[str, int]] = {}  # disk id -> (VM instance UUID, device key)

    # --- vCenter itself --------------------------------------------------------------------------------------------

    def about(self) -> About:
        if self._about is None:
            info = self.pool.run(lambda service_instance: service_instance.content.about)
            self._about = About(
                info.instanceUuid, urlsplit(self.url).hostname or "vcenter", info.fullName, info.vendor,
                info.version, info.build, info.apiType, info.apiVersion
            )
        return self._about

    def inventory(self) -> Inventory:
        """A fresh read of every VM, host, cluster, datastore, network and folder (the SPP emulator's reader)."""
        inventory = self.pool.run(lambda service_instance: read_inventory(service_instance, self.about().instance_uuid))
        with self._lock:
            self._topology = inventory.topology
            for vm in inventory.vms.values():
                self._index(vm)
        return inventory

    def topology(self) -> Topology:
        """The last read's names and parents (datacenters, folders, clusters, hosts, datastores)."""
        return self._topology or self.inventory().topology

    def _index(self, vm: Vm) -> None:
        for disk in vm.disks:
            self._disks[ids.disk_id(vm.instance_uuid, disk.key)] = (vm.instance_uuid, disk.key)

    # --- one VM ----------------------------------------------------------------------------------------------------

    @staticmethod
    def _moref(service_instance, instance_uuid: str) -> str | None:
        found = service_instance.content.searchIndex.FindByUuid(None, instance_uuid, True, True)
        return found._moId if found is not None else None  # pylint: disable=protected-access

    def vm(self, instance_uuid: str) -> Vm | None:
        """A fresh record of the VM with this instance UUID, or None."""

        def read(service_instance) -> Vm | None:
            moref = self._moref(service_instance, instance_uuid)
            topology = self._topology
            if moref is None or topology is None:
                return moref
            return read_vm(service_instance, moref, topology)

        found = self.pool.run(read)
        if isinstance(found, str) or (isinstance(found, Vm) and not _placed(found, self._topology)):
            # Not placed yet (no topology, or a datacenter, folder or host the last read did not know): read all.
            found = next((vm for vm in self.inventory().vms.values() if vm.instance_uuid == instance_uuid), None)
        if isinstance(found, Vm):
            with self._lock:
                self._index(found)
        return found

    def power_states(self, instance_uuids: list[str]) -> dict[str, str]:
        """vCenter power states (poweredOn, poweredOff, suspended) by instance UUID; unknown VMs are absent."""

        def read(service_instance) -> dict[str, str]:
            if len(instance_uuids) <= FEW_VMS:
                states = {}
                for instance_uuid in instance_uuids:
                    moref = self._moref(service_instance, instance_uuid)
                    props = moref and object_properties(
                        service_instance, vm_by_moref(service_instance, moref), vim.VirtualMachine,
                        ["runtime.powerState"]
                    )
                    if props:
                        states[instance_uuid] = str(props.get("runtime.powerState"))
                return states
            specs, view = vcenter.container_spec(service_instance, [vim.VirtualMachine])
            paths = ["config.instanceUuid", "runtime.powerState"]
            try:
                found = vcenter.retrieve(service_instance, specs,
                                         [vcenter.PropertyCollector.PropertySpec(type=vim.VirtualMachine, pathSet=paths)])
                every = {props.get("config.instanceUuid"): str(props.get("runtime.powerState")) for _o, props in found}
            finally:
                view.DestroyView()
            return {instance_uuid: every[instance_uuid] for instance_uuid in instance_uuids if instance_uuid in every}

        return self.pool.run(read)

    def power(self, instance_uuid: str, action: str) -> None:
        """Power on or off (no-op when already so, as the SPP emulator's vmops do); raises LookupError when gone."""

        def act(service_instance) -> None:
            moref = self._moref(service_instance, instance_uuid)
            if moref is None:
                raise LookupError(instance_uuid)
            vm = vm_by_moref(service_instance, moref)
            (vmops.power_on if action == "on" else vmops.power_off)(service_instance, vm)

        self.pool.run(act)

    def disks(self, instance_uuid: str) -> list[DiskDetail] | None:
        """The VM's virtual disks with their controllers, or None when the VM does not exist."""

        def read(service_instance) -> list | None:
            moref = self._moref(service_instance, instance_uuid)
            props = moref and object_properties(
                service_instance, vm_by_moref(service_instance, moref), vim.VirtualMachine, ["config.hardware.device"]
            )
            return None if not props else list(props.get("config.hardware.device") or [])

        devices = self.pool.run(read)
        if devices is None:
            return None
        controllers = {device.key: device for device in devices if isinstance(device, vim.vm.device.VirtualController)}
        found = [_disk_detail(device, controllers) for device in devices if isinstance(device, vim.vm.device.VirtualDisk)]
        with self._lock:
            for disk in found:
                self._disks[ids.disk_id(instance_uuid, disk.key)] = (instance_uuid, disk.key)
        return found

    def snapshots(self, instance_uuid: str) -> list[Snapshot] | None:
        def read(service_instance) -> list[Snapshot] | None:
            moref = self._moref(service_instance, instance_uuid)
            if moref is None:
                return None
            # Through the PropertyCollector: a lazy read of an unset vm.snapshot fails on the simulator.
            props = object_properties(service_instance, vm_by_moref(service_instance, moref), vim.VirtualMachine,
                                      ["snapshot"]) or {}
            info = props.get("snapshot")
            return list(_flatten(info.rootSnapshotList if info else []))

        return self.pool.run(read)

    def disk_owner(self, disk_id: str) -> tuple[str, int] | None:
        """(VM instance UUID, device key) of a disk id; an id not seen yet makes a full read (the ids are hashes)."""
        with self._lock:
            owner = self._disks.get(disk_id)
        if owner is None:
            self.inventory()
            with self._lock:
                owner = self._disks.get(disk_id)
        return owner

    def datastore_name(self, moref: str | None) -> str | None:
        topology = self.topology()
        if moref and moref not in topology.datastore_names:
            topology = self.inventory().topology
        return topology.datastore_names.get(moref or "")


def _placed(vm: Vm, topology: Topology | None) -> bool:
    return bool(topology and vm.datacenter_name and (not vm.host_moref or vm.host_moref in topology.hosts))


def _disk_detail(device, controllers: dict) -> DiskDetail:
    backing = device.backing
    controller = controllers.get(device.controllerKey)
    kind = type(controller).__name__ if controller is not None else ""
    return DiskDetail(
        key=device.key,
        label=device.deviceInfo.label if device.deviceInfo else f"disk {device.key}",
        capacity=device.capacityInBytes or (device.capacityInKB or 0) * 1024,
        unit_number=device.unitNumber,
        file_name=getattr(backing, "fileName", "") or "",
        disk_mode=getattr(backing, "diskMode", None) or "persistent",
        thin=bool(getattr(backing, "thinProvisioned", False)),
        datastore_moref=backing.datastore._moId if getattr(backing, "datastore", None) else None,  # pylint: disable=protected-access
        controller_key=device.controllerKey,
        controller_bus=getattr(controller, "busNumber", None),
        controller_type=_controller_type(kind) if controller is not None else None,
    )


def _controller_type(class_name: str) -> str:
    """SCSI, IDE, SATA or NVME (inferred: the provider's struct has a free-text ``type``)."""
    for marker, name in (("SCSI", "SCSI"), ("LsiLogic", "SCSI"), ("Paravirtual", "SCSI"), ("BusLogic", "SCSI"),
                         ("IDE", "IDE"), ("SATA", "SATA"), ("AHCI", "SATA"), ("NVME", "NVME")):
        if marker.lower() in class_name.lower():
            return name
    return class_name


def _flatten(trees) -> Iterator[Snapshot]:
    for tree in trees or []:
        created = tree.createTime
        if isinstance(created, datetime.datetime):
            create_ms = int(created.timestamp() * 1000)
        else:
            create_ms = 0
        yield Snapshot(tree.snapshot._moId, tree.name, create_ms)  # pylint: disable=protected-access
        yield from _flatten(tree.childSnapshotList)
