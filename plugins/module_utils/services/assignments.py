# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Service behind ``vm_backup_policy``: read once, plan, check every rule, then write in batches.

Considered private: only this collection may import it. Reads: one PropertyCollector listing of vCenter VMs, one
paged listing each of SPP VMs, vdisks, SLA policies, jobs and sites (plus the tag associations when a tag selector
is used, and the current options of the VMs whose options the task sets). Writes: one ``applySLAPolicies`` call per
distinct resulting policy set and one ``applyOptions`` call per distinct options dict, between two more listings of
SPP VMs (and vdisks, when a disk is written) that catch a concurrent writer (``_write_batches``). Check mode skips
only the writes and those two listings.
"""

from __future__ import annotations

import fnmatch

from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import joined_inventory
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure import assignment_plan
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure import concurrent_change
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure import rules
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.vm_resolver import VmIndex, ambiguous_message
from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import (
    ApiError,
    ConcurrentChange,
    ConnectionFailure,
    InvalidRequest,
    PartialApply,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.sla_definition import backup_subpolicy
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import listing as spp_listing
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import jobs as spp_jobs
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import policies as spp_policies
from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere import tags as vsphere_tags
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import answers as spp_answers

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


def build_current(records, policies, held_jobs, sites, assume_known=False):
    """The planner's ``current`` from joined inventory records (see ``pure.assignment_plan``). Pure.

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
                                     "held": ("vmware_%s" % policy["name"]) in held_jobs}
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


def server_sets(spp, changes, current, hypervisors, page_size=1000):
    """``{(vm_key, disk): sorted names, or None when the server no longer has it}``: the sets that the resources of
    ``changes`` hold on the backup server now. One paged VM listing, plus one vdisk listing when a disk is among them
    (the search, else the ``links.vdisks`` of those disks' VMs only): never one read per VM."""
    vms_by_id = {vm.get("id"): vm for vm in spp_listing.list_vms(spp, page_size=page_size, hypervisors=hypervisors)}
    disks_by_id = {}
    owners = sorted({current["vms"][change["vm"]]["spp_id"] for change in changes if change["disk"] is not None})
    if owners:
        owner_vms = [vms_by_id[spp_id] for spp_id in owners if spp_id in vms_by_id]
        disks_by_id = {disk.get("id"): disk for disk in spp_listing.list_vdisks(spp, page_size=page_size, vms=owner_vms)}
    sets = {}
    for change in changes:
        vm = current["vms"][change["vm"]]
        if change["disk"] is None:
            found = vms_by_id.get(vm["spp_id"])
        else:
            found = disks_by_id.get(vm["disks"][change["disk"]]["spp_id"])
        sets[(change["vm"], change["disk"])] = None if found is None else sorted(found.get("storageProfiles") or [])
    return sets


def _hypervisors_of(spp, changes, current, reader):
    """The hypervisors whose VM listings hold the resources of ``changes``: their VM objects name them
    (``hypervisorKey``), so only those vCenters are listed; all of them when one does not say."""
    keys = {reader.spp_vms_by_id.get(current["vms"][change["vm"]]["spp_id"], {}).get("hypervisorKey")
            for change in changes}
    if not keys or None in keys:
        return spp_listing.list_hypervisors(spp, page_size=reader.page_size)
    return [{"id": key} for key in sorted(keys)]


def _send(spp, calls, reader, current, policies_by_name):
    """Send the write calls; on a failure part-way, raise PartialApply saying what was and was not applied."""
    for done, (kind, batch) in enumerate(calls):
        try:
            if kind == "assign":
                resources = []
                for resource in batch["resources"]:
                    vm = current["vms"][resource["vm"]]
                    spp_id = vm["spp_id"] if resource["disk"] is None else vm["disks"][resource["disk"]]["spp_id"]
                    objects = reader.spp_vms_by_id if resource["disk"] is None else reader.spp_disks_by_id
                    resources.append(objects[spp_id])
                slas = [policies_by_name[name] for name in batch["policies"]]
                spp_policies.apply_sla_policies(spp, resources, slas)
            else:
                resources = [reader.spp_vms_by_id[current["vms"][moref]["spp_id"]] for moref in batch["vms"]]
                spp_policies.apply_options(spp, resources, batch["options"])
        except (ApiError, ConnectionFailure) as error:
            if done == 0:
                raise
            raise PartialApply(done, len(calls), error) from error


