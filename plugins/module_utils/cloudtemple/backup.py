# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The backup routes of Cloud Temple's console (SPP behind it): SLA policies, their assignment, jobs, sessions, and
what the backup service knows of VMs, disks, sites and vCenters (docs/cloudtemple-api.md sections 6 to 10).

Considered private: only this collection may import it. One function per route, taking a ``CloudTempleClient``
first. Ids are the console's, opaque strings (§2.3: the VM and disk ids are the compute API's). Writes return the id
of their activity: ``activities.wait`` follows it. The routes are those of provider v0.16.0 and later
(``/api/backup/v1/spp/...``, §1.2). A read of one object returns None on 404; a list returns a ``Listing``
(``partial`` on a 206, §2.5).
"""

from __future__ import annotations

from urllib.parse import quote

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import InvalidRequest, NotFound

BACKUP_PATH = "/api/backup/v1/spp"
POLICIES_PATH = BACKUP_PATH + "/policies"  # §6
ASSIGN_VM_PATH = POLICIES_PATH + "/assign/virtual_machine"  # §7.1
ASSIGN_DISK_PATH = POLICIES_PATH + "/assign/virtual_disk"  # §7.2
JOBS_PATH = BACKUP_PATH + "/jobs"  # §10.1
RUN_JOB_PATH = JOBS_PATH + "/run"  # §10.2
SESSIONS_PATH = JOBS_PATH + "/session"  # §10.3
BACKUP_VMS_PATH = BACKUP_PATH + "/virtual_machines"  # §8.1
BACKUP_DISKS_PATH = BACKUP_PATH + "/virtual_disks"  # §8.2
SITES_PATH = BACKUP_PATH + "/sites"  # §9
VCENTERS_PATH = BACKUP_PATH + "/vcenters"  # §8.3

CATALOG_JOB_TYPE = "catalog"  # §10.1: the only type value seen
INVENTORY_JOB_NAME = "Hypervisor Inventory"  # §10.4: found by name, its id is the tenant's own

EMPTY_POLICIES_WARNING = (
    "an empty policy list removes every policy, and on a console where an empty assignment never starts the activity "
    "stays 'waiting' for ever (#306, seen on the OpenIaaS route; the VMware route's behaviour is not recorded)")


def _one(path, object_id):
    return "%s/%s" % (path, quote(str(object_id), safe=""))


def _ids(values):
    return [str(value) for value in values]


# -- SLA policies (§6) --------------------------------------------------------------------------------------------


def list_policies(client, virtual_machine_id=None, virtual_disk_id=None):
    """Every SLA policy of the tenant; with ``virtual_machine_id`` or ``virtual_disk_id`` (one at a time, §6.1), the
    policies assigned to that VM or disk. A filter on an unknown id gives an empty list (§4.1)."""
    if virtual_machine_id and virtual_disk_id:
        raise InvalidRequest("list_policies takes virtual_machine_id or virtual_disk_id, not both: no caller of the "
                             "console sends both (docs/cloudtemple-api.md 6.1)")
    params = {}
    if virtual_machine_id:
        params["virtualMachineId"] = str(virtual_machine_id)
    if virtual_disk_id:
        params["virtualDiskId"] = str(virtual_disk_id)
    return client.listing(POLICIES_PATH, params=params or None)


def get_policy(client, policy_id):
    """One SLA policy (§6.2); None when there is no such policy (404)."""
    return client.get_or_none(_one(POLICIES_PATH, policy_id))


def _policy_list(policy_ids, allow_empty, what):
    policies = _ids(policy_ids or [])
    if not policies and not allow_empty:
        raise InvalidRequest("refused to send an empty policy list for %s: %s. Pass allow_empty=True to mean it"
                             % (what, EMPTY_POLICIES_WARNING))
    return policies


def assign_to_vms(client, vm_ids, policy_ids, allow_empty=False):
    """Give VMs exactly ``policy_ids`` (§7.1: replace semantics, the whole set, not a delta); return the activity id.

    One call for every VM in ``vm_ids`` (inferred: the same list applies to each, in one activity). An empty VM list
    is refused before any call. An empty policy list removes every policy, and is sent only with ``allow_empty``:
    #306 saw an empty assignment stay ``waiting`` for ever, so its activity must be waited on with a deadline. A VM
    the backup service has not inventoried yet is accepted here and fails in the activity (§7.1, #45).
    """
    vms = _ids(vm_ids or [])
    if not vms:
        raise InvalidRequest("assign_to_vms needs at least one VM id; nothing was sent")
    policies = _policy_list(policy_ids, allow_empty, "VM(s) %s" % ", ".join(vms))
    return client.write("POST", ASSIGN_VM_PATH, json={"virtualMachineIds": vms, "slaPolicies": policies})


def assign_to_disk(client, disk_id, policy_ids, allow_empty=False):
    """Give one virtual disk exactly ``policy_ids`` (§7.2: one disk per call, replace semantics); return the activity
    id. An empty policy list is sent only with ``allow_empty`` (see ``assign_to_vms``, #306)."""
    if not disk_id:
        raise InvalidRequest("assign_to_disk needs a disk id; nothing was sent")
    policies = _policy_list(policy_ids, allow_empty, "disk %s" % disk_id)
    return client.write("POST", ASSIGN_DISK_PATH, json={"virtualDiskId": str(disk_id), "slaPolicies": policies})


# -- jobs and sessions (§10) --------------------------------------------------------------------------------------


def list_jobs(client, type=None):  # pylint: disable=redefined-builtin
    """The backup service's jobs (§10.1), of one ``type`` when given (``catalog`` is the only value seen)."""
    return client.listing(JOBS_PATH, params={"type": type} if type else None)


def get_job(client, job_id):
    """One job ``{id, name, displayName, type, status, policyId}`` (§10.1); None when there is no such job (404)."""
    return client.get_or_none(_one(JOBS_PATH, job_id))


def run_job(client, job_id, policy_id=None):
    """Run a job (§10.2); return the activity id. Inferred: the activity completes once the job has started, and the
    job is over when its ``status`` is back to ``IDLE``. ``policy_id`` is sent only when given (its meaning is not
    recorded)."""
    body = {"jobId": str(job_id)}
    if policy_id:
        body["policyId"] = str(policy_id)
    return client.write("POST", RUN_JOB_PATH, json=body)


def list_sessions(client):
    """Every job session the console returns for the tenant (§10.3: no filter, no paging)."""
    return client.listing(SESSIONS_PATH)


def find_inventory_job(client):
    """The "Hypervisor Inventory" job among the ``catalog`` jobs (§10.4), by name: its id is the tenant's own, and the
    first catalog job is not the right one (#9). ``NotFound`` names the catalog jobs there are when it is absent."""
    jobs = list_jobs(client, type=CATALOG_JOB_TYPE)
    for field in ("name", "displayName"):
        for job in jobs:
            if job.get(field) == INVENTORY_JOB_NAME:
                return job
    known = ", ".join(sorted(str(job.get("name") or job.get("displayName")) for job in jobs)) or "none"
    raise NotFound(None, description="the Cloud Temple console has no catalog job named '%s' (catalog jobs: %s)%s"
                   % (INVENTORY_JOB_NAME, known, " (a partial list)" if jobs.partial else ""))


# -- what the backup service knows (§8, §9) -----------------------------------------------------------------------


def get_backup_vm(client, vm_id):
    """The backup service's record of a VM, by its compute id (§8.1); None on 404, which also means "not yet
    inventoried": run the inventory job (``find_inventory_job``, ``run_job``) and read again."""
    return client.get_or_none(_one(BACKUP_VMS_PATH, vm_id))


def get_backup_disk(client, disk_id):
    """The backup service's record of a virtual disk, by its compute id (§8.2); None on 404 (not yet inventoried)."""
    return client.get_or_none(_one(BACKUP_DISKS_PATH, disk_id))


def list_sites(client):
    """The backup sites ``[{id, name}]`` (§9)."""
    return client.listing(SITES_PATH)


def list_vcenters(client, spp_server_id=None):
    """The vCenters the backup service knows ``[{id, internalId, instanceId, sppServerId, name}]`` (§8.3)."""
    return client.listing(VCENTERS_PATH, params={"sppServerId": str(spp_server_id)} if spp_server_id else None)
