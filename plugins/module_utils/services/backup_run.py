# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Service behind ``vm_backup_run``: resolve the targets, check them all, group them by SLA, start, wait, report.

Considered private: only this collection may import it. The decisions (targets, pre-flight, groups, outcomes,
messages) are pure and live in ``pure.backup_run_plan``; here are the reads and writes, and the order they come in.

Every read and write goes through the two seams (``seams/``); what follows is what they do with SPP behind them.
Reads before anything starts: the joined inventory (one PropertyCollector listing of vCenter VMs, one paged listing
each of SPP VMs and vdisks), the SLA policies and the jobs. ``skip_if_backed_up_within`` and the first-backup check
need the time of each target's newest recovery point: it is read from the VM listing when the server puts it there,
else from the target's ``latestversion`` (the public record's source, spp-api.md 14.15), in a bounded pool of threads
and only for the targets (``InventoryReader.last_backups``). A skipped VM's message says which source was read.

Writes: one ad hoc backup per SLA (``POST /ngp/hypervisor?action=adhoc``), or one start of the SLA's job when the
task names a policy and no VMs. None is sent when any target fails pre-flight, and none is sent in check mode. Neither
is ever sent twice: when its answer is lost (or is a 429/502/503/504, which may come from a proxy after SPP acted),
``spp/backup.py`` and ``spp/jobs.py`` look for the job session that started since the POST and the run follows it;
when none shows up, the run fails with ``AmbiguousResult``, which says where to look.

Reads after the sessions end, for all the sessions that ended together: each session's WARN and ERROR log lines (one
paged listing per session), matched against the run's VM names in one pass per line (``pure.log_mentions``, built once
per run); then the recovery point each VM got. The result reports the point's id, session and consistency, which only
the point itself carries: the public record has no bulk route to them, so each VM that may have a new point is read
through ``links.latestversion``, ``PARALLEL_READS`` at a time (``seams/spp_backup.py``), never in a plain loop. Beyond
``DIRECT_READS_UP_TO`` VMs, one paged search of the recovery catalogue (``from=recovery``) first tells which VMs have
points at all, and when the server fills in their time, which are older than the session: those are not read. A
whole-policy run of 10,000 VMs thus reads, eight at a time, the VMs that have points (only those with a new one when
the server dates them), and never the others.

Which VMs run when ``skip_if_backed_up_within`` finds a recent point for some of them only: the others run, and the
recent ones are reported as ``skipped`` with the point that satisfied the condition. With ``policy`` alone this turns
the job start into an ad hoc backup of the VMs of the policy that need one.

