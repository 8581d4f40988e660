# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Service behind ``vm_restore``: resolve the source and the recovery point, plan, then restore and follow up.

Considered private: only this collection may import it. The stages are pure modules: ``pure/restore_request``
(options), ``pure/restore_source`` (the source VM, its lineage and the recovery point), ``pure/restore_markers`` and
``pure/restore_session_match`` (what an earlier run already did), ``pure/restore_plan`` (the plan, the result and
the diff). This module reads, plans, and applies the plan's named steps through ``STEPS``;
``services/restore_sessions`` does the I/O with the backup server's restore sessions. Every read and write goes
through the seams: the backup service's restorer (``BackupService.restorer()``, capability ``restore``) and the VM
inventory (with its markers, capability ``markers``); a backend without them fails before any call. Reads: one
PropertyCollector pass over vCenter's VMs with their restore markers, the registered hypervisors, a search of the
backup server's recovery view for the VM, the VM's versions, and (when no marker settles the question) the restore
job sessions of the last 24 hours. Writes: at most one restore POST, one test-restore action, and the marker.

Idempotence rests on two records (plus, for ``restore_test``, a third):

* the **marker** on the restored VM (``VmInventory.set_marker``): source, recovery point, mode, session and lifecycle state.
  A run that finds a VM whose marker matches changes nothing;
* the **restore job sessions** of the backup server. A session does not list the VMs it restored (its
  ``postRestoreInfo`` is an object with a message, spp-api.md 14.13), so before posting a restore a run looks for a
  session whose logs mention the source (a run whose POST answer was lost, or one that stopped waiting): it follows a
  running one, and adopts a settled one when vCenter shows the unmarked VM it made under the restore's name, instead
  of starting a second restore;
* the **test record** (``VmInventory.set_test_record``) on the VM whose backup was tested: the recovery point tested, the
  result, when, and the test VM's name. ``test_result`` writes it (after a clean-up, or after a promotion, where it
  goes on the promoted VM, which now carries the source's name and instance UUID, so it is the source of the next
  test); ``skip_if_tested`` reads it from the source's current VM and changes nothing when that point passed.

