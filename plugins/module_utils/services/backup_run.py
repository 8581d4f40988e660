# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Service behind ``vm_backup_run``: resolve the targets, check them all, group them by SLA, start, wait, report.

Considered private: only this collection may import it.

Reads before anything starts: the joined inventory (one PropertyCollector listing of vCenter VMs, one paged listing
each of SPP VMs and vdisks), the SLA policies and the jobs. The time of each VM's newest recovery point is on the SPP
VM object itself, so ``skip_if_backed_up_within`` and the first-backup check need no per-VM call.

Writes: one ad hoc backup per SLA (``POST /ngp/hypervisor?action=adhoc``), or one start of the SLA's job when the
task names a policy and no VMs. None is sent when any target fails pre-flight, and none is sent in check mode.

Reads after the sessions end: each session's WARN and ERROR log lines (one listing per session), and for each VM of the
run its newest recovery point (one small read per VM, through ``links.latestversion``). The VM listing carries the
newest point's time but not its id, session or consistency, which the result reports, so this per-VM read is needed;
it is bounded by the targets of the run.

Which VMs run when ``skip_if_backed_up_within`` finds a recent point for some of them only: the others run, and the
recent ones are reported as ``skipped`` with the point that satisfied the condition. With ``policy`` alone this turns
the job start into an ad hoc backup of the VMs of the policy that need one.
"""

from __future__ import annotations

import re
import time

from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import joined_inventory
from ansible_collections.sovereign.vm_backup.plugins.module_utils._time import iso_time, parse_duration
from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import (
    Conflict,
    InvalidRequest,
    JobAlreadyRunning,
    RuleViolation,
    TaskFailed,
    VmBackupError,
    WaitTimeout,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import backup as spp_backup
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import jobs as spp_jobs
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import policies as spp_policies
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import versions as spp_versions
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import answers as spp_answers

# A run that attaches to a session of someone else's may have to send its own backup afterwards, and that one may
# meet yet another run: bounded.
MAX_ROUNDS = 3
REPORTED_LOG_TYPES = ("WARN", "ERROR")
ENDED_BADLY = frozenset(("FAILED", "CANCELED", "ABORTED", "STOPPED"))
DISK_MODES_NOT_CAPTURED = ("independent", "rdm")


# -- pure helpers ---------------------------------------------------------------------------------------------------


def _violation(rule, vm, reason, fix, moref=None):
    item = {"rule": rule, "vm": vm, "reason": reason, "fix": fix}
    if moref:
        item["moref"] = moref
    return item


def resolve_targets(wanted, records):
    """The VMs named in ``wanted`` (names, morefs or instance UUIDs), in that order and without repeats. Pure.

    ``records`` are the joined inventory records, those only vCenter knows included. Returns ``(targets,
    violations)``: a name vCenter does not know, or a name several VMs share, is a violation.
    """
    by_id, by_name = {}, {}
    for record in records:
        by_id[record["moref"]] = record
        if record.get("instance_uuid"):
            by_id[record["instance_uuid"]] = record
        by_name.setdefault(record["name"], []).append(record)
    targets, seen, violations = [], set(), []
    for ref in wanted:
        if ref in by_id:
            record = by_id[ref]
        elif len(by_name.get(ref, [])) == 1:
            record = by_name[ref][0]
        elif by_name.get(ref):
            morefs = sorted(r["moref"] for r in by_name[ref])
            violations.append(_violation("ambiguous_name", ref, "%d VMs have this name (%s)." % (len(morefs), ", ".join(morefs)),
                                         "Name the VM by moref or instance UUID."))
            continue
        else:
            violations.append(_violation("vm_not_found", ref, "vCenter has no VM with this name, moref or instance UUID.",
                                         "Check the name; templates are not backup targets."))
            continue
        if record["moref"] not in seen:
            seen.add(record["moref"])
            targets.append(record)
    return targets, violations


def policy_members(records, policy):
    """The VMs that SLA ``policy`` protects, at VM level or on one of their disks, sorted by name. Pure."""
    return [r for r in records if policy in r.get("policies", []) or policy in joined_inventory.disk_policies(r)]


def choose_policy(record, held, policy=None):
    """``(sla, violation)``: the SLA a VM's backup runs with. Pure.

    With ``policy``, that one, which must be one of the VM's policies (at VM level or on a disk) and not held.
    Without it, the VM's first VM-level policy (in name order) that is not held, so the choice is deterministic.
    """
    name, moref = record["name"], record.get("moref")
    vm_level, disk_level = list(record.get("policies") or []), joined_inventory.disk_policies(record)
    if policy:
        if policy not in vm_level and policy not in disk_level:
            mine = ", ".join(vm_level + ["%s (disk)" % p for p in disk_level if p not in vm_level]) or "none"
            return None, _violation(
                "policy_not_assigned", name, "SLA policy %s is not one of its policies (it has: %s)." % (policy, mine),
                "Assign %s to it with sovereign.vm_backup.vm_backup_policy, or leave policy unset to use its own." % policy,
                moref)
        if policy in held:
            return None, _violation(
                "policy_held", name, "SLA policy %s is held (its job vmware_%s is suspended)." % (policy, policy),
                "Release it with sovereign.vm_backup.backup_sla_policy (held: false), or choose another policy.", moref)
        return policy, None
    if not vm_level:
        if disk_level:
            return None, _violation(
                "no_policy", name, "it has no VM-level policy; only disks carry policies (%s)." % ", ".join(disk_level),
                "Set policy to one of them to back up those disks, or assign a VM-level policy.", moref)
        return None, _violation("no_policy", name, "it has no backup policy.",
                                "Assign one with sovereign.vm_backup.vm_backup_policy.", moref)
    usable = [p for p in vm_level if p not in held]
    if not usable:
        return None, _violation(
            "all_policies_held", name, "all its policies are held (%s): it is not protected." % ", ".join(vm_level),
            "Release one with sovereign.vm_backup.backup_sla_policy (held: false), or assign a policy that is not held.",
            moref)
    return usable[0], None


def preflight(targets, held, last_times, policy=None):
    """Check every target before anything starts; return ``({moref: sla}, violations)``. Pure.

    ``last_times`` maps a moref to the epoch ms of its newest recovery point (None: never backed up). The checks: known
    to the backup server, a usable policy (see ``choose_policy``), and no snapshot before a first backup, which
    would fail (the module never deletes a user's snapshot).
    """
    chosen, violations = {}, []
    for record in targets:
        name, moref = record["name"], record["moref"]
        if not record.get("known_to_backup"):
            violations.append(_violation(
                "unknown_to_backup", name, "the backup server does not know this VM (created after its last inventory?).",
                "Run sovereign.vm_backup.backup_inventory with rescan_until_visible: [%s], then assign it a policy." % name,
                moref))
            continue
        sla, problem = choose_policy(record, held, policy)
        if problem:
            violations.append(problem)
        if record.get("has_snapshots") and last_times.get(moref) is None:
            violations.append(_violation(
                "first_backup_with_snapshots", name, "it has never been backed up and has snapshots: its first backup "
                "would fail.", "Delete or consolidate its snapshots in vCenter (this module never deletes a snapshot), "
                "then run again.", moref))
        elif sla:
            chosen[moref] = sla
    return chosen, violations


def recent_targets(targets, last_times, now_ms, within_seconds):
    """Morefs of the targets whose newest recovery point is at most ``within_seconds`` old. Pure."""
    if not within_seconds:
        return set()
    limit = now_ms - within_seconds * 1000
    return {r["moref"] for r in targets if last_times.get(r["moref"]) is not None and last_times[r["moref"]] >= limit}


def build_groups(targets, chosen, skipped, whole_policy=None, job_names=()):
    """One group per SLA, in SLA name order: ``{policy, job, action, morefs}``. Pure.

    ``action`` is ``start_job`` (run the SLA's own job, for the task's ``policy`` without ``vms`` when none of its
    VMs is skipped and the job exists) or ``adhoc`` (an ad hoc backup of the group's VMs).
    """
    by_sla = {}
    for record in targets:
        if record["moref"] in chosen and record["moref"] not in skipped:
            by_sla.setdefault(chosen[record["moref"]], []).append(record["moref"])
    groups = []
    for sla in sorted(by_sla):
        job = spp_answers.sla_job_name(sla)
        action = "start_job" if whole_policy == sla and not skipped and job in job_names else "adhoc"
        groups.append({"policy": sla, "job": job, "action": action, "morefs": by_sla[sla]})
    return groups


def running_conflicts(groups, running, names):
    """Violations for ``if_running: fail``: groups whose job is already running. ``running``: job -> session id. Pure."""
    violations = []
    for group in groups:
        if group["job"] in running:
            vms = ", ".join(names[moref] for moref in group["morefs"])
            violations.append(_violation(
                "job_running", vms, "job %s of SLA policy %s is already running (session %s), and if_running is fail."
                % (group["job"], group["policy"], running[group["job"]]),
                "Wait for session %s to end, or use if_running: wait to follow it." % running[group["job"]]))
    return violations


def mentions(entry, name):
    """Whether a job log entry is about the VM called ``name``: one of its parameters, or a whole word of it. Pure."""
    if name in [str(param) for param in entry.get("messageParams") or []]:
        return True
    pattern = r"(?<![\w.-])%s(?![\w.-])" % re.escape(name)
    return re.search(pattern, entry.get("message") or "") is not None


def log_line(entry):
    """A job log entry as the module returns it. Pure."""
    return {
        "session_id": str(entry.get("jobsessionId")) if entry.get("jobsessionId") is not None else None,
        "time": entry.get("logTime"),
        "time_iso": iso_time(entry.get("logTime")),
        "type": entry.get("type"),
        "message_id": entry.get("messageId"),
        "message": entry.get("message"),
    }


def format_entry(entry):
    return "%s %s: %s" % (entry.get("type"), entry.get("messageId") or "-", entry.get("message"))


def vm_statistics(session):
    for item in (session.get("properties") or {}).get("statistics") or []:
        if item.get("resourceType") == "vm":
            return item
    return {}


def vm_outcome(name, session, version, entries, started):
    """Outcome of one VM in a session that has ended: success, failed, skipped, or None. Pure.

    ``version`` is the recovery point this session made for the VM (or None) and ``entries`` the session's WARN and
    ERROR log entries. None means the session is not about this VM: it was someone else's run (``started`` false)
    that the task attached to, and the VM still needs a backup of its own.
    """
    about = [entry for entry in entries if mentions(entry, name)]
    if version is not None:
        return "success"
    if any(entry.get("type") == "ERROR" for entry in about):
        return "failed"
    if about:
        return "skipped"  # every disk it has in the run is independent or RDM: nothing to capture
    if not started:
        return None
    if spp_answers.session_status(session) in ENDED_BADLY or vm_statistics(session).get("failed"):
        return "failed"
    return "skipped"


def not_captured_disks(record, sla):
    """Labels of the VM's disks that a backup with ``sla`` does not capture. Pure.

    Independent and RDM disks are never captured by snapshots. When ``sla`` is a disk-level policy of the VM only,
    the disks that do not carry it are not part of the backup either.
    """
    vm_level = sla in (record.get("policies") or [])
    return [disk["label"] for disk in record.get("disks") or []
            if disk.get("mode") in DISK_MODES_NOT_CAPTURED or not (vm_level or sla in (disk.get("policies") or []))]


def recovery_point(version):
    if not version:
        return None
    when = spp_answers.protection_time(version) or None
    return {"id": str(version.get("id")), "time": when, "time_iso": iso_time(when)}


def failure_message(vms, sessions):
    """The message of a run where VMs failed: each failed VM with its session and ERROR log line(s). Pure."""
    failed = [vm for vm in vms if vm["outcome"] == "failed"]
    counts = {}
    for vm in vms:
        counts[vm["outcome"]] = counts.get(vm["outcome"], 0) + 1
    others = ", ".join("%d %s" % (count, outcome) for outcome, count in sorted(counts.items()) if outcome != "failed")
    lines = ["the backup failed for %d of %d VM(s)%s:" % (len(failed), len(vms), " (%s)" % others if others else "")]
    for vm in failed:
        errors = [line for line in vm["messages"] if line.startswith("ERROR")] or vm["messages"]
        detail = "; ".join(errors) or "no recovery point was recorded"
        lines.append("- %s (session %s): %s" % (vm["name"], vm.get("session_id") or "?", detail))
    ended = ", ".join("%s %s" % (s["id"], s["status"]) for s in sessions)
    if ended:
        lines.append("Job session(s): %s." % ended)
    return "\n".join(lines)


def timeout_message(timeout, running, vms):
    """The message of a wait that ran out: what is still running, and which session ids to follow. Pure."""
    described = "; ".join(spp_answers.describe_session(session, session_id) for session_id, session in running)
    ids = ", ".join(session_id for session_id, _session in running)
    waiting = sorted(vm["name"] for vm in vms if vm["outcome"] == "running")
    text = ("stopped waiting after %s s, but the backup is not finished and has not failed: %s. The job keeps running "
            "on the server: follow session %s in SPP, or run this task again later (with skip_if_backed_up_within, "
            "the VMs backed up by then are skipped). Still running for: %s." % (timeout, described, ids, ", ".join(waiting)))
    failed = [vm["name"] for vm in vms if vm["outcome"] == "failed"]
    if failed:
        text += " Already failed in a session that ended: %s." % ", ".join(failed)
    return text


# -- the run ------------------------------------------------------------------------------------------------------


class BackupRun:
    """One execution of ``vm_backup_run``: reads, pre-flight, plan, then (outside check mode) start, wait, report."""

    def __init__(self, spp, vsphere, progress=None, clock=time.monotonic, now_ms=None):
        self.spp = spp
        self.reader = joined_inventory.InventoryReader(spp, vsphere)
        self.log = progress or (lambda message: None)
        self.clock = clock
        self.now_ms = now_ms
        self.records = {}  # moref -> joined inventory record
        self.chosen = {}  # moref -> SLA name
        self.outcomes = {}  # moref -> {outcome, session_id, version, messages}
        self.sessions = []  # {id, policy, job, started, morefs}
        self.seen = {}  # session id -> last read
        self.history = []
        self.last_lines = {}
        self.logs = {}  # session id -> WARN/ERROR entries
        self.started_at = clock()

    # -- pieces of I/O ---------------------------------------------------------------------------------------

    def _spp_vm(self, moref):
        return self.reader.spp_vms_by_id.get(self.records[moref].get("spp_id")) or {}

    def _on_poll(self, session):
        line = spp_answers.describe_session(session)
        self.log(line)
        session_id = str(session.get("id"))
        if self.last_lines.get(session_id) != line:
            self.last_lines[session_id] = line
            self.history.append(line)

    def _start(self, group, if_running):
        """Start one group's backup; on a 409, follow the job's running session (or fail if asked to)."""
        try:
            if group["action"] == "start_job":
                job = spp_jobs.find_job(self.spp, group["job"])
                session_id = str(spp_jobs.start_job(self.spp, job)["id"])
            else:
                vms = [self._spp_vm(moref) for moref in group["morefs"]]
                session_id = spp_backup.start_adhoc_backup(self.spp, group["policy"], vms)
            started = True
            self.log("job session %s backs up %s with SLA %s" % (session_id, self._names(group["morefs"]), group["policy"]))
        except Conflict:
            running = spp_jobs.running_session(self.spp, spp_jobs.find_job(self.spp, group["job"]))
            if running is None:
                raise
            session_id, started = str(running.get("id")), False
            if if_running == "fail":
                raise JobAlreadyRunning(
                    "job %s of SLA policy %s is already running (%s) and if_running is fail, so the backup of %s was "
                    "not started. Wait for that session to end, or use if_running: wait to follow it."
                    % (group["job"], group["policy"], spp_answers.describe_session(running), self._names(group["morefs"])),
                    running_session=session_id) from None
            self.log("job %s is already running; following its session %s" % (group["job"], session_id))
        record = {"id": session_id, "policy": group["policy"], "job": group["job"], "started": started,
                  "morefs": list(group["morefs"])}
        self.sessions.append(record)
        for moref in group["morefs"]:
            self.outcomes[moref] = {"outcome": "running", "session_id": session_id, "version": None, "messages": []}
        return record

    def _settle(self, record):
        """Outcomes of the VMs of a session that has ended; returns the morefs it did not concern (attached runs)."""
        session = self.seen.get(record["id"]) or spp_jobs.get_session(self.spp, record["id"])
        entries = spp_jobs.get_session_logs(self.spp, record["id"], types=REPORTED_LOG_TYPES)
        self.logs[record["id"]] = entries
        leftover = []
        for moref in record["morefs"]:
            name = self.records[moref]["name"]
            version = spp_versions.version_of_session(self.spp, self._spp_vm(moref), record["id"], since=session.get("start"))
            outcome = vm_outcome(name, session, version, entries, record["started"])
            if outcome is None:
                leftover.append(moref)
                continue
            self.outcomes[moref] = {"outcome": outcome, "session_id": record["id"], "version": version,
                                    "messages": [format_entry(e) for e in entries if mentions(e, name)]}
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
            "plan": plan,
            "sessions": self._session_results(),
            "vms": [self._vm_result(moref, self.outcomes[moref]) for moref in order],
            "log": [log_line(entry) for entry in sorted(entries, key=lambda e: e.get("logTime") or 0)],
            "progress": list(self.history),
            "duration_seconds": round(self.clock() - self.started_at, 1),
        }

    # -- the steps -------------------------------------------------------------------------------------------

    def prepare(self, vms=None, policy=None, within_seconds=None, if_running="wait"):
        """Read, resolve, check everything and plan; raise ``RuleViolation`` listing every refused VM."""
        known, vcenter_only, _spp_only = self.reader.read()
        policies = spp_policies.list_sla_policies(self.spp)
        if policy:
            spp_policies.find_sla_policy(self.spp, policy, policies)
        jobs = {job.get("name"): job for job in spp_jobs.list_jobs(self.spp)}
        held = {p.get("name") for p in policies
                if spp_answers.session_status(jobs.get(spp_answers.sla_job_name(p.get("name")))) == "HELD"}

        if vms:
            targets, violations = resolve_targets(vms, known + vcenter_only)
        else:
            targets, violations = policy_members(known, policy), []
            if not targets:
                raise InvalidRequest("SLA policy %s protects no VM of this vCenter, so there is nothing to back up. "
                                     "Assign it with sovereign.vm_backup.vm_backup_policy first." % policy)
        self.records = {record["moref"]: record for record in targets}
        last_times = {r["moref"]: spp_answers.last_protection_time(self._spp_vm(r["moref"])) for r in targets
                      if r.get("known_to_backup")}
        if not vms and policy in held:
            violations.append(_violation(
                "policy_held", "all %d VM(s) of %s" % (len(targets), policy),
                "SLA policy %s is held (its job vmware_%s is suspended)." % (policy, policy),
                "Release it with sovereign.vm_backup.backup_sla_policy (held: false)."))
            held = held - {policy}  # reported once for the policy, not once per VM
        self.chosen, problems = preflight(targets, held, last_times, policy)
        violations.extend(problems)

        now_ms = self.now_ms if self.now_ms is not None else int(time.time() * 1000)
        skipped = recent_targets([r for r in targets if r["moref"] in self.chosen], last_times, now_ms, within_seconds)
        groups = build_groups(targets, self.chosen, skipped, whole_policy=None if vms else policy, job_names=set(jobs))
        running = {name: spp_answers.last_session_id(job) for name, job in jobs.items()
                   if spp_answers.session_status(job) == "RUNNING"}
        if if_running == "fail":
            violations.extend(running_conflicts(groups, running, {m: r["name"] for m, r in self.records.items()}))
        if violations:
            raise RuleViolation(violations, outcome="no backup was started")

        for moref in skipped:
            version = spp_versions.latest_version(self.spp, self._spp_vm(moref))
            self.outcomes[moref] = {
                "outcome": "skipped", "session_id": (version or {}).get("sessionId"), "version": version,
                "messages": ["skipped: its newest recovery point (%s) is within skip_if_backed_up_within"
                             % iso_time(last_times[moref])]}
        plan = [{"policy": g["policy"], "job": g["job"], "action": g["action"],
                 "vms": [self.records[moref]["name"] for moref in g["morefs"]],
                 "running_session": running.get(g["job"])} for g in groups]
        return groups, plan, [r["moref"] for r in targets]

    def execute(self, groups, timeout, poll_interval, wait=True, if_running="wait"):
        """Start the groups, wait for their sessions, and settle each VM's outcome (rounds: see ``MAX_ROUNDS``)."""
        deadline = self.clock() + timeout
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
                    self.seen[record["id"]] = spp_jobs.get_session(self.spp, record["id"]) or {}
                return
            try:
                spp_jobs.wait_for_sessions(self.spp, [r["id"] for r in batch], timeout=max(deadline - self.clock(), 0),
                                           poll=poll_interval, progress=self._on_poll, seen=self.seen)
            except WaitTimeout:
                self._timed_out(batch, timeout)
            pending = []
            for record in batch:
                leftover = self._settle(record)
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
        running = []
        for record in batch:
            session = self.seen.get(record["id"]) or {}
            if not spp_answers.is_settled(spp_answers.session_status(session)):
                running.append((record["id"], session))
                continue
            for moref in self._settle(record):
                self.outcomes[moref] = {"outcome": "skipped", "session_id": None, "version": None, "messages": [
                    "not backed up: session %s, which this task followed, did not include it, and the wait ran out "
                    "before its own backup could start" % record["id"]]}
        raise _Timeout(running, timeout)


class _Timeout(Exception):
    """Internal: carries the sessions still running out of ``execute`` to ``run_backup``, which builds the result."""

    def __init__(self, running, timeout):
        super().__init__("timeout")
        self.running = running
        self.timeout = timeout


def run_backup(spp, vsphere, vms=None, policy=None, wait=True, timeout=3600, poll_interval=5, if_running="wait",
               skip_if_backed_up_within=None, check_mode=False, progress=None, now_ms=None):
    """The whole module run; returns its result, or raises a typed error that carries the per-VM results."""
    if not vms and not policy:
        raise InvalidRequest("name the VMs to back up (vms), an SLA policy (policy), or both")
    if timeout < 0 or poll_interval < 1:
        raise InvalidRequest("timeout must be 0 or more and poll_interval 1 or more (seconds); got %s and %s"
                             % (timeout, poll_interval))
    within = parse_duration(skip_if_backed_up_within, "skip_if_backed_up_within") if skip_if_backed_up_within else None
    run = BackupRun(spp, vsphere, progress=progress, now_ms=now_ms)
    groups, plan, order = run.prepare(vms=vms, policy=policy, within_seconds=within, if_running=if_running)
    changed = bool(groups)
    if check_mode or not groups:
        for group in groups:
            for moref in group["morefs"]:
                run.outcomes[moref] = {"outcome": "planned", "messages": [
                    "would be backed up with SLA %s (%s)" % (group["policy"], group["action"])]}
        return run.result(plan, order, changed)
    try:
        run.execute(groups, timeout, poll_interval, wait=wait, if_running=if_running)
    except _Timeout as stop:
        result = run.result(plan, order, changed)
        raise WaitTimeout(timeout_message(stop.timeout, stop.running, result["vms"]),
                          running_sessions=[session_id for session_id, _session in stop.running], **result) from None
    result = run.result(plan, order, changed)
    if any(vm["outcome"] == "failed" for vm in result["vms"]):
        raise TaskFailed(failure_message(result["vms"], result["sessions"]), **result)
    return result
