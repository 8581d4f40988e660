# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Service behind ``backup_sla_policy``: converge one SLA policy and the hold state of its job.

Considered private: only this collection may import it. The plan is computed in both modes; check mode skips only
the writes. The writes go through the backup service's policy administration (``BackupService.policy_admin``,
capability ``sla_policy_write``; hold and release: ``hold_release``).

A backup service without policy writes (the Cloud Temple console, where a new policy is a request to support:
docs/cloudtemple-api.md sections 6 and 14) is read-only (``_read_only``): ``state: present`` of an existing policy whose
given fields match what it holds (or given by name alone) is ``ok``; ``held`` is compared with the policy's state (its
job's status, inferred on the console, §16.6). A creation, a change, a deletion, a hold or a release fails after the
reads and before any write, with the backup service's own words on where to ask (its ``REFUSALS``). Check mode is the
same.

Hold and release: the public record names no endpoint for them (spp-api.md 5.7 and 13.4). The job's ``hold`` and
``release`` links are used when the job shows them (decision 14.7); a job that shows none makes the task fail before
any write, with the links it does show (14.17). The result's ``held_from`` names the job field the held state was read
from (``answers.held_state``: ``status`` HELD, the decision of 14.7).

An update replaces the whole definition (spp-api.md 3.3) and takes no condition, so it sits between two reads of the
policy (``_update_checked``, compared in ``pure.concurrent_change``): a policy changed since it was read fails the task
before the PUT, and an update whose values another writer replaced fails it after.
"""

from __future__ import annotations

from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure import concurrent_change
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure import sla_definition
from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import (
    ConcurrentChange,
    InvalidRequest,
    PolicyInUse,
    Unsupported,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp.answers import held_state


def job_name(policy_name):
    """SPP keeps one job per SLA policy and workload, named ``vmware_<policy>`` (spp-api.md section 4)."""
    return "vmware_%s" % policy_name


def view(definition, job):
    """The managed fields of a policy, as the module's diff and return value show them."""
    if definition is None:
        return {}
    subpolicy = sla_definition.backup_subpolicy(definition) or {}
    return {
        "name": definition.get("name"),
        "id": definition.get("id"),
        "description": definition.get("description") or "",
        "site": subpolicy.get("site"),
        "encryption": bool(subpolicy.get("useEncryption")),
        "retention": subpolicy.get("retention"),
        "trigger": subpolicy.get("trigger"),
        "held": bool(job and held_state(job)[0]),
        "held_from": held_state(job)[1] if job else None,
        "job": job.get("name") if job else None,
    }


# The names of ``sla_definition.changed_fields`` as ``view`` shows them.
_VIEW_NAMES = {"useEncryption": "encryption"}


def _definition_view(definition):
    """The managed fields of a definition (``concurrent_change.DEFINITION_VIEW``), for the concurrent change messages."""
    shown = view(definition, None)
    return {field: shown.get(field) for field in concurrent_change.DEFINITION_VIEW}


def _read_policy(backup, policy_id):
    """The policy with this id as the listing shows it (the plan read it there too), or None when it is gone."""
    return next((p for p in backup.sla_policies() if p.get("id") == policy_id), None)


def _update_checked(backup, admin, current, definition, description, wanted):
    """PUT ``definition`` over ``current``, between two reads of the policy: one listing before (the policy changed
    since ``current`` was read: ``ConcurrentChange``, nothing written) and one after (a field this task set no longer
    has the value it wrote: ``ConcurrentChange``). Returns ``(the server's answer, warnings)``."""
    name = current.get("name")
    fresh = _read_policy(backup, current["id"])
    moved = concurrent_change.sla_changed_since_read(current, fresh)
    if moved:
        raise ConcurrentChange(
            concurrent_change.sla_before_write_message(name, _definition_view(current),
                                                       _definition_view(fresh) if fresh else None),
            policy=name, fields=moved, changed=False)
    answer = admin.update(current["id"], definition)
    now = _read_policy(backup, current["id"])
    lost = sla_definition.changed_fields(now, description=description, subpolicy=wanted) if now else ["(deleted)"]
    if lost:
        fields = [_VIEW_NAMES.get(field, field) for field in lost]
        raise ConcurrentChange(
            concurrent_change.sla_after_write_message(name, fields, _definition_view(definition),
                                                      _definition_view(now) if now else None),
            policy=name, fields=fields, changed=True)
    written = answer if isinstance(answer, dict) and answer.get("spec") else definition
    if _definition_view(written) != _definition_view(now):
        return answer, ["another writer changed SLA policy %s right after this task updated it; the values this task "
                        "set are kept. Plays that change the same policy at the same time must be serialised." % name]
    return answer, []


# How the read-only view says where ``held`` was read on a backup service without policy writes.
HELD_FROM_JOB_STATUS = "job status (inferred: the policy object has no status)"


def _refused(backup, capability, operation):
    """``Unsupported`` for ``operation`` (what this task would do, in words), with the backup service's reason."""
    return Unsupported(operation, backup.label, backup.REFUSALS.get(capability) or "it has no such operation",
                       capability=capability, backend=backup.kind, changed=False)


def _shown(field, value):
    return "%s %s" % (_VIEW_NAMES.get(field, field), "(none)" if value in (None, "") else value)