The backup server's inventory is not rescanned after a restore: test-restore actions go through the restore session,
not the inventory. A VM restored in production (or promoted) has a new moref, so the backup server sees it as a new
VM, without policies, at its next inventory; ``vm_backup_policy`` with ``rescan: true`` re-protects it, and the result
says so in a warning.
"""

from __future__ import annotations

import time

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import InvalidRequest, NotFound
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.restore_markers import (
    fulfilled_by,
    marked_vms,
    new_test_record,
    passed_test,
    public_test_record,
    reached,
    record_key,
    replaces,
    request_key,
    same_test_record,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.restore_plan import (
    plan_absent,
    plan_cleanup,
    plan_present,
    plan_skipped,
    restore_diff,
    restore_result,
    spp_mode,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.restore_request import (
    check_request,
    iso_time,
    parse_recovery_point,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.restore_session_match import (
    cleanup_matches,
    usable_match,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.restore_source import (
    choose_point,
    merge_versions,
    point_summary,
    resolve_source,
    spp_identity,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import restore_sessions
from ansible_collections.sovereign.vm_backup.plugins.module_utils.services.restore_steps import (
    PlannedRestore,
    RestoreTask,
    apply,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import answers as spp_answers


# -- reading, planning, and the results ---------------------------------------------------------------------------


def _read_source(task):
    """vCenter VMs, the hypervisors of this vCenter, and the resolved source VM."""
    vcenter_vms = task.inventory.list_vms_with_markers()
    task.known_morefs = {vm["moref"] for vm in vcenter_vms}
    ours = task.restorer.hypervisor_ids(task.inventory.instance_uuid)
    if not ours:
        raise InvalidRequest("this vCenter (instance UUID %s) is not registered on the backup server; register it "
                             "first" % task.inventory.instance_uuid)
    ref = task.request["vm"]
    names = {ref} | {vm["name"] for vm in vcenter_vms if ref in (vm["moref"], vm["instance_uuid"])}
    recovery = task.restorer.recovery_vms(sorted(names), ours)
    try:
        source = resolve_source(ref, vcenter_vms, recovery)
    except NotFound:
        # Named by moref or UUID, or renamed since its backups: look through the whole recovery view once.
        everything = task.restorer.recovery_vms((), ours)
        recorded = _recorded_source(task, ref) if replaces(task.request) else None
        if recorded is None:
            source = resolve_source(ref, vcenter_vms, everything)
        else:
            # A replacing restore stopped part-way: once the backup server has inventoried the renamed VM and the
            # restored one, no record of the name has recovery points; the request record names the source.
            source = resolve_source(recorded["instance_uuid"] or recorded["spp_id"], vcenter_vms, everything)
            source["name"] = recorded["name"]
    source["hypervisor_id"] = source["records"][0].get("hypervisorKey") or sorted(ours)[0]
    return vcenter_vms, source


def _recorded_source(task, ref):
    """The source (``{"name", "instance_uuid", "spp_id", "moref"}``) of a request record of a replacing restore of the
    VM ``ref`` (its name, moref or instance UUID), or None."""
    for record in task.inventory.restore_requests().values():
        origin = record.get("source") or {}
        if ref in (origin.get("name"), origin.get("moref"), origin.get("instance_uuid")):
            return origin
    return None


def _choose(task, source, pairs, wanted_point, done_marker=None):
    """The recovery point (and copy) to restore, and the name the restored VM gets.

    ``done_marker``: the marker of a request already done; its recovery point may have expired since, and the result
    then describes it from the marker.
    """
    request = task.request
    target_name = spp_answers.default_name(request["mode"], source["name"], request.get("name"))
    try:
        spp_vm, version = choose_point(pairs, wanted_point or "latest")
    except NotFound:
        if done_marker is None:
            raise
        done = done_marker.get("recovery_point") or {}
        source["spp_id"] = str((done_marker.get("source") or {}).get("spp_id"))
        point = {"id": str(done.get("id")), "time": done.get("time"), "time_iso": iso_time(done.get("time")),
                 "copy_kind": None, "copy_id": None, "policy": None, "session_id": None, "session_status": None}
        return PlannedRestore(source, point, target_name=target_name)
    copy = spp_answers.choose_copy(version, request.get("copy"))
    point = point_summary(version, copy, request.get("copy"))
    source["spp_id"] = str(spp_vm.get("id"))
    return PlannedRestore(source, point, spp_vm, version, copy, target_name)


def _skip_if_tested(task, work):
    """The result of a recovery point that already passed its test (``skip_if_tested``), else None."""
    request, source, point = task.request, work.source, work.point
    if not (request.get("skip_if_tested") and source["current"] is not None and passed_test(
            source["current"].get("test_record"), point["id"])):
        return None
    result = restore_result(request, source, point, plan_skipped(request, source, point, work.target_name))
    result.update(name=work.target_name, skipped_tested=True, diff={"before": {}, "after": {}})
    task.log("recovery point %s of %s already passed its test (%s): nothing to do"
             % (point["id"], source["name"], result["last_test"].get("when")))
    return result


def _plan(task, work, vcenter_vms):
    """Find what an earlier run did (a marked VM, else a restore session to follow), and plan the rest."""
    request, source, point = task.request, work.source, work.point
    mode = request["mode"]
    work.marked = next(iter(marked_vms(vcenter_vms, source, point["id"], mode, target_name=work.target_name)), None)
    if work.marked is None:
        work.follow = _session_to_follow(task, work, vcenter_vms)
    work.plan = plan_present(request, source, point, work.target_name, vcenter_vms, work.marked, work.follow)
    work.diff = restore_diff(request, source, work.plan, work.target_name, work.marked)
    if work.marked is not None:
        work.details = task.inventory.vm_details(work.marked["moref"]) or work.marked
        work.session_id = work.marked["marker"].get("session_id")
        work.state = work.marked["marker"].get("state")
    else:
        work.session_id = work.plan.get("session_id")
    if work.plan["via"] == "post":
        work.placement = _placement(task, work)


def _session_to_follow(task, work, vcenter_vms):
    """A restore session of the source that an earlier run started (its answer lost, or not waited for), with the
    unmarked VM it made once settled: ``(session, vm or None)``, or None."""
    matches = restore_sessions.matching_sessions(task, work.source)
    # A production restore gives the restored VM the source's instance UUID (spp-api.md 14.10).
    identity = work.source["instance_uuid"] if spp_mode(task.request, work.source) == "production" else None
    return usable_match(matches, vcenter_vms, work.source, task.request["mode"], work.target_name, identity)


def _replaced_policies(task, source):
    """The SLA policies that the backup server records for the VM a replacing restore replaces (read before any
    change; the request record keeps them for the re-protection)."""
    current = source["current"]
    if current is not None:
        for spp_vm in task.restorer.vm_records(current["name"]):
            if spp_identity(spp_vm)[0] == current["moref"]:
                return sorted(spp_vm.get("storageProfiles") or [])
    return sorted(source["records"][0].get("storageProfiles") or [])


def _resume(task, work, record, vcenter_vms):
    """Take up a replacing restore where its request record says it stopped."""
    work.record = record
    work.policies = list(record.get("policies") or [])
    work.session_id = record.get("session_id")
    if record.get("restored_moref"):
        work.details = task.inventory.vm_details(record["restored_moref"])
        if work.details is None:
            raise InvalidRequest("the restore request %s of %s made VM %s, which vCenter no longer shows; the request "
                                 "record on vCenter's root folder (custom attribute %s) keeps this request from "
                                 "running again: look for the VM, or give a new restore_id"
                                 % (work.key, work.source["name"], record["restored_moref"],
                                    task.inventory.REQUESTS_FIELD))
        promoting = task.request["state"] == "promoted"
        work.state = "promoted" if promoting and reached(record, "promoted") else "restored"
        return
    if record.get("session_id"):
        try:
            work.follow = (task.restorer.session(record["session_id"]), None)
        except NotFound:
            raise InvalidRequest("the restore session %s of request %s of %s is no longer on the backup server, so this "
                                 "run cannot tell what it restored; look in vCenter for the restored VM"
                                 % (record["session_id"], work.key, work.source["name"])) from None
        return
    # Started, then stopped before the session was recorded: the POST may have left. Look from the record's start.
    task.sessions_since_ms = int(record["since_ms"]) - restore_sessions.CLOCK_SLACK_MS
    work.follow = _session_to_follow(task, work, vcenter_vms)


def _plan_replacing(task, work, vcenter_vms, record, fulfilled):
    """The plan of a restore that replaces a production VM: done (``fulfilled``), resumed (``record``), or new."""
    request, source = task.request, work.source
    if fulfilled is not None:
        work.marked = fulfilled
        work.details = task.inventory.vm_details(fulfilled["moref"]) or fulfilled
        work.session_id = fulfilled["marker"].get("session_id")
        work.state = fulfilled["marker"].get("state")
        work.policies = list(fulfilled["marker"].get("policies") or [])
    elif record is not None:
        _resume(task, work, record, vcenter_vms)
    else:
        work.policies = _replaced_policies(task, source)
        if request["state"] == "promoted":
            work.marked = next(iter(marked_vms(vcenter_vms, source, work.point["id"], "test", ("restored", "cloned"),
                                               target_name=work.target_name)), None)
        if work.marked is not None:
            work.details = task.inventory.vm_details(work.marked["moref"]) or work.marked
            work.session_id = work.marked["marker"].get("session_id")
            work.state = "restored"
        elif request["state"] == "promoted":
            work.follow = _session_to_follow(task, work, vcenter_vms)
    progress = {"fulfilled": fulfilled is not None, "record": record, "policies": work.policies,
                "marked": work.marked if fulfilled is None else None, "follow": work.follow}
    work.plan = plan_present(request, source, work.point, work.target_name, vcenter_vms, work.marked, work.follow,
                             progress=progress)
    work.plan["request"] = work.key
    work.diff = restore_diff(request, source, work.plan, work.target_name, work.marked)
    if work.plan["via"] == "post":
        work.placement = _placement(task, work)


def _placement(task, work):
    """Where the restore goes, resolved before any change (in check mode too): host or cluster, datastores and
    networks by name on the backup server, the folder in vCenter."""
    request = task.request
    folder = request.get("folder")
    if folder and task.inventory.find_folder(folder) is None:
        raise InvalidRequest("vCenter has no VM folder %s; give an inventory path such as /DC0/vm/restored, or "
                             "create the folder first" % folder, unknown=[folder])
    return task.restorer.resolve_destination(work.source["hypervisor_id"], work.version,
                                             host=request.get("host"), cluster=request.get("cluster"),
                                             datastore_map=request.get("datastore_map"),
                                             network_map=request.get("network_map"))


def _result(task, work, state, changed):
    result = restore_result(task.request, work.source, work.point, work.plan, work.details, work.session_id, state,
                            changed)
    result["diff"] = work.diff
    if work.key is not None:
        result["request"] = work.key
        result["protected_with"] = list(work.policies)
    return result


def _applied_result(task, work):
    """The result once the steps ran: running (not waited for), or done, with the re-protection warning."""
    if work.running:
        result = _result(task, work, "running", True)
        if work.details is None:
            result["name"] = work.target_name
        return result
    result = _result(task, work, work.state, True)
    details = work.details
    if work.key is not None and "protect" not in work.plan["steps"] and not work.policies:
        task.warnings.append("the backup server recorded no SLA policy for the VM that %s (%s) replaced, so it has "
                             "none; protect it with vm_backup_policy" % (details["name"], details["moref"]))
    elif work.key is not None and not task.request.get("reprotect", True):
        task.warnings.append(
            "VM %s now has a new moref (%s): the backup server sees it as a new VM, without policies. Protect it "
            "again, e.g. with vm_backup_policy (vm: %s, policies: [%s], rescan: true)"
            % (details["name"], details["moref"], details["moref"], ", ".join(work.policies)))
    if task.warnings:
        result["warnings"] = task.warnings
    return result


def _earlier_progress(task, source, key, wanted_point):
    """For a replacing restore: ``(record, fulfilled, point)``: the request record of a run that stopped part-way,
    the VM that already carries this request's result, and the recovery point the run is bound to."""
    records = task.inventory.restore_requests()
    record = records.get(record_key(source))
    current = source["current"]
    if record is not None and record.get("request") != key and fulfilled_by(current, source, task.request,
                                                                            record.get("request")):
        if not task.check_mode:  # a finished request whose record was not removed (a stop after its marker)
            task.inventory.write_restore_request(record_key(source), None)
        record = None
    if record is not None and record.get("request") != key:
        raise InvalidRequest(
            "an unfinished restore of %s is recorded: request %s, recovery point %s, stopped after step %s. Run that "
            "request again to finish it (the same task with %s); nothing was changed"
            % (source["name"], record.get("request"), (record.get("recovery_point") or {}).get("id"),
               record.get("step"), record.get("request", "").replace(":", ": ", 1)), record=record)
    fulfilled = current if fulfilled_by(current, source, task.request, key) else None
    if fulfilled is not None:
        done_point = str((fulfilled["marker"].get("recovery_point") or {}).get("id"))
        if task.request.get("restore_id") and wanted_point not in (None, "latest") and not isinstance(
                wanted_point, dict) and str(wanted_point) != done_point:
            raise InvalidRequest("restore_id %s already restored %s from recovery point %s; to restore recovery point "
                                 "%s, give a new restore_id" % (task.request["restore_id"], source["name"],
                                                                done_point, wanted_point))
        return None, fulfilled, done_point
    if record is not None:
        return record, None, str(record["recovery_point"]["id"])
    return None, None, wanted_point


