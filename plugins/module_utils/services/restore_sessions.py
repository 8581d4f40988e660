# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The I/O of ``vm_restore`` with the backup server's restore job sessions: find the session of this restore (before
posting one, and after a lost answer), post the restore or follow the session, run a test-restore action, wait for a
session to settle, and read in vCenter what it did.

Considered private: only this collection may import it. ``task`` is the service's ``RestoreTask`` (the backup
service's restorer and the VM inventory, request, deadline, progress log); which sessions match, and which vCenter VM a restore made, is decided by
``pure/restore_session_match.py``. What a session says is limited to what the public record shows (spp-api.md
14.3, 14.9, 14.13): its status, its links and its logs. Its session is found by the job name the restore answer
gives (``response.sessionId`` is a shortcut when present); its outcome is its status, its logs, and the VM in vCenter.
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
    recorded_morefs,
    restored_vm,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import answers as spp_answers
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp.answers import restore_phase

SESSION_LOOKBACK_MS = 24 * 3600 * 1000
# When a request record says since when to look for its session: how far the backup server's clock may be behind.
CLOCK_SLACK_MS = 3600 * 1000
# After a lost restore answer, how long to look for the session it may have started.
FIND_AFTER_LOSS_SECONDS = 60
# How long to wait for a just-started restore session to say which VM it restores.
DECIDE_SECONDS = 60
# How long to wait for the session of an accepted restore to show up under the job name of the answer.
FIND_SESSION_SECONDS = 60
# How often to read a session being waited for.
POLL_SECONDS = 2.0
# How often to list the restore sessions while looking for one.
LIST_POLL_SECONDS = 1.0
# Log types read to explain a restore that ended well on the server but left no VM in vCenter.
EXPLAINING_LOG_TYPES = ("ERROR", "WARN")


class _StopLooking(Exception):
    """The time to look for a session ran out: go on with what was found."""


def _settled(session, test_active_settles):
    phase = restore_phase(session)
    return phase in ("succeeded", "failed") or (test_active_settles and phase == "test-active")


def wait_for_session(task, session_id, test_active_settles=True):
    """The session once it has ended or, with ``test_active_settles``, once it holds an active test restore (PENDING
    with action links, spp-api.md 14.9). A timeout names the session and says that running the task again follows
    it."""
    last = {}

    def check():
        session = task.restorer.session(session_id) or {}
        last["session"] = session
        task.log(spp_answers.describe_session(session, session_id))
        return session if _settled(session, test_active_settles) else None

    def timed_out():
        session = last.get("session") or {}
        return WaitTimeout(
            "%s after %s s of waiting. The job keeps running on the server. Running this task again follows session %s "
            "instead of starting another restore" % (spp_answers.describe_session(session, session_id),
                                                     task.request["timeout"], session_id),
            session_id=str(session_id), status=spp_answers.session_status(session), percent=session.get("percent"))

    return _wait.wait_until(check, on_timeout=timed_out, first_delay=min(0.5, POLL_SECONDS), max_delay=POLL_SECONDS,
                            deadline=task.deadline, sleep=task.sleep)


def _lister(task):
    """Lists the restore sessions since ``task.sessions_since_ms`` (a request record's start), else of the last
    ``SESSION_LOOKBACK_MS`` (from now, however long the look-up takes)."""
    since = task.sessions_since_ms if task.sessions_since_ms is not None else task.now_ms() - SESSION_LOOKBACK_MS
    return lambda: task.restorer.restore_sessions(since)


def _logs_of(task):
    """Reads a session's logs; those of a settled session are read once per task (``task.session_logs``): whether
    they mention the source does not change once it has settled."""
    def logs(session):
        key = str(session.get("id"))
        if key in task.session_logs:
            return task.session_logs[key]
        entries = task.restorer.session_logs(session.get("id"))
        if restore_phase(session) != "running":
            task.session_logs[key] = entries
        return entries

    return logs


