# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Service behind ``vm_backup_policy``: read once, plan, check every rule, then write in batches.

Considered private: only this collection may import it. Reads, through the two seams: one bulk listing of vCenter's
VMs, the backup service's joined view (with SPP: one paged listing each of VMs and vdisks), its SLA policies, jobs and
sites (plus the tag associations when a tag selector is used, and the current options of the VMs whose options the
task sets). Writes: one assignment call per distinct resulting policy set (SPP: ``applySLAPolicies``) and one options
call per distinct options dict (``applyOptions``), between two more reads of the written resources' policy sets that
catch a concurrent writer (``_write_batches``). Check mode skips only the writes and those two reads. A backend
without per-VM backup options, or an inventory without folders, fails before any call when the task needs them.

A backup service without a listing of its VMs (capability ``vm_listing``: the Cloud Temple console reads one VM at a
time, docs/cloudtemple-api.md section 8.1) is read for the VMs of the task only: the VM inventory is listed first,
the selectors are resolved on that listing (a VM vCenter does not have fails there), and the backup service reads
those VMs, plus the scope's members when a scope is given. A backup service that names no VM's site (capability
``vm_sites``) checks the disk site rule itself: the rule is left to it, the result warns which disks it concerns, and
the disks are written first, one call each (``assignment_plan.write_calls``), so that a refusal leaves no VM-level
change behind. A write that fails after earlier ones were applied, whatever the failure (an HTTP error, a failed or
timed-out activity, a lost answer), is a ``PartialApply`` that says how many were.