def _converge_present(task, vcenter_vms, source, pairs, wanted_point):
    """state present, promoted or cloned: choose the point, plan, and apply the plan unless in check mode."""
    record = fulfilled = key = None
    if replaces(task.request):
        key = request_key(task.request, wanted_point)
        record, fulfilled, wanted_point = _earlier_progress(task, source, key, wanted_point)
    work = _choose(task, source, pairs, wanted_point, (fulfilled or {}).get("marker"))
    work.key = key
    skipped = _skip_if_tested(task, work)
    if skipped is not None:
        return skipped
    if key is not None:
        _plan_replacing(task, work, vcenter_vms, record, fulfilled)
    else:
        _plan(task, work, vcenter_vms)
    if not task.check_mode and work.plan["changed"]:
        apply(task, work)
        return _applied_result(task, work)
    result = _result(task, work, work.state, work.plan["changed"])
    if work.marked is None:
        result["name"] = work.plan["name"]
    return result


def _converge_absent(task, vcenter_vms, source, pairs, wanted_point):
    """state absent: clean up the test restores of the source (of one point when recovery_point is given)."""
    request = task.request
    point = None
    if wanted_point is not None:
        spp_vm, version = choose_point(pairs, wanted_point)
        point = point_summary(version)
        source["spp_id"] = str(spp_vm.get("id"))
    else:
        source["spp_id"] = str(source["records"][0].get("id"))
    point_id = point["id"] if point else None
    marked = marked_vms(vcenter_vms, source, point_id, "test", ("restored",), request.get("name"))
    unmarked = []
    if point_id is None:  # an unmarked test VM says nothing of its recovery point: only a task for any point takes it
        claimed = {str(vm["marker"].get("session_id")) for vm in vcenter_vms if vm.get("marker")}
        unmarked = cleanup_matches(restore_sessions.test_sessions(task, source), vcenter_vms, source,
                                   spp_answers.default_name("test", source["name"], request.get("name")), claimed)
    removes = plan_cleanup(marked, unmarked)
    work = PlannedRestore(source, point)
    work.plan = plan_absent(request, point, removes)
    work.diff = restore_diff(request, source, work.plan, None, None)
    if not task.check_mode and work.plan["changed"]:
        apply(task, work)
    result = _result(task, work, "absent", work.plan["changed"])
    result["removed"] = removes
    return result


