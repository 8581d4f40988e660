# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the SPP server knows of vCenter: hypervisors, VMs, virtual disks, sites, and when each VM was last backed up
(spp-api.md sections 2, 6 and 14.15).

Considered private: only this collection may import it. Every function takes an ``SppClient`` first.

Bulk listings come first. Where the public record shows no bulk route, the objects are read one per VM through the
VM's own links, in a small pool of threads (``PARALLEL_READS``), never in a plain loop:

* Disks: ``POST /api/hypervisor/search?resourceType=vdisk`` is only the emulator's (issue 12); when it answers 404,
  each VM's ``links.vdisks`` is read, as IBM's ``samples/vmwarediskrestore.py`` does
  (``get(url=vm['links']['vdisks']['href'])['vdisks']``).
* Last backup time: the VM listing's ``protectionInfo`` is ``{}`` in the public record (spp-api.md 2.2, 14.15). The VMs
  that have recovery points at all come from one search with ``from=recovery`` (IBM ``samples/vmware_recoverypoints.py``
  and ``samples/deletevmsnaps.py`` search ``resourceType=vm&from=recovery``); only those are then read, through their
  ``links.latestversion`` (spp-api.md 6), whose ``protectionInfo.protectionTime`` IBM's samples read
  (``samples/sppvmbackupinfo.py``, ``samples/vmware_recoverypoints.py``).
"""

from __future__ import annotations

import concurrent.futures

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import BadRequest, NotFound
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import versions as spp_versions
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp.answers import (
    last_protection_time,
    link_href,
    protection_policy,
    protection_time,
)

HYPERVISOR_TYPE = "vmware"
# Threads for the per-VM reads that have no bulk route. requests keeps 10 connections per host: stay below it, so that
# every thread keeps its connection, and stay small, so that a server is never flooded.
PARALLEL_READS = 8
# Below this many VMs without a known last backup, reading each one costs less than searching the recovery catalogue.
DIRECT_READS_UP_TO = 2 * PARALLEL_READS

# Where a VM's last backup time came from (``last_backups``' ``source``).
FROM_VM_LISTING = "vm_listing"  # protectionInfo.protectionTime on the VM listing item (not in the public record)
FROM_RECOVERY_SEARCH = "recovery_search"  # the VM is absent from the from=recovery search: no recovery point
FROM_LATEST_VERSION = "latestversion"  # the VM's links.latestversion (or its versions)
# How the vdisks were read (``InventoryReader.disk_source``).
DISKS_FROM_SEARCH = "vdisk_search"
DISKS_FROM_VM_LINKS = "vm_vdisks_links"


def read_in_parallel(client, read, items, workers=PARALLEL_READS):
    """``[read(item) for item in items]``, with at most ``workers`` reads under way at once; the first error is raised.

    The client logs in first, so that the threads share one session instead of racing to open their own.
    """
    items = list(items)
    if len(items) <= 1 or workers <= 1:
        return [read(item) for item in items]
    if not client.logged_in:
        client.login()
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        futures = [pool.submit(read, item) for item in items]
        try:
            return [future.result() for future in futures]
        except BaseException:
            for future in futures:
                future.cancel()  # reads not started yet are dropped; the ones under way end on their own
            raise


def list_hypervisors(client, hypervisor_type=HYPERVISOR_TYPE, page_size=1000):
    """Registered hypervisors (vCenters) of ``hypervisor_type``; each carries ``uniqueId`` = vCenter instance UUID."""
    return [
        hypervisor
        for hypervisor in client.paginate("/api/hypervisor", "hypervisors", page_size=page_size)
        if hypervisor_type is None or hypervisor.get("type", hypervisor_type) == hypervisor_type
    ]


def list_vms(client, page_size=1000, hypervisors=None):
    """Every VM of every vmware hypervisor, from the live inventory (``from=hlo``), one paged listing per vCenter."""
    if hypervisors is None:
        hypervisors = list_hypervisors(client, page_size=page_size)
    vms = []
    for hypervisor in hypervisors:
        path = "/api/hypervisor/%s/vm" % hypervisor["id"]
        vms.extend(client.paginate(path, "vms", params={"from": "hlo"}, page_size=page_size))
    return vms


def _search(client, resource_type, items_key, name, source, page_size):
    return list(client.paginate(
        "/api/hypervisor/search", items_key,
        params={"resourceType": resource_type, "from": source},
        page_size=page_size, method="POST", json={"name": name, "hypervisorType": HYPERVISOR_TYPE},
    ))


def _vdisks_of(client, vm, page_size):
    """The vdisks of one VM through ``links.vdisks``; each is given the VM's id and name when it lacks them."""
    href = link_href(vm, "vdisks")
    if not href:
        return []
    disks = list(client.paginate(href, "vdisks", page_size=page_size))
    for disk in disks:
        disk.setdefault("vmId", vm.get("id"))
        disk.setdefault("vmName", vm.get("name"))
    return disks