``policies: []`` with ``state: present`` changes nothing unless ``purge`` (the set becomes empty: every policy is
removed) or ``scope`` (nothing is declared for the VM) gives it a meaning; it is refused before any call otherwise
(``empty_policy_problems``), as a user who wrote it most likely meant a removal.
"""

from __future__ import annotations

import fnmatch

from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import joined_inventory
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure import assignment_plan
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure import concurrent_change
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure import rules
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.vm_resolver import VmIndex, ambiguous_message
from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import (
    AmbiguousResult,
    ApiError,
    ConcurrentChange,
    ConnectionFailure,
    InvalidRequest,
    PartialApply,
    TaskFailed,
    WaitTimeout,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.sla_definition import backup_subpolicy

SELECTORS = ("vm", "folder", "name_pattern", "tag")
# The module's option names -> SPP's backup option keys (spp-api.md section 8).
OPTION_KEYS = {"quiesce": "makeApplicationConsistent", "fallback_to_crash_consistent": "fallbackToUnquiescedSnapshot"}


def _in_folder(record_folder, folder):
    folder = folder.rstrip("/")
    return record_folder == folder or (record_folder or "").startswith(folder + "/")


def select_vms(item, records, index, tagged):
    """Morefs that an assignment item designates; all its selectors must match (AND). Pure.

    ``index`` is a ``VmIndex`` of ``records``: a name shared by several VMs is an error listing them.
    """
    chosen = None
    if item.get("vm"):
        named = index.candidates(item["vm"])
        if len(named) > 1:
            raise InvalidRequest(ambiguous_message(item["vm"], named), candidates=[r["moref"] for r in named])
        chosen = {record["moref"] for record in named}
    for key, matches in (("folder", lambda r, v: _in_folder(r.get("folder"), v)),
                         ("name_pattern", lambda r, v: fnmatch.fnmatchcase(r["name"], v)),
                         ("tag", lambda r, v: r["moref"] in tagged.get(v, ()))):
        if item.get(key):
            found = {r["moref"] for r in records if matches(r, item[key])}
            chosen = found if chosen is None else chosen & found
    return chosen or set()


def _origin(index, item):
    selectors = ", ".join("%s=%s" % (key, item[key]) for key in SELECTORS if item.get(key))
    return "assignments[%d] (%s)" % (index, selectors)


def empty_policy_problems(items, state="present", purge=False, scope=None, option_defaults=None):
    """The assignment items that list no policy where that would silently change nothing: ``state: present`` without
    ``purge`` (which makes the set empty) and without ``scope`` (where it declares nothing for the VMs), and no
    backup option set for them (an item may set options only). Pure; an ``InvalidRequest`` naming them all, before
    any call, or None."""
    if state != "present" or purge or scope is not None:
        return None
    task_options = any(value is not None for value in (option_defaults or {}).values())
    empty = [_origin(position, item) for position, item in enumerate(items)
             if not item.get("policies") and any(item.get(key) for key in SELECTORS) and not task_options
             and not any(item.get(key) is not None for key in OPTION_KEYS)]
    if not empty:
        return None
    return InvalidRequest(
        "%s list%s no policy: with state: present that adds nothing, so nothing would change. To remove policies, "
        "list them with state: absent; to remove every policy, set purge: true (the rules still apply: a powered-on "
        "VM keeps its last policy). Nothing was changed" % (", ".join(empty), "s" if len(empty) == 1 else ""),
        items=empty)


def expand_assignments(items, records, tagged):
    """Assignment items -> planner intents. Unknown VMs and empty selectors are errors, listed all at once. Pure."""
    index = VmIndex(records, skip_templates=False)
    intents, problems = [], []
    for position, item in enumerate(items):
        if not any(item.get(key) for key in SELECTORS):
            problems.append("%s names no VM: give vm, folder, name_pattern or tag" % _origin(position, item))
            continue
        try:
            morefs = select_vms(item, records, index, tagged)
        except InvalidRequest as error:  # an ambiguous name: listed with the other problems
            problems.append("%s: %s" % (_origin(position, item), error.message))
            continue
        if not morefs:
            what = "vCenter has no VM %s" % item["vm"] if item.get("vm") else "the selectors match no VM"
            problems.append("%s: %s" % (_origin(position, item), what))
            continue
        for moref in sorted(morefs):
            intents.append({"vm": moref, "disk": item.get("disk"), "policies": list(item.get("policies") or []),
                            "origin": _origin(position, item)})
    if problems:
        raise InvalidRequest("%d assignment(s) cannot be resolved; nothing was changed:\n- %s"
                             % (len(problems), "\n- ".join(problems)), problems=problems)
    return intents


def scope_members(scope, records):
    """Morefs under authoritative management: ``all`` (the whole vCenter) or a folder path and everything below."""
    if scope is None:
        return None
    if scope == "all":
        return {r["moref"] for r in records}
    return {r["moref"] for r in records if _in_folder(r.get("folder"), scope)}


PENDING_RESCAN = "(known after the rescan)"


def build_current(records, policies, held, sites, assume_known=False):
    """The planner's ``current`` from joined inventory records (see ``pure.assignment_plan``). Pure.

    ``held``: the names of the policies whose job is held (``BackupService.policy_jobs``).

    ``assume_known`` (check mode with ``rescan``) plans VMs only vCenter knows as if the rescan had run.
    """
    site_names = {site.get("id"): site.get("name") for site in sites}
    vms = {}
    for record in records:
        pending = PENDING_RESCAN if assume_known and not record.get("known_to_backup") else None
        vms[record["moref"]] = {
            "name": record["name"],
            "moref": record["moref"],
            "instance_uuid": record.get("instance_uuid"),
            "spp_id": record.get("spp_id") or pending,
            "power_state": record.get("power_state"),
            "site": site_names.get(record.get("spp_site_id")),
            "policies": list(record.get("policies") or []),
            "disks": {d["label"]: {"spp_id": d.get("spp_id") or pending, "policies": list(d.get("policies") or [])}
                      for d in record.get("disks", [])},
            "known_to_backup": bool(record.get("known_to_backup") or pending),
        }
    catalogue = {}
    for policy in policies:
        subpolicy = backup_subpolicy(policy) or {}
        catalogue[policy["name"]] = {"id": policy.get("id"), "site": subpolicy.get("site"),
                                     "held": policy["name"] in held}
    return {"vms": vms, "policies": catalogue}


def desired_options(items, records, tagged, defaults):
    """Per-VM SPP options wanted by the task: task-level values, overridden per assignment item. Pure."""
    index = VmIndex(records, skip_templates=False)
    wanted = {}
    for item in items:
        merged = {OPTION_KEYS[k]: v for k, v in defaults.items() if v is not None}
        merged.update({OPTION_KEYS[k]: item[k] for k in OPTION_KEYS if item.get(k) is not None})
        if not merged:
            continue
        for moref in select_vms(item, records, index, tagged):
            wanted.setdefault(moref, {}).update(merged)
    return wanted


def _resource(current, moref, disk):
    """``(vm_id, disk_id)``: the backup service's ids of a VM (``disk`` None) or of one of its disks."""
    vm = current["vms"][moref]
    return vm["spp_id"], None if disk is None else vm["disks"][disk]["spp_id"]