def _record_test(task, source, result):
    """Write the outcome of the test (``test_result``) on the VM that carries the source's identity.

    After a clean-up that is the source's current VM; after a promotion, the promoted VM (it replaced the source).
    Same point, result and test VM as recorded: no change. No such VM: a warning, nothing recorded.
    """
    request = task.request
    test_vm = spp_answers.default_name("test", source["name"], request.get("name"))
    holder = None
    if request["state"] == "promoted":
        if result.get("state") == "promoted" and result.get("moref"):
            holder = task.inventory.vm_details(result["moref"])
    elif source["current"] is not None:
        holder = source["current"]
    record = new_test_record(result["recovery_point"], request["test_result"], task.now_ms(), test_vm)
    if holder is None:
        if task.check_mode and request["state"] == "promoted":
            result["changed"] = True  # the promotion, then its record, would happen
            result["last_test"] = public_test_record(record)
            return
        result.setdefault("warnings", []).append(
            "no VM named %s in vCenter to record the test result on; the result %s was not recorded"
            % (source["name"], request["test_result"]))
        return
    old = holder.get("test_record")
    if same_test_record(old, record):
        result["last_test"] = public_test_record(old)
        return
    result["changed"] = True
    result["last_test"] = public_test_record(record)
    result.setdefault("diff", {"before": {}, "after": {}})
    result["diff"]["before"]["%s test record" % holder["name"]] = public_test_record(old)
    result["diff"]["after"]["%s test record" % holder["name"]] = public_test_record(record)
    if task.check_mode:
        return
    task.inventory.set_test_record(holder["moref"], record)
    task.log("recorded on %s (%s): the test of recovery point %s %s"
             % (holder["name"], holder["moref"], record["recovery_point"]["id"], record["result"]))