A backup service without ad hoc backups (capability ``vm_backup``: the Cloud Temple console, whose ``jobs/run`` takes a
job and no VM list, docs/cloudtemple-api.md sections 10.2 and 14) runs whole policies only: every group runs its
policy's job. A task that names VMs must then confirm it (``whole_policy``) when a job would back up VMs it did not
name: the joined inventory is read in full (it is what tells those VMs), and without the confirmation the task fails
before any write, listing them per policy. ``skip_if_backed_up_within`` leaves out a policy whose VMs are all recent
(the times are the backup service's, inferred from its policy sessions on the console); one that still has to run
backs them all up. Without ``job_logs`` and ``recovery_points`` (the console again), each VM's outcome is its
session's (``session_outcome``: COMPLETED with no failed VM is a success, inferred; FAILED a failure; PARTIAL unknown,
with a warning), and ``outcome_source`` says so; a running session of the policy's job that the task attaches to
covers every VM of the policy, so no second run follows it.
"""

from __future__ import annotations

import time

from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import joined_inventory
from ansible_collections.sovereign.vm_backup.plugins.module_utils._time import iso_time, parse_duration
from ansible_collections.sovereign.vm_backup.plugins.module_utils._wait import Deadline
from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import (
    Conflict,
    InvalidRequest,
    JobAlreadyRunning,
    RuleViolation,
    TaskFailed,
    VmBackupError,
    WaitTimeout,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import answers as spp_answers
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.log_mentions import LogMentions
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure import backup_run_plan
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.backup_run_plan import (
    MAX_ROUNDS,
    REPORTED_LOG_TYPES,
    build_groups,
    entries_by_name,
    failure_message,
    format_entry,
    held_policy_violation,
    log_line,
    not_captured_disks,
    policy_members,
    preflight,
    recent_targets,
    recovery_point,
    resolve_targets,
    running_conflicts,
    settle_vm,
    timeout_message,
)


# How a skipped VM's message names the source of its last backup time (BackupService.last_backups).
INFERRED_SOURCE = "policy_sessions_inferred"
SOURCE_NAMES = {"vm_listing": "the VM listing", "latestversion": "its latestversion",
                "recovery_search": "the recovery point search",
                INFERRED_SOURCE: "its policies' job sessions (inferred: the backup service gives no recovery point)"}


class BackupRun:
    """One execution of ``vm_backup_run``: reads, pre-flight, plan, then (outside check mode) start, wait, report."""

    def __init__(self, backup, inventory, progress=None, clock=time.monotonic, now_ms=None):
        self.backup = backup
        self.where = "SPP" if backup.kind == "spp" else backup.label  # the backup service, as lines name it
        self.reader = joined_inventory.InventoryReader(backup, inventory)
        self.log = progress or (lambda message: None)
        self.clock = clock
        self.now_ms = now_ms
        self.records = {}  # moref -> joined inventory record
        self.last_backups = {}  # spp id -> {time, policy, source, version} (BackupService.last_backups)
        self.chosen = {}  # moref -> SLA name
        self.outcomes = {}  # moref -> {outcome, session_id, version, messages}
        self.sessions = []  # {id, policy, job, started, morefs}
        self.seen = {}  # session id -> last read
        self.history = []
        self.last_lines = {}
        self.logs = {}  # session id -> WARN/ERROR entries
        self._mentions = None  # LogMentions of the run's VM names, built once (see _settle)
        self.stopwatch = Deadline(0, clock)  # only its elapsed() is read: the run's duration
        self.whole_policies_only = not backup.offers("vm_backup")  # every group runs its policy's whole job
        self.per_vm_detail = backup.offers("job_logs") or backup.offers("recovery_points")
        self.known = []  # every joined record the backup service knows (what a policy's job covers)
        self.others = {}  # policy -> names of the VMs its job backs up that the task did not name
        self.warnings = []

    # -- pieces of I/O ---------------------------------------------------------------------------------------

    def _backup_id(self, moref):
        """The backup service's id of a target VM."""
        return self.records[moref].get("spp_id")

    def _on_poll(self, session):
        line = spp_answers.describe_session(session, service=self.where)
        self.log(line)
        session_id = str(session.get("id"))
        if self.last_lines.get(session_id) != line:
            self.last_lines[session_id] = line
            self.history.append(line)

    def _start(self, group, if_running):
        """Start one group's backup; on a 409, follow the job's running session (or fail if asked to)."""
        try:
            if group["action"] == "start_job":
                session_id = self.backup.start_policy_backup(group["policy"])
            else:
                session_id = self.backup.start_vm_backup(group["policy"],
                                                         [self._backup_id(moref) for moref in group["morefs"]])
            started = True
            self.log("job session %s backs up %s with SLA %s" % (session_id, self._names(group["morefs"]), group["policy"]))
        except Conflict:
            running = self.backup.running_session(group["policy"])
            if running is None:
                raise
            session_id, started = str(running.get("id")), False
            if if_running == "fail":
                raise JobAlreadyRunning(
                    "job %s of SLA policy %s is already running (%s) and if_running is fail, so the backup of %s was "
                    "not started. Wait for that session to end, or use if_running: wait to follow it."
                    % (group["job"], group["policy"], spp_answers.describe_session(running, service=self.where),
                       self._names(group["morefs"])),
                    running_session=session_id) from None
            self.log("job %s is already running; following its session %s" % (group["job"], session_id))
        record = {"id": session_id, "policy": group["policy"], "job": group["job"], "started": started,
                  "morefs": list(group["morefs"])}
        self.sessions.append(record)
        for moref in group["morefs"]:
            self.outcomes[moref] = {"outcome": "running", "session_id": session_id, "version": None, "messages": []}
        return record

    def _settle_all(self, records):
        """Settle sessions that ended together: ``{session id: morefs it did not concern}`` (see ``_settle``). Their
        VMs' recovery points are read in one go (``_session_points``)."""
        sessions = {record["id"]: self.seen.get(record["id"]) or self.backup.session(record["id"])
                    for record in records}
        points = self._session_points(records, sessions)
        return {record["id"]: self._settle(record, sessions[record["id"]], points) for record in records}

    def _session_points(self, records, sessions):
        """``{(session id, moref): the recovery point that session made for the VM, or None}``, read in bulk by the
        backup service (``BackupService.session_points``); all None when it cannot read recovery points."""
        wanted = [(record["id"], moref) for record in records for moref in record["morefs"]]
        points = dict.fromkeys(wanted)
        if self.backup.offers("recovery_points"):
            found = self.backup.session_points([(session_id, self._backup_id(moref)) for session_id, moref in wanted],
                                               sessions, log=self.log)
            points.update({(session_id, moref): found.get((session_id, self._backup_id(moref)))
                           for session_id, moref in wanted})
        return points

    def _settle(self, record, session=None, points=None):
        """Outcomes of the VMs of a session that has ended; returns the morefs it did not concern (attached runs).
        ``session`` and ``points`` come from ``_settle_all``; a session settled alone reads them here."""
        if session is None or points is None:
            return self._settle_all([record])[record["id"]]
        entries = (self.backup.session_logs(record["id"], types=REPORTED_LOG_TYPES)
                   if self.backup.offers("job_logs") else [])
        self.logs[record["id"]] = entries
        names = [target["name"] for target in self.records.values()]
        if self._mentions is None:
            self._mentions = LogMentions(names)
        about = entries_by_name(entries, names, matcher=self._mentions)
        leftover = []
        for moref in record["morefs"]:
            mine = about.get(self.records[moref]["name"], [])
            version = points.get((record["id"], moref))
            outcome, source = settle_vm(session, version, mine, record["started"], per_vm_detail=self.per_vm_detail)
            if outcome is None:
                leftover.append(moref)
                continue
            messages = [format_entry(entry) for entry in mine]
            if source == backup_run_plan.FROM_SESSION_INFERRED:
                messages.append(backup_run_plan.session_outcome_message(dict(session, id=record["id"]), outcome))
            self.outcomes[moref] = {"outcome": outcome, "session_id": record["id"], "version": version,
                                    "messages": messages, "source": source}
        if not self.per_vm_detail and any(self.outcomes[m]["outcome"] == "unknown" for m in record["morefs"]):
            self.warnings.append("session %s of SLA policy %s ended %s: the backup service does not say which VMs "
                                 "failed, so the outcome of %s is unknown; check them in its backup reports"
                                 % (record["id"], record["policy"], spp_answers.session_status(session),
                                    self._names(record["morefs"])))
        return leftover

    # -- results ---------------------------------------------------------------------------------------------

    def _names(self, morefs):
        return ", ".join(self.records[moref]["name"] for moref in morefs)

    def _vm_result(self, moref, outcome):
        record = self.records[moref]
        sla = self.chosen.get(moref)
        version = outcome.get("version")
        return {
            "name": record["name"],
            "moref": moref,
            "spp_id": record.get("spp_id"),
            "policy": sla,
            "outcome": outcome["outcome"],
            "session_id": outcome.get("session_id"),
            "recovery_point": recovery_point(version),
            "consistency": (version or {}).get("consistency"),
            "not_captured_disks": not_captured_disks(record, sla) if sla else [],
            "messages": list(outcome.get("messages") or []),
            "outcome_source": outcome.get("source"),
        }

    def _session_results(self):
        results = []
        for record in self.sessions:
            session = self.seen.get(record["id"]) or {}
            duration = session.get("duration")
            if duration is None and session.get("start") and session.get("end"):
                duration = session["end"] - session["start"]
            results.append({"id": record["id"], "policy": record["policy"], "job": record["job"],
                            "started": record["started"], "status": spp_answers.session_status(session) or "STARTED",
                            "percent": session.get("percent"), "duration_ms": duration})
        return results

    def _partial_result(self):
        return {"changed": any(s["started"] for s in self.sessions), "sessions": self._session_results()}

    def result(self, plan, order, changed):
        entries = [entry for record in self.sessions for entry in self.logs.get(record["id"], [])]
        return {
            "changed": changed,
            "scope": "policy" if any(group["scope"] == "policy" for group in plan) else "vms",
            "plan": plan,
            "sessions": self._session_results(),
            "vms": [self._vm_result(moref, self.outcomes[moref]) for moref in order],
            "log": [log_line(entry) for entry in sorted(entries, key=lambda e: e.get("logTime") or 0)],
            "progress": list(self.history),
            "duration_seconds": round(self.stopwatch.elapsed(), 1),
            "warnings": list(self.warnings),
        }

    # -- the steps -------------------------------------------------------------------------------------------

    def prepare(self, vms=None, policy=None, within_seconds=None, if_running="wait", whole_policy=False):
        """Read, resolve, check everything and plan; raise ``RuleViolation`` listing every refused VM."""
        known, vcenter_only, _spp_only = self.reader.read()
        self.known = known
        policies = self.backup.sla_policies()
        if policy:
            self.backup.find_policy(policy, policies)
        jobs = self.backup.policy_jobs()  # policy -> its job
        held = {p.get("name") for p in policies if jobs.get(p.get("name"), {}).get("held")}

        if vms:
            targets, violations = resolve_targets(vms, known + vcenter_only)
        else:
            targets, violations = policy_members(known, policy), []
            if not targets:
                raise InvalidRequest("SLA policy %s protects no VM of this vCenter, so there is nothing to back up. "
                                     "Assign it with sovereign.vm_backup.vm_backup_policy first." % policy)
        self.records = {record["moref"]: record for record in targets}
        known = {r["moref"]: r["spp_id"] for r in targets if r.get("known_to_backup")}
        self.last_backups = self.reader.last_backups(list(known.values()))
        last_times = {moref: (self.last_backups.get(spp_id) or {}).get("time") for moref, spp_id in known.items()}
        if not vms and policy in held:
            violations.append(held_policy_violation(policy, len(targets)))
            held = held - {policy}  # reported once for the policy, not once per VM
        self.chosen, problems = preflight(targets, held, last_times, policy)
        violations.extend(problems)

        now_ms = self.now_ms if self.now_ms is not None else int(time.time() * 1000)
        skipped = recent_targets([r for r in targets if r["moref"] in self.chosen], last_times, now_ms, within_seconds)
        groups = build_groups(targets, self.chosen, skipped, run_policy=None if vms else policy, jobs=jobs,
                              whole_policies_only=self.whole_policies_only)
        skipped = backup_run_plan.skipped_after_grouping(skipped, groups)
        names = {m: r["name"] for m, r in self.records.items()}
        if self.whole_policies_only:
            violations.extend(self._whole_policy_checks(groups, jobs, names, bool(vms), whole_policy))
        running = {job["job"]: job["session_id"] for job in jobs.values() if job["running"]}
        if if_running == "fail":
            violations.extend(running_conflicts(groups, running, names))
        if violations:
            raise RuleViolation(violations, outcome="no backup was started")

        for moref in skipped:
            self._skip(moref, last_times[moref])
        plan = [{"policy": g["policy"], "job": g["job"], "action": g["action"],
                 "scope": "policy" if g["action"] == "start_job" else "vms",
                 "vms": [self.records[moref]["name"] for moref in g["morefs"]],
                 "covers": backup_run_plan.covers(g, self.known),
                 "running_session": running.get(g["job"])} for g in groups]
        return groups, plan, [r["moref"] for r in targets]

    def _whole_policy_checks(self, groups, jobs, names, named_vms, confirmed):
        """The refusals of a run on a backup service that runs whole policies only: a policy without a job (nothing
        to run), and, for a task that names VMs without ``whole_policy``, a job that would back up VMs it did not
        name (one violation per policy, listing them). With the confirmation, the run's warning says what it covers."""
        violations = [backup_run_plan.policy_without_job_violation(group, names, self.backup.label)
                      for group in groups if group["policy"] not in jobs]
        if not named_vms:
            return violations
        self.others = backup_run_plan.policy_run_others(groups, self.known, set(self.records))
        if not confirmed:
            return violations + backup_run_plan.whole_policy_violations(groups, self.others, names, self.backup.label)
        warning = backup_run_plan.whole_policy_warning(groups, self.others, self.backup.label)
        if warning:
            self.warnings.append(warning)
        return violations

    def _skip(self, moref, last_time):
        """Record a VM skipped for a recent last backup (with its recovery point when the backup service has them)."""
        known_point = self.last_backups.get(self.records[moref].get("spp_id")) or {}
        version = known_point.get("version")
        if version is None and self.backup.offers("recovery_points"):
            version = self.backup.latest_point(self._backup_id(moref))
        inferred = known_point.get("source") == INFERRED_SOURCE
        self.outcomes[moref] = {
            "outcome": "skipped", "session_id": (version or {}).get("sessionId"), "version": version,
            "source": backup_run_plan.FROM_LAST_BACKUP_INFERRED if inferred else backup_run_plan.FROM_LAST_BACKUP,
            "messages": ["skipped: its newest %s (%s, read from %s) is within skip_if_backed_up_within"
                         % ("backup" if inferred else "recovery point", iso_time(last_time),
                            SOURCE_NAMES.get(known_point.get("source"), "the server"))]}

    def execute(self, groups, timeout, poll_interval, wait=True, if_running="wait"):
        """Start the groups, wait for their sessions, and settle each VM's outcome (rounds: see ``MAX_ROUNDS``)."""
        deadline = Deadline(timeout, self.clock)
        pending = groups
        for _round in range(MAX_ROUNDS):
            batch = []
            for group in pending:
                try:
                    batch.append(self._start(group, if_running))
                except VmBackupError as error:
                    raise self._with_started(error) from None
            if not wait:
                for record in batch:
                    self.seen[record["id"]] = self.backup.session(record["id"]) or {}
                return
            try:
                self.backup.wait_sessions([r["id"] for r in batch], timeout=deadline.remaining(), poll=poll_interval,
                                          progress=self._on_poll, seen=self.seen)
            except WaitTimeout:
                self._timed_out(batch, timeout)
            pending = []
            settled = self._settle_all(batch)
            for record in batch:
                leftover = settled[record["id"]]
                if leftover:
                    self.log("session %s that this task followed did not back up %s; starting their own backup"
                             % (record["id"], self._names(leftover)))
                    pending.append({"policy": record["policy"], "job": record["job"], "action": "adhoc",
                                    "morefs": leftover})
            if not pending:
                return
        names = ", ".join(self._names(g["morefs"]) for g in pending)
        raise JobAlreadyRunning("the jobs of %s were busy with other runs %d times in a row, so %s could not be backed up; "
                                "run the task again later" % (", ".join(g["policy"] for g in pending), MAX_ROUNDS, names),
                                **self._partial_result())

    def _with_started(self, error):
        """Add to an error raised while starting the groups which sessions this run had already started."""
        started = [s for s in self.sessions if s["started"]]
        if started:
            note = (" Job session(s) %s of this run had already started and keep running on the server."
                    % ", ".join("%s (%s)" % (s["id"], s["policy"]) for s in started))
            error.message = error.message.rstrip(".") + "." + note
            error.args = (error.message,)
            error.details.update(self._partial_result())
        return error

    def _timed_out(self, batch, timeout):
        """Settle what did end, then raise ``WaitTimeout`` naming the sessions still running (never a failure)."""
        running, ended = [], []
        for record in batch:
            session = self.seen.get(record["id"]) or {}
            if not spp_answers.is_settled(spp_answers.session_status(session)):
                running.append((record["id"], session))
            else:
                ended.append(record)
        settled = self._settle_all(ended) if ended else {}
        for record in ended:
            for moref in settled[record["id"]]:
                self.outcomes[moref] = {"outcome": "skipped", "session_id": None, "version": None, "messages": [
                    "not backed up: session %s, which this task followed, did not include it, and the wait ran out "
                    "before its own backup could start" % record["id"]]}
        raise _StillRunning(running, timeout)