def _write_batches(spp, plan, options_plan, reader, current, policies_by_name):
    """Send the writes, between two reads of the policy sets they replace (``pure.concurrent_change``): just before,
    a set changed since the plan fails the task with nothing written; just after, a set that lost this task's change
    fails it. Returns the warnings (a set changed again after the write, this task's change kept).

    ``applySLAPolicies`` takes no condition, so this is the only guard SPP allows against a lost update. The reads
    are made only when there is an assignment to write: a converged run reads nothing more. Options are not read
    back: SPP has no bulk read of them, and an options write sets values, it does not replace a set."""
    changes = plan["changes"]
    calls = [("assign", batch) for batch in plan["batches"]] + [("options", batch) for batch in options_plan["batches"]]
    if not changes:
        _send(spp, calls, reader, current, policies_by_name)
        return []
    hypervisors = _hypervisors_of(spp, changes, current, reader)
    stale = concurrent_change.changed_since_read(changes, server_sets(spp, changes, current, hypervisors,
                                                                      page_size=reader.page_size))
    if stale:
        raise ConcurrentChange(concurrent_change.before_write_message(stale), conflicts=stale, changed=False)
    _send(spp, calls, reader, current, policies_by_name)
    now = server_sets(spp, changes, current, hypervisors, page_size=reader.page_size)
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


def converge(spp, vsphere, items, state="present", purge=False, scope=None, purge_scope=False, option_defaults=None,
             enforce=None, rescan=False, rescan_timeout=600, check_mode=False, progress=None, planned_policies=()):
    """Converge the assignments; returns the module result (``changed``, ``changes``, ``drift``, ``diff`` ...)."""
    option_defaults = option_defaults or {}
    names_disks = any(item.get("disk") for item in items)
    reader = joined_inventory.InventoryReader(spp, vsphere, with_disks=names_disks or scope is not None)
    wanted_tags = sorted({item["tag"] for item in items if item.get("tag")})

    first = joined_inventory.collect_inventory(spp, vsphere, reader=reader, check_mode=True)
    records = first["vms"] + first["vcenter_only"]
    tagged = vsphere_tags.members_of_tags(vsphere, wanted_tags) if wanted_tags else {}
    intents = expand_assignments(items, records, tagged)

    rescanned = False
    only_in_vcenter = {r["moref"] for r in first["vcenter_only"]}  # built once: not once per intent
    unknown = sorted({i["vm"] for i in intents if i["vm"] in only_in_vcenter})
    if unknown and rescan and not check_mode:
        found = joined_inventory.collect_inventory(spp, vsphere, reader=reader, rescan_until_visible=unknown,
                                                   timeout=rescan_timeout, progress=progress)
        records, rescanned = found["vms"] + found["vcenter_only"], True

    policies = spp_policies.list_sla_policies(spp)
    if check_mode:
        policies = with_planned_policies(policies, planned_policies)
    held_jobs = spp_answers.held_job_names(spp_jobs.list_jobs(spp))
    sites = spp_listing.list_sites(spp)
    # In check mode a rescan would run first, so VMs only vCenter knows are planned as if already inventoried.
    current = build_current(records, policies, held_jobs, sites, assume_known=bool(unknown and rescan and check_mode))

    plan = assignment_plan.plan_assignments(current, intents, state, purge=purge, scope=scope_members(scope, records),
                                            scope_purge=purge_scope)
    wanted_options = desired_options(items, records, tagged, option_defaults) if state == "present" else {}
    current_options = {}
    for moref in sorted(wanted_options):  # only VMs whose options the task sets; SPP has no bulk options read
        spp_id = current["vms"][moref]["spp_id"]
        if spp_id in reader.spp_vms_by_id:
            current_options[moref] = spp_policies.get_vm_options(spp, reader.spp_vms_by_id[spp_id])
    options_plan = assignment_plan.plan_options(current_options, wanted_options)

    rules.ensure_rules(current, plan, enforce=enforce, options_plan=options_plan)

    warnings = []
    if not check_mode and (plan["batches"] or options_plan["batches"]):
        warnings = _write_batches(spp, plan, options_plan, reader, current, {p["name"]: p for p in policies})

    changed = bool(plan["changes"] or options_plan["changes"])
    result = {
        "changed": changed,
        "changes": plan["changes"],
        "option_changes": options_plan["changes"],
        "drift": plan["drift"],
        "rescanned": rescanned,
        "summary": assignment_plan.summarize(plan, options_plan),
        "diff": assignment_plan.diff_of(plan, current, options_plan),
    }
    if warnings:
        result["warnings"] = warnings
    return result