def converge(backup, inventory, request, check_mode=False, progress=None, clock=time.monotonic, wall=time.time,
             sleep=time.sleep):
    """Run the task described by ``request`` (the module's options); return the module result.

    ``backup``: a ``BackupService`` that offers ``restore``; ``inventory``: a ``VmInventory`` with ``markers`` (and
    ``folders`` for ``folder``); ``Unsupported`` before any call otherwise. ``request`` keys: vm, recovery_point,
    copy, mode, name, state, overwrite, host, cluster, datastore_map, network_map, folder, power_on, wait, timeout.
    """
    check_request(request)
    backup.require("restore")
    inventory.require("markers")
    if request.get("folder"):
        inventory.require("folders")
    task = RestoreTask(backup, inventory, request, check_mode, progress, clock, wall, sleep)
    wanted_point = parse_recovery_point(request.get("recovery_point"))
    vcenter_vms, source = _read_source(task)
    pairs = merge_versions((record, task.restorer.versions(record)) for record in source["records"])
    if request["state"] == "absent":
        if wanted_point is None and request.get("test_result"):
            wanted_point = "latest"  # a test result is the result of one recovery point's test
        result = _converge_absent(task, vcenter_vms, source, pairs, wanted_point)
    else:
        result = _converge_present(task, vcenter_vms, source, pairs, wanted_point)
    if request.get("test_result") and result.get("recovery_point"):
        _record_test(task, source, result)
    point = result.get("recovery_point")
    if point:  # read last: a pre-flight (check mode) looks at it; the restore itself does not depend on it
        point["session_status"] = restore_sessions.backup_session_status(task.restorer, point.get("session_id"))
    return result