# What a write may fail with after earlier writes of the run were applied: an HTTP error or a lost connection (SPP,
# the console), a failed or timed-out activity, or an answer lost after the request was sent (the console).
WRITE_FAILURES = (ApiError, ConnectionFailure, TaskFailed, WaitTimeout, AmbiguousResult)


def _send(backup, calls, current):
    """Send the write calls; on a failure part-way, raise PartialApply saying what was and was not applied."""
    for done, (kind, batch) in enumerate(calls):
        try:
            if kind == "assign":
                backup.assign([_resource(current, item["vm"], item["disk"]) for item in batch["resources"]],
                              batch["policies"])
            else:
                backup.set_options([current["vms"][moref]["spp_id"] for moref in batch["vms"]], batch["options"])
        except WRITE_FAILURES as error:
            if done == 0:
                raise
            raise PartialApply(done, len(calls), error) from error


def _write_batches(backup, plan, options_plan, current, page_size=1000, disks_first=False):
    """Send the writes, between two reads of the policy sets they replace (``pure.concurrent_change``): just before,
    a set changed since the plan fails the task with nothing written; just after, a set that lost this task's change
    fails it. Returns the warnings (a set changed again after the write, this task's change kept).

    The writes take no condition (SPP's ``applySLAPolicies``, the console's assignment), so this is the only guard
    against a lost update. The reads (``BackupService.policy_sets``, in bulk) are made only when there is an
    assignment to write: a converged run reads nothing more. Options are not read back: there is no bulk read of
    them, and an options write sets values, it does not replace a set."""
    changes = plan["changes"]
    calls = assignment_plan.write_calls(plan, options_plan, disks_first=disks_first)
    if not changes:
        _send(backup, calls, current)
        return []
    resources = {(change["vm"], change["disk"]): _resource(current, change["vm"], change["disk"]) for change in changes}

    def server_sets():
        found = backup.policy_sets(list(resources.values()), page_size=page_size)
        return {key: found[resource] for key, resource in resources.items()}

    stale = concurrent_change.changed_since_read(changes, server_sets())
    if stale:
        raise ConcurrentChange(concurrent_change.before_write_message(stale), conflicts=stale, changed=False)
    _send(backup, calls, current)
    now = server_sets()
    lost = concurrent_change.lost_after_write(changes, now)
    if lost:
        raise ConcurrentChange(concurrent_change.after_write_message(lost, len(calls)), conflicts=lost, changed=True)
    rewritten = concurrent_change.rewritten_after_write(changes, now)
    return [concurrent_change.rewritten_warning(rewritten)] if rewritten else []


def with_planned_policies(policies, planned):
    """In check mode, policies that an earlier task of the play would create do not exist yet: plan them. Pure."""
    existing = {policy.get("name") for policy in policies}
    extra = [{"name": p["name"], "id": None,
              "spec": {"subpolicy": [{"type": "REPLICATION", "software": True, "site": p.get("site")}]}}
             for p in planned if p.get("name") not in existing and p.get("state", "present") != "absent"]
    return list(policies) + extra


def _sets_options(items, option_defaults):
    """Whether the task sets a per-VM backup option anywhere (task level or in an item). Pure."""
    return any(value is not None for value in option_defaults.values()) or any(
        item.get(key) is not None for item in items for key in OPTION_KEYS)


def _uses_folders(items, scope):
    """Whether the task selects VMs by folder (a folder selector, or a scope other than ``all``). Pure."""
    return any(item.get("folder") for item in items) or scope not in (None, "all")


