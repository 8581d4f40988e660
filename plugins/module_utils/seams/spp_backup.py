# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``SppBackupService``: the backup service seam (``seams/backup_service.py``) over IBM Storage Protect Plus, through
the ``spp`` client package. It offers every capability of the seam.

Considered private: only this collection may import it. Each method is a call of the ``spp/*`` functions that do it
(looked up on their modules at call time, so tests replace them there). It keeps SPP's raw objects of the last
``read_joined`` (VMs and vdisks by id) and of the last ``sla_policies`` (by name), because SPP's writes send the
server's own hrefs. The restore operations are ``seams/spp_restorer.py`` (``restorer()``), the SLA policy writes and
hold/release ``seams/spp_policy_admin.py`` (``policy_admin()``).

Reads in bulk, as before the seam: one paged listing per kind of object; per-VM reads only where the public record
has no bulk route, in a bounded pool of threads (``spp/listing.py``): the disks when the server has no vdisk search,
and the newest recovery points (``last_backups``, ``session_points``).
"""

from __future__ import annotations

from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.inventory_join import join_inventories
from ansible_collections.sovereign.vm_backup.plugins.module_utils.seams.backup_service import OPERATIONS, BackupService
from ansible_collections.sovereign.vm_backup.plugins.module_utils.seams.spp_policy_admin import SppPolicyAdmin
from ansible_collections.sovereign.vm_backup.plugins.module_utils.seams.spp_restorer import SppRestorer
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import answers as spp_answers
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import backup as spp_backup
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import jobs as spp_jobs
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import listing as spp_listing
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import policies as spp_policies
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import versions as spp_versions


def _may_hold_a_point_since(item, since):
    """Whether a VM of the recovery catalogue (its search item, None when absent) may hold a point made at or after
    ``since`` (epoch ms; None: unknown). Absent: it has no point at all. Without a time in the item: it may."""
    if item is None:
        return False
    newest = spp_answers.last_protection_time(item)
    return newest is None or since is None or newest >= int(since)


class SppBackupService(BackupService):
    """IBM Storage Protect Plus through an ``SppClient`` (``client``, logged in by the glue)."""

    kind = "spp"
    label = "IBM Storage Protect Plus"
    OFFERS = frozenset(OPERATIONS)

    def __init__(self, client):
        self.client = client
        self.vms_by_id = {}  # SPP VM objects of the last read_joined, by id
        self.disks_by_id = {}  # SPP vdisk objects of the last read_joined, by id
        self.policies_by_name = {}  # SLA definitions of the last sla_policies, by name
        self._last_backups = {}  # spp id (str) -> newest point, read once per read_joined
        self._hypervisor_scopes = {}  # frozenset of VM ids -> the hypervisors to list them (policy_sets)

    def _vm(self, vm_id):
        return self.vms_by_id.get(vm_id) or {}

    # -- the joined inventory ------------------------------------------------------------------------------------

    def read_joined(self, vcenter, with_disks=True, page_size=1000, only=None):
        """See ``BackupService.read_joined``. ``vcenter()`` is called after SPP's listings: while they run, the
        caller's thread lists vCenter. ``only`` is ignored: SPP's listings are bulk reads, the whole result costs no
        more."""
        hypervisors = spp_listing.list_hypervisors(self.client, page_size=page_size)
        spp_vms = spp_listing.list_vms(self.client, page_size=page_size, hypervisors=hypervisors)
        spp_disks = spp_listing.list_vdisks(self.client, page_size=page_size, vms=spp_vms) if with_disks else []
        vcenter_uuid, vcenter_vms = vcenter()
        self.vms_by_id = {vm.get("id"): vm for vm in spp_vms}
        self.disks_by_id = {disk.get("id"): disk for disk in spp_disks}
        self._last_backups = {}
        self._hypervisor_scopes = {}
        return join_inventories(vcenter_uuid, vcenter_vms, hypervisors, spp_vms, spp_disks)

    def last_backups(self, backup_ids=None, search_first=None, page_size=1000):
        wanted = list(self.vms_by_id) if backup_ids is None else [i for i in backup_ids if i in self.vms_by_id]
        missing = [self.vms_by_id[i] for i in wanted if str(i) not in self._last_backups]
        if missing:
            self._last_backups.update(spp_listing.last_backups(self.client, missing, page_size=page_size,
                                                               search_first=search_first))
        return {spp_id: self._last_backups[str(spp_id)] for spp_id in wanted}

    def rescan(self, timeout, progress=None):
        progress = progress or (lambda text: None)
        return spp_jobs.run_inventory(self.client, timeout=timeout,
                                      progress=lambda session: progress(spp_answers.describe_session(session)))

    # -- policies ------------------------------------------------------------------------------------------------

    def sla_policies(self, page_size=1000):
        policies = spp_policies.list_sla_policies(self.client, page_size=page_size)
        self.policies_by_name = {policy.get("name"): policy for policy in policies}
        return policies

    def find_policy(self, name, policies):
        return spp_policies.find_sla_policy(self.client, name, policies)

    def policy_jobs(self, page_size=1000):
        """See ``BackupService.policy_jobs``: SPP names the job of policy X ``vmware_X`` (spp-api.md section 14.7)."""
        found = {}
        for job in spp_jobs.list_jobs(self.client, page_size=page_size):
            name = str(job.get("name") or "")
            if not name.startswith(spp_answers.SLA_JOB_PREFIX):
                continue
            policy = name[len(spp_answers.SLA_JOB_PREFIX):]
            held = spp_answers.held_state(job)[0] or found.get(policy, {}).get("held", False)
            found[policy] = {"job": name, "held": held, "running": spp_answers.session_status(job) == "RUNNING",
                             "session_id": spp_answers.last_session_id(job)}
        return found

    def sites(self, page_size=1000):
        return spp_listing.list_sites(self.client, page_size=page_size)

    # -- assignments ---------------------------------------------------------------------------------------------

    def assign(self, resources, policy_names):
        objects = [self.vms_by_id[vm_id] if disk_id is None else self.disks_by_id[disk_id]
                   for vm_id, disk_id in resources]
        slas = [self.policies_by_name[name] for name in policy_names]
        return spp_policies.apply_sla_policies(self.client, objects, slas)

    def _hypervisors_of(self, vm_ids, page_size):
        """The hypervisors whose VM listings hold ``vm_ids``: their VM objects name them (``hypervisorKey``), so only
        those vCenters are listed; all of them when one does not say. Worked out once per set of VMs."""
        scope = frozenset(vm_ids)
        if scope not in self._hypervisor_scopes:
            keys = {self._vm(vm_id).get("hypervisorKey") for vm_id in scope}
            if not keys or None in keys:
                self._hypervisor_scopes[scope] = spp_listing.list_hypervisors(self.client, page_size=page_size)
            else:
                self._hypervisor_scopes[scope] = [{"id": key} for key in sorted(keys)]
        return self._hypervisor_scopes[scope]

    def policy_sets(self, resources, page_size=1000):
        """See ``BackupService.policy_sets``: one paged VM listing (of the written VMs' vCenters), plus one vdisk
        listing when a disk is among them (the search, else the ``links.vdisks`` of those disks' VMs only): never one
        read per VM."""
        hypervisors = self._hypervisors_of([vm_id for vm_id, _disk_id in resources], page_size)
        listed = spp_listing.list_vms(self.client, page_size=page_size, hypervisors=hypervisors)
        vms_by_id = {vm.get("id"): vm for vm in listed}
        disks_by_id = {}
        owners = sorted({vm_id for vm_id, disk_id in resources if disk_id is not None})
        if owners:
            owner_vms = [vms_by_id[vm_id] for vm_id in owners if vm_id in vms_by_id]
            disks_by_id = {disk.get("id"): disk
                           for disk in spp_listing.list_vdisks(self.client, page_size=page_size, vms=owner_vms)}
        sets = {}
        for vm_id, disk_id in resources:
            found = vms_by_id.get(vm_id) if disk_id is None else disks_by_id.get(disk_id)
            sets[(vm_id, disk_id)] = None if found is None else sorted(found.get("storageProfiles") or [])
        return sets

    def _vm_options(self, vm_id):
        """See ``BackupService.vm_options``; None for a VM the last ``read_joined`` did not return."""
        if vm_id not in self.vms_by_id:
            return None
        return spp_policies.get_vm_options(self.client, self.vms_by_id[vm_id])

    def _set_options(self, vm_ids, options):
        return spp_policies.apply_options(self.client, [self.vms_by_id[vm_id] for vm_id in vm_ids], options)

    # -- backup runs ---------------------------------------------------------------------------------------------

    def _policy_job(self, policy):
        return spp_jobs.find_job(self.client, spp_answers.sla_job_name(policy))

    def start_policy_backup(self, policy):
        return str(spp_jobs.start_job(self.client, self._policy_job(policy))["id"])

    def _start_vm_backup(self, policy, vm_ids):
        return spp_backup.start_adhoc_backup(self.client, policy, [self._vm(vm_id) for vm_id in vm_ids])

    def running_session(self, policy):
        return spp_jobs.running_session(self.client, self._policy_job(policy))

    def session(self, session_id):
        return spp_jobs.get_session(self.client, session_id)

    def wait_sessions(self, session_ids, timeout, poll, progress=None, seen=None):
        return spp_jobs.wait_for_sessions(self.client, session_ids, timeout=timeout, poll=poll, progress=progress,
                                          seen=seen)

    def backup_sessions(self, since_ms, page_size=1000):
        return spp_jobs.list_backup_sessions(self.client, since_ms, page_size)

    def _session_logs(self, session_id, types=None):
        if types is None:
            return spp_jobs.get_session_logs(self.client, session_id)
        return spp_jobs.get_session_logs(self.client, session_id, types=types)

    def _session_points(self, wanted, sessions, log=None):
        """See ``BackupService.session_points``. The public record has no bulk route to recovery points, so each VM
        that may have a new point is read through ``links.latestversion``, ``PARALLEL_READS`` at a time. Beyond
        ``DIRECT_READS_UP_TO`` pairs, one paged search of the recovery catalogue first leaves out the VMs without any
        point, and those whose newest point (when the server gives its time) is older than the session."""
        log = log or (lambda text: None)
        wanted = list(wanted)
        catalogue = None
        if len(wanted) > spp_listing.DIRECT_READS_UP_TO:
            catalogue = spp_listing.vms_with_points(self.client)
        if catalogue is not None:
            wanted = [(session_id, vm_id) for session_id, vm_id in wanted
                      if _may_hold_a_point_since(catalogue.get(str(self._vm(vm_id).get("id"))),
                                                 sessions[session_id].get("start"))]
            log("%d of the VM(s) that ended may have a new recovery point; reading them" % len(wanted))

        def read(item):
            session_id, vm_id = item
            return spp_versions.version_of_session(self.client, self._vm(vm_id), session_id,
                                                   since=sessions[session_id].get("start"))

        return dict(zip(wanted, spp_listing.read_in_parallel(self.client, read, wanted)))

    def _latest_point(self, vm_id):
        return spp_versions.latest_version(self.client, self._vm(vm_id))

    # -- handed out ----------------------------------------------------------------------------------------------

    def _restorer(self):
        return SppRestorer(self.client)

    def _policy_admin(self):
        return SppPolicyAdmin(self.client)