class _StillRunning(Exception):
    """Internal: the wait ran out while sessions were still running (not a failure).

    Carries those sessions out of ``execute`` to ``run_backup``, which builds the result and raises ``WaitTimeout``.
    """

    def __init__(self, running, timeout):
        super().__init__("timeout")
        self.running = running
        self.timeout = timeout


def run_backup(backup, inventory, vms=None, policy=None, wait=True, timeout=3600, poll_interval=5, if_running="wait",
               skip_if_backed_up_within=None, check_mode=False, progress=None, now_ms=None, whole_policy=False):
    """The whole module run; returns its result, or raises a typed error that carries the per-VM results.

    ``backup``: a ``BackupService``; ``inventory``: a ``VmInventory`` (``seams/``). ``whole_policy``: the user
    accepts that a backup service running whole policies only backs up the other VMs of the named VMs' policies."""
    if not vms and not policy:
        raise InvalidRequest("name the VMs to back up (vms), an SLA policy (policy), or both")
    if timeout < 0 or poll_interval < 1:
        raise InvalidRequest("timeout must be 0 or more and poll_interval 1 or more (seconds); got %s and %s"
                             % (timeout, poll_interval))
    within = parse_duration(skip_if_backed_up_within, "skip_if_backed_up_within") if skip_if_backed_up_within else None
    run = BackupRun(backup, inventory, progress=progress, now_ms=now_ms)
    groups, plan, order = run.prepare(vms=vms, policy=policy, within_seconds=within, if_running=if_running,
                                      whole_policy=whole_policy)
    changed = bool(groups)
    if check_mode or not groups:
        for group in groups:
            for moref in group["morefs"]:
                run.outcomes[moref] = {"outcome": "planned", "messages": [
                    "would be backed up with SLA %s (%s)" % (group["policy"], group["action"])]}
        return run.result(plan, order, changed)
    try:
        run.execute(groups, timeout, poll_interval, wait=wait, if_running=if_running)
    except _StillRunning as stop:
        result = run.result(plan, order, changed)
        raise WaitTimeout(timeout_message(stop.timeout, stop.running, result["vms"], where=run.where),
                          running_sessions=[session_id for session_id, _session in stop.running], **result) from None
    result = run.result(plan, order, changed)
    if any(vm["outcome"] == "failed" for vm in result["vms"]):
        raise TaskFailed(failure_message(result["vms"], result["sessions"]), **result)
    return result
