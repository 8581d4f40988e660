# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The steps of a ``vm_restore`` plan, by name, and applying them in order.

Considered private: only this collection may import it. ``pure/restore_plan.py`` names the steps; each function
here does one, through the seams (the ``RestoreTask``'s restorer and VM inventory). A restore that replaces a
production VM (a production restore, or a promotion) writes its request record (``VmInventory.write_restore_request``,
``vsphere/restore_requests.py`` behind it) before its first change and updates it after each step, so that a re-run
after a crash at any point resumes after the last step done:

``record`` -> ``rename_current`` (keep_current) -> ``restore`` (record: posted, then restored) -> ``power_off_current``
(keep_current) -> ``rrp`` (promotion) -> ``protect`` (the replaced VM's policies on the restored VM) -> ``mark`` (the
marker with the request key: from now on the request is done) -> ``forget`` (the record removed).

The old VM is powered off, and the restored VM protected, before the marker says the request is done. A failure
before the restore may have been posted gives the renamed VM its name back; after that, nothing is taken back (the
restored VM needs the old one out of its way) and the error says what state production is in.
"""

from __future__ import annotations

from ansible_collections.sovereign.vm_backup.plugins.module_utils import _wait
from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import (
    InvalidRequest,
    NotFound,
    TaskFailed,
    VmBackupError,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.restore_markers import (
    new_marker,
    new_request_record,
    record_key,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.restore_plan import ACTIONS
from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import assignments
from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import restore_sessions


class RestoreTask:
    """One task's seams, request, deadline, progress log and warnings.

    ``backup`` is the ``BackupService`` (for the re-protection), ``restorer`` its restore operations
    (``BackupService.restorer()``), ``inventory`` the ``VmInventory`` (with its markers)."""

    def __init__(self, backup, inventory, request, check_mode, progress, clock, wall, sleep):
        self.backup = backup
        self.restorer = backup.restorer()
        self.inventory = inventory
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
        # Restore sessions started before this (epoch ms) are not looked at; None: the last day.
        self.sessions_since_ms = None
        # Set just before the restore POST leaves, and when its session is known to have failed.
        self.restore_posted = False
        self.restore_failed = False

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
        self.placement = None  # the resolved destination of the restore to post (the restorer's resolve_destination)
        self.key = None  # the request key of a replacing restore
        self.record = None  # its request record, as last written
        self.policies = []  # the policies of the VM it replaces
        self.protection = None
        self.plan = None
        self.diff = None
        # The restored VM (vCenter details), its session and lifecycle state: from the marker, then from each step.
        self.details = None
        self.session_id = None
        self.state = None
        self.done = []  # names of the steps applied
        self.running = False  # the last step started something without waiting for it (wait: false)
        # What could not be written once the restore was under way (``_progress``, ``_mark``): "record" -> {"error",
        # "written_step"} (the step the record on vCenter still says), "marker" -> the error. Warnings, not failures.
        self.unwritten = {}

    @property
    def kept(self):
        """The rename of the current VM that ``keep_current`` plans (``{"name", "moref", "to"}``), or None."""
        renames = self.plan.get("renames") or []
        return renames[0] if renames else None


def _error_text(error):
    return (getattr(error, "message", None) or str(error) or type(error).__name__).rstrip(".")


def _progress(task, work, step, **fields):
    """Record that ``step`` is done (and ``fields``) in the request record of a replacing restore.

    Every call comes after the restore was posted: a write that fails must not hide the restore. The run goes on; the
    record keeps the last step written (a re-run resumes from there, and finds the restore session when the record
    does not name it), the next write carries the fields of this one, and ``_mark`` says what is left in a warning.
    """
    if work.record is None:
        return
    record = dict(work.record, step=step, **fields)
    try:
        work.record = task.inventory.write_restore_request(record_key(work.source), record)
    except Exception as error:  # pylint: disable=broad-except
        work.unwritten.setdefault("record", {"error": error, "written_step": work.record.get("step", "started")})
        work.record = record
        task.log("could not record step %s of request %s on vCenter's root folder: %s"
                 % (step, work.key, _error_text(error)))
        if step == "posted" and not task.request.get("wait", True):  # this run ends here, without a marker
            task.warnings.append(
                "restore session %s of request %s was posted, but the request record on vCenter's root folder could "
                "not be updated (%s): it still says step %s. The next run finds the session from its logs and "
                "follows it; it posts no other restore." % (fields.get("session_id"), work.key, _error_text(error),
                                                            work.unwritten["record"]["written_step"]))
    else:
        work.unwritten.pop("record", None)  # caught up: vCenter has the whole record again


# -- the steps of a plan, by name ---------------------------------------------------------------------------------


def _record(task, work):
    request = task.request
    record = new_request_record(work.key, work.source, work.point, request["mode"], request["state"], work.policies,
                                work.kept, task.now_ms())
    if work.marked is not None:  # a promotion of a test VM restored earlier: nothing to restore
        record.update(step="restored", restored_moref=work.marked["moref"], session_id=work.session_id)
    task.log("recording the restore request %s of %s (recovery point %s)"
             % (work.key, work.source["name"], work.point["id"]))
    work.record = task.inventory.write_restore_request(record_key(work.source), record)


def _rename_current(task, work):
    kept = work.kept
    task.log("renaming the current VM %s (%s) to %s" % (kept["name"], kept["moref"], kept["to"]))
    task.inventory.rename(kept["moref"], kept["to"], timeout=task.deadline.remaining_whole())


def _give_name_back(task, work):
    """Undo ``rename_current``; returns the sentence the error adds."""
    kept = work.kept
    task.inventory.rename(kept["moref"], kept["name"], timeout=task.deadline.remaining_whole())
    return "The current VM %s (%s) was renamed %s for the restore, and has its name back." % (
        kept["name"], kept["moref"], kept["to"])


def _restore(task, work):
    def posted(session):
        _progress(task, work, "posted", session_id=str(session.get("id")))

    session, details = restore_sessions.do_restore(task, work, on_session=posted)
    work.session_id = str(session.get("id"))
    if details is None:  # wait: false
        work.running = True
        return
    work.state = "restored"
    if work.record is None or task.request["mode"] == "test":
        # A test VM is marked now: if the promotion stops, state absent can still clean it up.
        details["marker"] = task.inventory.set_marker(details["moref"], new_marker(
            work.source, work.point, task.request["mode"], work.session_id, work.state, work.kept))
    _progress(task, work, "restored", restored_moref=details["moref"])
    task.log("restored %s as %s (%s)" % (work.source["name"], details["name"], details["moref"]))
    work.details = details


def _power_off_current(task, work):
    kept = work.kept
    task.log("powering off the previous VM %s (%s)" % (kept["to"], kept["moref"]))
    task.inventory.power_off(kept["moref"], timeout=task.deadline.remaining_whole())
    _progress(task, work, "old_powered_off")


def _test_restore_action(task, work, wanted):
    """Take the test VM to lifecycle state ``wanted`` (promoted, cloned) through its session's action."""
    action = ACTIONS[wanted]
    _session, details = restore_sessions.do_action(task, action, work.session_id, work.source, work.details)
    if details is None:  # wait: false
        work.running = True
        return
    work.state = wanted
    work.details = details
    _progress(task, work, wanted, restored_moref=details["moref"])
    task.log("test restore %s: %s (%s)" % (wanted, work.details["name"], work.details["moref"]))


def _promote(task, work):
    _test_restore_action(task, work, "promoted")


def _keep_as_clone(task, work):
    _test_restore_action(task, work, "cloned")


def _protect(task, work):
    """Re-apply the replaced VM's policies to the restored VM, which the backup server sees as a new VM: rescan the
    inventory until it shows it, then assign (``services/assignments``: the rules are checked first)."""
    moref = work.details["moref"]
    task.log("protecting %s (%s) with the policies of the VM it replaced: %s"
             % (work.details["name"], moref, ", ".join(work.policies)))
    result = assignments.converge(task.backup, task.inventory, [{"vm": moref, "policies": list(work.policies)}],
                                  rescan=True, rescan_timeout=max(task.deadline.remaining_whole(), 1),
                                  progress=task.log)
    work.protection = {"policies": list(work.policies), "changed": result["changed"]}
    _progress(task, work, "protected")


def _mark(task, work):
    """Write the final marker on the restored VM. For a replacing restore, the restore is done by now: a marker that
    cannot be written is a warning that says what happened and what to do (``_unmarked``), not a failure."""
    marker = work.details.get("marker") or {}
    source = dict(work.source, **(work.record or {}).get("source", {}))
    wanted = new_marker(source, work.point, task.request["mode"], work.session_id, work.state,
                        work.kept or marker.get("kept"), request=work.key, policies=work.policies)
    moref = work.details["moref"]
    if any(marker.get(key) != wanted.get(key) for key in ("state", "session_id", "request")):
        try:
            task.inventory.set_marker(moref, wanted)
        except Exception as error:  # pylint: disable=broad-except
            if work.key is None:
                raise
            work.unwritten["marker"] = error
            task.warnings.append(_unmarked(task, work, error))
    try:
        work.details = task.inventory.vm_details(moref) or work.details
    except Exception:  # pylint: disable=broad-except
        if "marker" not in work.unwritten:
            raise


def _unmarked(task, work, error):
    """The warning of a replacing restore whose marker could not be written: the restore succeeded, which VM, what
    vCenter keeps of the request, and how a re-run finishes it."""
    details = work.details
    done = "VM %s (%s) was restored from recovery point %s and is in production%s" % (
        details["name"], details["moref"], work.point["id"],
        ", protected with %s" % ", ".join(work.policies) if work.protection else "")
    unrecorded = work.unwritten.get("record")
    privilege = (getattr(error, "details", None) or {}).get("privilege")
    when = ("once the vCenter user has the privilege %s (to set custom attributes)" % privilege if privilege
            else "once vCenter accepts custom attribute values again")
    if unrecorded is None:
        return ("%s, but its restore marker could not be written: %s. The request record on vCenter's root folder "
                "(custom attribute %s) keeps request %s open (step %s): %s, run the task again; it writes the marker "
                "and restores nothing again." % (done, _error_text(error), task.inventory.REQUESTS_FIELD, work.key,
                                                 work.record.get("step"), when))
    return ("%s, but neither its restore marker nor the request record could be written (%s; %s). The request record "
            "on vCenter's root folder (custom attribute %s) still says step %s: %s, run the task again; it resumes "
            "from that record, finds restore session %s instead of posting another restore, and writes the marker. "
            "Until then, run no other restore of %s." % (
                done, _error_text(error), _error_text(unrecorded["error"]), task.inventory.REQUESTS_FIELD,
                unrecorded["written_step"], when, work.session_id, work.source["name"]))


def _forget(task, work):
    """Remove the request record, once the marker says the request is done. Kept when the marker could not be
    written (a re-run resumes from it); a record that cannot be removed is a warning: the marker makes it harmless,
    and the next restore of the VM removes it."""
    if "marker" in work.unwritten:
        task.log("keeping the request record of %s: the restored VM has no marker yet" % work.source["name"])
        return
    try:
        task.inventory.write_restore_request(record_key(work.source), None)
    except Exception as error:  # pylint: disable=broad-except
        if work.key is None or work.details is None:
            raise
        task.warnings.append(
            "VM %s (%s) was restored and marked: request %s is done. Its request record could not be removed from "
            "vCenter's root folder (custom attribute %s): %s. It is harmless: a re-run sees from the marker that "
            "the request is done, and the next restore of this VM removes the record."
            % (work.details["name"], work.details["moref"], work.key, task.inventory.REQUESTS_FIELD,
               _error_text(error)))
    work.record = None


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
    "record": _record,
    "rename_current": _rename_current,
    "restore": _restore,
    "power_off_current": _power_off_current,
    "rrp": _promote,
    "clone": _keep_as_clone,
    "protect": _protect,
    "mark": _mark,
    "forget": _forget,
    "cleanup": _clean_up,
}


