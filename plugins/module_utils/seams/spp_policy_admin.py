# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``SppPolicyAdmin``: the SLA policy writes of IBM Storage Protect Plus and the hold and release of their jobs, as
``SppBackupService.policy_admin()`` hands them to ``services/sla_policies.py`` (capabilities ``sla_policy_write`` and
``hold_release`` of ``seams/backup_service.py``).

Considered private: only this collection may import it. One method per server operation, each a call of the
``spp/*`` functions that do it (looked up on their modules at call time, so tests replace them there). Definitions
and jobs are SPP's objects (spp-api.md sections 3 to 5).
"""

from __future__ import annotations

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import NotFound
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import jobs as spp_jobs
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import listing as spp_listing
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import policies as spp_policies


class SppPolicyAdmin:
    """The policy writes of an ``SppClient`` (``client``)."""

    def __init__(self, client):
        self.client = client

    def create(self, definition):
        """Create a policy once (a lost answer is looked up, never posted again); the created definition."""
        return spp_policies.create_sla_policy(self.client, definition)

    def update(self, policy_id, definition):
        """Replace a policy's whole definition; the server's answer."""
        return spp_policies.update_sla_policy(self.client, policy_id, definition)

    def delete(self, policy_id):
        """Delete a policy (``Conflict`` while it is assigned)."""
        return spp_policies.delete_sla_policy(self.client, policy_id)

    def resources_holding(self, policy_name):
        """VM and disk names that still have the policy: one paged listing of each, no per-VM call."""
        all_vms = spp_listing.list_vms(self.client)
        vms = sorted(vm.get("name") for vm in all_vms if policy_name in (vm.get("storageProfiles") or []))
        disks = sorted("%s / %s" % (disk.get("vmName") or disk.get("vmId") or "?", disk.get("name"))
                       for disk in spp_listing.list_vdisks(self.client, vms=all_vms)
                       if policy_name in (disk.get("storageProfiles") or []))
        return vms, disks

    # -- the policy's job: held or not ---------------------------------------------------------------------------

    def job(self, job_name):
        """The job named ``job_name`` (the policy's: ``vmware_<policy>``), or None when there is none yet."""
        try:
            return spp_jobs.find_job(self.client, job_name)
        except NotFound:
            return None

    @staticmethod
    def missing_action(job, action, note=None):
        """``Conflict`` when the job offers no ``action`` (``hold``, ``release``) link, else None. No call."""
        return spp_jobs.missing_action(job, action, note=note)

    def hold(self, job):
        """Hold the job's schedule; the job as the server answers."""
        return spp_jobs.hold_job(self.client, job)

    def release(self, job):
        """Release the job's schedule; the job as the server answers."""
        return spp_jobs.release_job(self.client, job)
