# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Service behind ``vm_restore``: resolve the source and the recovery point, plan, then restore and follow up.

Considered private: only this collection may import it. The stages are pure modules: ``pure/restore_request``
(options), ``pure/restore_source`` (the source VM, its lineage and the recovery point), ``pure/restore_markers`` and
``pure/restore_session_match`` (what an earlier run already did), ``pure/restore_plan`` (the plan, the result and
the diff). This module reads, plans, and applies the plan's named steps through ``STEPS``;
``services/restore_sessions`` does the I/O with the backup server's restore sessions. Reads: one
PropertyCollector pass over vCenter's VMs with their restore markers, the registered hypervisors, a search of the
backup server's recovery view for the VM, the VM's versions, and (when no marker settles the question) the restore
job sessions of the last 24 hours. Writes: at most one restore POST, one test-restore action, and the marker.

Idempotence rests on two records (plus, for ``restore_test``, a third):

* the **marker** on the restored VM (``vsphere.vms``): source, recovery point, mode, session and lifecycle state.
  A run that finds a VM whose marker matches changes nothing;
* the **restore job sessions** of the backup server. A session does not list the VMs it restored (its
  ``postRestoreInfo`` is an object with a message, spp-api.md 14.13), so before posting a restore a run looks for a
  session whose logs mention the source (a run whose POST answer was lost, or one that stopped waiting): it follows a
  running one, and adopts a settled one when vCenter shows the unmarked VM it made under the restore's name, instead
  of starting a second restore;
* the **test record** (``vsphere.vms.TEST_FIELD``) on the VM whose backup was tested: the recovery point tested, the
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