def _production_state(task, work):
    """What vCenter shows of the renamed current VM, for an error after the rename."""
    kept = work.kept
    try:
        now = task.inventory.vm_details(kept["moref"])
    except Exception:  # pylint: disable=broad-except
        now = None
    if now is None:
        return "vCenter could not show the current VM %s (%s)." % (kept["name"], kept["moref"])
    return "The current VM %s is now named %s, %s." % (kept["moref"], now["name"], now["power_state"])


def _after_rename_failure(task, work, error):
    """The sentences an error after ``rename_current`` adds: the name given back (when nothing may have been
    restored), or the state production is in and how to go on."""
    kept = work.kept
    if not task.restore_posted or task.restore_failed:
        try:
            sentence = _give_name_back(task, work)
        except Exception as undo_error:  # pylint: disable=broad-except
            message = getattr(undo_error, "message", None) or str(undo_error) or type(undo_error).__name__
            return ("Giving it its name back failed as well (%s): no VM carries the name %s now. %s Rename VM %s to "
                    "%s in vCenter, or run this task again: it resumes from the request record."
                    % (message, kept["name"], _production_state(task, work), kept["moref"], kept["name"]))
        try:
            _forget(task, work)
        except Exception:  # pylint: disable=broad-except
            pass  # a record left at step started: a re-run finds no session and starts from the rename
        return sentence
    return ("The restore may still be running on the backup server (%s); the current VM %s (%s) keeps the name %s. "
            "Run this task again: it resumes from the request record and restores nothing twice."
            % ("session %s" % work.session_id if work.session_id else "its answer was lost", kept["name"],
               kept["moref"], kept["to"]))


def apply(task, work):
    """Apply the plan's steps in order; stop after a step that started something without waiting for it.

    Whatever fails after ``rename_current`` and before the restore has its VM gets ``_after_rename_failure``'s
    sentences in its message.
    """
    for name in work.plan["steps"]:
        try:
            STEPS[name](task, work)
        except Exception as error:  # pylint: disable=broad-except
            renamed = "rename_current" in work.done and "restore" not in work.done
            if not renamed:
                raise
            sentence = _after_rename_failure(task, work, error)
            if isinstance(error, VmBackupError):  # the same error, with what became of the rename
                error.message = " ".join([error.message.rstrip(".") + ".", sentence])
                error.args = (error.message,)
                raise
            raise TaskFailed("%s: %s. %s" % (type(error).__name__, error, sentence)) from error
        work.done.append(name)
        if work.running:
            return