def _read_only(backup, name, state, description, wanted, held):
    """``ensure_sla_policy`` on a backup service that cannot write policies: the result of a policy that already is
    as asked (``changed`` false), or ``Unsupported`` naming what would have to change, after the reads."""
    current = next((p for p in backup.sla_policies() if p.get("name") == name), None)
    if state == "absent":
        if current is None:
            return {"changed": False, "policy": {}, "actions": [], "diff": {"before": {}, "after": {}}}
        raise _refused(backup, "sla_policy_write", "deleting SLA policy %s" % name)
    if current is None:
        known = ", ".join(sorted(str(p.get("name")) for p in backup.sla_policies())) or "none"
        raise _refused(backup, "sla_policy_write", "creating SLA policy %s (%s has none of that name; it has: %s)"
                       % (name, backup.label, known))
    job = backup.policy_jobs().get(name)
    shown = dict(view(current, None), held=bool(job and job["held"]), held_from=HELD_FROM_JOB_STATUS if job else None,
                 job=job["job"] if job else None)
    changed = sla_definition.changed_fields(current, description=description, subpolicy=wanted)
    if changed:
        subpolicy = sla_definition.backup_subpolicy(current) or {}
        holds = "; ".join(_shown(field, current.get("description") if field == "description" else subpolicy.get(field))
                          for field in changed)
        raise _refused(backup, "sla_policy_write", "changing SLA policy %s (%s differ%s from what it holds: %s)"
                       % (name, ", ".join(_VIEW_NAMES.get(field, field) for field in changed),
                          "s" if len(changed) == 1 else "", holds))
    if held is not None and shown["held"] != held:
        state_now = ("held: its job %s is HELD" % shown["job"] if shown["held"] else
                     "not held: its job %s is not HELD" % shown["job"] if shown["job"] else
                     "not held: it has no backup job yet")
        raise _refused(backup, "hold_release", "%s SLA policy %s (it is %s)" % (
            "holding" if held else "releasing", name, state_now))
    return {"changed": False, "policy": shown, "actions": [], "diff": {"before": shown, "after": shown}}


def ensure_sla_policy(backup, name, state="present", description=None, site=None, retention=None, schedule=None,
                      encryption=None, held=None, check_mode=False):
    """Converge one policy. Returns the module result: ``changed``, ``policy``, ``actions`` and ``diff``.

    ``backup``: a ``BackupService`` (``seams/``). One that offers ``sla_policy_write`` (and ``hold_release`` when
    ``held`` is given) converges the policy; ``Unsupported`` before any call when it offers the one but not the other.
    One without ``sla_policy_write`` is read (``_read_only``)."""
    try:
        wanted = sla_definition.desired_subpolicy(site=site, retention=retention, schedule=schedule, encryption=encryption)
    except sla_definition.InvalidDefinition as error:
        raise InvalidRequest(str(error)) from None
    if backup.offers("sla_policy_write") and held is not None:
        backup.require("hold_release")
    if state != "absent" and site is not None:
        unknown = sla_definition.site_problem(site, backup.sites())
        if unknown:
            raise InvalidRequest(unknown + "; nothing was changed", site=site)
    if not backup.offers("sla_policy_write"):
        return _read_only(backup, name, state, description, wanted, held)
    admin = backup.policy_admin()
    current = next((p for p in backup.sla_policies() if p.get("name") == name), None)
    job = admin.job(job_name(name)) if current else None
    before = view(current, job)
    actions, warnings = [], []

    if state == "absent":
        if current is None:
            return {"changed": False, "policy": {}, "actions": [], "diff": {"before": {}, "after": {}}}
        vms, disks = admin.resources_holding(name)
        if vms or disks:
            raise PolicyInUse(name, vms, disks)
        actions.append("delete")
        if not check_mode:
            admin.delete(current["id"])
        return {"changed": True, "policy": {}, "actions": actions, "diff": {"before": before, "after": {}}}

    if held is not None and bool(before.get("held")) != held:
        # Checked before any write: a refused hold must not leave a created or updated policy behind.
        if job is None:
            raise InvalidRequest(
                "policy %s has no backup job yet, because no VM or disk is assigned to it: assign it first, then "
                "set held. (The backup server creates the job %s with the first assignment.) Nothing was changed."
                % (name, job_name(name)))
        refused = admin.missing_action(job, "hold" if held else "release",
                                       note="Nothing was changed: policy %s is left as it was." % name)
        if refused is not None:
            raise refused
    if current is None:
        try:
            definition = sla_definition.new_definition(name, description, wanted)
        except sla_definition.InvalidDefinition as error:
            raise InvalidRequest(str(error)) from None
        actions.append("create")
        after_definition = definition if check_mode else admin.create(definition)
    else:
        after_definition = current
        changed = sla_definition.changed_fields(current, description=description, subpolicy=wanted)
        if changed:
            actions.append("update: %s" % ", ".join(changed))
            definition = sla_definition.updated_definition(current, description=description, subpolicy=wanted)
            if check_mode:
                after_definition = dict(definition, id=current["id"])
            else:
                after_definition, warnings = _update_checked(backup, admin, current, definition, description, wanted)

    after_job = job
    if held is not None and bool(before.get("held")) != held:
        actions.append("hold" if held else "release")
        if check_mode:
            after_job = dict(job, status="HELD" if held else "IDLE")
        else:
            after_job = (admin.hold if held else admin.release)(job)

    after = view(after_definition, after_job)
    result = {"changed": bool(actions), "policy": after, "actions": actions, "diff": {"before": before, "after": after}}
    if warnings:
        result["warnings"] = warnings
    return result
