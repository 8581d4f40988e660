# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Jobs, job sessions and their logs: start, hold, release, wait, inventory rescan (spp-api.md sections 5 and 14).

Considered private: only this collection may import it. Every function takes an ``SppClient`` first. Actions are
found through the job's ``links`` by name, as section 14 asks, and all waiting goes through ``_wait.wait_until``:
``poll`` is the longest pause between two reads, which start at half a second and double up to it.

What the public record shows, and this module relies on (spp-api.md 14.14):

* A job starts with the ``actionname`` of its start schema (IBM ``spplib/sdk/client.py``, ``JobAPI.run``).
* The start answer names no session: "The session ID corresponding to the latest run is not sent back in response.
  Rather, we need to query to get it" (same function, which then reads ``links.livejobsessions``).
* Job-session listings may report ``total: 0`` (APAR IT45897): they are paged by ``SppClient.paginate``, which keeps
  reading while pages come back full.
"""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlsplit

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import (
    AmbiguousResult,
    ApiError,
    Conflict,
    ConnectionFailure,
    TaskFailed,
    WaitTimeout,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import answers as spp_answers
from ansible_collections.sovereign.vm_backup.plugins.module_utils._wait import Deadline, wait_until
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp.answers import (
    SUCCESS_STATUSES,
    describe_session,
    find_by_name,
    is_settled,
    last_session_id,
    link_href,
    link_names,
    nested_get,
    session_status,
    start_actionname,
    started_since,
)

JOB_PATH = "/api/endeavour/job"
SESSION_PATH = "/api/endeavour/jobsession"
LOG_PATH = "/api/endeavour/log/job"
INVENTORY_JOB_NAME = "Hypervisor Inventory"

LOG_TYPES = ("INFO", "WARN", "ERROR", "SUMMARY", "DETAIL", "DEBUG")
KNOWN_NAMES_SHOWN = 20  # a server may have hundreds of jobs: a "not found" names the first ones only


# -- pure helpers -------------------------------------------------------------------------------------------------


def action_params(href, action):
    """Query parameters that an action link still lacks (``action`` and ``actionname``)."""
    query = parse_qs(urlsplit(href).query)
    if "action" in query:
        return None
    return {"action": action, "actionname": action}


def _poll(check, timeout, poll, timed_out):
    return wait_until(check, timeout, timed_out, first_delay=min(0.5, poll), max_delay=poll)


# -- jobs ---------------------------------------------------------------------------------------------------------


def list_jobs(client, page_size=1000):
    return list(client.paginate(JOB_PATH, "jobs", page_size=page_size))


def find_job(client, name, jobs=None):
    """The job named ``name`` (jobs are looked up by name; their ids differ between servers)."""
    if jobs is None:
        jobs = list_jobs(client)
    return find_by_name(jobs, name, "job", limit=KNOWN_NAMES_SHOWN)


def get_job(client, job):
    """A fresh copy of ``job``."""
    return client.get(link_href(job, "self") or "%s/%s" % (JOB_PATH, job["id"]))


def missing_action(job, action, note=None):
    """``Conflict`` for a job that offers no ``action`` link, naming the links it does offer; None when it has it.

    The public record names no hold or release endpoint (spp-api.md 5.7 and 13.4): a server that shows no such link
    cannot be asked to hold the schedule through this API, and the caller must change nothing. ``note`` ends the
    message (e.g. what the caller left unchanged).
    """
    if link_href(job, action):
        return None
    text = ("SPP job '%s' offers no '%s' action while its status is %s: its links are %s. This server does not let a "
            "REST client %s the job's schedule" % (job.get("name"), action, session_status(job) or "unknown",
                                                   ", ".join(link_names(job)) or "none", action))
    return Conflict(None, description=text + (". " + note if note else ""))


def _job_action(client, job, action, hint):
    problem = missing_action(job, action)
    if problem is not None:
        raise problem
    href = link_href(job, action)
    return client.post(href, params=action_params(href, action), lost_answer_hint=hint)


def hold_job(client, job):
    """Suspend the job's schedule (link ``hold``); an SLA whose job is held does not protect its VMs."""
    return _job_action(client, job, "hold", "job '%s' may now be held; read its status before retrying"
                       % job.get("name"))


