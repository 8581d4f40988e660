"""Records kept by the emulator. Inventory records are immutable snapshots of what vCenter showed."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

HYPERVISOR_ID = "1001"


@dataclass(frozen=True)
class Site:
    id: str
    name: str


SITES = (Site("1000", "Primary"), Site("2000", "Secondary"), Site("3000", "DR"))
PRIMARY_SITE = SITES[0]


def site_by_name(name: str) -> Site | None:
    return next((site for site in SITES if site.name == name), None)


def site_by_id(site_id: str) -> Site | None:
    return next((site for site in SITES if site.id == site_id), None)


@dataclass(frozen=True)
class Hypervisor:
    """The registered vCenter; unique_id is its about.instanceUuid (spp-api.md 14.5)."""

    id: str
    name: str
    host: str
    port: int
    unique_id: str
    version: str


# --- inventory ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Disk:
    id: str
    key: int
    label: str
    size_bytes: int
    mode: str  # normal | independent | rdm: what a snapshot captures depends on it
    disk_mode: str  # VMware's backing.diskMode, e.g. persistent, independent_persistent
    datastore_name: str | None
    file_name: str | None
    datastore_moref: str | None = None  # names repeat across datacenters; the moref does not

    @property
    def captured_by_snapshot(self) -> bool:
        return self.mode == "normal"


@dataclass(frozen=True)
class Nic:
    key: int
    label: str
    device_type: str  # pyVmomi class name, e.g. VirtualE1000, to recreate the same adapter
    mac: str
    address_type: str
    network_name: str | None
    network_moref: str | None
    portgroup_key: str | None
    switch_uuid: str | None
    connected: bool
    start_connected: bool


@dataclass(frozen=True)
class Vm:
    id: str
    name: str
    moref: str
    instance_uuid: str
    bios_uuid: str
    guest_id: str
    num_cpu: int
    memory_mb: int
    power_state: str
    template: bool
    has_snapshots: bool
    datacenter_name: str
    datacenter_moref: str
    folder_path: str
    folder_moref: str
    host_id: str | None
    host_moref: str | None
    host_name: str | None
    cluster_id: str | None
    cluster_name: str | None
    resource_pool_moref: str | None
    vmx_path: str | None
    metadata_path: str
    disks: tuple[Disk, ...]
    nics: tuple[Nic, ...]


@dataclass(frozen=True)
class Host:
    id: str
    moref: str
    name: str
    datacenter_name: str
    cluster_id: str | None
    cluster_name: str | None
    resource_pool_moref: str | None
    network_ids: tuple[str, ...]
    volume_ids: tuple[str, ...]


@dataclass(frozen=True)
class Cluster:
    id: str
    moref: str
    name: str
    datacenter_name: str
    resource_pool_moref: str | None
    host_ids: tuple[str, ...]


@dataclass(frozen=True)
class Volume:
    id: str
    moref: str
    name: str
    capacity: int
    free: int
    host_ids: tuple[str, ...]
    cluster_ids: tuple[str, ...]


@dataclass(frozen=True)
class Network:
    id: str
    moref: str
    name: str
    portgroup_key: str | None  # set for distributed portgroups
    switch_uuid: str | None


@dataclass
class Inventory:
    """One complete read of the vCenter, replaced as a whole by each Hypervisor Inventory run."""

    vms: dict[str, Vm] = field(default_factory=dict)
    hosts: dict[str, Host] = field(default_factory=dict)
    clusters: dict[str, Cluster] = field(default_factory=dict)
    volumes: dict[str, Volume] = field(default_factory=dict)
    networks: dict[str, Network] = field(default_factory=dict)
    folders_by_path: dict[str, str] = field(default_factory=dict)  # "/DC0/vm/sub" -> folder moref
    taken_ms: int = 0
    topology: object = None  # inventory.Topology: what read_vm needs to place a freshly read VM

    def __post_init__(self):
        self.disks: dict[str, tuple[Vm, Disk]] = {disk.id: (vm, disk) for vm in self.vms.values() for disk in vm.disks}
        self.vms_by_moref: dict[str, Vm] = {vm.moref: vm for vm in self.vms.values()}


# --- policies, jobs, sessions, versions ---------------------------------------------------------------------------


@dataclass
class Sla:
    id: str
    name: str
    description: str
    type: str
    version: str
    spec: dict

    def backup_site(self) -> Site:
        """Site of the backup subpolicy (REPLICATION with software=true); Primary when unspecified."""
        for subpolicy in self.spec.get("subpolicy") or []:
            if subpolicy.get("type") == "REPLICATION" and subpolicy.get("software", True):
                return site_by_name(subpolicy.get("site") or "") or PRIMARY_SITE
        return PRIMARY_SITE

    def trigger(self) -> dict:
        for subpolicy in self.spec.get("subpolicy") or []:
            if subpolicy.get("trigger"):
                return subpolicy["trigger"]
        return {}


class JobKind:
    BACKUP = "backup"
    INVENTORY = "inventory"
    MAINTENANCE = "maintenance"
    RESTORE = "restore"


@dataclass
class Job:
    id: str
    name: str
    kind: str
    description: str
    policy_name: str | None = None
    held: bool = False
    last_session_id: str | None = None
    running_session_id: str | None = None


class Status:
    """Job session statuses (spp-api.md 5.5, 14.8, 14.9)."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    CANCELING = "CANCELING"
    CANCELED = "CANCELED"
    COMPLETED = "COMPLETED"
    PARTIAL = "PARTIAL"
    FAILED = "FAILED"
    # What a restore's work returns when its test VMs stay mounted. Never rendered: the session then shows PENDING
    # with its action links (spp-api.md 14.9; SPP UI clone-table.component.ts, vSphere plugin SppUrls.java).
    TEST_ACTIVE = "test active"

    ACTIVE = (PENDING, RUNNING, CANCELING)
    TERMINAL = (COMPLETED, PARTIAL, FAILED, CANCELED)