def matching_sessions(task, source):
    """The restore sessions whose logs mention the source (``classify_sessions``), oldest first; waits up to
    ``DECIDE_SECONDS`` for sessions that say nothing yet, then goes on without them. Every session listed is
    remembered in ``task.seen_sessions``."""
    list_sessions = _lister(task)
    found = {"matches": [], "undecided": []}

    def decided():
        sessions = list_sessions()
        task.seen_sessions.update(str(s.get("id")) for s in sessions)
        found["matches"], found["undecided"] = classify_sessions(sessions, source, _logs_of(task))
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


def find_after_loss(task, source):
    """The session a restore POST whose answer was lost started, looked for during ``FIND_AFTER_LOSS_SECONDS``: a
    restore session whose logs mention the source. Only sessions that were not listed before the POST count (no
    clock comparison: the server's clock may differ)."""
    list_sessions = _lister(task)
    found = {"undecided": []}

    def started():
        sessions = [s for s in list_sessions() if str(s.get("id")) not in task.seen_sessions]
        matches, found["undecided"] = classify_sessions(sessions, source, _logs_of(task))
        return matches[-1] if matches else None

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


def test_sessions(task, source):
    """The source's active test restores of the last day: sessions PENDING with action links whose logs mention it."""
    matches, _undecided = classify_sessions(_lister(task)(), source, _logs_of(task))
    return [session for session in matches if spp_answers.is_test_active(session)]


def _session_of_answer(task, answer):
    """The session of an accepted restore: ``response.sessionId`` when the server gives it, else the session of the
    job ``response.name`` (IBM ``samples/vmware_restore.py``, ``get_job_infos``), looked for while it shows up."""
    if answer.get("sessionId"):
        return task.restorer.session(answer["sessionId"])
    job_name = answer.get("name")
    if not job_name:
        raise TaskFailed("the backup server accepted the restore but its answer names neither a job nor a session; "
                         "look for the restore job session (onDemandRestore_*) in SPP", answer=answer)

    def found():
        sessions = task.restorer.sessions_of_job(job_name)
        return sessions[-1] if sessions else None

    def missing():
        return WaitTimeout("the backup server accepted the restore (job %s), but no job session of that job showed up "
                           "within %s s; running this task again looks for it instead of starting another restore"
                           % (job_name, FIND_SESSION_SECONDS), job=job_name)

    session = _wait.wait_until(found, on_timeout=missing, first_delay=min(0.5, LIST_POLL_SECONDS),
                               max_delay=LIST_POLL_SECONDS, deadline=task.deadline.sooner(FIND_SESSION_SECONDS),
                               sleep=task.sleep)
    task.seen_sessions.add(str(session.get("id")))
    return session


def _failure_detail(task, source):
    """For a failed production restore: what vCenter says of the current VM now."""
    current = source["current"]
    if task.request["mode"] != "production" or current is None:
        return ""
    now = task.inventory.vm_details(current["moref"])
    if now is None:
        return " vCenter no longer shows the production VM %s (%s)." % (current["name"], current["moref"])
    return (" The production VM %s (%s) is untouched: it still exists, %s, with instance UUID %s."
            % (current["name"], now["moref"], now["power_state"], now["instance_uuid"]))


def _log_lines(task, session, limit=5):
    entries = task.restorer.session_logs(session.get("id"), types=EXPLAINING_LOG_TYPES)
    messages = [entry.get("message") for entry in entries if entry.get("message")][:limit]
    return ("; the session's warnings and errors: " + "; ".join(messages)) if messages else ""


