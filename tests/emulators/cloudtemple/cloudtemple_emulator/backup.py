"""The console's backup service: what it reads from SPP, the refusals it adds, and the work of its activities
(assignments, job runs) as SPP calls (docs/cloudtemple-api.md 6-10).

The refusals (7.1, 7.2; 16, inferred 4) are failed activities with these reasons:

- a VM or disk that SPP has not inventoried, or that vCenter no longer has: "Could not find virtual machine <id> in
  compute/SPP" (#45) and "Could not find virtual disk <id> in compute/SPP." (#9), the texts on record (5.3);
- a held policy (a policy whose SPP job is HELD, 16 inferred 6);
- an assignment that leaves a running VM without a policy;
- a disk policy whose backup site is in the VM's availability zone (zones.py says how zones are known).

A bulk assignment is checked whole: one refused VM fails the activity and nothing is applied (16, open 3; the
emulator's choice).
"""

from __future__ import annotations

import threading
import time

from . import backup_views, ids
from .activities import ActivityRun
from .compute import Compute
from .errors import ActivityFailed
from .spp_client import SppCallFailed, SppClient
from .zones import Zones


class Visibility:
    """How long after SPP first lists a VM the console shows it (admin API; 0 by default). With a lag, the job
    reaching IDLE is not yet "visible" (#72)."""

    def __init__(self):
        self.lag_seconds = 0.0
        self._lock = threading.Lock()
        self._first_seen: dict[str, float] = {}

    def visible(self, instance_uuid: str) -> bool:
        with self._lock:
            first = self._first_seen.setdefault(instance_uuid, time.monotonic())
        return time.monotonic() - first >= self.lag_seconds

    def reset(self) -> None:
        with self._lock:
            self.lag_seconds = 0.0
            self._first_seen = {}