from ansible_collections.sovereign.vm_backup.plugins.module_utils import _wait
from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import (
    ApiError,
    InvalidRequest,
    NotFound,
    TaskFailed,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.restore_markers import (
    marked_vms,
    new_marker,
    new_test_record,
    passed_test,
    public_test_record,
    same_test_record,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.restore_plan import (
    ACTIONS,
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
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import restore_sessions
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import answers as spp_answers
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import listing as spp_listing
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import restore as spp_restore
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import versions as spp_versions
from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere import vms as vsphere_vms


class RestoreTask:
    """One task's clients, request, deadline, progress log and warnings."""

    def __init__(self, spp, vsphere, request, check_mode, progress, clock, wall, sleep):
        self.spp = spp
        self.vsphere = vsphere
        self.request = request
        self.check_mode = check_mode
        self.log = progress or (lambda message: None)
        self.clock = clock
        self.wall = wall
        self.sleep = sleep
        self.deadline = _wait.Deadline(request["timeout"], clock)
        self.warnings = []
        # Restore sessions listed before posting: a session that shows up after a lost answer is not among them.
        self.seen_sessions = set()
        # vCenter's VMs when the task read them: a restored VM is one that was not among them.
        self.known_morefs = set()
        # The logs of settled restore sessions, read once per task.
        self.session_logs = {}

    def now_ms(self):
        return int(self.wall() * 1000)


class PlannedRestore:
    """One restore: the recovery point chosen, the plan, and where applying the plan's steps has got to."""

    def __init__(self, source, point, spp_vm=None, version=None, copy=None, target_name=None):
        self.source = source
        self.point = point
        self.spp_vm = spp_vm
        self.version = version
        self.copy = copy
        self.target_name = target_name
        self.marked = None  # the VM whose marker records this restore
        self.follow = None  # (session, vm or None) of the restore session to follow instead of posting one
        self.plan = None
        self.diff = None
        # The restored VM (vCenter details), its session and lifecycle state: from the marker, then from each step.
        self.details = None
        self.session_id = None
        self.state = None
        self.done = []  # names of the steps applied
        self.running = False  # the last step started something without waiting for it (wait: false)

    @property
    def kept(self):
        """The rename of the current VM that ``keep_current`` plans (``{"name", "moref", "to"}``), or None."""
        renames = self.plan.get("renames") or []
        return renames[0] if renames else None


# -- the steps of a plan, by name ---------------------------------------------------------------------------------


def _rename_current(task, work):
    kept = work.kept
    task.log("renaming the current VM %s (%s) to %s" % (kept["name"], kept["moref"], kept["to"]))
    vsphere_vms.rename_vm(task.vsphere, kept["moref"], kept["to"], timeout=task.deadline.remaining_whole())


def _give_name_back(task, work):
    """Undo ``rename_current``; returns the sentence the error adds."""
    kept = work.kept
    vsphere_vms.rename_vm(task.vsphere, kept["moref"], kept["name"], timeout=task.deadline.remaining_whole())
    return "It was renamed %s for the restore, and has its name back." % kept["to"]


def _restore(task, work):
    session, details = restore_sessions.do_restore(task, work.plan, work.source, work.spp_vm, work.version, work.copy,
                                                   work.point, work.target_name, work.follow)
    work.session_id = str(session.get("id"))
    if details is None:  # wait: false
        work.running = True
        return
    work.state = "restored"
    details["marker"] = vsphere_vms.set_marker(task.vsphere, details["moref"], new_marker(
        work.source, work.point, task.request["mode"], work.session_id, work.state, work.kept))
    task.log("restored %s as %s (%s)" % (work.source["name"], details["name"], details["moref"]))
    work.details = details


def _power_off_current(task, work):
    kept = work.kept
    task.log("powering off the previous VM %s (%s)" % (kept["to"], kept["moref"]))
    vsphere_vms.power_off_vm(task.vsphere, kept["moref"], timeout=task.deadline.remaining_whole())


def _test_restore_action(task, work, wanted):
    """Take the test VM to lifecycle state ``wanted`` (promoted, cloned) through its session's action."""
    action = ACTIONS[wanted]
    _session, details = restore_sessions.do_action(task, action, work.session_id, work.source, work.details)
    if details is None:  # wait: false
        work.running = True
        return
    work.state = wanted
    work.details = details
    task.log("test restore %s: %s (%s)" % (wanted, work.details["name"], work.details["moref"]))


def _promote(task, work):
    _test_restore_action(task, work, "promoted")


def _keep_as_clone(task, work):
    _test_restore_action(task, work, "cloned")


def _mark(task, work):
    marker = work.details.get("marker") or {}
    if marker.get("state") != work.state or marker.get("session_id") != work.session_id:
        vsphere_vms.set_marker(task.vsphere, work.details["moref"], new_marker(
            work.source, work.point, task.request["mode"], work.session_id, work.state,
            work.kept or marker.get("kept")))
    work.details = vsphere_vms.vm_details(task.vsphere, work.details["moref"])


def _clean_up(task, work):
    """Remove the test VMs of ``plan["removes"]`` through their restore sessions."""
    removes = work.plan["removes"]
    for item in removes:
        if not item.get("session_id"):
            raise InvalidRequest("test VM %s (%s) has no restore session recorded; remove it in vCenter"
                                 % (item["name"], item["moref"]))
        try:
            restore_sessions.do_action(task, "cleanup", item["session_id"], work.source, item)
        except NotFound:
            raise InvalidRequest("the restore session %s of test VM %s (%s) no longer exists on the backup server, "
                                 "so it cannot clean it up; remove the VM in vCenter"
                                 % (item["session_id"], item["name"], item["moref"])) from None
        task.log("test VM %s (%s) removed" % (item["name"], item["moref"]))
    work.session_id = removes[0]["session_id"]


# Every step a plan may name (pure/restore_plan.py), in the order plans list them.
STEPS = {
    "rename_current": _rename_current,
    "restore": _restore,
    "power_off_current": _power_off_current,
    "rrp": _promote,
    "clone": _keep_as_clone,
    "mark": _mark,
    "cleanup": _clean_up,
}
# Taken back, newest first, when the restore fails: nothing was restored, so the current VM gets its name back.
# After a restore nothing is taken back: the restored VM needs the renamed one out of its way.
UNDO_IF_RESTORE_FAILS = {"rename_current": _give_name_back}


def _apply(task, work):
    """Apply the plan's steps in order; stop after a step that started something without waiting for it."""
    for name in work.plan["steps"]:
        try:
            STEPS[name](task, work)
        except (TaskFailed, ApiError) as error:
            taken_back = [UNDO_IF_RESTORE_FAILS[done](task, work) for done in reversed(work.done)
                          if done in UNDO_IF_RESTORE_FAILS] if name == "restore" else []
            if not taken_back:
                raise
            raise TaskFailed(" ".join([error.message] + taken_back), **error.to_result()) from None
        work.done.append(name)
        if work.running:
            return


# -- reading, planning, and the results ---------------------------------------------------------------------------


def _read_source(task):
    """vCenter VMs, the hypervisors of this vCenter, and the resolved source VM."""
    vcenter_vms = vsphere_vms.list_vms_with_markers(task.vsphere)
    task.known_morefs = {vm["moref"] for vm in vcenter_vms}
    hypervisors = spp_listing.list_hypervisors(task.spp)
    ours = {h.get("id") for h in hypervisors if h.get("uniqueId") == task.vsphere.instance_uuid}
    if not ours:
        raise InvalidRequest("this vCenter (instance UUID %s) is not registered on the backup server; register it "
                             "first" % task.vsphere.instance_uuid)
    ref = task.request["vm"]
    names = {ref} | {vm["name"] for vm in vcenter_vms if ref in (vm["moref"], vm["instance_uuid"])}
    recovery = spp_restore.recovery_vms(task.spp, sorted(names), ours)
    try:
        source = resolve_source(ref, vcenter_vms, recovery)
    except NotFound:
        # Named by moref or UUID, or renamed since its backups: look through the whole recovery view once.
        source = resolve_source(ref, vcenter_vms, spp_restore.recovery_vms(task.spp, (), ours))
    source["hypervisor_id"] = source["records"][0].get("hypervisorKey") or sorted(ours)[0]
    return vcenter_vms, source


def _choose(task, source, pairs, wanted_point):
    """The recovery point (and copy) to restore, and the name the restored VM gets."""
    request = task.request
    spp_vm, version = choose_point(pairs, wanted_point or "latest")
    copy = spp_answers.choose_copy(version, request.get("copy"))
    point = point_summary(version, copy, request.get("copy"))
    source["spp_id"] = str(spp_vm.get("id"))
    target_name = spp_answers.default_name(request["mode"], source["name"], request.get("name"))
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
        matches = restore_sessions.matching_sessions(task, source)
        # A production restore gives the restored VM the source's instance UUID (spp-api.md 14.10).
        identity = source["instance_uuid"] if spp_mode(request, source) == "production" else None
        work.follow = usable_match(matches, vcenter_vms, source, mode, work.target_name, identity)
    work.plan = plan_present(request, source, point, work.target_name, vcenter_vms, work.marked, work.follow)
    work.diff = restore_diff(request, source, work.plan, work.target_name, work.marked)
    if work.marked is not None:
        work.details = vsphere_vms.vm_details(task.vsphere, work.marked["moref"]) or work.marked
        work.session_id = work.marked["marker"].get("session_id")
        work.state = work.marked["marker"].get("state")
    else:
        work.session_id = work.plan.get("session_id")


def _result(task, work, state, changed):
    result = restore_result(task.request, work.source, work.point, work.plan, work.details, work.session_id, state,
                            changed)
    result["diff"] = work.diff
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
    if task.request["mode"] == "production" or work.state == "promoted":
        policies = result["source"]["policies"]
        task.warnings.append(
            "VM %s now has a new moref (%s): the backup server will see it as a new VM, without policies, at its next "
            "inventory. Protect it again, e.g. with vm_backup_policy (vm: %s, policies: %s, rescan: true)"
            % (details["name"], details["moref"], details["moref"], "[%s]" % ", ".join(policies or ["<policy>"])))
    if task.warnings:
        result["warnings"] = task.warnings
    return result


def _converge_present(task, vcenter_vms, source, pairs, wanted_point):
    """state present, promoted or cloned: choose the point, plan, and apply the plan unless in check mode."""
    work = _choose(task, source, pairs, wanted_point)
    skipped = _skip_if_tested(task, work)
    if skipped is not None:
        return skipped
    _plan(task, work, vcenter_vms)
    if not task.check_mode and work.plan["changed"]:
        _apply(task, work)
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
        _apply(task, work)
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
            holder = vsphere_vms.vm_details(task.vsphere, result["moref"])
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
    vsphere_vms.set_marker(task.vsphere, holder["moref"], record, field=vsphere_vms.TEST_FIELD)
    task.log("recorded on %s (%s): the test of recovery point %s %s"
             % (holder["name"], holder["moref"], record["recovery_point"]["id"], record["result"]))


def converge(spp, vsphere, request, check_mode=False, progress=None, clock=time.monotonic, wall=time.time,
             sleep=time.sleep):
    """Run the task described by ``request`` (the module's options); return the module result.

    ``request`` keys: vm, recovery_point, copy, mode, name, state, overwrite, host, cluster, datastore_map,
    network_map, folder, power_on, wait, timeout.
    """
    check_request(request)
    task = RestoreTask(spp, vsphere, request, check_mode, progress, clock, wall, sleep)
    wanted_point = parse_recovery_point(request.get("recovery_point"))
    vcenter_vms, source = _read_source(task)
    pairs = merge_versions((record, spp_versions.list_versions(spp, record)) for record in source["records"])
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
        point["session_status"] = restore_sessions.backup_session_status(spp, point.get("session_id"))
    return result
