# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which of the backup server's restore job sessions belong to this restore, and which vCenter VM a restore made: the
session to follow instead of posting a second restore, the VM to adopt, and the test restores to clean up. Pure.

Considered private: only this collection may import it. A restore session does not list the VMs it restored: its
``properties.postRestoreInfo`` is an object (``message``, ``appServerMountPoints``; SPP UI ``job-session.model.ts``),
and nothing public names the restored VMs in it (spp-api.md 14.13). So a session belongs to a restore when its logs
mention the source VM (``log_mentions``, the one log matcher), and what it restored is read in vCenter: the VM that
carries the name the restore gives and either no marker or the collection's marker of this restore. Which recovery
point a session restored is not in the public record either: the marker on the restored VM is what records it.
``services/restore_sessions.py`` lists the sessions and reads the logs.
"""

from __future__ import annotations

from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.log_mentions import mentions_any
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.restore_markers import marker_matches
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.restore_source import spp_identity
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import answers as spp_answers


def classify_sessions(sessions, source, logs_of=None):
    """Sort restore sessions into ``(matches, undecided)`` for this source. Pure with ``logs_of``.

    ``matches`` are the sessions whose logs mention the source VM (by any name the backup server recorded for it),
    oldest first, failed ones left out. ``undecided`` are sessions not settled yet whose logs say nothing yet (a
    session that has not started logs nothing). ``logs_of(session)`` returns a session's log entries; without it,
    every unsettled session is undecided.
    """
    matches, undecided = [], []
    names = {record.get("name") for record in source["records"]}
    for session in sessions:
        phase = spp_answers.restore_phase(session)
        if phase == "failed":
            continue
        logs = logs_of(session) if logs_of is not None else []
        if mentions_any(logs, names):
            matches.append(session)
        elif phase == "running" and not logs:
            undecided.append(session)
    return matches, undecided


def recorded_morefs(source):
    """The morefs under which the backup server recorded the source VM (its lineage's records)."""
    return {spp_identity(record)[0] for record in source["records"]} - {None}


def restored_vms(vcenter_vms, name, source, point_id=None, mode=None, exclude=()):
    """vCenter VMs that a restore of this source under ``name`` may have made: named ``name``, not templates, not in
    ``exclude`` (morefs), and carrying no marker or the marker of this restore (point and mode when given)."""
    return [vm for vm in vcenter_vms
            if vm["name"] == name and not vm.get("template") and vm["moref"] not in exclude
            and (not vm.get("marker") or marker_matches(vm["marker"], source["ids"], source["instance_uuid"],
                                                        point_id, mode))]


def restored_vm(vcenter_vms, name, source, point_id=None, mode=None, exclude=(), known=()):
    """``(vm, None)``: the one VM a restore under ``name`` made, else ``(None, why)``. Pure.

    ``known`` are the morefs vCenter showed before the restore: a VM that appeared since is preferred, so that a
    restore is not mistaken for an older VM of that name.
    """
    candidates = restored_vms(vcenter_vms, name, source, point_id, mode, exclude)
    new = [vm for vm in candidates if vm["moref"] not in known]
    chosen = new or candidates
    if len(chosen) == 1:
        return chosen[0], None
    if not chosen:
        return None, "vCenter has no VM named %s that this restore may have made" % name
    return None, "vCenter has %d VMs named %s (%s), so which one the restore made is unclear" % (
        len(chosen), name, ", ".join(sorted(vm["moref"] for vm in chosen)))


def usable_match(matches, vcenter_vms, source, mode, target_name, identity=None):
    """``(session, vm)`` to follow instead of posting a restore, or None. ``matches`` come from ``classify_sessions``.

    A running session is followed (``vm`` None: once settled, vCenter says whether it made this restore's VM). A
    settled one is adopted when vCenter shows an unmarked VM under the restore's name, not one of the source's
    recorded VMs (and with the instance UUID ``identity`` when given: a production restore keeps the source's): for a
    test restore the session must still hold the test restore (PENDING with action links), for the other modes it
    must have succeeded. The newest session wins.
    """
    settled_phase = "test-active" if mode == "test" else "succeeded"
    for session in reversed(matches):
        phase = spp_answers.restore_phase(session)
        if phase == "running":
            return session, None
        if phase != settled_phase:
            continue
        vm, _why = restored_vm(vcenter_vms, target_name, source, exclude=recorded_morefs(source))
        if vm is not None and not vm.get("marker") and identity in (None, vm.get("instance_uuid")):
            return session, vm
    return None


def cleanup_matches(matches, vcenter_vms, source, test_name, claimed=()):
    """``(session, vm)``: the newest test-active session of the source that no marker records (``claimed`` are the
    session ids markers record), with the one unmarked test VM named ``test_name``; ``[]`` when either is missing.

    An unmarked test VM is what a run that died between the restore and its marker leaves behind.
    """
    free = [s for s in matches if spp_answers.is_test_active(s) and str(s.get("id")) not in set(claimed)]
    unmarked = [vm for vm in restored_vms(vcenter_vms, test_name, source, mode="test",
                                          exclude=recorded_morefs(source)) if not vm.get("marker")]
    if not free or len(unmarked) != 1:
        return []
    return [(free[-1], unmarked[0])]