def release_job(client, job):
    """Resume the job's schedule (link ``release``)."""
    return _job_action(client, job, "release", "job '%s' may now be released; read its status before retrying"
                       % job.get("name"))


def _live_sessions(client, job, holder, exclude):
    """Live sessions of ``job`` other than ``exclude``, read from ``links.livejobsessions``."""
    href = link_href(holder, "livejobsessions") or link_href(job, "livejobsessions")
    if not href:
        return []
    answer = client.get(href)
    sessions = (answer.get("sessions") or []) if isinstance(answer, dict) else []
    return [
        session for session in sessions
        if str(session.get("id")) != exclude
        and (session.get("jobId") is None or str(session.get("jobId")) == str(job.get("id")))
    ]


def live_sessions(client, job):
    """The job's live sessions, read through its ``links.livejobsessions`` (none when it has no such link)."""
    return _live_sessions(client, job, job, None)


def sessions_since(client, since_ms, job_id=None, job_name=None, page_size=1000):
    """Job sessions of one job (by id or name) that started at or after ``since_ms``, oldest first.

    ``jobId``, ``jobName`` and ``start >=`` are filters IBM's tools send (spp-api.md 5.5): ``jobName =`` in
    ``samples/vmware_restore.py`` (``get_job_infos``), ``start >=`` in ``samples/get_sessions.py``. The answer is checked
    again here, so a server that ignores a criterion cannot hand over another run. A listing may say ``total: 0``
    (APAR IT45897): ``paginate`` reads on while pages come back full.
    """
    criteria = [{"property": "start", "value": int(since_ms), "op": ">="}]
    if job_id is not None:
        criteria.append({"property": "jobId", "value": str(job_id), "op": "="})
    if job_name is not None:
        criteria.append({"property": "jobName", "value": job_name, "op": "="})
    sessions = client.paginate(SESSION_PATH, "sessions", params={"filter": json.dumps(criteria)}, page_size=page_size)
    mine = [s for s in sessions if started_since(s, since_ms)
            and (job_id is None or str(s.get("jobId")) == str(job_id))
            and (job_name is None or (s.get("jobName") or s.get("name")) == job_name)]
    return sorted(mine, key=lambda session: int(session.get("start") or 0))


def _find_new_session(client, job, holder, previous, since_ms):
    # IBM's client takes the first live session (JobAPI.run); the job ran nothing else, or the start would have been
    # a 409, so any live session but the previous run's is this one.
    live = _live_sessions(client, job, holder, previous)
    if live:
        return max(live, key=lambda session: session.get("start") or 0)
    # A quick job may already be over and gone from the live list: its session is among those started since the POST.
    since = sessions_since(client, since_ms, job_id=job.get("id"))
    if since:
        return since[0]
    session_id = last_session_id(get_job(client, job))
    if session_id and session_id != previous:
        return get_session(client, session_id)
    return None


class _NotFoundInTime(Exception):
    """The time to look for the session of a start whose answer was lost ran out."""


def _session_after_lost_start(client, job, since_ms, timeout, poll):
    """The session that a start whose answer was lost began: a live session of the job, else one of its sessions,
    that started at or after the POST, looked for during ``timeout`` s. None when none shows up or the sessions
    cannot be read; the caller then raises the ``AmbiguousResult``."""
    def started():
        live = [s for s in _live_sessions(client, job, job, None) if started_since(s, since_ms)]
        if live:
            return min(live, key=lambda session: session.get("start") or 0)
        since = sessions_since(client, since_ms, job_id=job.get("id"))
        return since[0] if since else None

    try:
        return _poll(started, timeout, poll, _NotFoundInTime)
    except _NotFoundInTime:
        return None
    except (ApiError, ConnectionFailure) as error:
        client.log("could not look for the session of job '%s' whose start answer was lost: %s"
                   % (job.get("name"), error))
        return None


def start_body(client, job):
    """The body of a job start: ``{"actionname": <first workflow>}`` read from ``links.start.schema``, else ``{}``.

    IBM's client does exactly this (``spplib/sdk/client.py``, ``JobAPI.run``; ``samples/runjob.py``: "This job
    requires an action parameter"). A schema that offers no workflow is refused before anything is sent.
    """
    schema_href = nested_get(job, "links", "start", "schema")
    if not schema_href:
        return {}
    actionname = start_actionname(client.get(schema_href))
    if actionname is None:
        raise ApiError(None, description="SPP job '%s' offers no workflow in its start schema, so it cannot be started; "
                                         "nothing was started" % job.get("name"))
    return {"actionname": actionname}


