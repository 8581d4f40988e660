# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The joined view of vCenter and the backup server: one record per VM, with its policies.

Considered private: only this collection may import it. ``join_inventories`` is pure; ``collect_inventory`` does the
I/O through the two clients, with one paged listing per kind of object and no per-VM call.
"""

from __future__ import annotations

import concurrent.futures
import time

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import InvalidRequest, WaitTimeout
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import listing as spp_listing
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import jobs as spp_jobs
from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere import listing as vsphere_listing
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import answers as spp_answers


def _vm_id_of_disk(disk):
    """The SPP id of the VM a vdisk belongs to: an explicit field when the server sends one, else its href."""
    for key in ("vmId", "parentId", "vmKey"):
        if disk.get(key):
            return disk[key]
    href = ((disk.get("links") or {}).get("self") or {}).get("href", "")
    parts = href.split("?", 1)[0].split("/")
    if "vm" in parts and parts.index("vm") + 1 < len(parts):
        return parts[parts.index("vm") + 1]
    return None


def _spp_identity(spp_vm):
    moref = ((spp_vm.get("nativeObject") or {}).get("mor") or {}).get("val")
    instance_uuid = (spp_vm.get("config") or {}).get("instanceUuid")
    return moref, instance_uuid


def disk_policies(record):
    """The SLA policies assigned to one or more disks of a joined record (sorted names). Pure."""
    return sorted({name for disk in record.get("disks") or [] for name in disk.get("policies") or []})


def _spp_only_record(spp_vm, disks):
    moref, instance_uuid = _spp_identity(spp_vm)
    return {
        "name": spp_vm.get("name"),
        "spp_id": spp_vm.get("id"),
        "moref": moref,
        "instance_uuid": instance_uuid,
        "hypervisor_id": spp_vm.get("hypervisorKey"),
        "policies": sorted(spp_vm.get("storageProfiles") or []),
        "disk_policies": sorted({name for d in disks for name in d.get("storageProfiles") or []}),
    }


def join_inventories(vcenter_instance_uuid, vcenter_vms, hypervisors, spp_vms, spp_disks):
    """Join vCenter VMs with the backup server's VMs on identity (spp-api.md section 14.5), never on names.

    A VM matches when the SPP record belongs to the hypervisor whose ``uniqueId`` is this vCenter's instance UUID,
    has the same moref and, where both sides know it, the same instance UUID (a moref can be reused by a new VM).
    Returns ``(vms, vcenter_only, spp_only)``, each sorted by name.
    """
    our_hypervisors = {h.get("id") for h in hypervisors if h.get("uniqueId") == vcenter_instance_uuid}
    disks_by_vm = {}
    for disk in spp_disks:
        disks_by_vm.setdefault(_vm_id_of_disk(disk), []).append(disk)

    spp_by_moref = {}
    foreign = []
    for spp_vm in spp_vms:
        moref, _instance_uuid = _spp_identity(spp_vm)
        if spp_vm.get("hypervisorKey") in our_hypervisors and moref:
            spp_by_moref[moref] = spp_vm
        else:
            foreign.append(spp_vm)

    vms, vcenter_only = [], []
    for vm in vcenter_vms:
        if vm.get("template"):
            continue  # templates cannot run and are not backup targets
        spp_vm = spp_by_moref.get(vm["moref"])
        if spp_vm is not None:
            _moref, spp_uuid = _spp_identity(spp_vm)
            if spp_uuid and vm.get("instance_uuid") and spp_uuid != vm["instance_uuid"]:
                spp_vm = None  # same moref, different VM: the backup server's record is of a deleted VM
        if spp_vm is None:
            vcenter_only.append(_vm_record(vm, None, []))
            continue
        del spp_by_moref[vm["moref"]]
        vms.append(_vm_record(vm, spp_vm, disks_by_vm.get(spp_vm.get("id"), [])))

    spp_only = [_spp_only_record(v, disks_by_vm.get(v.get("id"), [])) for v in list(spp_by_moref.values()) + foreign]
    return sorted(vms, key=_by_name), sorted(vcenter_only, key=_by_name), sorted(spp_only, key=_by_name)


def _by_name(record):
    return (record.get("name") or "", record.get("moref") or "")


def _vm_record(vm, spp_vm, spp_disks):
    if vm.get("disks") is None:
        # vCenter's devices were not read: the backup server's disks still tell the disk-level policies.
        disks = [{"label": d.get("name"), "key": None, "size_bytes": None, "mode": None, "spp_id": d.get("id"),
                  "policies": sorted(d.get("storageProfiles") or [])} for d in spp_disks]
    else:
        disk_by_label = {d.get("name"): d for d in spp_disks}
        disks = []
        for disk in vm["disks"]:
            spp_disk = disk_by_label.get(disk["label"]) or {}
            disks.append({
                "label": disk["label"],
                "key": disk.get("key"),
                "size_bytes": disk.get("size_bytes"),
                "mode": disk.get("mode", "normal"),
                "spp_id": spp_disk.get("id"),
                "policies": sorted(spp_disk.get("storageProfiles") or []),
            })
    return {
        "name": vm["name"],
        "moref": vm["moref"],
        "instance_uuid": vm.get("instance_uuid"),
        "spp_id": spp_vm.get("id") if spp_vm else None,
        "spp_site_id": spp_vm.get("siteId") if spp_vm else None,
        "known_to_backup": spp_vm is not None,
        "power_state": vm.get("power_state"),
        "has_snapshots": bool(vm.get("has_snapshots")),
        "folder": vm.get("folder"),
        "datacenter": vm.get("datacenter"),
        "host": vm.get("host"),
        "cluster": vm.get("cluster"),
        "policies": sorted((spp_vm or {}).get("storageProfiles") or []),
        "disks": disks,
        "nics": vm.get("nics") or [],
    }


def _matches(record, wanted):
    return wanted in (record.get("name"), record.get("moref"), record.get("instance_uuid"))


def missing_from_backup(vcenter_only, wanted):
    """The requested VMs (by name, moref or instance UUID) that the backup server does not know yet."""
    return [w for w in wanted if any(_matches(r, w) for r in vcenter_only)]


def unknown_everywhere(vms, vcenter_only, wanted):
    """The requested VMs that vCenter does not know either: waiting for a rescan cannot help them."""
    return [w for w in wanted if not any(_matches(r, w) for r in list(vms) + list(vcenter_only))]


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

    def read(self, refresh_vcenter=False):
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as vcenter_thread:
            listing = None
            if self._vcenter_vms is None or refresh_vcenter:
                # The two servers answer at the same time: vCenter lists in a thread while the SPP listings run.
                # Devices dominate the cost of vCenter's listing: read them only when disks or NICs matter.
                listing = vcenter_thread.submit(vsphere_listing.list_vms, self.vsphere, page_size=self.page_size,
                                                devices=self.with_devices)
            hypervisors = spp_listing.list_hypervisors(self.spp, page_size=self.page_size)
            spp_vms = spp_listing.list_vms(self.spp, page_size=self.page_size, hypervisors=hypervisors)
            spp_disks = spp_listing.list_vdisks(self.spp, page_size=self.page_size) if self.with_disks else []
            if listing is not None:
                self._vcenter_vms = listing.result()
        self.spp_vms_by_id = {vm.get("id"): vm for vm in spp_vms}
        self.spp_disks_by_id = {disk.get("id"): disk for disk in spp_disks}
        return join_inventories(self.vsphere.instance_uuid, self._vcenter_vms, hypervisors, spp_vms, spp_disks)


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
        deadline = clock() + timeout
        attempt = 0
        while True:
            attempt += 1
            remaining = max(1, int(deadline - clock()))
            progress("running the Hypervisor Inventory job (attempt %d, %ss left)" % (attempt, remaining))
            spp_jobs.run_inventory(spp_client, timeout=remaining,
                                   progress=lambda session: progress(spp_answers.describe_session(session)))
            vms, vcenter_only, spp_only = reader.read(refresh_vcenter=attempt > 1)
            still_missing = missing_from_backup(vcenter_only, wanted)
            if not still_missing:
                break
            if clock() >= deadline:
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