class Backup:
    def __init__(self, spp: SppClient, compute: Compute, zones: Zones):
        self.spp = spp
        self.compute = compute
        self.zones = zones
        self.visibility = Visibility()

    @property
    def server_id(self) -> str:
        return ids.of_spp("server", self.spp.url)

    # --- reads -------------------------------------------------------------------------------------------------------

    def slas_by_policy(self) -> dict[str, dict]:
        """SPP's SLAs by console policy id."""
        return {ids.policy_id(sla["id"]): sla for sla in self.spp.slas()}

    def held_sla_ids(self) -> set[str]:
        """SPP SLA ids whose job is HELD (16, inferred 6)."""
        return {job["policyId"] for job in self.spp.jobs() if job.get("policyId") and job.get("status") == "HELD"}

    def known_vms(self, instance_uuids: list[str]) -> dict[str, dict]:
        """SPP's VM objects of the VMs SPP has inventoried (and the console shows: Visibility), by instance UUID."""
        found = self.spp.vms_by_uuid(instance_uuids)
        return {key: vm for key, vm in found.items() if self.visibility.visible(key)}

    def known_disk(self, disk_id: str) -> tuple[str, dict, dict] | None:
        """(VM instance UUID, SPP VM, SPP vdisk) of a compute disk id SPP has inventoried, else None."""
        owner = self.compute.disk_owner(disk_id)
        if owner is None:
            return None
        instance_uuid, key = owner
        spp_vm = self.known_vms([instance_uuid]).get(instance_uuid)
        if spp_vm is None:
            return None
        vdisk = next((disk for disk in self.spp.vdisks(spp_vm) if disk.get("key") == key), None)
        return (instance_uuid, spp_vm, vdisk) if vdisk else None

    def policies_named(self, names: list[str]) -> list[dict]:
        slas = {sla["name"]: sla for sla in self.spp.slas()}
        return [backup_views.policy(slas[name]) for name in names if name in slas]

    def power_on_refusal(self, instance_uuid: str, name: str) -> str | None:
        """Why the console refuses to power the VM on (12.5: #38, #194; a held policy, DOC FAQ), or None."""
        spp_vm = self.known_vms([instance_uuid]).get(instance_uuid)
        names = list((spp_vm or {}).get("storageProfiles") or [])
        if not names:
            return (f"You cannot power on the virtual machine {name} because it has no sla policies: SecNumCloud "
                    "requires a backup policy before a virtual machine starts.")
        slas = [sla for sla in self.spp.slas() if sla["name"] in names]
        held = self.held_sla_ids()
        if slas and all(sla["id"] in held for sla in slas):
            return (f"You cannot power on the virtual machine {name} because all its sla policies are held "
                    f"({', '.join(sorted(names))}).")
        return None

    # --- activity work -----------------------------------------------------------------------------------------------

    def _policies(self, policy_ids: list[str]) -> list[dict]:
        slas = self.slas_by_policy()
        unknown = [policy_id for policy_id in policy_ids if policy_id not in slas]
        if unknown:
            raise ActivityFailed(f"Could not find SLA policy {unknown[0]}.")
        chosen = [slas[policy_id] for policy_id in dict.fromkeys(policy_ids)]
        held = self.held_sla_ids()
        for sla in chosen:
            if sla["id"] in held:
                raise ActivityFailed(f"The SLA policy {sla['name']} is held (suspended): a held policy cannot be "
                                     "assigned.")
        return chosen

    def _apply(self, run: ActivityRun, resources: list[dict], slas: list[dict]) -> None:
        run.progress(0.5)
        try:
            self.spp.apply_policies(resources, slas)
        except SppCallFailed as error:
            raise ActivityFailed(f"The backup service refused the assignment: {error.description}") from error
        run.progress(0.9)

    def assign_vms(self, run: ActivityRun, vm_ids: list[str], policy_ids: list[str]) -> str:
        """7.1: the VMs end with exactly these policies (replace semantics; [] removes all)."""
        slas = self._policies(policy_ids)
        vm_ids = list(dict.fromkeys(vm_ids))
        states = self.compute.power_states(vm_ids)
        spp_vms = self.known_vms([vm_id for vm_id in vm_ids if vm_id in states])
        for vm_id in vm_ids:
            if vm_id not in spp_vms:
                raise ActivityFailed(f"Could not find virtual machine {vm_id} in compute/SPP")
        if not slas:
            for vm_id in vm_ids:
                spp_vm = spp_vms[vm_id]
                if states[vm_id] == "poweredOn" and spp_vm.get("storageProfiles"):
                    raise ActivityFailed(f"Cannot remove the last SLA policy of the running virtual machine "
                                         f"{spp_vm['name']}: a running virtual machine must keep a backup policy.")
        self._apply(run, [spp_vms[vm_id] for vm_id in vm_ids], slas)
        return vm_ids[0]

    def assign_disk(self, run: ActivityRun, disk_id: str, policy_ids: list[str]) -> str:
        """7.2: the disk ends with exactly these policies, each in another availability zone than its VM."""
        slas = self._policies(policy_ids)
        found = self.known_disk(disk_id)
        if found is None or found[0] not in self.compute.power_states([found[0]]):
            raise ActivityFailed(f"Could not find virtual disk {disk_id} in compute/SPP.")
        _instance_uuid, spp_vm, vdisk = found
        datacenter = (spp_vm.get("datacenter") or {}).get("name") or ""
        vm_zone = self.zones.of_datacenter(datacenter)
        for sla in slas:
            site = backup_views.backup_site(sla)
            if vm_zone and self.zones.of_site(site) == vm_zone:
                raise ActivityFailed(
                    f"The SLA policy {sla['name']} backs up to the site {site}, in the availability zone {vm_zone} of "
                    f"the virtual machine {spp_vm['name']} (datacenter {datacenter}): a disk policy must be in "
                    "another availability zone."
                )
        self._apply(run, [vdisk], slas)
        return disk_id

    def run_job(self, run: ActivityRun, job_id: str) -> str:
        """10.2: the activity completes once SPP has started the job (16, inferred 5)."""
        job = next((job for job in self.spp.jobs() if ids.job_id(job["id"]) == job_id), None)
        if job is None:
            raise ActivityFailed(f"Could not find job {job_id}.")
        run.progress(0.5)
        try:
            self.spp.start_job(job)
        except SppCallFailed as error:
            raise ActivityFailed(f"The backup service could not start the job {job['name']}: "
                                 f"{error.description}") from error
        return job_id
