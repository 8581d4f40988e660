"""All mutable state of the emulator, guarded by one lock.

Request handlers run with ``state.lock`` held (the server takes it), workers take it for short updates and never
hold it while talking to vCenter. Containers that end up in rendered views are replaced, not mutated, so a view
can be encoded after the lock is released.
"""

from __future__ import annotations

import copy
import secrets
import threading
import time
from dataclasses import dataclass, replace
from typing import Iterable

from .ids import MillisecondIds, Sequence, now_ms
from .model import (
    PRIMARY_SITE,
    Copy,
    Hypervisor,
    Inventory,
    Job,
    JobKind,
    JobSession,
    LogEntry,
    Sla,
    Version,
    Vm,
    site_by_name,
)

DEFAULT_SESSION_TTL_SECONDS = 45 * 60  # idle expiry of an SPP session (spp-api.md 14.2)
MAINTENANCE_JOB_ID = "1001"
INVENTORY_JOB_ID = "1002"
FIRST_JOB_ID = 1005  # 1003/1004 are the Application Server Inventory policy and job on a real server
FIRST_SLA_ID = 2003  # 2000-2002 are the default policies

INVENTORY_JOB_NAME = "Hypervisor Inventory"
MAINTENANCE_JOB_NAME = "Maintenance"


def backup_job_name(sla_name: str) -> str:
    return f"vmware_{sla_name}"


def default_slas() -> dict[str, Sla]:
    """Gold (hourly), Silver (daily) and Bronze (weekly), all backing up to the Primary site."""

    def sla(sla_id: str, name: str, description: str, trigger: dict, days: int) -> Sla:
        subpolicy = {
            "type": "REPLICATION",
            "software": True,
            "site": PRIMARY_SITE.name,
            "useEncryption": False,
            "retention": {"age": days},
            "trigger": {**trigger, "activateDate": 1577836800000, "timezone": "UTC"},
            "name": f"{name} backup",
        }
        return Sla(sla_id, name, description, "backup", "1.0", {"simple": True, "subpolicy": [subpolicy]})

    weekly_on_sunday = [False, True, False, False, False, False, False, False]
    return {
        "2000": sla("2000", "Gold", "Gold SLA (hourly) to Primary site", {"type": "HOURLY", "frequency": 1}, 7),
        "2001": sla("2001", "Silver", "Silver SLA (daily) to Primary site", {"type": "DAILY", "frequency": 1}, 30),
        "2002": sla(
            "2002",
            "Bronze",
            "Bronze SLA (weekly) to Primary site",
            {"type": "WEEKLY", "frequency": 1, "dowList": weekly_on_sunday},
            90,
        ),
    }


class LoginSessions:
    """SPP session ids with idle expiry."""

    def __init__(self):
        self.ttl_seconds: float = DEFAULT_SESSION_TTL_SECONDS
        self._last_use: dict[str, float] = {}
        self.issued: list[str] = []  # every id ever handed out, so tests can prove none leaks into output

    def create(self) -> str:
        session_id = secrets.token_hex(16)
        self._last_use[session_id] = time.monotonic()
        self.issued.append(session_id)
        return session_id

    def touch(self, session_id: str) -> bool:
        """True (and the idle clock restarts) when the id is known and not expired."""
        last_use = self._last_use.get(session_id)
        if last_use is None:
            return False
        if time.monotonic() - last_use > self.ttl_seconds:
            del self._last_use[session_id]
            return False
        self._last_use[session_id] = time.monotonic()
        return True

    def remove(self, session_id: str) -> None:
        self._last_use.pop(session_id, None)

    def expire_all(self) -> None:
        self._last_use.clear()


class ViewCache:
    """Rendered VM and vdisk objects, per VM, valid for one base URL; dropped when the VM's data changes.

    Also whole listings of them, filtered and sorted (``listing``), so that each page of a listing of 50,000 VMs is a
    slice rather than a new pass over every VM: a listing is dropped when any VM's data changes.
    """

    MAX_LISTINGS = 8

    def __init__(self):
        self.base_url = ""
        self._entries: dict[str, dict] = {}
        self._listings: dict[tuple, list] = {}

    def _check_base_url(self, base_url: str) -> None:
        if base_url != self.base_url:
            self.base_url = base_url
            self.clear()

    def get(self, base_url: str, vm_id: str, key: tuple, build):
        self._check_base_url(base_url)
        per_vm = self._entries.setdefault(vm_id, {})
        view = per_vm.get(key)
        if view is None:
            view = per_vm[key] = build()
        return view

    def listing(self, base_url: str, key: tuple, build) -> list:
        """The listing ``key`` (route and query, paging left out) as ``build()`` makes it, kept until a view changes."""
        self._check_base_url(base_url)
        found = self._listings.get(key)
        if found is None:
            if len(self._listings) >= self.MAX_LISTINGS:
                self._listings = {}
            found = self._listings[key] = build()
        return found

    def invalidate(self, vm_id: str) -> None:
        self._entries.pop(vm_id, None)
        self._listings = {}

    def clear(self) -> None:
        self._entries = {}
        self._listings = {}