def _restored_details(task, session, source, point, target_name, replaced, adopted=None):
    """vCenter details of the VM a settled restore session made; ``TaskFailed`` with the session's logs otherwise.

    The session succeeded (or holds a test restore): the restored VM is the one vCenter shows under ``target_name``,
    unmarked or marked for this restore, not one of the source's recorded VMs nor ``replaced`` (the moref of the VM
    that was current before the restore, when this run or its request record posted it); a VM that appeared since the task read vCenter is preferred.
    """
    what = "the restore of %s" % source["name"]
    status = spp_answers.session_status(session) or "in an unknown state"
    try:
        if restore_phase(session) not in ("succeeded", "test-active"):
            task.restore_failed = True
            task.restorer.check_session_result(session, what)
            raise TaskFailed("%s ended %s (session %s)" % (what, status, session.get("id")),
                             session_id=str(session.get("id")))
        vm, why = adopted, None
        if vm is None:
            exclude = recorded_morefs(source)
            if replaced:
                exclude = exclude | {replaced}
            vm, why = restored_vm(task.inventory.list_vms_with_markers(), target_name, source, point["id"],
                                  task.request["mode"], exclude, task.known_morefs)
        details = task.inventory.vm_details(vm["moref"]) if vm is not None else None
        if details is None:
            why = why or "VM %s (%s) is no longer in vCenter" % (vm["name"], vm["moref"])
            raise TaskFailed("%s ended %s (session %s), but %s%s" % (what, status, session.get("id"), why,
                                                                     _log_lines(task, session)),
                             session_id=str(session.get("id")))
        return details
    except TaskFailed as error:
        raise TaskFailed(error.message.rstrip(".") + "." + _failure_detail(task, source), **error.details) from None


def _follow(task, follow, source, point, target_name, recorded):
    """The session to follow, or None when, once settled, it turns out to have made no VM of this restore.

    A ``recorded`` session (the request record names it) is this request's: it is never replaced by a new POST.
    """
    session, adopted = follow
    task.log("following existing restore session %s instead of starting another" % session.get("id"))
    if adopted is None and task.request["wait"] and not recorded:
        # Its logs name the source, but not the mode, name or point: once settled, vCenter says what it made.
        session = wait_for_session(task, session.get("id"))
        vm, _why = restored_vm(task.inventory.list_vms_with_markers(), target_name, source, point["id"],
                               task.request["mode"], recorded_morefs(source))
        if restore_phase(session) not in ("succeeded", "test-active") or vm is None:
            task.log("session %s restored something else; starting this restore" % session.get("id"))
            return None
    return session


def _post_restore(task, work):
    """Post the restore to the destination resolved while planning; its session, or the one found after a lost
    answer."""
    request, plan, source, point, target_name = task.request, work.plan, work.source, work.point, work.target_name
    mode = plan["spp_mode"]
    placement = work.placement
    # The restored VM is always named through mapvm, so that vCenter can be asked for it by that name afterwards.
    name = target_name if mode != "production" else None
    payload = task.restorer.restore_payload(
        work.spp_vm, work.version, mode, work.copy, name, placement, request.get("folder"), request.get("power_on"),
        bool(request.get("overwrite")) and source["current"] is not None)
    task.log("starting the %s restore (SPP mode %s) of %s from %s as %s"
             % (request["mode"], spp_answers.API_MODES[mode], source["name"], point["time_iso"], target_name))
    task.restore_posted = True
    try:
        answer = task.restorer.start_restore(payload)
    except AmbiguousResult:
        session = find_after_loss(task, source)
        if session is None:
            raise
        task.log("the restore answer was lost, but its session %s was found; following it" % session.get("id"))
        return session
    return _session_of_answer(task, answer)


def do_restore(task, work, on_session=None):
    """Post the restore (or follow an existing session); return ``(session, details)`` with the vCenter details of
    the restored VM, or ``(session, None)`` if not waiting. ``on_session(session)`` is called once the session is
    known, before waiting for it (the request record keeps it)."""
    session = adopted = None
    recorded = bool(work.record and work.record.get("session_id"))
    if work.plan["via"] == "follow":
        session = _follow(task, work.follow, work.source, work.point, work.target_name, recorded)
        adopted = work.follow[1] if session is not None else None
    posted = session is None
    if posted:
        session = _post_restore(task, work)
    if on_session is not None:
        on_session(session)
    if not task.request["wait"] and not _settled(session, True):
        return session, None
    session = wait_for_session(task, session.get("id"))
    # The VM the restore replaces: the record's (a resumed run's current VM may be the restored one, which keeps the
    # source's instance UUID), else the current VM when this run posted the restore.
    replaced = (work.record or {}).get("source", {}).get("moref") or (
        (work.source["current"] or {}).get("moref") if posted else None)
    return session, _restored_details(task, session, work.source, work.point, work.target_name, replaced, adopted)


