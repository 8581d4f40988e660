# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Cloud Temple console's objects in the shapes the seams promise: SPP's definitions and sessions, the vSphere
listing's VM records, and the stand-ins the pure join (``pure/inventory_join.py``) reads. Pure: no I/O.

Considered private: only this collection may import it. Used by ``seams/cloudtemple_backup.py`` and
``seams/cloudtemple_inventory.py``. Section numbers (§) are those of docs/cloudtemple-api.md; the console returns
SPP's objects renamed (§6.3, §10.3), so mapping them back is renaming, plus the inferences its section 16 lists.
"""

from __future__ import annotations

from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import answers as spp_answers

# The joined records name the backup service's view of VMs by these stand-in objects (``join_inventories`` reads
# SPP's VM and vdisk shapes); one stand-in hypervisor holds them all.
CONSOLE_HYPERVISOR = "cloudtemple-console"

# §12.2: the compute API knows two power states (§16 open 8: no suspended).
POWER_STATES = {"running": "poweredOn", "stopped": "poweredOff"}

# §10.3: a session's ``type`` is e.g. "backup"; SPP's backup sessions are "protection" (spp/answers.py).
SESSION_TYPES = {"backup": spp_answers.BACKUP_SESSION_TYPE}

# ``last_backups``' source when the time is inferred from the policies' job sessions (the console has no recovery
# points, §14): the newest COMPLETED session of a policy the VM holds now. A PARTIAL session does not say which VMs
# failed (§10.3: counts only), so it is left out: a VM is reported older rather than newer than it may be.
FROM_POLICY_SESSIONS = "policy_sessions_inferred"
COUNTED_STATUSES = frozenset(("COMPLETED",))


def _name_of(value):
    return value.get("name") if isinstance(value, dict) else None


def _nested_or_flat(vm, nested, flat):
    """A name from a nested ``{id, name}`` object (provider v1.5.4+) or the older flat key (§12.2)."""
    return _name_of(vm.get(nested)) or vm.get(flat)


# -- backup service (§6, §10) --------------------------------------------------------------------------------------


def spp_definition(policy):
    """A console SLA policy (§6.3) as SPP's definition (``{id, name, description, spec: {subpolicy}}``, read by
    ``pure/sla_definition.py``): ``subPolicies`` is SPP's ``spec.subpolicy`` renamed. The console object has no
    description. ``id`` stays the console's: the assignment routes take it (§7)."""
    subpolicies = []
    for sub in policy.get("subPolicies") or []:
        item = {key: sub.get(key) for key in ("type", "useEncryption", "software", "site", "retention", "trigger",
                                              "target") if sub.get(key) is not None}
        subpolicies.append(item)
    return {"id": policy.get("id"), "name": policy.get("name"), "description": "",
            "spec": {"subpolicy": subpolicies}}


def spp_session(session):
    """A console job session (§10.3) in SPP's shape: ``status``, ``start``, ``end``, ``duration`` as they come,
    ``type`` ``protection`` for a backup, the VM counts as SPP's ``properties.statistics`` of resource type ``vm``
    (what ``pure/backup_run_plan.vm_statistics`` reads), ``policyName`` from its first ``slaPolicies`` item. The
    console gives no percentage: ``percent`` is None."""
    statistics = dict(session.get("statistics") or {}, resourceType="vm")
    policies = [item.get("name") for item in session.get("slaPolicies") or [] if isinstance(item, dict)]
    kind = str(session.get("type") or "")
    return {
        "id": session.get("id"),
        "jobName": session.get("jobName"),
        "jobId": session.get("jobId"),
        "status": session.get("status"),
        "start": session.get("start"),
        "end": session.get("end"),
        "duration": session.get("duration"),
        "type": SESSION_TYPES.get(kind.lower(), kind),
        "percent": None,
        "policyName": policies[0] if policies else None,
        "properties": {"statistics": [statistics]},
    }


def is_live(session):
    """Whether a console session (either shape) has not ended."""
    return not spp_answers.is_settled(spp_answers.session_status(session))


def newest(sessions):
    """The session that started last, or None."""
    return max(sessions, key=lambda session: int(session.get("start") or 0), default=None)


