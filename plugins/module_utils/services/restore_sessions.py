# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The I/O of ``vm_restore`` with the backup server's restore job sessions: find the session of this restore (before
posting one, and after a lost answer), post the restore or follow the session, run a test-restore action, wait for a
session to settle and read which VM it restored.

Considered private: only this collection may import it. ``task`` is the service's ``RestoreTask`` (clients,
request, deadline, progress log); which sessions match is decided by ``pure/restore_session_match.py``.
"""

from __future__ import annotations

from ansible_collections.sovereign.vm_backup.plugins.module_utils import _wait
from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import (
    AmbiguousResult,
    ApiError,
    ConnectionFailure,
    InvalidRequest,
    NotFound,
    TaskFailed,
    WaitTimeout,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.restore_session_match import (
    classify_sessions,
    cleanup_candidates,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import answers as spp_answers
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import jobs as spp_jobs
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import restore as spp_restore
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp.answers import nested_get
from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere import vms as vsphere_vms

SESSION_LOOKBACK_MS = 24 * 3600 * 1000
# After a lost restore answer, how long to look for the session it may have started.
FIND_AFTER_LOSS_SECONDS = 60
# How long to wait for a just-started restore session to say which VM it restores.
DECIDE_SECONDS = 60
# How often to read a session being waited for.
POLL_SECONDS = 2.0
# How often to list the restore sessions while looking for one.
LIST_POLL_SECONDS = 1.0
# The session action that takes a test restore to each lifecycle state.
ACTION_STATES = {"rrp": "promoted", "clone": "cloned", "cleanup": "absent"}


class _StopLooking(Exception):
    """The time to look for a session ran out: go on with what was found."""


def wait_for_session(task, session_id, settle_on_resource_active):
    """The session once settled; a timeout says that running the task again follows it."""
    try:
        return spp_jobs.wait_for_session(task.spp, session_id, timeout=task.deadline.remaining_whole(),
                                         poll=POLL_SECONDS,
                                         progress=lambda session: task.log(spp_answers.describe_session(session)),
                                         settle_on_resource_active=settle_on_resource_active)
    except WaitTimeout as error:
        raise WaitTimeout("%s. Running this task again follows session %s instead of starting another restore"
                          % (error.message.rstrip("."), session_id), **error.details) from None


def _lister(task):
    """Lists the restore sessions of the last ``SESSION_LOOKBACK_MS`` (from now, however long the look-up takes)."""
    since = task.now_ms() - SESSION_LOOKBACK_MS
    return lambda: spp_restore.list_restore_sessions(task.spp, since)


def _logs_of(task):
    return lambda session: spp_jobs.get_session_logs(task.spp, session.get("id"))


def matching_sessions(task, source, point_id, api_mode, target_name):
    """The ``(session, entry)`` matches of this restore (``classify_sessions``); waits up to ``DECIDE_SECONDS``
    for sessions that say nothing yet, then goes on without them. Every session listed is remembered in
    ``task.seen_sessions``."""
    list_sessions = _lister(task)
    found = {"matches": [], "undecided": []}

    def decided():
        sessions = list_sessions()
        task.seen_sessions.update(str(s.get("id")) for s in sessions)
        found["matches"], found["undecided"] = classify_sessions(sessions, source, point_id, api_mode, _logs_of(task),
                                                                 target_name)
        return None if found["undecided"] else found["matches"]

    def progress(_elapsed, _remaining):
        task.log("waiting for restore session(s) %s to name the VM they restore"
                 % ", ".join(str(s.get("id")) for s in found["undecided"]))

    try:
        return _wait.wait_until(decided, on_timeout=_StopLooking, progress=progress, first_delay=LIST_POLL_SECONDS,
                                max_delay=LIST_POLL_SECONDS, deadline=task.deadline.sooner(DECIDE_SECONDS),
                                sleep=task.sleep)
    except _StopLooking:
        return found["matches"]


def find_after_loss(task, source, point_id, api_mode, target_name):
    """The session a restore POST whose answer was lost started, looked for during ``FIND_AFTER_LOSS_SECONDS``.

    Only sessions that were not listed before the POST count (no clock comparison: the server's clock may differ).
    """
    list_sessions = _lister(task)
    found = {"undecided": []}

    def started():
        sessions = [s for s in list_sessions() if str(s.get("id")) not in task.seen_sessions]
        matches, found["undecided"] = classify_sessions(sessions, source, point_id, api_mode, _logs_of(task),
                                                        target_name)
        return matches[-1][0] if matches else None

    def progress(_elapsed, _remaining):
        task.log("the restore answer was lost; looking for the restore session it started (%d undecided)"
                 % len(found["undecided"]))

    try:
        return _wait.wait_until(started, on_timeout=_StopLooking, progress=progress, first_delay=LIST_POLL_SECONDS,
                                max_delay=LIST_POLL_SECONDS, deadline=task.deadline.sooner(FIND_AFTER_LOSS_SECONDS),
                                sleep=task.sleep)
    except (ApiError, ConnectionFailure) as error:
        task.log("could not look for the restore session after the lost answer: %s" % error.message)
    except _StopLooking:
        pass
    return None


def cleanup_sessions(task, source, point_id):
    """``(session, entry)`` of the source's test restores of the last day (of ``point_id`` when given)."""
    return cleanup_candidates(_lister(task)(), source, point_id)


def entry_vm(task, entry):
    """vCenter details of the VM a ``postRestoreInfo`` entry names (by moref, else by name)."""
    details = vsphere_vms.vm_details(task.vsphere, entry.get("moref")) if entry.get("moref") else None
    if details is None and entry.get("name"):
        same = [vm for vm in vsphere_vms.list_vms_with_markers(task.vsphere) if vm["name"] == entry["name"]]
        if len(same) == 1:
            details = vsphere_vms.vm_details(task.vsphere, same[0]["moref"])
    if details is None:
        raise TaskFailed("the restore session reports VM %s (%s), but vCenter has no such VM"
                         % (entry.get("name"), entry.get("moref")), entry=entry)
    return details


def _failure_detail(task, source):
    """For a failed production restore: what vCenter says of the current VM now."""
    current = source["current"]
    if task.request["mode"] != "production" or current is None:
        return ""
    now = vsphere_vms.vm_details(task.vsphere, current["moref"])
    if now is None:
        return " vCenter no longer shows the production VM %s (%s)." % (current["name"], current["moref"])
    return (" The production VM %s (%s) is untouched: it still exists, %s, with instance UUID %s."
            % (current["name"], now["moref"], now["power_state"], now["instance_uuid"]))


def _settled_entry(task, session, source, point, api_mode, what):
    """The entry of a settled session, or ``TaskFailed`` with the session's ERROR logs."""
    status = spp_answers.session_status(session)
    entry = spp_answers.find_entry(session, source["ids"], point["id"], api_mode)
    ok = status in spp_answers.SUCCESS_STATUSES or status == spp_answers.RESOURCE_ACTIVE
    if ok and entry is not None:
        return entry
    try:
        if ok:
            raise TaskFailed("%s ended %s (session %s) without restoring %s"
                             % (what, status, session.get("id"), source["name"]), session_id=str(session.get("id")))
        spp_jobs.check_session_result(task.spp, session, what=what)
        raise TaskFailed("%s ended %s (session %s)" % (what, status, session.get("id")),
                         session_id=str(session.get("id")))
    except TaskFailed as error:
        raise TaskFailed(error.message.rstrip(".") + "." + _failure_detail(task, source), **error.details) from None


def _follow(task, follow, source, point, api_mode):
    """The session to follow, or None when, once settled, it turns out to restore something else."""
    session = follow[0]
    task.log("following existing restore session %s instead of starting another" % session.get("id"))
    if follow[1] is None and task.request["wait"]:
        # Its logs name the VM, but not the point: once settled, it may turn out to be another restore.
        session = wait_for_session(task, session.get("id"), settle_on_resource_active=True)
        if spp_answers.find_entry(session, source["ids"], point["id"], api_mode) is None:
            task.log("session %s restored something else; starting this restore" % session.get("id"))
            return None
    return session


def _post_restore(task, plan, source, spp_vm, version, copy, point, target_name):
    """Post the restore; its session, or the one found after a lost answer."""
    request = task.request
    mode = plan["spp_mode"]
    api_mode = spp_answers.API_MODES[mode]
    placement = spp_restore.resolve_destination(task.spp, source["hypervisor_id"], host=request.get("host"),
                                                cluster=request.get("cluster"),
                                                datastore_map=request.get("datastore_map"),
                                                network_map=request.get("network_map"))
    href = nested_get(spp_vm, "links", "self", "href")
    name = request.get("name") or (target_name if mode != request["mode"] else None)
    destination = spp_restore.build_destination(
        source_href=href, name=name if mode != "production" else None, target=placement["target"],
        datastore_map=placement["datastore_map"], network_map=placement["network_map"],
        folder=request.get("folder"))
    payload = spp_restore.build_restore_payload(
        spp_vm, version, mode, copy=copy, name=name if mode != "production" else None, destination=destination,
        power_on=request.get("power_on"), allow_overwrite=bool(request.get("overwrite")) and
        source["current"] is not None)
    task.log("starting the %s restore (SPP mode %s) of %s from %s as %s"
             % (request["mode"], api_mode, source["name"], point["time_iso"], target_name))
    try:
        answer = spp_restore.start_restore(task.spp, payload)
    except AmbiguousResult:
        session = find_after_loss(task, source, point["id"], api_mode, target_name)
        if session is None:
            raise
        task.log("the restore answer was lost, but its session %s was found; following it" % session.get("id"))
        return session
    session_id = answer.get("sessionId")
    session = spp_jobs.get_session(task.spp, session_id) if session_id else None
    if session is None:
        raise TaskFailed("the backup server accepted the restore (%s) but named no job session"
                         % answer.get("name"), answer=answer)
    return session


def do_restore(task, plan, source, spp_vm, version, copy, point, target_name, follow):
    """Post the restore (or follow an existing session); return ``(session, entry)`` or ``(session, None)`` if not
    waiting."""
    api_mode = spp_answers.API_MODES[plan["spp_mode"]]
    session = None
    if plan["via"] == "follow":
        session = _follow(task, follow, source, point, api_mode)
    if session is None:
        session = _post_restore(task, plan, source, spp_vm, version, copy, point, target_name)
    if not task.request["wait"] and not spp_answers.is_settled(spp_answers.session_status(session), True):
        return session, None
    session = wait_for_session(task, session.get("id"), settle_on_resource_active=True)
    return session, _settled_entry(task, session, source, point, api_mode, "the restore of %s" % source["name"])


def do_action(task, action, session_id, source, point):
    """Run (or follow) a test-restore action on its session; return ``(session, entry)`` once settled, or
    ``(session, None)`` if not waiting."""
    session = spp_jobs.get_session(task.spp, session_id)
    status = spp_answers.session_status(session)
    if status == spp_answers.RESOURCE_ACTIVE:
        task.log("%s on test restore session %s" % (action, session_id))
        spp_restore.session_action(task.spp, session, action)
    elif status not in spp_answers.ACTIVE_STATUSES:
        entry = spp_answers.find_entry(session, source["ids"], point["id"], "test")
        if entry is None or spp_answers.entry_state(entry) != ACTION_STATES[action]:
            raise InvalidRequest("test restore session %s is %s, not RESOURCE ACTIVE: the backup server no longer "
                                 "manages this test restore, so it cannot %s it"
                                 % (session_id, status or "unknown", action), session_id=str(session_id))
    if not task.request["wait"]:
        return session, None
    session = wait_for_session(task, session_id, settle_on_resource_active=False)
    return session, _settled_entry(task, session, source, point, "test", "%s of test restore session %s"
                                   % (action, session_id))


def backup_session_status(spp, session_id):
    """Status of the backup session that made a recovery point; None once the server no longer has it."""
    if not session_id:
        return None
    try:
        return spp_answers.session_status(spp_jobs.get_session(spp, session_id)) or None
    except NotFound:
        return None
