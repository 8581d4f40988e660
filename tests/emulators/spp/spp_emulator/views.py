"""JSON objects as SPP renders them: string ids, epoch-ms times, absolute hrefs built from the request's Host.

VM and vdisk objects are cached per VM (see state.ViewCache) so that paging through 10,000 VMs stays cheap; every
other object is rendered on demand. Rendered objects are never mutated afterwards.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from .ids import now_ms
from .model import (
    HYPERVISOR_ID,
    PRIMARY_SITE,
    SITES,
    Cluster,
    Copy,
    Disk,
    Host,
    Job,
    JobKind,
    JobSession,
    LogEntry,
    Network,
    Site,
    Sla,
    Status,
    Version,
    Vm,
    Volume,
)
from .profile import DEFAULT, Profile
from .state import State

HV_PATH = f"/api/hypervisor/{HYPERVISOR_ID}"

_JOB_TYPES = {  # kind -> (type, typeDisplayName, subType, subTypeDisplayName, serviceId)
    JobKind.BACKUP: ("protection", "Backup", "vmware", "VMware", "serviceprovider.protection.hypervisor"),
    JobKind.INVENTORY: ("catalog", "Inventory", "hypervisor", "Hypervisor", "serviceprovider.catalog.hypervisor"),
    JobKind.MAINTENANCE: ("maintenance", "Maintenance", "maintenance", "Maintenance", "serviceprovider.maintenance"),
    JobKind.RESTORE: ("recovery", "Restore", "vmware", "VMware", "serviceprovider.recovery.hypervisor"),
}
_STATUS_NAMES = {
    Status.PENDING: "Pending",
    Status.RUNNING: "Running",
    Status.CANCELING: "Canceling",
    Status.CANCELED: "Canceled",
    Status.COMPLETED: "Completed",
    Status.PARTIAL: "Partial",
    Status.FAILED: "Failed",
}
_PERIOD_MS = {
    "SUBHOURLY": 60_000,
    "HOURLY": 3_600_000,
    "DAILY": 86_400_000,
    "WEEKLY": 604_800_000,
    "MONTHLY": 2_592_000_000,
}
LIVE_STATUSES = list(Status.ACTIVE)  # an active test restore is PENDING, so it is live too


def _link(href: str) -> dict:
    return {"href": href}


def _filter(*criteria: tuple[str, object, str]) -> str:
    return json.dumps(
        [{"property": prop, "value": value, "op": op} for prop, value, op in criteria], separators=(",", ":")
    )


def job_status(state: State, job: Job) -> str:
    """IDLE, RUNNING, HELD, or PENDING while a test restore of the job waits for its follow-up action (sppclient's
    JobAPI.monitor reads a job that goes back to PENDING after running as done)."""
    running = state.sessions.get(job.running_session_id or "")
    if running and running.active:
        return Status.RUNNING
    last = state.sessions.get(job.last_session_id or "")
    if last and last.test_active:
        return Status.PENDING
    return "HELD" if job.held else "IDLE"


def next_fire_time(trigger: dict, now: int) -> int | None:
    period = _PERIOD_MS.get(str(trigger.get("type", "")).upper())
    if not period:
        return None
    period *= max(1, int(trigger.get("frequency") or 1))
    start = int(trigger.get("activateDate") or now)
    if now <= start:
        return start
    return start + -(-(now - start) // period) * period


class Views:
    def __init__(self, state: State, base_url: str, profile: Profile | None = None):
        self.state = state
        self.base_url = base_url
        self.profile = profile or Profile.named(DEFAULT)

    def href(self, path: str, **query: str) -> str:
        return f"{self.base_url}{path}" + (f"?{urlencode(query)}" if query else "")

    # --- inventory ---------------------------------------------------------------------------------------------

    def hypervisor(self) -> dict:
        hypervisor = self.state.hypervisor
        links = {
            "self": _link(self.href(HV_PATH)),
            "vms": _link(self.href(f"{HV_PATH}/vm", **{"from": "hlo"})),
            "hosts": _link(self.href(f"{HV_PATH}/host", **{"from": "hlo"})),
            "clusters": _link(self.href(f"{HV_PATH}/cluster", **{"from": "hlo"})),
            "volumes": _link(self.href(f"{HV_PATH}/volume", **{"from": "hlo"})),
        }
        if self.profile.invented_routes:  # hosts and clusters list their networks on record; the hypervisor does not
            links["networks"] = _link(self.href(f"{HV_PATH}/network", **{"from": "hlo"}))
        return {
            "id": hypervisor.id,
            "name": hypervisor.name,
            "hostAddress": hypervisor.host,
            "portNumber": hypervisor.port,
            "type": "vmware",
            "uniqueId": hypervisor.unique_id,
            "version": hypervisor.version,
            "siteId": PRIMARY_SITE.id,
            "inventoryTime": self.state.inventory.taken_ms,
            "links": links,
        }

    def vm(self, vm: Vm, source: str = "hlo") -> dict:
        return self.state.views.get(self.base_url, vm.id, ("vm", source), lambda: self._vm(vm, source))

    def _vm(self, vm: Vm, source: str) -> dict:
        path = f"{HV_PATH}/vm/{vm.id}"
        versions = self.state.versions.get(vm.id)
        return {
            "id": vm.id,
            "name": vm.name,
            "resourceType": "vm",
            "type": "vm",
            "hypervisorType": "vmware",
            "hypervisorKey": HYPERVISOR_ID,
            "hypervisorManagementServerID": HYPERVISOR_ID,
            "hypervisorHostKey": vm.host_id,
            "hypervisorHostname": vm.host_name,
            "cluster": {"name": vm.cluster_name, "key": vm.cluster_id} if vm.cluster_id else None,
            "datacenter": {"name": vm.datacenter_name, "key": vm.datacenter_moref},
            "location": vm.folder_path,
            "metadataPath": vm.metadata_path,
            "siteId": PRIMARY_SITE.id,
            "storageProfiles": list(self.state.vm_policies.get(vm.id, ())),
            "powerState": vm.power_state,
            "isTemplate": vm.template,
            "inHLO": vm.id in self.state.inventory.vms,
            "config": {
                "hypervisorKey": HYPERVISOR_ID,
                "location": vm.folder_path,
                "osName": vm.guest_id,
                "instanceUuid": vm.instance_uuid,
                "uuid": vm.bios_uuid,
                "numCPU": vm.num_cpu,
                "memoryMB": vm.memory_mb,
            },
            "nativeObject": {"mor": {"type": "VirtualMachine", "val": vm.moref}, "instanceUuid": vm.instance_uuid},
            # On record a VM listing item carries protectionInfo {} (spp-api.md 2.2, 14.15); the time of its newest
            # point is read through links.latestversion there.
            "protectionInfo": (
                self._protection_info(versions[-1]) if versions and self.profile.vm_protection_info else {}
            ),
            "recoveryInfo": {},
            "links": {
                "self": _link(self.href(path, **{"from": source})),
                "hypervisor": _link(self.href(HV_PATH)),
                "vdisks": _link(self.href(f"{path}/vdisk", **{"from": "hlo"})),
                "versions": _link(self.href(f"{path}/version", **{"from": "recovery"})),
                "copies": _link(self.href(f"{path}/copies", **{"from": "recovery"})),
                "latestversion": _link(self.href(f"{path}/latestversion", **{"from": "recovery"})),
                "options": _link(self.href(f"{path}/options")),
                **({"host": _link(self.href(f"{HV_PATH}/host/{vm.host_id}", **{"from": "hlo"}))} if vm.host_id else {}),
            },
        }

    def vdisk(self, vm: Vm, disk: Disk) -> dict:
        return self.state.views.get(self.base_url, vm.id, ("vdisk", disk.id), lambda: self._vdisk(vm, disk))

    def _vdisk(self, vm: Vm, disk: Disk) -> dict:
        vm_path = f"{HV_PATH}/vm/{vm.id}"
        return {
            "id": disk.id,
            "name": disk.label,
            "resourceType": "vdisk",
            "type": "vdisk",
            "key": disk.key,
            "size": disk.size_bytes,
            "diskMode": disk.disk_mode,
            "independent": disk.mode == "independent",
            "rdm": disk.mode == "rdm",
            "datastore": {"name": disk.datastore_name},
            "fileName": disk.file_name,
            "vmId": vm.id,
            "vmName": vm.name,
            "hypervisorType": "vmware",
            "hypervisorKey": HYPERVISOR_ID,
            "metadataPath": f"{vm.metadata_path}/VDISK:{disk.key}",
            "siteId": PRIMARY_SITE.id,
            "storageProfiles": list(self.state.disk_policies.get(disk.id, ())),
            "links": {
                "self": _link(self.href(f"{vm_path}/vdisk/{disk.id}", **{"from": "hlo"})),
                "vm": _link(self.href(vm_path, **{"from": "hlo"})),
            },
        }

    def host(self, host: Host) -> dict:
        path = f"{HV_PATH}/host/{host.id}"
        return {
            "id": host.id,
            "name": host.name,
            "resourceType": "host",
            "hypervisorType": "vmware",
            "hypervisorKey": HYPERVISOR_ID,
            "datacenter": {"name": host.datacenter_name},
            "cluster": {"name": host.cluster_name, "key": host.cluster_id} if host.cluster_id else None,
            "nativeObject": {"mor": {"type": "HostSystem", "val": host.moref}},
            "links": {
                "self": _link(self.href(path, **{"from": "hlo"})),
                "networks": _link(self.href(f"{path}/network", **{"from": "hlo"})),
            },
        }

    def cluster(self, cluster: Cluster) -> dict:
        path = f"{HV_PATH}/cluster/{cluster.id}"
        return {
            "id": cluster.id,
            "name": cluster.name,
            "resourceType": "cluster",
            "hypervisorType": "vmware",
            "hypervisorKey": HYPERVISOR_ID,
            "datacenter": {"name": cluster.datacenter_name},
            "hostKeys": list(cluster.host_ids),
            "nativeObject": {"mor": {"type": "ClusterComputeResource", "val": cluster.moref}},
            "links": {
                "self": _link(self.href(path, **{"from": "hlo"})),
                "networks": _link(self.href(f"{path}/network", **{"from": "hlo"})),
            },
        }

    def volume(self, volume: Volume) -> dict:
        return {
            "id": volume.id,
            "name": volume.name,
            "resourceType": "volume",
            "hypervisorType": "vmware",
            "hypervisorKey": HYPERVISOR_ID,
            "size": volume.capacity,
            "freeSpace": volume.free,
            "hypervisorHostKey": list(volume.host_ids),  # lists: a datastore is shared by hosts and clusters
            "cluster": {"key": list(volume.cluster_ids)},
            "links": {"self": _link(self.href(f"{HV_PATH}/volume/{volume.id}", **{"from": "hlo"}))},
        }

    def network(self, network: Network) -> dict:
        return {
            "id": network.id,
            "name": network.name,
            "resourceType": "network",
            "hypervisorKey": HYPERVISOR_ID,
            "key": network.moref,
            "nativeObject": {"mor": {"val": network.moref}},
            "links": {"self": _link(self.href(f"{HV_PATH}/network/{network.id}", **{"from": "hlo"}))},
        }

    def site(self, site: Site) -> dict:
        return {
            "id": site.id,
            "name": site.name,
            "description": f"{site.name} site",
            "defaultSite": site == PRIMARY_SITE,
            "links": {"self": _link(self.href(f"/api/site/{site.id}"))},
        }

    def sites(self) -> list[dict]:
        return [self.site(site) for site in SITES]

    # --- SLA policies ------------------------------------------------------------------------------------------

    def sla(self, sla: Sla) -> dict:
        return {
            "id": sla.id,
            "name": sla.name,
            "description": sla.description,
            "type": sla.type,
            "version": sla.version,
            "rbacPath": f"root:0/storageprofile:0/storageprofiletype:{sla.type}/storageprofile:{sla.id}",
            "spec": sla.spec,
            "links": {"self": _link(self.href(f"/api/spec/storageprofile/{sla.id}"))},
        }

    # --- jobs, sessions, logs ----------------------------------------------------------------------------------

    def job(self, job: Job) -> dict:
        kind = _JOB_TYPES[job.kind]
        path = f"/api/endeavour/job/{job.id}"
        last = self.state.sessions.get(job.last_session_id or "")
        sla = self.state.sla_by_name(job.policy_name) if job.policy_name else None
        links = {
            "self": _link(self.href(path)),
            "status": _link(self.href(f"{path}/status")),
            "jobsessions": _link(self.href("/api/endeavour/jobsession", filter=_filter(("jobId", job.id, "=")))),
            "livejobsessions": _link(
                self.href(
                    "/api/endeavour/jobsession", filter=_filter(("jobId", job.id, "="), ("status", LIVE_STATUSES, "IN"))
                )
            ),
        }
        if job.kind != JobKind.RESTORE:
            links["start"] = {
                "href": self.href(path, action="start", actionname="start"),
                "schema": self.href(f"{path}/schema", action="start"),
            }
            if self.profile.hold_links:  # no hold/release endpoint is on record (spp-api.md 13.4)
                links["hold"] = _link(self.href(path, action="hold", actionname="hold"))
                links["release"] = _link(self.href(path, action="release", actionname="release"))
        if last and last.active:
            links["cancel"] = _link(self.href(path, action="cancel", actionname="cancel"))
        if last:
            links["lastrunlog"] = _link(
                self.href("/api/endeavour/log/job", filter=_filter(("jobsessionId", last.id, "=")))
            )
        return {
            "id": job.id,
            "name": job.name,
            "displayName": job.name,
            "description": job.description,
            "type": kind[0],
            "typeDisplayName": kind[1],
            "subType": kind[2],
            "subTypeDisplayName": kind[3],
            "serviceId": kind[4],
            "policyId": sla.id if sla else None,
            "policyName": job.policy_name,
            "status": job_status(self.state, job),
            "lastSessionStatus": last.status if last else None,
            "lastRunTime": last.start_ms if last else None,
            "lastrun": self._lastrun(last) if last else None,
            "nextFireTime": next_fire_time(sla.trigger(), now_ms()) if sla and not job.held else None,
            "links": links,
        }

    @staticmethod
    def _lastrun(session: JobSession) -> dict:
        return {
            "sessionId": session.id,
            "jobName": session.job_name,
            "status": session.status,
            "start": session.start_ms,
            "end": session.end_ms,
            "duration": _duration(session),
        }

    def session(self, session: JobSession) -> dict:
        kind = _JOB_TYPES[session.kind]
        path = f"/api/endeavour/jobsession/{session.id}"
        links = {
            "self": _link(self.href(path)),
            "job": _link(self.href(f"/api/endeavour/job/{session.job_id}")),
            "log": _link(self.href("/api/endeavour/log/job", filter=_filter(("jobsessionId", session.id, "=")))),
        }
        if session.active:
            links["cancel"] = _link(self.href(path, action="cancel"))
        if session.test_active:  # PENDING with action links: an active test restore (spp-api.md 14.9)
            for action in self.profile.test_actions:
                links[action] = _link(self.href(path, action=action))
        statistics = [{"resourceType": "vm", **session.vm_counts.__dict__}]
        if session.kind == JobKind.BACKUP:
            statistics.append({"resourceType": "vdisk", **session.disk_counts.__dict__})
        properties: dict = {"statistics": statistics}
        if session.kind == JobKind.RESTORE:
            properties["restoreMode"] = session.restore_mode
            # An object, as SPP's UI reads it (job-session.model.ts: .message, .appServerMountPoints); it lists no
            # VMs. The emulator's record of what it restored is in the admin API's /state ("restores").
            properties["postRestoreInfo"] = (
                {"message": session.post_restore_message, "appServerMountPoints": []}
                if session.post_restore_message is not None
                else {}
            )
        return {
            "id": session.id,
            "jobId": session.job_id,
            "jobName": session.job_name,
            "name": session.job_name,
            "type": kind[0],
            "typeDisplayName": kind[1],
            "subType": kind[2],
            "serviceId": kind[4],
            "subPolicyType": "BACKUP" if session.kind == JobKind.BACKUP else None,
            "policyName": session.sla_name,
            "status": session.status,
            "statusDisplayName": _STATUS_NAMES.get(session.status, session.status.title()),
            "percent": session.percent,
            "start": session.start_ms,
            "end": session.end_ms,
            "duration": _duration(session),
            "numTasks": session.vm_counts.total,
            "results": session.results,
            "properties": properties,
            "links": links,
        }

    @staticmethod
    def log(entry: LogEntry) -> dict:
        return {
            "id": entry.id,
            "jobsessionId": entry.session_id,
            "logTime": entry.log_time,
            "type": entry.type,
            "messageId": entry.message_id,
            "message": entry.message,
            "messageParams": list(entry.params),
        }

    # --- versions and copies -----------------------------------------------------------------------------------

    @staticmethod
    def _protection_info(version: Version) -> dict:
        return {
            "protectionTime": version.protection_time,
            "storageProfileName": version.sla_name,
            "policyName": version.job_name,
            "subPolicyType": "BACKUP",
        }

    def version(self, version: Version, embed_copies: bool = False) -> dict:
        path = f"{HV_PATH}/vm/{version.vm_id}/version/{version.id}"
        view = {
            "id": version.id,
            "vmId": version.vm_id,
            "name": version.vm_config["name"],
            "resourceType": "vm",
            "sessionId": version.session_id,
            "hypervisorHostname": version.hypervisor_hostname,
            "siteId": version.copies[0].site.id,
            "consistency": version.consistency,
            "protectionInfo": self._protection_info(version),
            "vmConfig": version.vm_config,
            "links": {
                "self": _link(self.href(path, **{"from": "recovery"})),
                "copies": _link(self.href(f"{path}/copy", **{"from": "recovery"})),
                "vm": _link(self.href(f"{HV_PATH}/vm/{version.vm_id}", **{"from": "recovery"})),
                # The sources of restore map keys (IBM samples/vmware_restore.py get_version_info).
                "volumes": _link(self.href(f"{path}/volume", **{"from": "recovery"})),
                "vnics": _link(self.href(f"{path}/vnic", **{"from": "recovery"})),
            },
        }
        if embed_copies:
            view["copies"] = [self.copy(copy, version) for copy in version.copies]
        return view

    def copy(self, copy: Copy, version: Version) -> dict:
        version_path = f"{HV_PATH}/vm/{version.vm_id}/version/{version.id}"
        links = {
            "self": _link(self.href(f"{version_path}/copy/{copy.id}", **{"from": "recovery"})),
            "version": _link(self.href(version_path, **{"from": "recovery"})),
        }
        if self.profile.copy_site_link:  # on record a copy names its site by siteId only (samples/sqlrestore.py)
            links["site"] = _link(self.href(f"/api/site/{copy.site.id}"))
        return {
            "id": copy.id,
            "versionId": version.id,
            "siteId": copy.site.id,
            "siteName": copy.site.name,
            "protectionInfo": {
                "protectionTime": copy.protection_time,
                "subPolicyType": copy.sub_policy_type,
                "storageProfileName": version.sla_name,
            },
            "links": links,
        }

    def version_volumes(self, version: Version) -> list[dict]:
        """The datastores the version's recorded disks were on, as inventory objects (their self hrefs are the
        keys of mapRRPdatastore)."""
        disks = version.vm_config["disks"]
        morefs = {disk.get("datastoreMoref") for disk in disks} - {None}
        names = {disk.get("datastore") for disk in disks if not disk.get("datastoreMoref")}
        volumes = self.state.inventory.volumes.values()
        return [self.volume(volume) for volume in volumes if volume.moref in morefs or volume.name in names]

    def vnic(self, version: Version, nic: dict) -> dict:
        path = f"{HV_PATH}/vm/{version.vm_id}/version/{version.id}/vnic/{nic['key']}"
        return {
            "id": str(nic["key"]),
            "name": nic["label"],
            "macAddress": nic["mac"],
            "networkName": nic["network"].get("name"),
            "links": {
                "self": _link(self.href(path, **{"from": "recovery"})),
                "networks": _link(self.href(f"{path}/network", **{"from": "recovery"})),
            },
        }

    def vnic_networks(self, nic: dict) -> list[dict]:
        """The inventory network of a recorded NIC (its self href is the key of mapvirtualnetwork)."""
        recorded = nic["network"]
        networks = self.state.inventory.networks.values()
        return [
            self.network(network)
            for network in networks
            if network.moref == recorded.get("moref")
            or (not recorded.get("moref") and network.name == recorded.get("name"))
        ]


def _duration(session: JobSession) -> int:
    return (session.end_ms or now_ms()) - session.start_ms
