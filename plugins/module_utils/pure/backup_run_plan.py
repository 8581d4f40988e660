# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The decisions of ``vm_backup_run``: targets, pre-flight, SLA groups, each VM's outcome, and the messages. Pure.

Considered private: only this collection may import it. ``services.backup_run`` does the reads and writes and asks
this module what they mean: which VMs the task names (``pure.vm_resolver``), which policy each one runs with, what
refuses the run before anything starts (every refusal at once, as ``RuleViolation`` items), which VMs are recent
enough to skip, how the VMs group into one backup per SLA, and, once a session has ended, each VM's outcome from its
recovery point and the session's log lines about it (``pure.log_mentions``).

A backup service that runs whole policies only (no backup of chosen VMs: the Cloud Temple console, whose ``jobs/run``
takes a job and no VM list, docs/cloudtemple-api.md sections 10.2 and 14) runs each group's policy job, which backs up
every VM of the policy: ``policy_run_others`` names the VMs the task did not name, which the user must accept
(``whole_policy_violations``). A backup service without job logs and recovery points settles each VM from its
session's status and counts alone (``session_outcome``), and says so (``outcome_source``).
"""

from __future__ import annotations

from ansible_collections.sovereign.vm_backup.plugins.module_utils._time import iso_time
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.inventory_join import disk_policies
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.log_mentions import LogMentions
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.vm_resolver import AMBIGUOUS, VmIndex
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import answers as spp_answers

# A run that attaches to a session of someone else's may have to send its own backup afterwards, and that one may
# meet yet another run: bounded.
MAX_ROUNDS = 3
REPORTED_LOG_TYPES = ("WARN", "ERROR")
ENDED_BADLY = frozenset(("FAILED", "CANCELED", "ABORTED", "STOPPED"))
DISK_MODES_NOT_CAPTURED = ("independent", "rdm")

# Where a VM's outcome came from (the result's ``outcome_source``).
FROM_RECOVERY_POINT = "recovery_point"  # the recovery point the session made for the VM
FROM_JOB_LOG = "job_log"  # the session's log lines about the VM
FROM_SESSION = "session_status"  # the session's status, with no point and no log line about the VM
FROM_SESSION_INFERRED = "session_status_inferred"  # the session's status and counts, the same for each of its VMs
FROM_LAST_BACKUP = "last_backup"  # skipped: a recent last backup
FROM_LAST_BACKUP_INFERRED = "last_backup_inferred"  # skipped: a last backup time inferred by the backup service
UNKNOWN = "unknown"  # an outcome the backup service cannot tell (a PARTIAL session without per-VM detail)
WHOLE_POLICY_ONLY = "whole_policy_only"


def _violation(rule, vm, reason, fix, moref=None):
    item = {"rule": rule, "vm": vm, "reason": reason, "fix": fix}
    if moref:
        item["moref"] = moref
    return item


def resolve_targets(wanted, records):
    """The VMs named in ``wanted`` (names, morefs or instance UUIDs), in that order and without repeats.

    ``records`` are the joined inventory records, those only vCenter knows included. Returns ``(targets,
    violations)``: a name vCenter does not know, or a name several VMs share, is a violation. The lookup is
    ``pure.vm_resolver``'s; an ambiguous name lists the morefs of the VMs the resolver found for it.
    """
    targets, problems = VmIndex(records).resolve_all(wanted)
    violations = []
    for problem in problems:
        ref, candidates = problem["ref"], problem["candidates"]
        if problem["problem"] == AMBIGUOUS:
            violations.append(_violation("ambiguous_name", ref, "%d VMs have this name (%s)."
                                         % (len(candidates), ", ".join(candidates)),
                                         "Name the VM by moref or instance UUID."))
        else:
            violations.append(_violation("vm_not_found", ref, "vCenter has no VM with this name, moref or instance UUID.",
                                         "Check the name; templates are not backup targets."))
    return targets, violations


def policy_members(records, policy):
    """The VMs that SLA ``policy`` protects, at VM level or on one of their disks, sorted by name."""
    return [r for r in records if policy in r.get("policies", []) or policy in disk_policies(r)]


def choose_policy(record, held, policy=None):
    """``(sla, violation)``: the SLA a VM's backup runs with.

    With ``policy``, that one, which must be one of the VM's policies (at VM level or on a disk) and not held.
    Without it, the VM's first VM-level policy (in name order) that is not held, so the choice is deterministic.
    """
    name, moref = record["name"], record.get("moref")
    vm_level, disk_level = list(record.get("policies") or []), disk_policies(record)
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
    """Check every target before anything starts; return ``({moref: sla}, violations)``.

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
    """Morefs of the targets whose newest recovery point is at most ``within_seconds`` old."""
    if not within_seconds:
        return set()
    limit = now_ms - within_seconds * 1000
    return {r["moref"] for r in targets if last_times.get(r["moref"]) is not None and last_times[r["moref"]] >= limit}