def start_job(client, job, timeout=60, poll=0.5, clock=time.time):
    """Start ``job`` (link ``start``, with the ``actionname`` of its start schema) and return its new session.

    The start answer does not carry the session id (section 5.2), so it is found through ``links.livejobsessions`` of
    the answer (as IBM's client does), then among the job's sessions that started at or after the POST (a quick run may
    have left the live list), then through the job's ``lastrun.sessionId`` when it differs from before, polling for up
    to ``timeout`` s. A job already running raises ``Conflict`` (409).

    The start is never replayed once it may have reached the server (``spp/_retry.py``). When its answer is lost, or
    is a 429, 502, 503 or 504 (which may come from a proxy after SPP acted), the job's session that started at or
    after the POST is looked for during ``timeout`` s and returned; when none shows up, the ``AmbiguousResult`` is
    raised: it says to check the job sessions before starting the job again.
    """
    job = get_job(client, job)  # a fresh lastrun, so that the previous session is not mistaken for the new one
    previous = last_session_id(job)
    href = link_href(job, "start") or "%s/%s" % (JOB_PATH, job["id"])
    name = job.get("name")
    body = start_body(client, job)
    # Rounded down to the second, to tolerate a server clock slightly behind ours (clocks are assumed NTP-synchronised).
    since_ms = int(clock()) * 1000
    try:
        answer = client.post(href, params=action_params(href, "start"), json=body,
                             lost_answer_hint="the server may have started job '%s'; check its job sessions before "
                                              "starting it again" % name)
    except AmbiguousResult:
        client.log("the answer to the start of SPP job '%s' was lost; looking for the session it may have started"
                   % name)
        session = _session_after_lost_start(client, job, since_ms, timeout, poll)
        if session is None:
            raise
        client.log("the start answer of SPP job '%s' was lost, but its session %s started since; following it"
                   % (name, session.get("id")))
        return session
    holder = answer if isinstance(answer, dict) and answer.get("links") else job
    client.log("started SPP job '%s'" % name)

    def timed_out():
        return WaitTimeout("SPP job '%s' was started but its session did not show up within %s s; look at the job "
                           "sessions of '%s' in SPP" % (name, timeout, name), job=name)

    return _poll(lambda: _find_new_session(client, job, holder, previous, since_ms), timeout, poll, timed_out)


def running_session(client, job):
    """The session of ``job`` that is still running, or None."""
    job = get_job(client, job)
    live = [session for session in _live_sessions(client, job, job, None) if not is_settled(session_status(session))]
    if live:
        return max(live, key=lambda session: session.get("start") or 0)
    session_id = last_session_id(job)
    if session_id:
        session = get_session(client, session_id)
        if not is_settled(session_status(session)):
            return session
    return None


# -- sessions -----------------------------------------------------------------------------------------------------


def get_session(client, session_id):
    return client.get("%s/%s" % (SESSION_PATH, session_id))


def wait_for_session(client, session_id, timeout=3600, poll=5.0, progress=None, settle_on_resource_active=False):
    """Poll a job session until it ends (or, for a test restore, reaches ``RESOURCE ACTIVE``); return it.

    ``progress(session)`` is called with the session dict after every read (``describe_session`` makes a log line
    of it). On timeout, ``WaitTimeout`` names the session, its status and percentage, and says that the job keeps
    running on the server. A failed session is returned, not raised: see ``check_session_result``.
    """
    last = {}

    def check():
        session = get_session(client, session_id) or {}
        last["session"] = session
        if progress is not None:
            progress(session)
        return session if is_settled(session_status(session), settle_on_resource_active) else None

    def timed_out():
        session = last.get("session") or {}
        return WaitTimeout(
            "%s after %s s of waiting. The job keeps running on the server; follow it in SPP or wait for session %s "
            "again" % (describe_session(session, session_id), timeout, session_id),
            session_id=str(session_id), status=session_status(session), percent=session.get("percent"))

    return _poll(check, timeout, poll, timed_out)


