# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Second stage of ``vm_restore``: the source. Which VM the task names, its lineage of backup server records, and
the recovery point to restore. Pure.

Considered private: only this collection may import it. The live vCenter VM that the task names is found by the
collection's one resolver (``vm_resolver``); a name vCenter does not know is not an error here, since a deleted VM
is restored from the backup server's records.
"""

from __future__ import annotations

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import InvalidRequest, NotFound
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.restore_request import iso_time
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.vm_resolver import VmIndex
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import answers as spp_answers
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp.answers import nested_get


def spp_identity(spp_vm):
    """``(moref, instance_uuid)`` of a VM object of the backup server."""
    moref = nested_get(spp_vm, "nativeObject", "mor", "val")
    instance_uuid = nested_get(spp_vm, "config", "instanceUuid") or nested_get(spp_vm, "nativeObject", "instanceUuid")
    return moref, instance_uuid


def _matches_ref(spp_vm, ref):
    moref, instance_uuid = spp_identity(spp_vm)
    return ref in (spp_vm.get("name"), moref, instance_uuid, spp_vm.get("id"))


def _live_vm(ref, vcenter_vms):
    """The vCenter VM ``ref`` names, or None when vCenter has none; ``InvalidRequest`` when it names several."""
    index = VmIndex(vcenter_vms)
    return index.resolve(ref) if index.knows(ref) else None


def _candidates(ref, named, marked_source, recovery):
    """Records of the backup server that may be the source: the named VM's, its marker's source's, or named ``ref``."""
    candidates = []
    for spp_vm in recovery:
        moref, instance_uuid = spp_identity(spp_vm)
        same_vm = named is not None and (moref == named["moref"] or (instance_uuid and
                                                                     instance_uuid == named["instance_uuid"]))
        from_marker = bool(marked_source) and (str(spp_vm.get("id")) == str(marked_source.get("spp_id")) or (
            instance_uuid and instance_uuid == marked_source.get("instance_uuid")))
        if same_vm or from_marker or _matches_ref(spp_vm, ref):
            candidates.append(spp_vm)
    return candidates


def _choose_lineage(ref, named, marked_source, candidates):
    """The records of one VM (one instance UUID) among ``candidates``; ``InvalidRequest`` when several VMs match."""
    groups = {}
    for spp_vm in candidates:
        groups.setdefault(spp_identity(spp_vm)[1] or spp_vm.get("id"), []).append(spp_vm)
    chosen = None
    if named is not None:
        chosen = groups.get(named["instance_uuid"]) or groups.get(marked_source.get("instance_uuid")) or next(
            (group for group in groups.values() if any(spp_identity(r)[0] == named["moref"] for r in group)), None)
    if chosen is None and len(groups) == 1:
        chosen = next(iter(groups.values()))
    if chosen is None:
        described = ["%s (instance UUID %s, last backup %s)" % (
            group[0].get("name"), key, iso_time(max(spp_answers.last_protection_time(r) or 0 for r in group)))
            for key, group in sorted(groups.items(), key=lambda item: str(item[0]))]
        raise InvalidRequest("%d different VMs with recovery points match %s: %s. Name the one to restore by its "
                             "instance UUID" % (len(groups), ref, "; ".join(described)))
    return sorted(chosen, key=lambda r: spp_answers.last_protection_time(r) or 0, reverse=True)


def resolve_source(ref, vcenter_vms, recovery):
    """The VM whose recovery points to use, from the task's ``vm`` (name, moref or instance UUID).

    ``vcenter_vms`` come from ``vms.list_vms_with_markers``; ``recovery`` are VM objects of the backup server's
    recovery view (deleted VMs included). Records of the backup server sharing an instance UUID are one VM's
    lineage: a production restore gives the VM a new moref, hence a new record, but keeps its instance UUID.
    Returns ``{"name", "instance_uuid", "records", "current"}``: ``records`` are the lineage's SPP VM objects,
    ``current`` the vCenter VM a production restore (or a promotion) would replace, or None.
    """
    named = _live_vm(ref, vcenter_vms)
    # A VM this collection restored names its source in its marker: after a keep_current restore or a
    # promotion the VM has a new identity, and its recovery points are still those of the source.
    marked_source = ((named or {}).get("marker") or {}).get("source") or {}
    candidates = _candidates(ref, named, marked_source, recovery)
    if not candidates:
        raise NotFound(None, description="the backup server has no recovery point of VM %s; back it up first "
                                         "(vm_backup_run), or name it as the backup server knows it" % ref)
    records = _choose_lineage(ref, named, marked_source, candidates)
    instance_uuid = spp_identity(records[0])[1]
    morefs = {spp_identity(r)[0] for r in records}
    current = None
    name = records[0].get("name")
    restored_from_lineage = bool(marked_source) and (
        marked_source.get("instance_uuid") == instance_uuid or str(marked_source.get("spp_id")) in {
            str(r.get("id")) for r in records})
    if restored_from_lineage:
        # The named VM is this lineage's restored VM: it is the production VM now, under the name the user gave;
        # the backup server may list the previous one under its new name (<name>_OLD).
        current, name = named, named["name"]
    elif named is not None and (named["moref"] in morefs or (instance_uuid and named["instance_uuid"] == instance_uuid)):
        current = named
    else:
        same = [vm for vm in vcenter_vms if not vm.get("template")
                and (vm["moref"] in morefs or (instance_uuid and vm["instance_uuid"] == instance_uuid))]
        same.sort(key=lambda vm: vm["moref"] not in morefs)
        current = same[0] if same else None
    return {"name": name, "instance_uuid": instance_uuid, "records": records, "current": current,
            "ids": sorted({str(r.get("id")) for r in records})}


def merge_versions(versions_by_record):
    """``[(spp_vm, version), ...]`` of every record's versions, newest first."""
    pairs = [(spp_vm, version) for spp_vm, versions in versions_by_record for version in versions]
    return sorted(pairs, key=lambda pair: spp_answers.protection_time(pair[1]), reverse=True)


def choose_point(pairs, point):
    """``(spp_vm, version)`` for ``point`` (``latest``, an id or ``{"before": ms}``) among ``merge_versions``."""
    version = spp_answers.choose_version([v for _spp_vm, v in pairs], point)
    return next((spp_vm, v) for spp_vm, v in pairs if v is version)


def point_summary(version, copy=None, kind=None):
    """What the result says of a recovery point."""
    when = spp_answers.protection_time(version) or None
    return {"id": str(version.get("id")), "time": when, "time_iso": iso_time(when),
            "copy_kind": kind if copy is not None else None, "copy_id": str(copy.get("id")) if copy is not None else None,
            "policy": nested_get(version, "protectionInfo", "storageProfileName"),
            "session_id": str(version["sessionId"]) if version.get("sessionId") else None, "session_status": None}