def build_groups(targets, chosen, skipped, run_policy=None, jobs=None, whole_policies_only=False):
    """One group per SLA, in SLA name order: ``{policy, job, action, morefs}``.

    ``action`` is ``start_job`` (run the SLA's own job, for the task's ``policy`` (``run_policy``) without ``vms``
    when none of its VMs is skipped and the policy has a job) or ``adhoc`` (an ad hoc backup of the group's VMs).
    ``jobs``: the policies that have a job, ``{policy: {"job": name, ...}}`` (``BackupService.policy_jobs``), which
    also names the group's job. ``whole_policies_only`` (a backup service without ad hoc backups): every group runs its
    policy's job, and takes every VM chosen for that policy, the skipped ones too, unless all of them are skipped (the
    job backs them up anyway; see ``skipped_after_grouping``).
    """
    jobs = jobs or {}
    by_sla = {}
    for record in targets:
        if record["moref"] in chosen:
            by_sla.setdefault(chosen[record["moref"]], []).append(record["moref"])
    groups = []
    for sla in sorted(by_sla):
        morefs = [moref for moref in by_sla[sla] if moref not in skipped]
        if not morefs:
            continue
        job = (jobs.get(sla) or {}).get("job") or spp_answers.sla_job_name(sla)
        if whole_policies_only:
            groups.append({"policy": sla, "job": job, "action": "start_job", "morefs": by_sla[sla]})
            continue
        action = "start_job" if run_policy == sla and not skipped and sla in jobs else "adhoc"
        groups.append({"policy": sla, "job": job, "action": action, "morefs": morefs})
    return groups


def skipped_after_grouping(skipped, groups):
    """The VMs still skipped once the groups are made: a group that runs a whole policy backs its VMs up, recent ones
    included."""
    grouped = {moref for group in groups for moref in group["morefs"]}
    return set(skipped) - grouped


def policy_run_others(groups, records, named):
    """``{policy: [names]}``: for each group that runs its policy's job, the VMs of ``records`` (the joined inventory)
    that the job backs up too although the task did not name them (``named``: the task's morefs), sorted by name."""
    others = {}
    for group in groups:
        if group["action"] != "start_job":
            continue
        found = sorted(record["name"] for record in policy_members(records, group["policy"])
                       if record["moref"] not in named)
        if found:
            others[group["policy"]] = found
    return others


def covers(group, records):
    """Names of the VMs of ``records`` a group's run backs up: the policy's members for its job, else its VMs."""
    if group["action"] == "start_job":
        members = {record["moref"] for record in policy_members(records, group["policy"])} | set(group["morefs"])
    else:
        members = set(group["morefs"])
    return sorted(record["name"] for record in records if record["moref"] in members)


def policy_without_job_violation(group, names, service):
    """The violation of a group whose policy has no job on ``service`` (its label), which runs policy jobs only."""
    return _violation("policy_without_job", ", ".join(names[moref] for moref in group["morefs"]),
                      "SLA policy %s has no backup job on %s yet, so it cannot be run." % (group["policy"], service),
                      "Assign the policy first: the backup service makes its job with the first assignment.")