@dataclass
class Counts:
    total: int = 0
    success: int = 0
    failed: int = 0
    skipped: int = 0


@dataclass
class JobSession:
    id: str
    job_id: str
    job_name: str
    kind: str
    start_ms: int
    sla_name: str | None = None
    status: str = Status.PENDING
    end_ms: int | None = None
    percent: int = 0
    results: str = ""
    vm_counts: Counts = field(default_factory=Counts)
    disk_counts: Counts = field(default_factory=Counts)
    restore_mode: str | None = None
    restored: list[dict] = field(default_factory=list)  # one entry per restored VM (admin /state only)
    post_restore_message: str | None = None  # properties.postRestoreInfo.message once the restore has run
    test_active: bool = False  # PENDING with the test-restore action links (spp-api.md 14.9)
    cancel: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def active(self) -> bool:
        """Pending or running work (a test restore waiting for its follow-up action is not)."""
        return self.status in Status.ACTIVE and not self.test_active


@dataclass(frozen=True)
class LogEntry:
    id: str
    session_id: str
    log_time: int
    type: str
    message_id: str
    message: str
    params: tuple[str, ...]


@dataclass(frozen=True)
class Copy:
    id: str
    version_id: str
    site: Site
    sub_policy_type: str
    protection_time: int


@dataclass(frozen=True)
class Version:
    """A recovery point: the VM configuration recorded while its backup snapshot existed."""

    id: str
    vm_id: str
    session_id: str
    job_name: str
    sla_name: str
    protection_time: int
    consistency: str  # application | crash
    hypervisor_hostname: str | None
    vm_config: dict
    disk_keys: tuple[int, ...]
    copies: tuple[Copy, ...]


def recorded_config(vm: Vm, captured_disk_keys: tuple[int, ...]) -> dict:
    """The VM configuration a backup records with its version, and what a restore rebuilds from."""
    return {
        "name": vm.name,
        "instanceUuid": vm.instance_uuid,
        "biosUuid": vm.bios_uuid,
        "guestId": vm.guest_id,
        "numCPU": vm.num_cpu,
        "memoryMB": vm.memory_mb,
        "datacenter": vm.datacenter_name,
        "folder": vm.folder_path,
        "folderMoref": vm.folder_moref,
        "host": vm.host_name,
        "hostMoref": vm.host_moref,
        "cluster": vm.cluster_name,
        "resourcePoolMoref": vm.resource_pool_moref,
        "moref": vm.moref,
        "disks": [
            {
                "key": disk.key,
                "label": disk.label,
                "sizeBytes": disk.size_bytes,
                "mode": disk.mode,
                "diskMode": disk.disk_mode,
                "datastore": disk.datastore_name,
                "datastoreMoref": disk.datastore_moref,
                "fileName": disk.file_name,
                "captured": disk.key in captured_disk_keys,
            }
            for disk in vm.disks
        ],
        "nics": [
            {
                "key": nic.key,
                "label": nic.label,
                "deviceType": nic.device_type,
                "mac": nic.mac,
                "addressType": nic.address_type,
                "network": {
                    "name": nic.network_name,
                    "moref": nic.network_moref,
                    "portgroupKey": nic.portgroup_key,
                    "switchUuid": nic.switch_uuid,
                },
                "connected": nic.connected,
                "startConnected": nic.start_connected,
            }
            for nic in vm.nics
        ],
    }
