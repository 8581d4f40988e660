# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What coverage means: the compliance flags, their reasons and fixes, the VM counts, the job outcomes. Pure.

Considered private: only this collection may import it. ``services/coverage.py`` reads both servers and hands the
joined inventory to these functions; the coverage report (``pure/coverage_report.py``) and the inventory plugin use
the same constants and counts, so a flag means the same thing everywhere. The newest good recovery point of each VM
comes from ``spp/listing.py`` ``last_backups`` (the VM listing when it carries ``protectionInfo.protectionTime``, else
the search of VMs with recovery points and each such VM's ``latestversion``, spp-api.md sections 2.2, 6 and 14.15);
each record says which in ``last_backup_source``, and the summary counts them in ``last_backup_sources``.
"""

from __future__ import annotations

import datetime

from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure import inventory_join
from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import InvalidRequest, VmBackupError
from ansible_collections.sovereign.vm_backup.plugins.module_utils._time import iso_time, parse_duration
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import answers as spp_answers


# Report order, from "the backup server cannot even see it" to consequences.
FLAGS = ("unknown_to_backup", "unprotected", "held_only", "stale", "blocked_first_backup", "partially_covered",
         "violation")
INCLUDE_CHOICES = ("disks", "nics", "jobs")
# What a coverage report needs. NICs say nothing about protection and cost a sixth of the result: on request only.
DEFAULT_INCLUDE = ("disks", "jobs")
# Flags that need data only some ``include`` values read.
FLAG_NEEDS = {"partially_covered": "disks"}
FIXES = {
    "unknown_to_backup": "rescan the backup server (backup_inventory or vm_backup_policy with rescan: true)",
    "unprotected": "assign a policy that is not held (vm_backup_policy)",
    "held_only": "release a policy (backup_sla_policy with held: false) or assign one that is not held",
    "stale": "run a backup now (vm_backup_run) and check why the scheduled ones fail",
    "blocked_first_backup": "delete or consolidate the VM's snapshots, then back it up",
    "partially_covered": "make the disks persistent, or give every disk a policy (or the VM a VM-level policy)",
    "violation": "assign a policy that is not held, or power the VM off",
}
OUTCOMES = ("successful", "failed", "partial", "running")
_STATUS_OUTCOME = {
    "COMPLETED": "successful",
    "PARTIAL": "partial",
    "FAILED": "failed", "CANCELED": "failed", "ABORTED": "failed", "STOPPED": "failed",
}
DAY_MS = 86400 * 1000


class CoverageGateFailed(VmBackupError):
    """``fail_on`` matched: some VMs carry a flag the caller does not accept. Lists every VM with its fix."""

    def __init__(self, offenders, summary):
        """``offenders``: ``{flag: [(vm name, reason), ...]}`` for the flags of ``fail_on`` that matched."""
        names = sorted({name for items in offenders.values() for name, _reason in items})
        lines = ["%d VM(s) fail the coverage gate (%s):" % (len(names), ", ".join(sorted(offenders)))]
        for flag in FLAGS:
            for name, reason in offenders.get(flag, ()):
                lines.append("- [%s] %s: %s Fix: %s" % (flag, name, reason, FIXES[flag]))
        super().__init__("\n".join(lines), failed_vms=names,
                         offenders={flag: [name for name, _reason in items] for flag, items in offenders.items()},
                         summary=summary)


def parse_rpo(text):
    """Seconds of an RPO written like ``24h``, ``90m``, ``7d``, ``1d12h`` or ``1w``. Pure."""
    return parse_duration(text, "rpo")


def _age_text(seconds):
    hours = seconds / 3600.0
    return "%d h" % hours if hours < 72 else "%d days" % (hours // 24)


def latest_protection(last_backup):
    """``(epoch ms, SLA name, source)`` of a VM's newest good recovery point, from one entry of ``last_backups``
    (``{time, policy, source}``); ``(None, None, None)`` without an entry. Pure."""
    if not last_backup:
        return None, None, None
    moment = last_backup.get("time")
    return moment, last_backup.get("policy") if moment is not None else None, last_backup.get("source")


def validate_include(include, fail_on=()):
    """The ``include`` values as a set, checked against ``fail_on``: a gate on a flag needs the data behind it."""
    wanted = set(include or ())
    unknown = sorted(wanted - set(INCLUDE_CHOICES))
    if unknown:
        raise InvalidRequest("unknown include value(s) %s; choose from %s"
                             % (", ".join(unknown), ", ".join(INCLUDE_CHOICES)))
    bad_flags = sorted(set(fail_on or ()) - set(FLAGS))
    if bad_flags:
        raise InvalidRequest("unknown fail_on flag(s) %s; choose from %s" % (", ".join(bad_flags), ", ".join(FLAGS)))
    blind = sorted(flag for flag in fail_on or () if FLAG_NEEDS.get(flag) and FLAG_NEEDS[flag] not in wanted)
    if blind:
        raise InvalidRequest("fail_on %s needs include: %s, which this task leaves out"
                             % (", ".join(blind), ", ".join(sorted({FLAG_NEEDS[f] for f in blind}))))
    return wanted


def assess_vm(record, held, last_backup_ms, now_ms, rpo_seconds, with_disks=True):
    """``(flags, reasons, held_policies)`` for one joined inventory record. Pure.

    ``held``: policy name -> held flag for every policy the server has; a policy missing from it no longer exists
    and protects nothing, like a held one. ``last_backup_ms``: newest good recovery point, or None.
    """
    reasons = {}
    vm_policies = list(record.get("policies") or [])
    disks = record.get("disks") or []
    disk_policies = inventory_join.disk_policies(record)
    assigned = sorted(set(vm_policies) | set(disk_policies))
    held_policies = [name for name in assigned if held.get(name, True)]
    powered_on = record.get("power_state") == "poweredOn"

    if not record.get("known_to_backup"):
        reasons["unknown_to_backup"] = "vCenter has it, but the backup server has never inventoried it."
    if not assigned:
        reasons["unprotected"] = "no backup policy at VM or disk level."
    elif len(held_policies) == len(assigned):
        reasons["held_only"] = "every policy is held or no longer exists (%s), so no backup is scheduled." % (
            ", ".join(held_policies))
    if assigned and record.get("known_to_backup"):
        if last_backup_ms is None:
            reasons["stale"] = "never backed up, although %s is assigned; the RPO is %s." % (
                ", ".join(assigned), _age_text(rpo_seconds))
        else:
            age = (now_ms - last_backup_ms) / 1000.0
            if age > rpo_seconds:
                reasons["stale"] = "last good backup %s is %s old, older than the RPO of %s." % (
                    iso_time(last_backup_ms), _age_text(age), _age_text(rpo_seconds))
    if record.get("has_snapshots") and last_backup_ms is None:
        reasons["blocked_first_backup"] = ("has vSphere snapshots and has never been backed up: its first backup "
                                           "fails until they are removed.")
    if with_disks:
        uncaptured = {"independent": "independent", "rdm": "an RDM"}
        gaps = ["%s is %s: snapshots do not capture it" % (disk.get("label"), uncaptured[disk.get("mode")])
                for disk in disks if disk.get("mode") in uncaptured]
        if disk_policies and not vm_policies:
            gaps += ["%s has no policy while the VM is protected at disk level" % disk.get("label")
                     for disk in disks if not disk.get("policies")]
        if gaps:
            reasons["partially_covered"] = "; ".join(gaps) + "."
    if powered_on and ("unprotected" in reasons or "held_only" in reasons):
        reasons["violation"] = "powered on while %s: SecNumCloud requires a policy that is not held." % (
            "unprotected" if "unprotected" in reasons else "every policy is held")
    flags = [flag for flag in FLAGS if flag in reasons]
    return flags, reasons, held_policies


def session_outcome(session):
    """``successful``, ``failed``, ``partial`` or ``running`` for a job session (anything not finished runs)."""
    return _STATUS_OUTCOME.get(spp_answers.session_status(session), "running")


def summarize_jobs(sessions, now_ms, days=7):
    """Outcomes of the backup job sessions started in the last 24 hours, the last ``days`` days, and per UTC day
    (``days`` entries, oldest first, the last being today). Pure."""
    empty = dict.fromkeys(OUTCOMES, 0)
    today = datetime.datetime.fromtimestamp(now_ms / 1000.0, tz=datetime.timezone.utc).date()
    dates = [(today - datetime.timedelta(days=offset)).isoformat() for offset in range(days - 1, -1, -1)]
    per_day = {date: dict(empty) for date in dates}
    last_24h, last_week = dict(empty), dict(empty)
    for session in sessions:
        start = session.get("start")
        if not start or not spp_answers.is_backup_session(session):
            continue
        outcome = session_outcome(session)
        if now_ms - int(start) <= DAY_MS:
            last_24h[outcome] += 1
        if now_ms - int(start) <= days * DAY_MS:
            last_week[outcome] += 1
        day = iso_time(start)[:10]
        if day in per_day:
            per_day[day][outcome] += 1
    for counts in (last_24h, last_week):
        counts["total"] = sum(counts[outcome] for outcome in OUTCOMES)
    return {"last_24h": last_24h, "last_7d": last_week,
            "per_day": [dict(per_day[date], date=date) for date in dates]}


def assess(vms, vcenter_only, last_backups, held, now_ms, rpo_seconds, include):
    """Add the compliance keys (``disk_policies``, ``held_policies``, ``last_backup``, ``last_backup_policy``,
    ``last_backup_source``, ``flags``, ``reasons``, ``compliant``) to every record of ``vms`` and ``vcenter_only``, in
    place; ``disks`` and ``nics`` become None when ``include`` leaves them out. ``last_backups``: backup server VM id ->
    ``{time, policy, source}`` (``spp/listing.py``). Pure apart from that mutation."""
    with_disks = "disks" in include
    for record in list(vms) + list(vcenter_only):
        last_ms, last_policy, source = latest_protection(last_backups.get(record.get("spp_id")))
        flags, reasons, held_policies = assess_vm(record, held, last_ms, now_ms, rpo_seconds, with_disks)
        record["disk_policies"] = inventory_join.disk_policies(record)  # kept: the disks may be dropped just below
        if not with_disks:
            record["disks"] = None
        if "nics" not in include:
            record["nics"] = None
        record.pop("spp_site_id", None)  # the planner's business (disk site rule), not the report's
        record.update(held_policies=held_policies, last_backup=iso_time(last_ms), last_backup_policy=last_policy,
                      last_backup_source=source, flags=flags, reasons=reasons, compliant=not flags)


def count_vms(records, backup_only, held, unevaluated=()):
    """The VM counts of the summary over assessed ``records`` (known to the backup server or not). Pure.

    ``held``: policy name -> held, for every policy of the server (each gets a ``per_policy`` entry, used or not);
    ``unevaluated``: flags whose data was not read, counted as None. ``backup_only``: how many VMs only the backup
    server knows. The coverage report recounts a filtered selection with it.
    """
    per_policy = {name: {"vms": 0, "held": bool(is_held)} for name, is_held in held.items()}
    disk_only = without = known = 0
    for record in records:
        disk_policies = set(record.get("disk_policies") or [])
        for name in set(record.get("policies") or []) | disk_policies:
            per_policy.setdefault(name, {"vms": 0, "held": True})["vms"] += 1  # a policy deleted since assignment
        if not record.get("policies"):
            disk_only += bool(disk_policies)
            without += not disk_policies
        known += bool(record.get("known_to_backup"))
    compliant = sum(1 for record in records if not record.get("flags"))
    sources = {}
    for record in records:
        if record.get("last_backup_source"):
            sources[record["last_backup_source"]] = sources.get(record["last_backup_source"], 0) + 1
    return {
        "vms": len(records),
        "known_to_backup": known,
        "unknown_to_backup": len(records) - known,
        "backup_only": backup_only,
        "compliant": compliant,
        "non_compliant": len(records) - compliant,
        "with_vm_policy": len(records) - disk_only - without,
        "with_disk_policy_only": disk_only,
        "without_policy": without,
        "flags": {flag: None if flag in unevaluated else sum(1 for r in records if flag in (r.get("flags") or ()))
                  for flag in FLAGS},
        "per_policy": dict(sorted(per_policy.items())),
        # Where the last backup times were read (the coverage report recounts them over its selection too).
        "last_backup_sources": dict(sorted(sources.items())),
    }


def summarize(vms, vcenter_only, spp_only, held, include, rpo, rpo_seconds, now_ms, sessions=None):
    """The report's ``summary`` (see the module's RETURN). Pure."""
    unevaluated = [flag for flag, needs in FLAG_NEEDS.items() if needs not in include]
    summary = count_vms(list(vms) + list(vcenter_only), len(spp_only), held, unevaluated)
    summary.update(
        rpo=rpo,
        rpo_seconds=rpo_seconds,
        generated_at=iso_time(now_ms),
        jobs=summarize_jobs(sessions or [], now_ms) if "jobs" in include else None,
    )
    return summary


def gate(vms, vcenter_only, fail_on, summary):
    """Raise ``CoverageGateFailed`` when a VM carries a flag of ``fail_on``. Pure."""
    if not fail_on:
        return  # no gate: no need to sort every record
    offenders = {}
    for record in sorted(list(vms) + list(vcenter_only), key=lambda r: (r.get("name") or "", r.get("moref") or "")):
        for flag in fail_on or ():
            if flag in record["flags"]:
                offenders.setdefault(flag, []).append((record["name"], record["reasons"][flag]))
    if offenders:
        raise CoverageGateFailed(offenders, summary)