@dataclass
class VmFailure:
    message: str
    remaining: int | None  # None: every backup fails until reset


class State:
    def __init__(self, hypervisor: Hypervisor):
        self.lock = threading.RLock()
        self.hypervisor = hypervisor
        self.inventory = Inventory()
        self.logins = LoginSessions()
        self.views = ViewCache()
        self.session_ids = MillisecondIds()
        self.object_ids = MillisecondIds()  # versions, copies, log entries
        self.generation = 0
        self.sessions: dict[str, JobSession] = {}
        self.reset()

    def reset(self) -> None:
        """Back to a freshly installed server (the inventory and the login sessions are kept)."""
        for session in self.sessions.values():
            session.cancel.set()  # running workers notice the new generation and stop
        self.generation += 1
        self.slas: dict[str, Sla] = default_slas()
        self._sla_ids = Sequence(FIRST_SLA_ID)
        self._job_ids = Sequence(FIRST_JOB_ID)
        self.vm_policies: dict[str, list[str]] = {}
        self.disk_policies: dict[str, list[str]] = {}
        self.vm_options: dict[str, dict] = {}
        self.versions: dict[str, list[Version]] = {}
        self.known_vms: dict[str, Vm] = {}  # last record of every VM with versions, even once deleted
        self.sessions: dict[str, JobSession] = {}
        self.logs: dict[str, list[LogEntry]] = {}
        self.vm_failures: dict[str, VmFailure] = {}
        self.restore_failures: dict[str, VmFailure] = {}
        self.logins.ttl_seconds = DEFAULT_SESSION_TTL_SECONDS
        self.jobs: dict[str, Job] = {
            MAINTENANCE_JOB_ID: Job(
                MAINTENANCE_JOB_ID,
                MAINTENANCE_JOB_NAME,
                JobKind.MAINTENANCE,
                "Removes expired recovery points and job logs",
            ),
            INVENTORY_JOB_ID: Job(
                INVENTORY_JOB_ID,
                INVENTORY_JOB_NAME,
                JobKind.INVENTORY,
                "Catalogs the virtual machines of every registered hypervisor",
            ),
        }
        self.views.clear()

    # --- inventory -------------------------------------------------------------------------------------------

    def apply_inventory(self, inventory: Inventory) -> None:
        """Replace the inventory: VMs gone from vCenter disappear with their assignments; versions stay."""
        self.inventory = inventory
        for vm_id in self.versions:
            if vm_id in inventory.vms:
                self.known_vms[vm_id] = inventory.vms[vm_id]
        for table, present in (
            (self.vm_policies, inventory.vms),
            (self.vm_options, inventory.vms),
            (self.disk_policies, inventory.disks),
        ):
            for resource_id in [key for key in table if key not in present]:
                del table[resource_id]
        self.views.clear()

    def recovery_vm(self, vm_id: str) -> Vm | None:
        """A VM that has recovery points: its current record, or the last one seen if it was deleted."""
        if vm_id not in self.versions:
            return None
        return self.inventory.vms.get(vm_id) or self.known_vms.get(vm_id)

    # --- SLA policies ----------------------------------------------------------------------------------------

    def sla_by_name(self, name: str) -> Sla | None:
        return next((sla for sla in self.slas.values() if sla.name == name), None)

    def add_sla(self, name: str, body: dict) -> Sla:
        sla = Sla(
            id=self._sla_ids.next(),
            name=name,
            description=str(body.get("description") or ""),
            type=str(body.get("type") or "backup"),
            version=str(body.get("version") or "1.0"),
            spec=copy.deepcopy(body.get("spec") or {}),
        )
        self.slas[sla.id] = sla
        return sla

    def sla_resources(self, name: str) -> tuple[list[str], list[str]]:
        """(VM ids, disk ids) that have the SLA."""
        vm_ids = [vm_id for vm_id, names in self.vm_policies.items() if name in names]
        disk_ids = [disk_id for disk_id, names in self.disk_policies.items() if name in names]
        return vm_ids, disk_ids

    def set_policies(self, resource_id: str, names: list[str], *, disk: bool) -> None:
        table = self.disk_policies if disk else self.vm_policies
        if names:
            table[resource_id] = list(names)
        else:
            table.pop(resource_id, None)
        vm_id = self.inventory.disks[resource_id][0].id if disk else resource_id
        self.views.invalidate(vm_id)

    # --- jobs and sessions -----------------------------------------------------------------------------------

    def job_by_name(self, name: str) -> Job | None:
        return next((job for job in self.jobs.values() if job.name == name), None)

    def sla_job(self, sla_name: str) -> Job | None:
        return next(
            (job for job in self.jobs.values() if job.kind == JobKind.BACKUP and job.policy_name == sla_name), None
        )

    def ensure_sla_job(self, sla_name: str) -> Job:
        """The vmware_<SLA> job, created at the SLA's first assignment and kept (with its id) until the SLA goes."""
        job = self.sla_job(sla_name)
        if job is None:
            job = Job(
                self._job_ids.next(),
                backup_job_name(sla_name),
                JobKind.BACKUP,
                f"Backup of the resources protected by {sla_name}",
                policy_name=sla_name,
            )
            self.jobs[job.id] = job
        return job

    def is_sla_held(self, sla_name: str) -> bool:
        job = self.sla_job(sla_name)
        return bool(job and job.held)

    def add_restore_job(self) -> Job:
        job_id = self._job_ids.next()
        job = Job(job_id, f"onDemandRestore_{now_ms()}", JobKind.RESTORE, "On-demand restore of virtual machines")
        self.jobs[job.id] = job
        return job

    def new_session(self, job: Job, sla_name: str | None = None) -> JobSession:
        session = JobSession(self.session_ids.next(), job.id, job.name, job.kind, now_ms(), sla_name=sla_name)
        self.sessions[session.id] = session
        self.logs[session.id] = []
        job.last_session_id = job.running_session_id = session.id
        return session

    def add_log(self, session_id: str, log_type: str, message_id: str, message: str, params: tuple[str, ...]) -> None:
        entries = self.logs.get(session_id)
        if entries is not None:
            entries.append(
                LogEntry(self.object_ids.next(), session_id, now_ms(), log_type, message_id, message, params)
            )

    # --- recovery points -------------------------------------------------------------------------------------

    def add_version(
        self, vm: Vm, session: JobSession, sla: Sla, consistency: str, config: dict, disk_keys: tuple[int, ...]
    ) -> Version:
        version_id = self.object_ids.next()
        protection_time = now_ms()
        copies = [Copy(self.object_ids.next(), version_id, sla.backup_site(), "BACKUP", protection_time)]
        for subpolicy in sla.spec.get("subpolicy") or []:
            # Replication and offload subpolicies leave further copies of the same point.
            kind = subpolicy.get("type")
            if (kind == "REPLICATION" and subpolicy.get("software") is False) or kind in ("SPPOFFLOAD", "SPPARCHIVE"):
                site = site_by_name(subpolicy.get("site") or "") or sla.backup_site()
                copies.append(Copy(self.object_ids.next(), version_id, site, kind, protection_time))
        version = Version(
            version_id,
            vm.id,
            session.id,
            session.job_name,
            sla.name,
            protection_time,
            consistency,
            vm.host_name,
            config,
            disk_keys,
            tuple(copies),
        )
        self.versions[vm.id] = [*self.versions.get(vm.id, []), version]
        self.known_vms[vm.id] = vm
        self.views.invalidate(vm.id)
        return version

    # --- time passing (admin API) -----------------------------------------------------------------------------

    def age_versions(self, vm_ids: Iterable[str], delta_ms: int) -> int:
        """Move every version (and copy) of these VMs delta_ms into the past; returns how many versions moved.

        A VM's versions all move by the same amount, so their order (the newest is the last) stays right.
        """
        aged: set[str] = set()
        for vm_id in vm_ids:
            versions = self.versions.get(vm_id)
            if not versions:
                continue
            self.versions[vm_id] = [_earlier_version(version, delta_ms) for version in versions]
            aged.update(version.id for version in versions)
            self.views.invalidate(vm_id)
        # Restore sessions name the point they restored by id and time; keep the time that id now has.
        for session in self.sessions.values():
            for entry in session.restored:
                if entry["versionId"] in aged:
                    entry["protectionTime"] -= delta_ms
        return len(aged)

    def age_sessions(self, session_ids: Iterable[str], delta_ms: int) -> int:
        """Move the start, end and log times of these job sessions delta_ms into the past; returns how many moved.

        A session still running keeps running: it ends at the real time, as if it had started delta_ms earlier.
        """
        count = 0
        for session_id in session_ids:
            session = self.sessions[session_id]
            session.start_ms -= delta_ms
            if session.end_ms is not None:
                session.end_ms -= delta_ms
            self.logs[session_id] = [
                replace(entry, log_time=entry.log_time - delta_ms) for entry in self.logs.get(session_id, [])
            ]
            count += 1
        return count

    def take_vm_failure(self, vm: Vm) -> str | None:
        """The injected failure message for this VM's backup, if any (by id or by name)."""
        return self._take_failure(self.vm_failures, vm)

    def take_restore_failure(self, vm: Vm) -> str | None:
        """The injected failure message for a restore of this VM, if any (by id or by name)."""
        return self._take_failure(self.restore_failures, vm)

    @staticmethod
    def _take_failure(failures: dict[str, VmFailure], vm: Vm) -> str | None:
        for key in (vm.id, vm.name):
            failure = failures.get(key)
            if failure:
                if failure.remaining is not None:
                    failure.remaining -= 1
                    if failure.remaining <= 0:
                        del failures[key]
                return failure.message
        return None


def _earlier_version(version: Version, delta_ms: int) -> Version:
    copies = tuple(replace(kept, protection_time=kept.protection_time - delta_ms) for kept in version.copies)
    return replace(version, protection_time=version.protection_time - delta_ms, copies=copies)