def converge(backup, inventory, items, state="present", purge=False, scope=None, purge_scope=False,
             option_defaults=None, enforce=None, rescan=False, rescan_timeout=600, check_mode=False, progress=None,
             planned_policies=()):
    """Converge the assignments; returns the module result (``changed``, ``changes``, ``drift``, ``diff`` ...).

    ``backup``: a ``BackupService``; ``inventory``: a ``VmInventory`` (``seams/``)."""
    option_defaults = option_defaults or {}
    empty = empty_policy_problems(items, state, purge, scope, option_defaults)
    if empty:
        raise empty
    if state == "present" and _sets_options(items, option_defaults):
        backup.require("backup_options")
    if _uses_folders(items, scope):
        inventory.require("folders")
    names_disks = any(item.get("disk") for item in items)
    with_disks = names_disks or scope is not None
    wanted_tags = sorted({item["tag"] for item in items if item.get("tag")})
    tagged = None
    if backup.offers("vm_listing"):
        reader = joined_inventory.InventoryReader(backup, inventory, with_disks=with_disks)
    else:
        # The backup service reads one VM at a time: resolve the selectors on the VM inventory's listing first, and
        # have it read the VMs of the task (and of the scope) only.
        listed = inventory.list_vms(devices=with_disks)
        tagged = inventory.tag_members(wanted_tags) if wanted_tags else {}
        wanted = {intent["vm"] for intent in expand_assignments(items, listed, tagged)}
        wanted |= scope_members(scope, listed) or set()
        reader = joined_inventory.InventoryReader(backup, inventory, with_disks=with_disks, vcenter_vms=listed,
                                                  only=wanted)

    first = joined_inventory.collect_inventory(backup, inventory, reader=reader, check_mode=True)
    records = first["vms"] + first["vcenter_only"]
    if tagged is None:
        tagged = inventory.tag_members(wanted_tags) if wanted_tags else {}
    intents = expand_assignments(items, records, tagged)

    rescanned = False
    only_in_vcenter = {r["moref"] for r in first["vcenter_only"]}  # built once: not once per intent
    unknown = sorted({i["vm"] for i in intents if i["vm"] in only_in_vcenter})
    if unknown and rescan and not check_mode:
        found = joined_inventory.collect_inventory(backup, inventory, reader=reader, rescan_until_visible=unknown,
                                                   timeout=rescan_timeout, progress=progress)
        records, rescanned = found["vms"] + found["vcenter_only"], True

    policies = backup.sla_policies()
    if check_mode:
        policies = with_planned_policies(policies, planned_policies)
    held = {name for name, job in backup.policy_jobs().items() if job["held"]}
    sites = backup.sites()
    # In check mode a rescan would run first, so VMs only vCenter knows are planned as if already inventoried.
    current = build_current(records, policies, held, sites, assume_known=bool(unknown and rescan and check_mode))

    plan = assignment_plan.plan_assignments(current, intents, state, purge=purge, scope=scope_members(scope, records),
                                            scope_purge=purge_scope)
    wanted_options = desired_options(items, records, tagged, option_defaults) if state == "present" else {}
    current_options = {}
    for moref in sorted(wanted_options):  # only VMs whose options the task sets; there is no bulk options read
        options = backup.vm_options(current["vms"][moref]["spp_id"])
        if options is not None:  # None: a VM the backup service does not know (yet)
            current_options[moref] = options
    options_plan = assignment_plan.plan_options(current_options, wanted_options)

    sites_known = backup.offers("vm_sites")
    rules.ensure_rules(current, plan, enforce=enforce, options_plan=options_plan, vm_sites_known=sites_known)
    left_to_service = rules.deferred_disk_sites(current, plan, enforce=enforce, vm_sites_known=sites_known)
    warnings = [rules.deferred_disk_sites_warning(left_to_service, backup.label)] if left_to_service else []

    if not check_mode and (plan["batches"] or options_plan["batches"]):
        warnings += _write_batches(backup, plan, options_plan, current, page_size=reader.page_size,
                                   disks_first=not sites_known)

    changed = bool(plan["changes"] or options_plan["changes"])
    result = {
        "changed": changed,
        "changes": plan["changes"],
        "option_changes": options_plan["changes"],
        "drift": plan["drift"],
        "rescanned": rescanned,
        "summary": assignment_plan.summarize(plan, options_plan, disks_first=not sites_known),
        "diff": assignment_plan.diff_of(plan, current, options_plan, disks_first=not sites_known),
    }
    if warnings:
        result["warnings"] = warnings
    return result
