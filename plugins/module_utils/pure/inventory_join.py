# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The join of vCenter's VMs with the backup server's VMs and vdisks: one record per VM, with its policies. Pure.

Considered private: only this collection may import it. The listings come in as read by the clients (see
``services.joined_inventory``, which reads them); the join is on identity (hypervisor, moref, instance UUID), never
on names. Also here: which requested VMs the backup server or vCenter does not know (through ``pure.vm_resolver``).
"""

from __future__ import annotations

from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.vm_resolver import VmIndex


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


def missing_from_backup(vcenter_only, wanted):
    """The requested VMs (by name, moref or instance UUID) that the backup server does not know yet."""
    if not wanted:
        return []  # no index of every VM for nothing
    index = VmIndex(vcenter_only)
    return [ref for ref in wanted if index.knows(ref)]


def unknown_everywhere(vms, vcenter_only, wanted):
    """The requested VMs that vCenter does not know either: waiting for a rescan cannot help them."""
    if not wanted:
        return []
    index = VmIndex(list(vms) + list(vcenter_only))
    return [ref for ref in wanted if not index.knows(ref)]
