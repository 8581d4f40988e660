# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``CloudTempleBackupService``: the backup service seam (``seams/backup_service.py``) over Cloud Temple's console API,
which fronts IBM SPP for the customers of its SecNumCloud IaaS (docs/cloudtemple-api.md; § are its sections).

Considered private: only this collection may import it. It offers none of the seam's capabilities: the public
console API has no restore, no policy write, no hold or release, no per-VM backup, no backup options, no job log, no
recovery point and no list of the backup service's VMs (§14); ``REFUSALS`` says why in the console's terms, and what
to do instead. The jobs and sessions are ``seams/cloudtemple_runs.py``; the mapping of the console's objects to the
seam's shapes is ``seams/cloudtemple_shapes.py``.

Reads, where the console has no list (§8.1): the joined view reads the backup service's record of each VM by id, in
parallel (``read_many``); the VMs' compute ids come with the console's VM inventory, or from one compute listing
matched on vCenter and moref when the VMs come from vCenter. Disks (only ``with_disks``): each known VM's compute
disks (unless the inventory read them) and each disk's policies. ``only`` (morefs) limits those reads to some VMs.

Writes (§7): one ``assign/virtual_machine`` call per call of ``assign`` (the services call it once per distinct
policy set, with every VM of that set) and one ``assign/virtual_disk`` per disk, each followed through its activity
with a deadline before the next is sent. A failed activity fails with the console's reason (after one more send when
the reason is one the provider retries, §5.3); a write whose answer was lost (or a 5xx, #102) is read back before
failing, never sent again. An empty policy set (remove every policy, which the services plan
only where the rules allow it: never the last policy of a running VM) is sent, within the same deadline
(``write_timeout``): on some consoles its activity never starts (#306), and then the task fails with a message saying
so.
"""

from __future__ import annotations

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import (
    AmbiguousResult,
    ConfigurationError,
    InvalidRequest,
    NotFound,
    TaskFailed,
    WaitTimeout,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.cloudtemple import activities
from ansible_collections.sovereign.vm_backup.plugins.module_utils.cloudtemple import backup as ct_backup
from ansible_collections.sovereign.vm_backup.plugins.module_utils.cloudtemple import compute
from ansible_collections.sovereign.vm_backup.plugins.module_utils.cloudtemple._client import read_many
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.inventory_join import join_inventories
from ansible_collections.sovereign.vm_backup.plugins.module_utils.seams import cloudtemple_shapes as shapes
from ansible_collections.sovereign.vm_backup.plugins.module_utils.seams.backup_service import BackupService
from ansible_collections.sovereign.vm_backup.plugins.module_utils.seams.cloudtemple_runs import ConsoleJobs

# Where a customer asks for a new policy: Cloud Temple's backup documentation (the seed of this collection's rules,
# "Create a Backup Policy": "a request must be made to support. Support can be accessed via the lifebuoy icon at the
# top right of the window"), the window being the console's; docs/cloudtemple-api.md section 14.
CONSOLE_URL = "https://shiva.cloud-temple.com"
SUPPORT = ("a service request to Cloud Temple support, made from the lifebuoy icon at the top right of the Cloud Temple "
           "console (%s)" % CONSOLE_URL)
# Where a restore is made (docs/cloudtemple-api.md section 14: the console's UI only, DOC quickstart "Restaurer une
# sauvegarde").
RESTORE_SCREEN = ("the Cloud Temple console (%s): the VM's Backups tab (\"Sauvegardes\"), then Restore "
                  "(\"Restaurer\"), in mode TEST, CLONE or PRODUCTION" % CONSOLE_URL)

REFUSALS = {
    "restore": "the public console API offers no restore route (docs/cloudtemple-api.md section 14); restore from "
               + RESTORE_SCREEN,
    "sla_policy_write": "policies are created by Cloud Temple support: " + SUPPORT + ", naming the organisation, a "
                        "contact, the tenant, the policy's name and its retention. The console API only reads "
                        "policies (docs/cloudtemple-api.md sections 6 and 14); state: present of an existing policy "
                        "reads it",
    "hold_release": "a held policy is a matter for Cloud Temple support (the console API has no hold or release "
                    "route, docs/cloudtemple-api.md section 14): " + SUPPORT,
    "vm_backup": "the console runs a policy's whole job only (jobs/run takes a job, no VM list: "
                 "docs/cloudtemple-api.md sections 10.2 and 14), which backs up every VM the policy protects; run the "
                 "policy (vm_backup_run with policy and no vms), or confirm with whole_policy: true",
    "backup_options": "per-VM backup options (quiescing) are set in the Cloud Temple console's UI only "
                      "(docs/cloudtemple-api.md section 14); leave quiesce and fallback_to_crash_consistent unset",
    "job_logs": "the console gives a job session's counts only, no log (docs/cloudtemple-api.md sections 10.3 and "
                "14); read the session in the console's backup reports",
    "recovery_points": "the console API has no route to a VMware VM's recovery points (docs/cloudtemple-api.md "
                       "section 14); see them in the Cloud Temple console (VM > Backups)",
    "vm_listing": "the console has no list of the backup service's VMs, only a read of one VM by its id "
                  "(docs/cloudtemple-api.md section 8.1)",
    "vm_sites": "the console names no availability zone for a VM, and no API object links a site to one "
                "(docs/cloudtemple-api.md sections 9 and 16.7); the console checks the disk policy rule itself when a "
                "policy is assigned to a disk, and refuses the assignment with its reason",
}

# §5.3: an activity that failed for one of the reasons the provider retries is sent again, this many times.
TRANSIENT_RESENDS = 1

EMPTY_SET_HINT = (
    "An empty policy list (remove every policy) may never start on the console (provider issue #306): look for the "
    "activity among the console's activities, and remove the policies in the console (VM > Backup policies) if it "
    "stays waiting")


def _policy_names(client, **which):
    """The names of the policies assigned to one VM or disk (§6.1 with a filter; an unknown id gives [])."""
    return sorted(policy.get("name") for policy in ct_backup.list_policies(client, **which) if policy.get("name"))


def _disk_policies(client, disk_id):
    return _policy_names(client, virtual_disk_id=disk_id)


class CloudTempleBackupService(ConsoleJobs, BackupService):
    """The backup service behind Cloud Temple's console, through a ``CloudTempleClient`` (``client``)."""

    kind = "cloudtemple"
    label = "the Cloud Temple console API"
    OFFERS = frozenset()
    REFUSALS = REFUSALS
    RESCAN_ONCE = True  # §10.4 step 3, §15 (#72): after one inventory run, read the VMs until they answer

    write_timeout = 600  # seconds for the calls of one assign (one policy set), activities included

    def __init__(self, client, write_timeout=None):
        """``write_timeout``: seconds for the calls of one ``assign``, their activities included (vm_backup_policy's
        option of that name; an empty policy list's activity, which may never start (#306), has no other bound)."""
        self.client = client
        if write_timeout is not None:
            self.write_timeout = write_timeout
        self.vms_by_id = {}  # compute id -> the backup service's VM object (§8.1), of the last read_joined
        self.names_by_id = {}  # compute id of a VM or disk -> its name, for messages
        self.policies_of = {}  # compute id of a known VM -> the policies it holds, VM and disk level (last_backups)
        self.policies_by_name = {}  # SLA definitions (SPP's shape, console ids) of the last sla_policies, by name
        self._last_backups = None  # read once per read_joined

    def _policies(self):
        if not self.policies_by_name:
            self.sla_policies()
        return self.policies_by_name

    # -- the joined inventory ------------------------------------------------------------------------------------

    def read_joined(self, vcenter, with_disks=True, page_size=1000, only=None):
        """See ``BackupService.read_joined``. ``vcenter()`` is called first (no listing of the backup service's VMs
        to read meanwhile, §8.1); ``backup_only`` is always empty. ``only``: a collection of morefs, to read those VMs
        only (the result holds no other VM)."""
        vcenter_uuid, listed = vcenter()
        vms = [vm for vm in listed if only is None or vm.get("moref") in only]
        targets = [vm for vm in vms if not vm.get("template") and vm.get("moref")]
        ids = self._compute_ids(vcenter_uuid, targets)
        found = read_many(self.client, ct_backup.get_backup_vm,
                          [ids[vm["moref"]] for vm in targets if vm["moref"] in ids])
        known = {vm["moref"]: vm for vm in targets if found.get(ids.get(vm["moref"])) is not None}
        stand_ins = [shapes.backup_vm_stand_in(ids[moref], moref, found[ids[moref]]) for moref in known]
        disks = self._disk_stand_ins(known, ids) if with_disks else []
        self.vms_by_id = {ids[moref]: found[ids[moref]] for moref in known}
        self.names_by_id = {ids[moref]: vm.get("name") for moref, vm in known.items()}
        self.policies_of = {vm["id"]: set(vm["storageProfiles"]) for vm in stand_ins}
        for disk in disks:
            self.names_by_id[disk["id"]] = "%s / %s" % (self.names_by_id.get(disk["vmId"]), disk["name"])
            self.policies_of[disk["vmId"]].update(disk["storageProfiles"])
        self._last_backups = None
        return join_inventories(vcenter_uuid, vms, shapes.hypervisors_stand_in(vcenter_uuid), stand_ins, disks)

    def _compute_ids(self, vcenter_uuid, vms):
        """``{moref: compute id}``. The console's VM inventory gives each VM's ``compute_id``; VMs listed by vCenter
        are matched in one compute listing, on their vCenter (the machine manager whose ``instanceUuid`` is vCenter's,
        §12.6, §16.8) and moref. A moref the listing does not hold once is left out (the VM reads as unknown)."""
        ids = {vm["moref"]: vm["compute_id"] for vm in vms if vm.get("compute_id")}
        rest = [vm["moref"] for vm in vms if vm["moref"] not in ids]
        if not rest:
            return ids
        ours = self._machine_managers(vcenter_uuid)
        listing = compute.list_vms(self.client, machine_manager_id=next(iter(ours)) if len(ours or ()) == 1 else None)
        candidates = {}
        for item in listing:
            manager = compute.vm_machine_manager_id(item)
            rank = 0 if ours is None or manager in ours else 1 if manager is None else None
            if rank is not None and item.get("moref") and item.get("id"):
                candidates.setdefault(item["moref"], []).append((rank, str(item["id"])))
        for moref in rest:
            best = sorted(candidates.get(moref) or [])
            if best and (len(best) == 1 or best[0][0] < best[1][0]):
                ids[moref] = best[0][1]
            elif best:
                self.client.log("the console lists %d VMs with moref %s; it is read as unknown to the backup service"
                                % (len(best), moref))
        if listing.partial and len(ids) < len(vms):
            self.client.log("the console's VM list was partial (HTTP 206): %d VM(s) of vCenter were not found in it"
                            % (len(vms) - len(ids)))
        return ids

    def _machine_managers(self, vcenter_uuid):
        """The ids of the console's vCenters that are vCenter ``vcenter_uuid``; None when the console has one vCenter
        (or lists none) and it does not show that UUID: its VMs are then all vCenter's."""
        managers = compute.list_machine_managers(self.client)
        ours = {str(item.get("id")) for item in managers if vcenter_uuid and item.get("instanceUuid") == vcenter_uuid}
        if ours:
            return ours
        if len(managers) <= 1:
            return None
        raise ConfigurationError(
            "the Cloud Temple console lists %d vCenters (%s) and none has the instance UUID %s of the vCenter that "
            "vcenter_hostname names. Set vcenter_* to one of this tenant's vCenters, or leave them unset to read the "
            "VMs from the console" % (len(managers), ", ".join(sorted(str(m.get("name")) for m in managers)),
                                      vcenter_uuid))

    def _disk_stand_ins(self, known, ids):
        """The disks of the known VMs with their policies: the compute disks the VM inventory read (their
        ``compute_id``), else one disk list per VM (§12.3); then one policy read per disk (§6.1, ``virtualDiskId``).
        A disk of a VM the backup service knows is taken as known to it too (the inventory job reads both, §10.4)."""
        pairs, unread = {}, []
        for moref, vm in known.items():
            disks = vm.get("disks")
            if disks is not None and all(disk.get("compute_id") for disk in disks):
                pairs[ids[moref]] = [(disk["compute_id"], disk.get("label")) for disk in disks]
            else:
                unread.append(ids[moref])
        for vm_id, disks in read_many(self.client, compute.list_disks, unread).items():
            pairs[vm_id] = [(str(disk["id"]), disk.get("name")) for disk in disks if disk.get("id")]
        policies = read_many(self.client, _disk_policies, [disk_id for items in pairs.values() for disk_id, _name in items])
        return [shapes.disk_stand_in(vm_id, disk_id, name, policies[disk_id])
                for vm_id, items in pairs.items() for disk_id, name in items]

    def last_backups(self, backup_ids=None, search_first=None, page_size=1000):
        """See ``BackupService.last_backups``: inferred from the policies' job sessions (``source``
        ``policy_sessions_inferred``, ``cloudtemple_shapes.inferred_last_backups``): three reads, whatever the number
        of VMs."""
        if backup_ids is None:
            backup_ids = list(self.vms_by_id)
        wanted = [vm_id for vm_id in backup_ids if vm_id in self.vms_by_id]
        if self._last_backups is None:
            names = {definition["id"]: name for name, definition in self._policies().items()}
            self._last_backups = shapes.inferred_last_backups(self.policies_of, ct_backup.list_jobs(self.client),
                                                              names, self._sessions())
        return {vm_id: self._last_backups[vm_id] for vm_id in wanted}

    # -- policies ------------------------------------------------------------------------------------------------

    def sla_policies(self, page_size=1000):
        definitions = [shapes.spp_definition(policy) for policy in ct_backup.list_policies(self.client)]
        self.policies_by_name = {definition["name"]: definition for definition in definitions}
        return definitions

    def find_policy(self, name, policies):
        for policy in policies:
            if policy.get("name") == name:
                return policy
        known = ", ".join(sorted(str(policy.get("name")) for policy in policies)) or "none"
        raise NotFound(None, description="the Cloud Temple console has no SLA policy named '%s' (known: %s); a new "
                       "policy is %s" % (name, known, SUPPORT))

    def policy_jobs(self, page_size=1000):
        """See ``BackupService.policy_jobs``: a policy's jobs are those whose ``policyId`` is its id (§10.1). Held:
        a job in status ``HELD`` (inferred, §16.6: the policy object has no status). The session list is read only
        when a job runs, for its newest session."""
        names = {definition["id"]: name for name, definition in self._policies().items()}
        found, sessions = {}, None
        for job in ct_backup.list_jobs(self.client):
            policy = names.get(job.get("policyId"))
            if policy is None:
                continue
            entry = found.setdefault(policy, {"job": job.get("name"), "held": False, "running": False,
                                              "session_id": None})
            status = str(job.get("status") or "").upper()
            entry["held"] = entry["held"] or status == "HELD"
            if status == "RUNNING":
                sessions = self._sessions() if sessions is None else sessions
                latest = shapes.newest(self._job_sessions(job, sessions))
                entry.update(job=job.get("name"), running=True, session_id=str(latest["id"]) if latest else None)
        return found

    def sites(self, page_size=1000):
        return [{"id": site.get("id"), "name": site.get("name")} for site in ct_backup.list_sites(self.client)]

    # -- assignments ---------------------------------------------------------------------------------------------

    def _policy_ids(self, policy_names):
        definitions = self._policies()
        unknown = sorted(set(policy_names) - set(definitions))
        if unknown:
            raise InvalidRequest("the Cloud Temple console has no SLA policy named %s; nothing was sent"
                                 % ", ".join(unknown))
        return [definitions[name]["id"] for name in policy_names]

    def assign(self, resources, policy_names):
        """See ``BackupService.assign``: one ``assign/virtual_machine`` call for every VM of ``resources`` (§7.1:
        replace semantics; inferred §16.3: the list applies to each VM, in one activity) and one ``assign/virtual_disk``
        call per disk (§7.2), each waited for before the next is sent."""
        policy_ids = self._policy_ids(policy_names)
        deadline = self._deadline(self.write_timeout)
        vm_ids = [vm_id for vm_id, disk_id in resources if disk_id is None]
        calls = ([(lambda: ct_backup.assign_to_vms(self.client, vm_ids, policy_ids, allow_empty=True),
                   [(vm_id, None) for vm_id in vm_ids])] if vm_ids else [])
        for vm_id, disk_id in resources:
            if disk_id is not None:
                calls.append((lambda disk=disk_id: ct_backup.assign_to_disk(
                    self.client, disk, policy_ids, allow_empty=True), [(vm_id, disk_id)]))
        for send, concerned in calls:
            what = "assigning %s to %s" % (", ".join(policy_names) or "no policy (removing every policy)",
                                           ", ".join(self._name(item) for item in concerned))
            self._write(send, concerned, policy_names, what, deadline)

    def _write(self, send, concerned, policy_names, what, deadline):
        """Send one assignment and wait for its activity. An activity that failed for a reason the provider retries
        (§5.3: "None of the workers were able to respond" ...) is sent once more: an assignment replaces the whole
        set, so sending it again cannot apply it twice."""
        for attempt in range(1 + TRANSIENT_RESENDS):
            try:
                activity = send()
            except AmbiguousResult as error:
                self._after_lost_write(error, concerned, policy_names, what)
                return
            try:
                self._wait_write(activity, what, deadline, empty=not policy_names)
                return
            except TaskFailed as error:
                if not error.details.get("transient") or attempt >= TRANSIENT_RESENDS or deadline.expired():
                    raise
                self.client.log("%s: the console's activity %s failed for a transient reason (%s); sending it once "
                                "more" % (what, activity, error.details.get("reason")))

    def _name(self, resource):
        vm_id, disk_id = resource
        return self.names_by_id.get(disk_id if disk_id is not None else vm_id) or disk_id or vm_id

    def _wait_write(self, activity, what, deadline, empty):
        """Wait for one write's activity; a failure carries the console's reason, a timeout what to check."""
        try:
            activities.wait(self.client, activity, None, progress=self.client.log, deadline=deadline)
        except TaskFailed as error:
            reason = error.details.get("reason") or error.message
            raise TaskFailed(self.client.redact("%s failed on the Cloud Temple console (activity %s): %s"
                                                % (what, activity, reason)),
                             **dict(error.details, reason=reason)) from None
        except WaitTimeout as error:
            if not empty:
                raise
            raise WaitTimeout("%s: %s. %s" % (what, error.message.rstrip("."), EMPTY_SET_HINT),
                              **error.details) from None

    def _after_lost_write(self, error, concerned, policy_names, what):
        """A write whose answer was lost, or answered 429/5xx (#102): read the sets back. Applied already: go on;
        otherwise fail, saying what the console holds now (its activity may still apply it)."""
        now = self.policy_sets(concerned)
        if all(now.get(item) == sorted(policy_names) for item in concerned):
            self.client.log("%s: the answer was lost, but the console already holds the new policies" % what)
            return

        def held(item):
            return "unknown" if now.get(item) is None else ", ".join(now[item]) or "no policy"

        holds = "; ".join("%s: %s" % (self._name(item), held(item)) for item in concerned)
        raise AmbiguousResult("%s: %s. Read back right after: %s" % (what, error.message.rstrip("."), holds),
                              **dict(error.details, policy_sets=holds)) from None

    def policy_sets(self, resources, page_size=1000):
        """See ``BackupService.policy_sets``: a VM's set is its backup record's ``storageProfiles`` (None when the
        backup service no longer knows it, §8.1), a disk's the policies filtered by ``virtualDiskId`` (§7.2's
        read-back); in parallel, for those resources only."""
        vm_ids = [vm_id for vm_id, disk_id in resources if disk_id is None]
        disk_ids = [disk_id for _vm_id, disk_id in resources if disk_id is not None]
        vms = read_many(self.client, ct_backup.get_backup_vm, vm_ids)
        disks = read_many(self.client, _disk_policies, disk_ids)
        sets = {}
        for vm_id, disk_id in resources:
            if disk_id is None:
                sets[(vm_id, None)] = None if vms[vm_id] is None else sorted(vms[vm_id].get("storageProfiles") or [])
            else:
                sets[(vm_id, disk_id)] = disks[disk_id]
        return sets
