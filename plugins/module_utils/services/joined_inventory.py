# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reads the joined view of vCenter and the backup server (one record per VM, with its policies), rescanning if asked.

Considered private: only this collection may import it. The join itself is pure and lives in ``pure.inventory_join``;
here are the reads, through the two clients, with one paged listing per kind of object, and the rescan loop of
``collect_inventory``. Per-VM reads happen only where the public record has no bulk route, in a bounded pool of
threads (``spp/listing.py``): the disks when the server has no vdisk search, and the last backup times when the VM
listing does not carry them (``InventoryReader.last_backups``).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import gc
import time

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import InvalidRequest, WaitTimeout
from ansible_collections.sovereign.vm_backup.plugins.module_utils._wait import Deadline
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.inventory_join import (
    join_inventories,
    missing_from_backup,
    unknown_everywhere,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import listing as spp_listing
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import jobs as spp_jobs
from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere import listing as vsphere_listing
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import answers as spp_answers


@contextlib.contextmanager
def collector_paused():
    """Python's cyclic garbage collector paused while the inventories are read and joined (nesting is fine).

    The listings allocate millions of objects (XML elements, JSON dicts) that form no reference cycle and that
    reference counting frees; the collector only rescans them, and each of its full passes scans every object alive,
    so with 10,000 VMs it took a quarter of the CPU time of the read, growing faster than the inventory.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class InventoryReader:
    """Reads both sides once per call of ``read``; the rescan loop calls it again only after a rescan.

    It keeps the backup server's raw VM and vdisk objects by id, because writes must send the server's own hrefs.
    """

    def __init__(self, spp_client, vsphere_client, page_size=1000, with_disks=True, vcenter_vms=None,
                 with_devices=None):
        """``vcenter_vms``: a vCenter listing the caller already read (``vsphere.inventory.list_vms``), reused by the
        first ``read`` instead of listing vCenter again. ``with_devices`` (default: ``with_disks``) reads the virtual
        hardware (disks and NICs) from vCenter; ``with_disks`` also reads the backup server's vdisks."""
        self.spp = spp_client
        self.vsphere = vsphere_client
        self.page_size = page_size
        self.with_disks = with_disks
        self.with_devices = with_disks if with_devices is None else with_devices
        self._vcenter_vms = vcenter_vms
        self.spp_vms_by_id = {}
        self.spp_disks_by_id = {}
        self._last_backups = {}

    def read(self, refresh_vcenter=False):
        with collector_paused():
            return self._read(refresh_vcenter)

    def _read(self, refresh_vcenter):
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as vcenter_thread:
            listing = None
            if self._vcenter_vms is None or refresh_vcenter:
                # The two servers answer at the same time: vCenter lists in a thread while the SPP listings run.
                # Devices dominate the cost of vCenter's listing: read them only when disks or NICs matter.
                listing = vcenter_thread.submit(vsphere_listing.list_vms, self.vsphere, page_size=self.page_size,
                                                devices=self.with_devices)
            hypervisors = spp_listing.list_hypervisors(self.spp, page_size=self.page_size)
            spp_vms = spp_listing.list_vms(self.spp, page_size=self.page_size, hypervisors=hypervisors)
            spp_disks = spp_listing.list_vdisks(self.spp, page_size=self.page_size, vms=spp_vms) if self.with_disks else []
            if listing is not None:
                self._vcenter_vms = listing.result()
        self.spp_vms_by_id = {vm.get("id"): vm for vm in spp_vms}
        self.spp_disks_by_id = {disk.get("id"): disk for disk in spp_disks}
        self._last_backups = {}
        return join_inventories(self.vsphere.instance_uuid, self._vcenter_vms, hypervisors, spp_vms, spp_disks)

    def last_backups(self, spp_ids=None, search_first=None):
        """``{spp id: {time, policy, source, version}}`` of the newest recovery point of the given backup server VMs
        (all of them by default), read once per ``read`` (see ``spp/listing.py``, ``last_backups``; ``search_first``:
        search the VMs with recovery points before any per-VM read, as a report over every VM should)."""
        wanted = list(self.spp_vms_by_id) if spp_ids is None else [i for i in spp_ids if i in self.spp_vms_by_id]
        missing = [self.spp_vms_by_id[i] for i in wanted if str(i) not in self._last_backups]
        if missing:
            self._last_backups.update(spp_listing.last_backups(self.spp, missing, page_size=self.page_size,
                                                               search_first=search_first))
        return {spp_id: self._last_backups[str(spp_id)] for spp_id in wanted}


def collect_inventory(spp_client, vsphere_client, rescan=False, rescan_until_visible=None, timeout=600,
                      check_mode=False, progress=None, clock=time.monotonic, reader=None):
    """Read the joined inventory, running the Hypervisor Inventory job first when asked.

    Returns a dict with ``vms``, ``vcenter_only``, ``spp_only``, ``rescanned`` and ``changed``. ``changed`` is true
    when a rescan changes (or, in check mode, would change) which VMs the backup server knows. Pass a ``reader`` to
    keep access to the raw objects afterwards.
    """
    wanted = list(rescan_until_visible or [])
    progress = progress or (lambda message: None)
    reader = reader or InventoryReader(spp_client, vsphere_client)
    vms, vcenter_only, spp_only = reader.read()
    must_rescan = rescan or bool(missing_from_backup(vcenter_only, wanted))
    result = {"rescanned": False, "changed": False}

    not_in_vcenter = unknown_everywhere(vms, vcenter_only, wanted)
    if not_in_vcenter:
        raise InvalidRequest(
            "vCenter has no VM named %s; a rescan of the backup server cannot make it visible. Check the name, "
            "moref or instance UUID." % ", ".join(sorted(not_in_vcenter)), missing=sorted(not_in_vcenter))

    if must_rescan and check_mode:
        # The rescan would make every vCenter VM known and forget the deleted ones.
        result["changed"] = bool(vcenter_only) or any(r.get("moref") for r in spp_only)
    elif must_rescan:
        known_before = {r["spp_id"] for r in vms} | {r["spp_id"] for r in spp_only}
        deadline = Deadline(timeout, clock)
        attempt = 0
        while True:
            attempt += 1
            remaining = deadline.remaining_whole()
            progress("running the Hypervisor Inventory job (attempt %d, %ss left)" % (attempt, remaining))
            spp_jobs.run_inventory(spp_client, timeout=remaining,
                                   progress=lambda session: progress(spp_answers.describe_session(session)))
            vms, vcenter_only, spp_only = reader.read(refresh_vcenter=attempt > 1)
            still_missing = missing_from_backup(vcenter_only, wanted)
            if not still_missing:
                break
            if deadline.expired():
                raise WaitTimeout(
                    "after %d inventory runs in %ss the backup server still does not see %s. Check that the VM is "
                    "in a vCenter registered on the backup server, then run again with a longer rescan_timeout."
                    % (attempt, timeout, ", ".join(sorted(still_missing))), missing=sorted(still_missing))
            progress("still not visible to the backup server: %s" % ", ".join(sorted(still_missing)))
        result["rescanned"] = True
        known_after = {r["spp_id"] for r in vms} | {r["spp_id"] for r in spp_only}
        result["changed"] = known_before != known_after

    result.update(vms=vms, vcenter_only=vcenter_only, spp_only=spp_only)
    return result
