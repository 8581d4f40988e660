# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Service behind ``backup_inventory``: read both servers in bulk, then assess coverage and compliance.

Considered private: only this collection may import it. ``collect_coverage`` reads, through the two seams, one bulk
vCenter listing and the backup service's view (with SPP: paged listings of hypervisors, VMs, vdisks, SLA policies,
jobs and job sessions); what the flags mean is ``pure/coverage_model.py``. The backup service reads per VM only what
it offers no bulk route for, in a bounded pool of threads (``seams/spp_backup.py``: each VM's disks when the server
has no vdisk search, and the ``latestversion`` of the VMs that have recovery points when the VM listing does not carry
the last backup time, spp-api.md 14.15). Each record's ``last_backup_source`` and the summary's
``last_backup_sources`` say where the times came from.

A backup service without a listing of its VMs (capability ``vm_listing``: the Cloud Temple console) reads each VM's
record by id, and each disk's policies one disk at a time (docs/cloudtemple-api.md sections 6.1 and 8.1): its disks are
read only when ``include`` has ``disks``, so a VM protected at disk level only then shows no policy. Its last backup
times are inferred from the policies' job sessions (``last_backup_source`` ``policy_sessions_inferred``).
"""

from __future__ import annotations

import time

from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure import coverage_model
from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import joined_inventory


def collect_coverage(backup, inventory, rpo="24h", include=coverage_model.DEFAULT_INCLUDE, fail_on=(), rescan=False,
                     rescan_until_visible=None, rescan_timeout=600, check_mode=False, progress=None,
                     clock=time.time, page_size=1000):
    """The coverage report: the joined inventory with compliance flags, and its summary (see the module's RETURN).

    Raises ``CoverageGateFailed`` after reading everything when a VM carries a flag of ``fail_on``.
    """
    rpo_seconds = coverage_model.parse_rpo(rpo)
    wanted = coverage_model.validate_include(include, fail_on)
    # The backup server's vdisks are always read when it lists them in bulk (one paged search): without them a VM
    # protected at disk level would look unprotected. A backup service that reads them one disk at a time (the
    # console) reads them only with disks in include. vCenter's devices, the costly part, only when asked.
    with_disks = backup.offers("vm_listing") or "disks" in wanted
    reader = joined_inventory.InventoryReader(backup, inventory, page_size=page_size, with_disks=with_disks,
                                              with_devices=bool(wanted & {"disks", "nics"}))
    found = joined_inventory.collect_inventory(backup, inventory, rescan=rescan,
                                               rescan_until_visible=rescan_until_visible, timeout=rescan_timeout,
                                               check_mode=check_mode, progress=progress, reader=reader)
    now_ms = int(clock() * 1000)
    with joined_inventory.collector_paused():  # the report's records are as many, and as free of cycles, as the read's
        jobs = backup.policy_jobs(page_size=page_size)
        held = {policy["name"]: jobs.get(policy["name"], {}).get("held", False)
                for policy in backup.sla_policies(page_size=page_size)}
        sessions = (backup.backup_sessions(now_ms - 7 * coverage_model.DAY_MS, page_size)
                    if "jobs" in wanted else None)
        last_backups = reader.last_backups([record["spp_id"] for record in found["vms"]], search_first=True)
        coverage_model.assess(found["vms"], found["vcenter_only"], last_backups, held, now_ms, rpo_seconds, wanted)
        found["summary"] = coverage_model.summarize(found["vms"], found["vcenter_only"], found["spp_only"], held, wanted,
                                                    rpo, rpo_seconds, now_ms, sessions)
    coverage_model.gate(found["vms"], found["vcenter_only"], fail_on, found["summary"])
    return found