def whole_policy_violations(groups, others, names, service):
    """The violations of a task that names VMs on ``service`` (its label), which runs whole policies only, while the
    task did not confirm it (``whole_policy``): one per policy whose job would back up VMs the task did not name."""
    violations = []
    for group in groups:
        extra = others.get(group["policy"])
        if not extra:
            continue
        named = ", ".join(names[moref] for moref in group["morefs"])
        violations.append(_violation(
            WHOLE_POLICY_ONLY, named,
            "%s runs a policy's whole job only (no backup of chosen VMs): backing up %s runs job %s of SLA policy %s, "
            "which backs up %d other VM(s) too: %s."
            % (service, named, group["job"], group["policy"], len(extra), ", ".join(extra)),
            "Set whole_policy: true to back them all up, or run the policy itself (policy: %s, without vms)."
            % group["policy"]))
    return violations


def whole_policy_warning(groups, others, service):
    """The result's warning of a run that backed up whole policies for a task that named VMs, or None."""
    runs = ["%s (job %s, also %s)" % (group["policy"], group["job"], ", ".join(others[group["policy"]]))
            for group in groups if others.get(group["policy"])]
    if not runs:
        return None
    return ("%s runs a policy's whole job only (no backup of chosen VMs), so this run backs up every VM of %s, not only "
            "the VMs named (whole_policy: true)." % (service, "; ".join(runs)))


def held_policy_violation(policy, count):
    """The one violation for a task that names a held ``policy`` and no VMs (rather than one per VM)."""
    return _violation("policy_held", "all %d VM(s) of %s" % (count, policy),
                      "SLA policy %s is held (its job vmware_%s is suspended)." % (policy, policy),
                      "Release it with sovereign.vm_backup.backup_sla_policy (held: false).")


def running_conflicts(groups, running, names):
    """Violations for ``if_running: fail``: groups whose job is already running. ``running``: job -> session id."""
    violations = []
    for group in groups:
        if group["job"] in running:
            vms = ", ".join(names[moref] for moref in group["morefs"])
            violations.append(_violation(
                "job_running", vms, "job %s of SLA policy %s is already running (session %s), and if_running is fail."
                % (group["job"], group["policy"], running[group["job"]]),
                "Wait for session %s to end, or use if_running: wait to follow it." % running[group["job"]]))
    return violations


def entries_by_name(entries, names, matcher=None):
    """``{name: [entries about it]}`` for each of ``names``, in log order: one matcher, one pass per log line.
    ``matcher``: a ``LogMentions`` of ``names`` built once for the run (built here when not given)."""
    matcher = matcher or LogMentions(names)
    about = {name: [] for name in names}
    for entry in entries:
        for name in matcher.names_in(entry):
            about.setdefault(name, []).append(entry)
    return about


def log_line(entry):
    """A job log entry as the module returns it."""
    return {
        "session_id": str(entry.get("jobsessionId")) if entry.get("jobsessionId") is not None else None,
        "time": entry.get("logTime"),
        "time_iso": iso_time(entry.get("logTime")),
        "type": entry.get("type"),
        "message_id": entry.get("messageId"),
        "message": entry.get("message"),
    }


def format_entry(entry):
    """A job log entry as one line of a VM's ``messages``."""
    return "%s %s: %s" % (entry.get("type"), entry.get("messageId") or "-", entry.get("message"))


def vm_statistics(session):
    """The per-VM counters of a session (``properties.statistics`` of resource type ``vm``), or {}."""
    for item in (session.get("properties") or {}).get("statistics") or []:
        if item.get("resourceType") == "vm":
            return item
    return {}


def vm_outcome(session, version, about, started):
    """Outcome of one VM in a session that has ended: success, failed, skipped, or None (``settle_vm``)."""
    return settle_vm(session, version, about, started)[0]


