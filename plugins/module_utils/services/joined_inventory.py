# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reads the joined view of vCenter and the backup server (one record per VM, with its policies), rescanning if asked.

Considered private: only this collection may import it. The reads go through the two seams: the VM inventory lists
vCenter in a thread while the backup service reads its side (``BackupService.read_joined``, which joins the two:
``pure.inventory_join``); the rescan of ``collect_inventory`` runs the backup service's inventory, and waits until
the wanted VMs are visible: by running it again (SPP) or by reading them again (``BackupService.RESCAN_ONCE``, the
console). What the backup service reads per VM (where it has no bulk route) is its business (``seams/*_backup.py``).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import gc
import time

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import InvalidRequest, WaitTimeout
from ansible_collections.sovereign.vm_backup.plugins.module_utils._wait import Deadline, wait_until
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.inventory_join import (
    missing_from_backup,
    unknown_everywhere,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.vm_resolver import VmIndex


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

    The backup service keeps its raw objects of the last read (writes must send the server's own hrefs).
    """

    def __init__(self, backup, inventory, page_size=1000, with_disks=True, vcenter_vms=None, with_devices=None,
                 only=None):
        """``backup``: a ``BackupService``; ``inventory``: a ``VmInventory``. ``vcenter_vms``: a listing the caller
        already read (``inventory.list_vms``), reused by the first ``read`` instead of listing vCenter again.
        ``with_devices`` (default: ``with_disks``) reads the virtual hardware (disks and NICs) from vCenter;
        ``with_disks`` also reads the backup server's disks. ``only``: None, or the morefs the caller needs (a backup
        service that reads per VM reads those only: ``BackupService.read_joined``)."""
        self.backup = backup
        self.inventory = inventory
        self.page_size = page_size
        self.with_disks = with_disks
        self.with_devices = with_disks if with_devices is None else with_devices
        self._vcenter_vms = vcenter_vms
        self.only = None if only is None else frozenset(only)

    def read(self, refresh_vcenter=False):
        with collector_paused():
            return self._read(refresh_vcenter)

    def _read(self, refresh_vcenter):
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as vcenter_thread:
            listing = None
            if self._vcenter_vms is None or refresh_vcenter:
                # The two servers answer at the same time: vCenter lists in a thread while the backup service reads.
                # Devices dominate the cost of vCenter's listing: read them only when disks or NICs matter.
                listing = vcenter_thread.submit(self.inventory.list_vms, page_size=self.page_size,
                                                devices=self.with_devices)

            def vcenter():
                if listing is not None:
                    self._vcenter_vms = listing.result()
                return self.inventory.instance_uuid, self._vcenter_vms

            return self.backup.read_joined(vcenter, with_disks=self.with_disks, page_size=self.page_size,
                                           only=self.only)

    def last_backups(self, spp_ids=None, search_first=None):
        """``{spp id: {time, policy, source, version}}`` of the newest recovery point of the given backup server VMs
        (all of them by default), read once per ``read`` (``BackupService.last_backups``; ``search_first``: search
        the VMs with recovery points before any per-VM read, as a report over every VM should)."""
        return self.backup.last_backups(spp_ids, search_first=search_first, page_size=self.page_size)


def described(vcenter_only, refs):
    """The VMs ``refs`` names, as the user knows them: ``ct-lag-1cf4cb (vm-73)`` (every VM a ref may name)."""
    index = VmIndex(vcenter_only)
    names = {"%s (%s)" % (record.get("name"), record["moref"]) for ref in refs for record in index.candidates(ref)}
    return ", ".join(sorted(names or refs))


def _rescan_until_visible(backup, reader, wanted, deadline, progress):
    """The rescan loop of a backup service whose inventory run shows what vCenter showed it (``RESCAN_ONCE`` false,
    SPP): run the inventory, read; again while a wanted VM is missing (vCenter read again: it may have been missing
    from vCenter's own listing too). Returns the last read."""
    attempt = 0
    while True:
        attempt += 1
        remaining = deadline.remaining_whole()
        progress("running the Hypervisor Inventory job (attempt %d, %ss left)" % (attempt, remaining))
        backup.rescan(remaining, progress=progress)
        read = reader.read(refresh_vcenter=attempt > 1)
        still_missing = missing_from_backup(read[1], wanted)
        if not still_missing:
            return read
        if deadline.expired():
            raise WaitTimeout(
                "after %d inventory runs in %ss %s still does not see %s. Check that the VM is in a vCenter registered "
                "on the backup server, then run again with a longer rescan_timeout."
                % (attempt, deadline.seconds, backup.label, described(read[1], still_missing)),
                missing=sorted(still_missing))
        progress("still not visible to %s: %s" % (backup.label, described(read[1], still_missing)))


def _rescan_once_then_read(backup, reader, wanted, deadline, progress, sleep):
    """The rescan of a backup service that shows its VMs some time after its inventory run ended (``RESCAN_ONCE``,
    the console: #72, docs/cloudtemple-api.md 10.4 step 3): run the inventory once, then read the VMs again with a
    backoff until every wanted VM is visible, within the same deadline. Returns the last read."""
    remaining = deadline.remaining_whole()
    progress("running the Hypervisor Inventory job once (%ss left)" % remaining)
    backup.rescan(remaining, progress=progress)
    last = {}

    def check():
        last["read"] = reader.read()
        last["missing"] = missing_from_backup(last["read"][1], wanted)
        return None if last["missing"] else last["read"]

    def report(elapsed, remaining):
        progress("the inventory ran; still not visible to %s after %d s: %s (reading again, %d s left)"
                 % (backup.label, elapsed, described(last["read"][1], last["missing"]), remaining))

    def timed_out():
        return WaitTimeout(
            "the inventory ran once, and %ss later %s still does not see %s. A new VM may take minutes to become "
            "visible to the backup service: run again with a longer rescan_timeout (the inventory does not need to "
            "run again). If it never shows, check that the VM is in a vCenter the backup service inventories."
            % (int(round(deadline.seconds)), backup.label, described(last["read"][1], last["missing"])),
            missing=sorted(last["missing"]))

    return wait_until(check, on_timeout=timed_out, progress=report, deadline=deadline, first_delay=2.0,
                      max_delay=16.0, sleep=sleep)


def collect_inventory(backup, inventory, rescan=False, rescan_until_visible=None, timeout=600, check_mode=False,
                      progress=None, clock=time.monotonic, reader=None, sleep=time.sleep):
    """Read the joined inventory, running the Hypervisor Inventory job first when asked.

    Returns a dict with ``vms``, ``vcenter_only``, ``spp_only``, ``rescanned`` and ``changed``. ``changed`` is true
    when a rescan changes (or, in check mode, would change) which VMs the backup server knows. Pass a ``reader`` to
    keep access to the raw objects afterwards. How the wait for ``rescan_until_visible`` goes depends on the backup
    service (``BackupService.RESCAN_ONCE``); it ends within ``timeout`` seconds either way.
    """
    wanted = list(rescan_until_visible or [])
    progress = progress or (lambda message: None)
    reader = reader or InventoryReader(backup, inventory)
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
        if backup.RESCAN_ONCE:
            vms, vcenter_only, spp_only = _rescan_once_then_read(backup, reader, wanted, deadline, progress, sleep)
        else:
            vms, vcenter_only, spp_only = _rescan_until_visible(backup, reader, wanted, deadline, progress)
        result["rescanned"] = True
        known_after = {r["spp_id"] for r in vms} | {r["spp_id"] for r in spp_only}
        result["changed"] = known_before != known_after

    result.update(vms=vms, vcenter_only=vcenter_only, spp_only=spp_only)
    return result