def _action_outcome(task, action, source, test_vm):
    """What vCenter shows after ``action`` on the test VM (``{"name", "moref"}``), or None when it does not show
    what the action does: ``cleanup`` removed it; ``clone`` kept it; ``rrp`` put it in the source's place."""
    details = task.inventory.vm_details(test_vm["moref"])
    if action == "cleanup":
        return {"name": test_vm["name"], "moref": test_vm["moref"], "removed": True} if details is None else None
    if action == "clone":
        return details
    if details is not None:
        # rrp renames the test VM, which keeps its moref (the emulator does; an inference for a real server).
        return details if details["name"] == source["name"] else None
    # Else a VM that appeared under the source's name took its place.
    exclude = recorded_morefs(source) | ({source["current"]["moref"]} if source["current"] else set())
    vm, _why = restored_vm(task.inventory.list_vms_with_markers(), source["name"], source, exclude=exclude,
                           known=task.known_morefs)
    return task.inventory.vm_details(vm["moref"]) if vm is not None else None


def do_action(task, action, session_id, source, test_vm):
    """Run (or follow) a test-restore action (``cleanup``, ``rrp``, ``clone``) on its session; return ``(session,
    outcome)`` once settled (``_action_outcome``), or ``(session, None)`` if not waiting.

    The action is posted only while the session holds the test restore (PENDING with action links); a session that
    runs is followed; a session that ended is accepted when vCenter already shows the action's effect. The action is
    posted at most once: after a lost answer (``AmbiguousResult``) the session is read again for up to 10 s; once it
    runs or has ended, the action was taken and is followed; still PENDING with its action links, the
    ``AmbiguousResult`` is raised.
    """
    session = task.restorer.session(session_id)
    phase = restore_phase(session)
    what = "%s of test restore session %s" % (action, session_id)
    if phase == "test-active":
        task.log("%s on test restore session %s" % (action, session_id))
        try:
            task.restorer.session_action(session, action)
        except AmbiguousResult as lost:
            def taken():
                current = task.restorer.session(session_id) or {}
                return current if restore_phase(current) != "test-active" else None

            try:
                session = _wait.wait_until(taken, on_timeout=_StopLooking, first_delay=min(0.5, LIST_POLL_SECONDS),
                                           max_delay=LIST_POLL_SECONDS, deadline=task.deadline.sooner(10),
                                           sleep=task.sleep)
            except (_StopLooking, ApiError, ConnectionFailure):
                raise lost from None
            task.log("the answer to %s was lost, but session %s is now %s: the action was taken; following it"
                     % (action, session_id, spp_answers.session_status(session) or "unknown"))
    elif phase != "running":
        outcome = _action_outcome(task, action, source, test_vm)
        if outcome is None:
            raise InvalidRequest("test restore session %s is %s, not an active test restore (PENDING with action "
                                 "links): the backup server no longer manages this test restore, so it cannot %s it"
                                 % (session_id, spp_answers.session_status(session) or "unknown", action),
                                 session_id=str(session_id))
        return session, outcome
    if not task.request["wait"]:
        return session, None
    session = wait_for_session(task, session_id, test_active_settles=False)
    if restore_phase(session) != "succeeded":
        task.restorer.check_session_result(session, what)
    outcome = _action_outcome(task, action, source, test_vm)
    if outcome is None:
        effect = {"cleanup": "is still in vCenter", "clone": "is no longer in vCenter",
                  "rrp": "did not take the place of %s in vCenter" % source["name"]}[action]
        raise TaskFailed("%s ended %s, but the test VM %s (%s) %s%s" % (
            what, spp_answers.session_status(session), test_vm["name"], test_vm["moref"], effect,
            _log_lines(task, session)), session_id=str(session_id))
    return session, outcome


def backup_session_status(restorer, session_id):
    """Status of the backup session that made a recovery point; None once the server no longer has it."""
    if not session_id:
        return None
    try:
        return spp_answers.session_status(restorer.session(session_id)) or None
    except NotFound:
        return None
