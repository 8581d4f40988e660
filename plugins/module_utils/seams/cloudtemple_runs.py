# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The jobs of the Cloud Temple console's backup service: the Hypervisor Inventory run, a policy's backup run, and
its job sessions, for ``CloudTempleBackupService`` (``seams/cloudtemple_backup.py``). Section numbers (§) are those of
docs/cloudtemple-api.md.

Considered private: only this collection may import it. ``ConsoleJobs`` is a mixin: it needs the service's
``client`` (a ``CloudTempleClient``) and ``_policies()`` (the SLA definitions by name). What the console does not say
is inferred, and said so where the code relies on it:

* A policy's job is the job whose ``policyId`` is the policy's id (§10.2, inferred: no public code runs one).
* ``jobs/run`` answers an activity that completes once SPP has started the job (§16.5); the job is over when its
  ``status`` is back to ``IDLE``. The run's session is the session of that job that was not there before the run
  (§10.3 has no filter and ``jobs/run`` names no session: inferred), so no clock of this host is compared with the
  console's.
* Sessions are read as a whole list (§10.3: no filter, no paging), once per poll whatever the number of sessions
  followed, and mapped to SPP's shape (``cloudtemple_shapes.spp_session``).
* Every wait has a deadline (#306, #72: the provider's waits have none).
"""

from __future__ import annotations

import abc

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import (
    Conflict,
    NotFound,
    TaskFailed,
    WaitTimeout,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils._wait import Deadline, wait_until
from ansible_collections.sovereign.vm_backup.plugins.module_utils.cloudtemple import activities
from ansible_collections.sovereign.vm_backup.plugins.module_utils.cloudtemple import backup as ct_backup
from ansible_collections.sovereign.vm_backup.plugins.module_utils.seams import cloudtemple_shapes as shapes
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import answers as spp_answers

IDLE = "IDLE"  # §10.1: a job that does not run
RUNNING = "RUNNING"
HELD = "HELD"  # §10.1, inferred (§16.6): the status of a held policy's jobs
# Job statuses that mean "still going" (§10.1 records RUNNING only; SPP's other active statuses are taken as such).
BUSY_STATUSES = frozenset((RUNNING,)) | spp_answers.ACTIVE_STATUSES
BACKUP_JOB_TYPE = "backup"  # inferred: the emulator's type of a policy's job; only "catalog" is on record (§10.1)


class ConsoleJobs(abc.ABC):
    """Runs and sessions (the job half of ``BackupService``); see the module's docstring."""

    client = None
    label = None  # the service's (CloudTempleBackupService.label)
    start_timeout = 300  # seconds for a jobs/run activity to complete (the job has started, §16.5)
    session_timeout = 120  # seconds for the run's session to show up in the session list
    job_poll = 5.0  # at most this many seconds between two reads of a job's status

    @abc.abstractmethod
    def _policies(self):
        """``{name: SLA definition}`` of the console's policies, read once (``CloudTempleBackupService``)."""

    def _waiter(self, check, on_timeout, deadline, first_delay=1.0, max_delay=None, progress=None):
        """``wait_until`` on the client's clock, sleep and jitter (so that tests drive them)."""
        return wait_until(check, on_timeout=on_timeout, progress=progress, deadline=deadline, first_delay=first_delay,
                          max_delay=max_delay or self.job_poll, sleep=self.client._sleep,  # pylint: disable=protected-access
                          clock=self.client._clock, rand=self.client._rand)  # pylint: disable=protected-access

    def _deadline(self, seconds):
        return Deadline(seconds, self.client._clock)  # pylint: disable=protected-access

    def _sessions(self):
        return ct_backup.list_sessions(self.client)

    # -- the Hypervisor Inventory (§10.4) -----------------------------------------------------------------------

    def rescan(self, timeout, progress=None):
        """Run the Hypervisor Inventory job (found by name, #9), wait for its activity, then for the job to be
        ``IDLE`` again; one run serves every VM (§10.4: global to the tenant, so a run already under way is followed
        rather than doubled). Whether a VM is visible is the caller's loop (``services/joined_inventory.py``
        re-reads): the job being over is not enough (#72)."""
        progress = progress or (lambda text: None)
        deadline = self._deadline(timeout)
        job = ct_backup.find_inventory_job(self.client)
        if spp_answers.session_status(job) in BUSY_STATUSES:
            progress("the console's %s job is already running; waiting for that run" % ct_backup.INVENTORY_JOB_NAME)
        else:
            activity = ct_backup.run_job(self.client, job["id"])
            activities.wait(self.client, activity, None, progress=progress, deadline=deadline)
        return self._wait_idle(job, deadline, progress)

    def _wait_idle(self, job, deadline, progress):
        """Read the job until its status is ``IDLE`` (§10.2); another status than a busy one fails, as the provider's
        waiter does (§10.1)."""
        last = {"job": job}
        name = job.get("name") or job.get("displayName") or job.get("id")

        def check():
            current = ct_backup.get_job(self.client, job["id"])
            if current is None:
                raise NotFound(None, description="the console's job %s disappeared while this task waited for it"
                               % name)
            last["job"] = current
            status = spp_answers.session_status(current)
            if status == IDLE:
                return current
            if status and status not in BUSY_STATUSES:
                raise TaskFailed("the console's job %s ended in status %s (a job that ran is IDLE again, §10.1); "
                                 "look at its last session in the console's backup reports" % (name, status),
                                 job=name, status=status)
            return None

        def report(elapsed, _remaining):
            progress("the console's job %s is %s after %d s" % (name, spp_answers.session_status(last["job"]) or
                                                                "in an unknown state", elapsed))

        def timed_out():
            return WaitTimeout("the console's job %s is still %s after %d s of waiting; it keeps running on the "
                               "console. Run the task again later, or with a longer timeout"
                               % (name, spp_answers.session_status(last["job"]) or "running",
                                  int(round(deadline.elapsed()))), job=name)

        return self._waiter(check, timed_out, deadline, progress=report)

    # -- a policy's job ------------------------------------------------------------------------------------------

    def _policy_job(self, policy):
        """The console's job of SLA ``policy`` (by name): the job whose ``policyId`` is the policy's id (§10.2)."""
        definition = self._policies().get(policy)
        if definition is None:
            raise NotFound(None, description="the Cloud Temple console has no SLA policy named '%s'" % policy)
        jobs = [job for job in ct_backup.list_jobs(self.client) if job.get("policyId") == definition.get("id")]
        if not jobs:
            raise NotFound(None, description="SLA policy %s has no backup job on the Cloud Temple console yet: the "
                           "backup service creates it with the policy's first assignment (assign it with "
                           "vm_backup_policy first)" % policy)
        return next((job for job in jobs if str(job.get("type") or "").lower() == BACKUP_JOB_TYPE), jobs[0])

    def _job_sessions(self, job, sessions=None):
        sessions = self._sessions() if sessions is None else sessions
        return [session for session in sessions if session.get("jobId") == job.get("id")]

    def start_policy_backup(self, policy):
        """Run the job of SLA ``policy`` (every resource it protects, §10.2) and return the id of the session it
        started. A job that already runs raises ``Conflict`` before anything is sent (§16 open 4: the console's
        answer to that is not recorded), so that the caller follows the running session."""
        job = self._policy_job(policy)
        name = job.get("name") or job.get("id")
        if spp_answers.session_status(job) in BUSY_STATUSES:
            raise Conflict(None, description="job %s of SLA policy %s is already running on the Cloud Temple console"
                           % (name, policy))
        before = {session.get("id") for session in self._job_sessions(job)}
        activity = ct_backup.run_job(self.client, job["id"])  # no policyId: its meaning is not recorded (§10.2)
        activities.wait(self.client, activity, self.start_timeout, progress=self.client.log)

        def check():
            fresh = [s for s in self._job_sessions(job) if s.get("id") not in before]
            found = shapes.newest(fresh)
            return str(found["id"]) if found else None

        def timed_out():
            return WaitTimeout("the Cloud Temple console started job %s of SLA policy %s (activity %s), but no new "
                               "session of it showed up in %d s; it may still run: follow it in the console's backup "
                               "reports before running it again" % (name, policy, activity, self.session_timeout),
                               job=name, activity=activity)

        return self._waiter(check, timed_out, self._deadline(self.session_timeout))

    def running_session(self, policy):
        """The newest session of ``policy``'s job that has not ended (SPP's shape), or None."""
        job = self._policy_job(policy)
        found = shapes.newest([session for session in self._job_sessions(job) if shapes.is_live(session)])
        return shapes.spp_session(found) if found else None

    def session(self, session_id):
        """One job session (SPP's shape), found in the session list; None when the console does not list it."""
        return next((shapes.spp_session(session) for session in self._sessions()
                     if str(session.get("id")) == str(session_id)), None)

    def wait_sessions(self, session_ids, timeout, poll, progress=None, seen=None):
        """Read the session list every ``poll`` seconds until every session of ``session_ids`` has ended; see
        ``BackupService.wait_sessions``. A session the list does not show yet counts as still running."""
        wanted = [str(session_id) for session_id in session_ids]
        pending = list(wanted)
        last = seen if seen is not None else {}

        def check():
            listed = {str(session.get("id")): session for session in self._sessions()}
            for session_id in list(pending):
                session = shapes.spp_session(listed[session_id]) if session_id in listed else {"id": session_id}
                last[session_id] = session
                if progress is not None:
                    progress(session)
                if not shapes.is_live(session):
                    pending.remove(session_id)
            return None if pending else {session_id: last[session_id] for session_id in wanted}

        def timed_out():
            running = [(session_id, last.get(session_id) or {}) for session_id in pending]
            return WaitTimeout(
                "%s after %s s of waiting. The job keeps running on the Cloud Temple console; follow it in its backup "
                "reports" % ("; ".join(spp_answers.describe_session(session, session_id, service=self.label)
                                       for session_id, session in running), timeout),
                sessions=[{"id": session_id, "status": spp_answers.session_status(session), "percent": None}
                          for session_id, session in running])

        return self._waiter(check, timed_out, self._deadline(timeout), first_delay=poll, max_delay=poll)

    def backup_sessions(self, since_ms, page_size=1000):
        """The backup sessions that started since ``since_ms``, filtered here (§10.3: the console filters nothing)."""
        sessions = [shapes.spp_session(session) for session in self._sessions()]
        return [session for session in sessions
                if spp_answers.is_backup_session(session) and int(session.get("start") or 0) >= int(since_ms)]