def inferred_last_backups(policies_of, jobs, policy_names, sessions):
    """``{vm id: {time, policy, source, version}}`` (``BackupService.last_backups``) inferred from job sessions.

    ``policies_of``: vm id -> the policy names it holds now (VM and disk level); ``jobs``: the console's jobs
    (``policyId`` links a job to its policy, §10.1); ``policy_names``: policy id -> name; ``sessions``: the console's
    sessions. A VM's time is the start of the newest COMPLETED session of a job of one of its policies (the start:
    its recovery point is not older than that), None when there is none. Inferred (§14: no recovery point route);
    a VM assigned after that session is reported as backed up by it."""
    policy_of_job = {job.get("id"): policy_names.get(job.get("policyId")) for job in jobs if job.get("policyId")}
    newest_by_policy = {}
    for session in sessions:
        policy = policy_of_job.get(session.get("jobId"))
        if policy is None or spp_answers.session_status(session) not in COUNTED_STATUSES or not session.get("start"):
            continue
        if int(session["start"]) > newest_by_policy.get(policy, (0, None))[0]:
            newest_by_policy[policy] = (int(session["start"]), session.get("id"))
    found = {}
    for vm_id, names in policies_of.items():
        best = max(((newest_by_policy[name][0], name) for name in names if name in newest_by_policy), default=None)
        found[vm_id] = {"time": best[0] if best else None, "policy": best[1] if best else None,
                        "source": FROM_POLICY_SESSIONS, "version": None}
    return found


def backup_vm_stand_in(compute_id, moref, backup_vm):
    """A VM the backup service knows (§8.1), as the SPP VM object the join reads; ``moref`` is the VM inventory's
    (the join matches on it), ``storageProfiles`` the names of its policies. The console names no site for a VM."""
    return {"id": compute_id, "name": backup_vm.get("name"), "hypervisorKey": CONSOLE_HYPERVISOR,
            "nativeObject": {"mor": {"val": moref}}, "config": {},
            "storageProfiles": sorted(backup_vm.get("storageProfiles") or []), "siteId": None}


def disk_stand_in(compute_vm_id, disk_id, name, policy_names):
    """A disk of a known VM as the SPP vdisk the join reads: matched to the VM inventory's disk by name (the
    compute disk's ``name`` is vSphere's label, "Hard disk 1": inferred from the provider's disk resource)."""
    return {"id": disk_id, "name": name, "vmId": compute_vm_id, "storageProfiles": sorted(policy_names)}


def hypervisors_stand_in(vcenter_uuid):
    return [{"id": CONSOLE_HYPERVISOR, "uniqueId": vcenter_uuid}]


# -- compute (§12) -------------------------------------------------------------------------------------------------


def disk_mode(value):
    """§12.3's ``diskMode`` as the vSphere listing classifies it (``vsphere/listing.py``): the two independent modes
    are not captured by the backup (DOC quickstart); the console shows no RDM."""
    return "independent" if str(value or "").startswith("independent") else "normal"


def disk_record(disk):
    """A compute disk (§12.3) as a disk of the vSphere listing, plus ``compute_id`` (the console's disk id, the one
    the backup routes take, §2.3)."""
    capacity = disk.get("capacity")
    native = disk.get("nativeId")
    return {"label": disk.get("name"), "key": int(native) if str(native or "").isdigit() else native,
            "size_bytes": int(capacity) if isinstance(capacity, (int, float)) else None,
            "mode": disk_mode(disk.get("diskMode")), "datastore": _name_of(disk.get("datastore")),
            "compute_id": disk.get("id")}


def listing_record(vm, moref=None, disks=None):
    """A compute VM (§12.2, either shape) as a record of the vSphere listing (``seams/vm_inventory.py``).

    ``instance_uuid`` is the console's compute id: the console shows no vCenter instanceUuid, and its VM id is the id
    its users see (the emulator makes it the instanceUuid, §2.3); ``compute_id`` says the same by name, for the
    backup side. ``folder`` is None (no folder membership, §12.2, §14) and so is ``host`` unless the older flat shape
    names it. ``moref`` overrides the VM's own (a moref two vCenters share is qualified by the inventory). ``nics``
    is None: the compute API has no NIC route. ``disks``: the VM's compute disks, or None when not read."""
    state = vm.get("powerState")
    return {
        "name": vm.get("name"),
        "moref": moref or vm.get("moref"),
        "instance_uuid": vm.get("id"),
        "compute_id": vm.get("id"),
        "machine_manager": _nested_or_flat(vm, "machineManager", "machineManagerName"),
        "power_state": POWER_STATES.get(str(state or "").lower(), state),
        "template": bool(vm.get("template")),
        "has_snapshots": bool(vm.get("snapshoted")),
        "folder": None,
        "datacenter": _nested_or_flat(vm, "datacenter", "datacenterName"),
        "host": vm.get("hostName"),
        "cluster": _nested_or_flat(vm, "hostCluster", "hostClusterName"),
        "disks": None if disks is None else [disk_record(disk) for disk in disks],
        "nics": None,
    }