def wait_for_sessions(client, session_ids, timeout=3600, poll=5.0, progress=None, seen=None):
    """Poll several job sessions in one loop until every one has ended; return ``{session id: session}``.

    One read per unsettled session and poll; ``progress(session)`` is called after each read. ``seen``, when given, is
    a dict kept up to date with the last read of each session, so that a caller still knows the sessions that did end
    when the wait times out. On timeout, ``WaitTimeout`` names each session still running with its status and
    percentage, and says that the jobs keep running on the server.
    """
    session_ids = [str(session_id) for session_id in session_ids]
    pending = list(session_ids)
    last = seen if seen is not None else {}

    def check():
        for session_id in list(pending):
            session = get_session(client, session_id) or {}
            last[session_id] = session
            if progress is not None:
                progress(session)
            if is_settled(session_status(session)):
                pending.remove(session_id)
        return {session_id: last[session_id] for session_id in session_ids} if not pending else None

    def timed_out():
        running = [last.get(session_id) or {} for session_id in pending]
        return WaitTimeout(
            "%s after %s s of waiting. The job keeps running on the server; follow it in SPP or wait for session(s) "
            "%s again" % ("; ".join(describe_session(session, session_id) for session, session_id in zip(running, pending)),
                          timeout, ", ".join(pending)),
            sessions=[{"id": session_id, "status": session_status(session), "percent": session.get("percent")}
                      for session, session_id in zip(running, pending)])

    return _poll(check, timeout, poll, timed_out)


def list_backup_sessions(client, since_ms, page_size=1000):
    """Backup job sessions started since ``since_ms``, in one paged listing filtered by the server."""
    criteria = [{"property": "start", "value": int(since_ms), "op": ">="},
                {"property": "type", "value": spp_answers.BACKUP_SESSION_TYPE, "op": "="}]
    sessions = client.paginate(SESSION_PATH, "sessions", params={"filter": json.dumps(criteria)}, page_size=page_size)
    # Filter again: a server that ignores a criterion must not widen the report.
    return [s for s in sessions if spp_answers.is_backup_session(s) and int(s.get("start") or 0) >= since_ms]


def get_session_logs(client, session_id, types=None, page_size=1000):
    """Log entries of a job session in time order; ``types`` limits them (e.g. ``["ERROR", "WARN"]``)."""
    criteria = [{"property": "jobsessionId", "value": str(session_id), "op": "="}]
    if types:
        criteria.append({"property": "type", "value": list(types), "op": "IN"})
    params = {
        "filter": json.dumps(criteria, separators=(",", ":")),
        "sort": json.dumps([{"property": "logTime", "direction": "ASC"}], separators=(",", ":")),
    }
    return list(client.paginate(LOG_PATH, "logs", params=params, page_size=page_size))


def check_session_result(client, session, what=None, error_limit=5):
    """Return ``session`` when it completed (fully or partially); raise ``TaskFailed`` with its ERROR logs otherwise."""
    status = session_status(session)
    if status in SUCCESS_STATUSES:
        return session
    session_id = session.get("id")
    errors = [entry.get("message") for entry in get_session_logs(client, session_id, types=["ERROR"])]
    errors = [message for message in errors if message][:error_limit]
    what = what or "SPP job '%s'" % (session.get("jobName") or session.get("name") or "?")
    text = "%s ended %s (session %s)" % (what, status or "in an unknown state", session_id)
    if errors:
        text += ": " + "; ".join(errors)
    raise TaskFailed(text, session_id=str(session_id), status=status, errors=errors)


def run_inventory(client, timeout=1800, progress=None, poll=2.0):
    """Rescan every registered vCenter: run the ``Hypervisor Inventory`` job and wait for it; return its session.

    If the job is already running (409), wait for that run instead of starting another. Raises ``TaskFailed`` when
    the run fails and ``WaitTimeout`` when it outlasts ``timeout`` seconds.
    """
    deadline = Deadline(timeout)
    job = find_job(client, INVENTORY_JOB_NAME)
    try:
        session = start_job(client, job, timeout=min(timeout, 60), poll=min(poll, 0.5))
    except Conflict:
        session = running_session(client, job)
        if session is None:
            raise
        client.log("SPP inventory is already running; following its session %s" % session.get("id"))
    final = wait_for_session(client, session["id"], timeout=deadline.remaining(), poll=poll, progress=progress)
    return check_session_result(client, final, what="the SPP '%s' job" % INVENTORY_JOB_NAME)
