"""vCenter's objects in the compute API's shapes (docs/cloudtemple-api.md 12): the v1.10.0 VM object (12.2), disks
(12.3), snapshots (12.4) and the placement objects of 12.6, with their filters.

Fields the lab's vCenter reader does not read (hardware version, tools, usage, alarms ...) carry fixed values; the
README lists them.
"""

from __future__ import annotations

from dataclasses import dataclass

from spp_emulator.inventory import Topology
from spp_emulator.model import Inventory, Vm

from . import ids
from .compute import About, DiskDetail, Snapshot

BOOT_OPTIONS = {"firmware": "bios", "bootDelay": 0, "enterBIOSSetup": False, "bootRetryEnabled": False,
                "bootRetryDelay": 10000, "efiSecureBootEnabled": False}


def power_state(vcenter_state: str) -> str:
    """running or stopped (12.2: the provider knows no other value; suspended reads as stopped, inferred)."""
    return "running" if vcenter_state == "poweredOn" else "stopped"


@dataclass
class ComputeViews:
    about: About
    topology: Topology
    tenant_id: str

    def cid(self, moref: str | None) -> str | None:
        return ids.compute_id(self.about.instance_uuid, moref) if moref else None

    def ref(self, moref: str | None, name: str | None) -> dict | None:
        """A BaseObject {id, name}; None when vCenter has no such link."""
        return {"id": self.cid(moref), "name": name} if moref else None

    @property
    def manager(self) -> dict:
        return {"id": self.about.instance_uuid, "name": self.about.name}

    def datacenter_of(self, moref: str | None) -> tuple[str | None, str | None]:
        chain = self.topology.chain(moref)
        return (chain[0][2], chain[0][1]) if chain and chain[0][0] == "Datacenter" else (None, None)

    def cluster_of(self, host_moref: str | None) -> tuple[str | None, str | None]:
        entry = self.topology.parents.get(host_moref or "")
        parent = self.topology.parents.get(entry[2] or "") if entry else None
        if parent and parent[0] == "ClusterComputeResource":
            return entry[2], parent[1]
        return None, None

    def datastore_of(self, vm: Vm) -> tuple[str | None, str | None]:
        moref = next((disk.datastore_moref for disk in vm.disks if disk.datastore_moref), None)
        if moref is None and vm.vmx_path:  # "[LocalDS_0] vm/vm.vmx"
            name = vm.vmx_path.partition("]")[0].lstrip("[")
            moref = next((ref for ref, known in self.topology.datastore_names.items() if known == name), None)
        return moref, self.topology.datastore_names.get(moref or "")

    # --- virtual machines (12.2) -----------------------------------------------------------------------------------

    def vm(self, vm: Vm) -> dict:
        cluster = self.cluster_of(vm.host_moref)
        datastore = self.datastore_of(vm)
        return {
            "id": vm.instance_uuid,
            "name": vm.name,
            "moref": vm.moref,
            "machineManager": self.manager,
            "datacenter": self.ref(vm.datacenter_moref, vm.datacenter_name),
            "hostCluster": self.ref(*cluster),
            "datastore": self.ref(*datastore),
            "datastoreCluster": None,
            "powerState": power_state(vm.power_state),
            "template": vm.template,
            "snapshoted": vm.has_snapshots,
            "sppMode": "",
            "operatingSystem": {"name": vm.guest_id},
            "operatingSystemMoref": vm.guest_id,
            "hardwareVersion": "",
            "cpu": vm.num_cpu,
            "numCoresPerSocket": 1,
            "memory": vm.memory_mb * 1024 * 1024,
            "cpuUsage": 0,
            "memoryUsage": 0,
            "cpuHotAddEnabled": False,
            "cpuHotRemoveEnabled": False,
            "memoryHotAddEnabled": False,
            "tools": "",
            "toolsVersion": 0,
            "storage": {"committed": sum(disk.size_bytes for disk in vm.disks), "uncommitted": 0},
            "triggeredAlarms": [],
            "extraConfig": [],
            "bootOptions": dict(BOOT_OPTIONS),
            "distributedVirtualPortGroupIds": sorted({self.cid(nic.network_moref) for nic in vm.nics
                                                      if nic.portgroup_key and nic.network_moref}),
            "replicationConfig": None,
            "consolidationNeeded": False,
            "exposeHardwareVirtualization": False,
        }

    def vm_matches(self, vm: Vm, params: dict[str, list[str]]) -> bool:
        """The filters of 12.1: name, machineManagerId, and the lists datacenters[], networks[], datastores[],
        hosts[], hostClusters[] (a VM matches a list when one of its objects is in it)."""
        name, manager = _first(params, "name"), _first(params, "machineManagerId")
        if (name and vm.name != name) or (manager and manager != self.about.instance_uuid):
            return False
        related = {
            "datacenters[]": {self.cid(vm.datacenter_moref)},
            "hosts[]": {self.cid(vm.host_moref)},
            "hostClusters[]": {self.cid(self.cluster_of(vm.host_moref)[0])},
            "datastores[]": {self.cid(disk.datastore_moref) for disk in vm.disks} | {self.cid(self.datastore_of(vm)[0])},
            "networks[]": {self.cid(nic.network_moref) for nic in vm.nics},
        }
        return all(not wanted or related[key] & set(wanted)
                   for key, wanted in ((key, [v for v in params.get(key, []) if v]) for key in related))

    def disk(self, instance_uuid: str, detail: DiskDetail, datastore_name: str | None) -> dict:
        """12.3."""
        return {
            "id": ids.disk_id(instance_uuid, detail.key),
            "name": detail.label,
            "virtualMachineId": instance_uuid,
            "machineManager": self.manager,
            "datastore": self.ref(detail.datastore_moref, datastore_name),
            "capacity": detail.capacity,
            "diskUnitNumber": detail.unit_number,
            "instantAccess": False,
            "nativeId": str(detail.key),
            "diskPath": detail.file_name,
            "provisioningType": "dynamic" if detail.thin else "staticImmediate",
            "diskMode": detail.disk_mode,
            "editable": True,
            "controller": {
                "id": ids.compute_id(instance_uuid, f"controller/{detail.controller_key}"),
                "busNumber": detail.controller_bus,
                "type": detail.controller_type,
            } if detail.controller_key is not None else None,
        }

    @staticmethod
    def snapshot(instance_uuid: str, snapshot: Snapshot) -> dict:
        """12.4; ``createTime`` in epoch milliseconds (inferred, as backup times, 16.2)."""
        return {"id": ids.snapshot_id(instance_uuid, snapshot.moref), "virtualMachineId": instance_uuid,
                "name": snapshot.name, "createTime": snapshot.create_ms}

    # --- placement and grouping (12.6) -----------------------------------------------------------------------------

    def machine_manager(self) -> dict:
        about = self.about
        return {"id": about.instance_uuid, "name": about.name, "fullName": about.full_name, "vendor": about.vendor,
                "version": about.version, "build": about.build, "instanceUuid": about.instance_uuid,
                "apiType": about.api_type, "apiVersion": about.api_version, "tenantId": self.tenant_id,
                "tenantName": "emulator"}

    def datacenters(self) -> list[tuple[dict, dict]]:
        """(object, filter keys) of every datacenter."""
        found = []
        for moref, (kind, name, _parent) in self.topology.parents.items():
            if kind == "Datacenter":
                item = {"id": self.cid(moref), "name": name, "tenantId": self.tenant_id,
                        "machineManager": self.manager, "vCenter": self.manager}
                found.append((item, {"name": name, "machineManagerId": self.about.instance_uuid}))
        return found

    def folders(self) -> list[tuple[dict, dict]]:
        found = []
        for moref, (kind, name, _parent) in self.topology.parents.items():
            datacenter = self.datacenter_of(moref)[0]
            if kind == "Folder" and datacenter:
                item = {"id": self.cid(moref), "name": name, "machineManager": self.manager}
                found.append((item, {"name": name, "machineManagerId": self.about.instance_uuid,
                                     "datacenterId": self.cid(datacenter)}))
        return found

    def hosts(self, inventory: Inventory) -> list[tuple[dict, dict]]:
        found = []
        volumes = {volume.id: volume for volume in inventory.volumes.values()}
        for host in inventory.hosts.values():
            vms = [{"id": vm.instance_uuid, "type": "virtual_machine"}
                   for vm in inventory.vms.values() if vm.host_moref == host.moref]
            item = {"id": self.cid(host.moref), "name": host.name, "moref": host.moref, "machineManager": self.manager,
                    "metrics": {}, "virtualMachines": vms}
            keys = {"name": host.name, "machineManagerId": self.about.instance_uuid,
                    "datacenterId": self.cid(self.datacenter_of(host.moref)[0]),
                    "hostClusterId": self.cid(self.cluster_of(host.moref)[0]),
                    "datastoreId": {self.cid(volumes[vid].moref) for vid in host.volume_ids if vid in volumes}}
            found.append((item, keys))
        return found

    def clusters(self, inventory: Inventory) -> list[tuple[dict, dict]]:
        found = []
        hosts = inventory.hosts
        for cluster in inventory.clusters.values():
            host_morefs = {hosts[host_id].moref for host_id in cluster.host_ids if host_id in hosts}
            datastores = {self.cid(volume.moref) for volume in inventory.volumes.values() if cluster.id in volume.cluster_ids}
            datacenter = self.datacenter_of(cluster.moref)
            item = {"id": self.cid(cluster.moref), "name": cluster.name, "moref": cluster.moref,
                    "hosts": [{"id": self.cid(moref), "type": "host"} for moref in sorted(host_morefs)],
                    "metrics": {},
                    "virtualMachinesNumber": sum(1 for vm in inventory.vms.values() if vm.host_moref in host_morefs),
                    "machineManager": self.manager, "datacenter": self.ref(*datacenter)}
            keys = {"name": cluster.name, "machineManagerId": self.about.instance_uuid,
                    "datacenterId": self.cid(datacenter[0]), "datastoreId": datastores, "datastoreClusterId": set()}
            found.append((item, keys))
        return found


def _first(params: dict[str, list[str]], name: str) -> str:
    values = params.get(name) or [""]
    return values[0]


def select(found: list[tuple[dict, dict]], params: dict[str, list[str]], names: tuple[str, ...]) -> list[dict]:
    """The objects whose filter keys match every given filter of ``names`` (12.6); a set-valued key matches when it
    holds the value. An empty filter value is not a filter (2.4)."""
    wanted = {name: _first(params, name) for name in names if _first(params, name)}
    selected = []
    for item, keys in found:
        if all(value in keys.get(name, set()) if isinstance(keys.get(name), set) else keys.get(name) == value
               for name, value in wanted.items()):
            selected.append(item)
    return selected
