# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``SppRestorer``: the restore operations of IBM Storage Protect Plus, as ``SppBackupService.restorer()`` hands them
to ``services/restore*.py`` (capability ``restore`` of ``seams/backup_service.py``).

Considered private: only this collection may import it. One method per server operation, each a call of the
``spp/*`` functions that do it (looked up on their modules at call time, so tests replace them there). What they
return is SPP's: recovery-view VMs, versions and copies, restore job sessions (spp-api.md section 7 and 14), which
``spp/answers.py`` and the pure restore planners read. A backend that offers ``restore`` hands out an object with
these methods.
"""

from __future__ import annotations

from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import jobs as spp_jobs
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import listing as spp_listing
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import restore as spp_restore
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import versions as spp_versions
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp.answers import link_href


class SppRestorer:
    """The restore side of an ``SppClient`` (``client``)."""

    def __init__(self, client):
        self.client = client

    # -- the source and its recovery points ----------------------------------------------------------------------

    def hypervisor_ids(self, vcenter_uuid):
        """The ids under which the backup server registered the vCenter of instance UUID ``vcenter_uuid``."""
        return {h.get("id") for h in spp_listing.list_hypervisors(self.client) if h.get("uniqueId") == vcenter_uuid}

    def recovery_vms(self, names, hypervisor_ids):
        """The VMs with recovery points (deleted ones too) named one of ``names`` (every one when empty)."""
        return spp_restore.recovery_vms(self.client, names, hypervisor_ids)

    def versions(self, vm):
        """The recovery points of a VM of ``recovery_vms``."""
        return spp_versions.list_versions(self.client, vm)

    def vm_records(self, name):
        """The backup server's records of the VMs named ``name`` (its inventory, with their SLA policies)."""
        return spp_listing.search_vms(self.client, name)

    def resolve_destination(self, hypervisor_id, version, host=None, cluster=None, datastore_map=None,
                            network_map=None):
        """Where the restore goes, by name -> what the request names (``spp/restore.py``): nothing is written."""
        return spp_restore.resolve_destination(self.client, hypervisor_id, version, host=host, cluster=cluster,
                                               datastore_map=datastore_map, network_map=network_map)

    # -- the restore and its sessions ----------------------------------------------------------------------------

    def restore_payload(self, vm, version, mode, copy, name, placement, folder, power_on, allow_overwrite):
        """The restore request (SPP ``mode``) of ``vm`` from ``version`` (``copy``) to the resolved ``placement``."""
        destination = spp_restore.build_destination(
            source_href=link_href(vm, "self"), name=name, target=placement["target"],
            datastore_map=placement["datastore_map"], network_map=placement["network_map"], folder=folder)
        return spp_restore.build_restore_payload(
            vm, version, mode, copy=copy, name=name, destination=destination, power_on=power_on,
            allow_overwrite=allow_overwrite, site_href=spp_restore.site_href(self.client, copy))

    def start_restore(self, payload):
        """POST the restore once (``AmbiguousResult`` when its answer is lost); the server's answer."""
        return spp_restore.start_restore(self.client, payload)

    def restore_sessions(self, since_ms):
        """The restore job sessions started since ``since_ms`` (epoch ms), oldest first."""
        return spp_restore.list_restore_sessions(self.client, since_ms)

    def sessions_of_job(self, job_name):
        """The sessions of the restore job ``job_name`` (the restore answer's ``name``), oldest first."""
        return spp_restore.sessions_of_job(self.client, job_name)

    def session(self, session_id):
        return spp_jobs.get_session(self.client, session_id)

    def session_logs(self, session_id, types=None):
        if types is None:
            return spp_jobs.get_session_logs(self.client, session_id)
        return spp_jobs.get_session_logs(self.client, session_id, types=types)

    def check_session_result(self, session, what):
        """The session when it completed; ``TaskFailed`` with its ERROR log lines otherwise."""
        return spp_jobs.check_session_result(self.client, session, what=what)

    def session_action(self, session, action):
        """Post a test-restore action (``cleanup``, ``rrp``, ``clone``) to the session's link."""
        return spp_restore.session_action(self.client, session, action)