def settle_vm(session, version, about, started, per_vm_detail=True):
    """``(outcome, source)`` of one VM in a session that has ended: success, failed, skipped, unknown or None, and
    where it was read (``FROM_*``).

    ``version`` is the recovery point this session made for the VM (or None) and ``about`` the session's WARN and
    ERROR log entries that mention the VM (see ``entries_by_name``). None means the session is not about this VM: it
    was someone else's run (``started`` false) that the task attached to, and the VM still needs a backup of its own.
    ``per_vm_detail`` false (a backup service without job logs and recovery points): the session's status and counts
    settle every VM of it (``session_outcome``); a run of a policy's whole job, attached to or not, is about every VM
    of the policy.
    """
    if not per_vm_detail:
        return session_outcome(session), FROM_SESSION_INFERRED
    if version is not None:
        return "success", FROM_RECOVERY_POINT
    if any(entry.get("type") == "ERROR" for entry in about):
        return "failed", FROM_JOB_LOG
    if about:
        return "skipped", FROM_JOB_LOG  # every disk it has in the run is independent or RDM: nothing to capture
    if not started:
        return None, None
    if spp_answers.session_status(session) in ENDED_BADLY or vm_statistics(session).get("failed"):
        return "failed", FROM_SESSION
    return "skipped", FROM_SESSION


def session_outcome(session):
    """The outcome of every VM of a session, from its status and counts alone (inferred): ``failed`` when it ended
    badly, ``success`` when it COMPLETED with no failed VM, else ``unknown`` (PARTIAL: some VMs failed, which is not
    said)."""
    status = spp_answers.session_status(session)
    if status in ENDED_BADLY:
        return "failed"
    if status == "COMPLETED" and not vm_statistics(session).get("failed"):
        return "success"
    return UNKNOWN


def session_outcome_message(session, outcome):
    """The VM's message for an outcome settled by ``session_outcome``: what it is inferred from."""
    counts = vm_statistics(session)
    status = spp_answers.session_status(session) or "an unknown status"
    seen = "session %s ended %s (%s of %s VM(s) failed)" % (session.get("id"), status, counts.get("failed", "?"),
                                                            counts.get("total", "?"))
    if outcome == "success":
        return "success inferred: %s; the backup service gives no per-VM result and no recovery point" % seen
    if outcome == "failed":
        return "failed: %s; the backup service gives no per-VM result" % seen
    return ("outcome unknown: %s, and the backup service does not say which VMs (no per-VM result): check this VM in "
            "its backup reports" % seen)


def not_captured_disks(record, sla):
    """Labels of the VM's disks that a backup with ``sla`` does not capture.

    Independent and RDM disks are never captured by snapshots. When ``sla`` is a disk-level policy of the VM only,
    the disks that do not carry it are not part of the backup either.
    """
    vm_level = sla in (record.get("policies") or [])
    return [disk["label"] for disk in record.get("disks") or []
            if disk.get("mode") in DISK_MODES_NOT_CAPTURED or not (vm_level or sla in (disk.get("policies") or []))]


def recovery_point(version):
    """A recovery point as the module returns it: id, time and ISO time; None without one."""
    if not version:
        return None
    when = spp_answers.protection_time(version) or None
    return {"id": str(version.get("id")), "time": when, "time_iso": iso_time(when)}


def failure_message(vms, sessions):
    """The message of a run where VMs failed: each failed VM with its session and ERROR log line(s)."""
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


def timeout_message(timeout, running, vms, where="SPP"):
    """The message of a wait that ran out: what is still running, and which session ids to follow (``where``: the
    backup service, as the message names it)."""
    described = "; ".join(spp_answers.describe_session(session, session_id, service=where)
                          for session_id, session in running)
    ids = ", ".join(session_id for session_id, _session in running)
    waiting = sorted(vm["name"] for vm in vms if vm["outcome"] == "running")
    text = ("stopped waiting after %s s, but the backup is not finished and has not failed: %s. The job keeps running "
            "on the server: follow session %s in %s, or run this task again later (with skip_if_backed_up_within, "
            "the VMs backed up by then are skipped). Still running for: %s."
            % (timeout, described, ids, where, ", ".join(waiting)))
    failed = [vm["name"] for vm in vms if vm["outcome"] == "failed"]
    if failed:
        text += " Already failed in a session that ended: %s." % ", ".join(failed)
    return text