def read_vdisks(client, page_size=1000, vms=None, workers=PARALLEL_READS):
    """``(disks, source)``: every virtual disk of every vmware VM, and how they were read.

    One search (``DISKS_FROM_SEARCH``) where the server has it; on a 404, each VM's ``links.vdisks`` in parallel
    (``DISKS_FROM_VM_LINKS``), for ``vms`` (the VM listing, read here when not given).
    """
    try:
        return _search(client, "vdisk", "vdisks", "*", "hlo", page_size), DISKS_FROM_SEARCH
    except NotFound:
        pass
    if vms is None:
        vms = list_vms(client, page_size=page_size)
    client.log("SPP has no vdisk search; reading the disks of %d VMs through their vdisks links" % len(vms))
    per_vm = read_in_parallel(client, lambda vm: _vdisks_of(client, vm, page_size), vms, workers)
    return [disk for disks in per_vm for disk in disks], DISKS_FROM_VM_LINKS


def list_vdisks(client, page_size=1000, vms=None, workers=PARALLEL_READS):
    """Every virtual disk of every vmware VM (see ``read_vdisks``)."""
    return read_vdisks(client, page_size=page_size, vms=vms, workers=workers)[0]


def search_vms(client, name, source="hlo", page_size=1000):
    """VMs named exactly ``name``. ``source`` is ``hlo`` (live inventory) or ``recovery`` (VMs with restore points).

    The server's search matches loosely, so the exact name is checked here (as IBM's samples do).
    """
    return [vm for vm in _search(client, "vm", "vms", name, source, page_size) if vm.get("name") == name]


def list_sites(client, page_size=1000):
    """Sites (availability zones) where backups are stored: ``[{"id", "name", ...}]``."""
    return list(client.paginate("/api/site", "sites", page_size=page_size))


# -- last backups ---------------------------------------------------------------------------------------------------


def _backed_up(client, page_size):
    """The VMs that have recovery points, by id (search ``from=recovery``); None if the server refuses the search.

    That the ids of this search are those of the live inventory is an inference: IBM's samples build
    ``/api/hypervisor/1001/vm/<id>/version`` from them (``samples/vmware_recoverypoints.py``), the path of an hlo VM.
    """
    try:
        found = _search(client, "vm", "vms", "*", "recovery", page_size)
    except (NotFound, BadRequest):
        return None
    return {str(vm.get("id")): vm for vm in found}


def vms_with_points(client, page_size=1000):
    """The VMs that have recovery points, by id: one paged search with ``from=recovery``; None if the server refuses
    the search. Each item is a VM listing item; whether it carries the newest point's time depends on the server."""
    return _backed_up(client, page_size)


def _entry(when, policy, source, version=None):
    return {"time": when, "policy": policy, "source": source, "version": version}


def last_backups(client, vms, page_size=1000, workers=PARALLEL_READS, search_first=None):
    """When each VM of ``vms`` (VM listing items) was last backed up: ``{vm id: {time, policy, source, version}}``.

    ``time`` is the newest recovery point's epoch ms (None: never backed up), ``policy`` its SLA, ``source`` one of
    ``FROM_VM_LISTING``, ``FROM_RECOVERY_SEARCH`` and ``FROM_LATEST_VERSION``, and ``version`` the recovery point when
    it was read. Reads: none when the listing carries the times; otherwise one search of the VMs with recovery points
    (always with ``search_first``; by default only for more than ``DIRECT_READS_UP_TO`` VMs, as a few small reads cost
    less than the search), then ``links.latestversion`` of each VM still without a time, in parallel.
    """
    found, pending = {}, []
    for vm in vms:
        when = last_protection_time(vm)
        if when is not None:
            found[str(vm.get("id"))] = _entry(when, protection_policy(vm), FROM_VM_LISTING)
        else:
            pending.append(vm)
    if search_first is None:
        search_first = len(pending) > DIRECT_READS_UP_TO
    if pending and search_first:
        backed_up = _backed_up(client, page_size)
        if backed_up is not None:
            unread = []
            for vm in pending:
                item = backed_up.get(str(vm.get("id")))
                if item is None or last_protection_time(item) is not None:
                    found[str(vm.get("id"))] = _entry(last_protection_time(item), protection_policy(item),
                                                      FROM_RECOVERY_SEARCH)
                else:
                    unread.append(vm)
            pending = unread
    newest = read_in_parallel(client, lambda vm: spp_versions.latest_version(client, vm), pending, workers)
    for vm, version in zip(pending, newest):
        when = protection_time(version) if version else 0
        found[str(vm.get("id"))] = _entry(when or None, protection_policy(version), FROM_LATEST_VERSION, version or None)
    return found
