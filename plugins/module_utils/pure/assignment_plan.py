# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Desired versus current SLA assignments and VM options -> a plan of writes. Pure: no I/O.

Considered private: only this collection may import it.

Normalised inputs (the service layer builds them from one listing of vCenter VMs, one of SPP VMs, one of SPP
vdisks and one of SLA policies):

``current``::

    {"vms": {vm_key: {                       # vm_key: the vCenter moref, e.g. "vm-123"
         "name": str,                        # vCenter name, used for sorting and messages
         "moref": str, "instance_uuid": str,
         "spp_id": str | None,               # None when the backup server has not inventoried the VM
         "power_state": "poweredOn" | "poweredOff" | "suspended",
         "site": str | None,                 # the site (availability zone) the VM runs in
         "policies": [str],                  # SLA policy names assigned at VM level (SPP storageProfiles)
         "disks": {label: {                  # every disk vCenter shows, by label ("Hard disk 1")
             "spp_id": str | None,           # None when the backup server does not know the disk yet
             "policies": [str]}},            # names assigned to this disk only
         "known_to_backup": bool}},
     "policies": {name: {"id": str, "held": bool, "site": str | None}}}   # site: where the policy's backups go

``desired``: a list of intents, selectors already expanded by the caller::

    {"vm": vm_key, "disk": label | None, "policies": [str], "origin": "assignments[3]" | "selector folder=/DC0/vm"}

A resource is ``(vm_key, disk)``, ``disk`` None meaning the VM level. The two levels are independent: a disk
intent never changes the VM's own set and a VM intent never changes a disk's set (SecNumCloud: a disk policy
applies to that disk only, the VM does not inherit it).

``applySLAPolicies`` replaces a resource's whole set (spp-api.md section 4), so the plan carries each changed
resource's complete resulting set, and groups resources into one call per distinct resulting set.
"""

from __future__ import annotations

import copy
import json
import re

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import InvalidRequest

STATES = ("present", "absent")
SCOPE_PURGE_ORIGIN = "purge_scope"
_DIGITS = re.compile(r"(\d+)")


def natural_key(text):
    """Sort key that puts "Hard disk 2" before "Hard disk 10"."""
    parts = _DIGITS.split(text or "")
    return tuple(int(part) if index % 2 else part for index, part in enumerate(parts))


def resource_sort_key(vm_name, vm_key, disk):
    """Order of resources in plans, diffs and messages: by VM name, then the VM level before its disks."""
    return (vm_name or "", vm_key or "", disk is not None, natural_key(disk))


def _by_resource(item):
    return resource_sort_key(item["vm_name"], item["vm"], item["disk"])


def _check_arguments(current, state, purge, scope, scope_purge):
    if state not in STATES:
        raise InvalidRequest("state must be one of %s, got %r" % (", ".join(STATES), state))
    if state == "absent" and purge:
        raise InvalidRequest("purge applies only with state=present: it makes each listed set exactly the listed one")
    if state == "absent" and scope is not None:
        raise InvalidRequest("an authoritative scope applies only with state=present: it compares what is assigned "
                             "with what is declared present")
    if scope_purge and scope is None:
        raise InvalidRequest("purge_scope needs a scope: name the folder (or the whole vCenter) under authoritative "
                             "management")
    if not isinstance(current, dict) or not isinstance(current.get("vms"), dict):
        raise InvalidRequest("current must be a dict with a 'vms' mapping")


def _collect_intents(vms, desired):
    """Merge intents per resource (union). Returns ``(declared, origins, unknown_disks)``.

    Unknown VM keys are a bug of the caller (it resolved names against the same listing) and raise at once, all
    named. Unknown disk labels are the user's typo: they are returned so that the rule check reports them together
    with every other violation.
    """
    declared, origins, unknown_disks, unknown_vms = {}, {}, {}, []
    for intent in desired or ():
        vm_key = intent.get("vm")
        origin = intent.get("origin") or "intent"
        if vm_key not in vms:
            unknown_vms.append("%s (%s)" % (vm_key, origin))
            continue
        disk = intent.get("disk") or None
        if disk is not None and disk not in (vms[vm_key].get("disks") or {}):
            entry = unknown_disks.setdefault((vm_key, disk), set())
            entry.add(origin)
            continue
        resource = (vm_key, disk)
        declared.setdefault(resource, set()).update(intent.get("policies") or ())
        origins.setdefault(resource, set()).add(origin)
    if unknown_vms:
        raise InvalidRequest("the plan names VMs absent from the inventory it was given: %s" % ", ".join(unknown_vms),
                             unknown_vms=unknown_vms)
    return declared, origins, unknown_disks


def _current_set(vm, disk):
    if disk is None:
        return set(vm.get("policies") or ())
    return set(((vm.get("disks") or {}).get(disk) or {}).get("policies") or ())


def _resources_of(vm_key, vm):
    yield vm_key, None
    for label in vm.get("disks") or {}:
        yield vm_key, label


def _needs_inventory(vm, disk):
    """True when the backup server cannot take a write for this resource yet (a rescan would fix it)."""
    if not vm.get("known_to_backup") or not vm.get("spp_id"):
        return True
    return disk is not None and not ((vm.get("disks") or {}).get(disk) or {}).get("spp_id")


def plan_assignments(current, desired, state, purge=False, scope=None, scope_purge=False):
    """Compute the SLA assignment writes that take ``current`` to what ``desired`` asks for.

    - ``state=present``: each listed resource gets the listed policies added; with ``purge`` its set becomes
      exactly the union of its intents (an intent with ``policies: []`` and ``purge`` unassigns everything).
    - ``state=absent``: the listed policies are removed from each listed resource. Names that do not exist are not
      an error here (nothing can hold them), so deleting a policy after unassigning it stays idempotent.
    - ``scope`` (present only): the vm_keys under authoritative management. On those VMs and their disks, a policy
      not declared for that very resource is drift; ``scope_purge`` removes it, keeping the declared ones. A VM in
      scope with no intent at all is drift for everything it carries.

    Returns::

        {"changes": [{"vm", "vm_name", "disk", "before", "after", "added", "removed", "origins"}],
         "drift": [{"vm", "vm_name", "disk", "undeclared"}],
         "batches": [{"policies": [...], "resources": [{"vm": vm_key, "disk": label | None}]}],
         "unknown_policies": [names], "unknown_disks": [{"vm", "vm_name", "disk", "origins", "known"}],
         "unknown_to_backup": [vm_keys]}

    Every list of names is sorted; ``changes`` and ``drift`` are sorted by VM name then disk (VM level first);
    ``batches`` holds one entry per distinct resulting set, sorted by that set (the empty set, which unassigns all,
    first), so the caller makes one ``applySLAPolicies`` call per batch. Only resources whose set changes appear.
    Feeding the result of the writes back as ``current`` gives a plan with no changes and no batches.
    Raises ``InvalidRequest`` for inconsistent arguments or intents naming VMs absent from ``current``.
    """
    _check_arguments(current, state, purge, scope, scope_purge)
    vms = current["vms"]
    known_policies = current.get("policies") or {}
    declared, origins, unknown_disk_origins = _collect_intents(vms, desired)
    in_scope = {key for key in (scope or ()) if key in vms} if scope is not None else set()

    resources = set(declared)
    for vm_key in in_scope:
        resources.update(_resources_of(vm_key, vms[vm_key]))

    changes, drift = [], []
    for vm_key, disk in resources:
        vm = vms[vm_key]
        before = _current_set(vm, disk)
        wanted = declared.get((vm_key, disk), set())
        is_declared = (vm_key, disk) in declared
        change_origins = set(origins.get((vm_key, disk), ()))
        if state == "absent":
            after = before - wanted
        elif purge and is_declared:
            after = set(wanted)
        else:
            after = before | wanted
        if vm_key in in_scope:
            undeclared = before - wanted
            if undeclared:
                drift.append({"vm": vm_key, "vm_name": vm.get("name"), "disk": disk, "undeclared": sorted(undeclared)})
                if scope_purge:
                    after -= undeclared
                    change_origins.add(SCOPE_PURGE_ORIGIN)
        if after == before:
            continue
        changes.append({
            "vm": vm_key, "vm_name": vm.get("name"), "disk": disk,
            "before": sorted(before), "after": sorted(after),
            "added": sorted(after - before), "removed": sorted(before - after),
            "origins": sorted(change_origins),
        })

    changes.sort(key=_by_resource)
    drift.sort(key=_by_resource)

    batches_by_set = {}
    for change in changes:
        batches_by_set.setdefault(tuple(change["after"]), []).append({"vm": change["vm"], "disk": change["disk"]})
    batches = [{"policies": list(key), "resources": batches_by_set[key]} for key in sorted(batches_by_set)]

    referenced = set()
    if state == "present":
        for names in declared.values():
            referenced.update(names)
    for change in changes:
        referenced.update(change["after"])  # every name a write sends needs the policy's href

    unknown_disks = [
        {"vm": vm_key, "vm_name": vms[vm_key].get("name"), "disk": disk, "origins": sorted(disk_origins),
         "known": sorted(vms[vm_key].get("disks") or {}, key=natural_key)}
        for (vm_key, disk), disk_origins in unknown_disk_origins.items()]
    unknown_disks.sort(key=_by_resource)

    return {
        "changes": changes,
        "drift": drift,
        "batches": batches,
        "unknown_policies": sorted(referenced - set(known_policies)),
        "unknown_disks": unknown_disks,
        "unknown_to_backup": sorted({c["vm"] for c in changes if _needs_inventory(vms[c["vm"]], c["disk"])}),
    }


def apply_plan(current, plan):
    """The ``current`` that the plan's writes produce: a new dict, ``current`` is left untouched.

    Used to show the predicted end state (check mode) and to prove idempotence.
    """
    result = copy.deepcopy(current)
    for change in plan["changes"]:
        vm = result["vms"][change["vm"]]
        if change["disk"] is None:
            vm["policies"] = list(change["after"])
        else:
            vm["disks"][change["disk"]]["policies"] = list(change["after"])
    return result


def plan_options(current_options, desired_options):
    """Plan per-VM backup options (``applyOptions``), comparing only the keys the user gave.

    ``desired_options``: ``{vm_key: {"makeApplicationConsistent": bool, "fallbackToUnquiescedSnapshot": bool}}``;
    a key whose value is None was not given and is ignored. ``current_options``: ``{vm_key: {...}}`` as the backup
    server reports them; a missing VM or key counts as different (None in ``before``).

    Returns ``{"changes": [{"vm", "before", "after"}], "batches": [{"options": {...}, "vms": [vm_keys]}]}``:
    ``before`` and ``after`` hold only the given keys; one batch per distinct desired options dict, holding only
    the VMs whose current values differ, so one ``applyOptions`` call per batch. Sorted by vm_key; batches by their
    options.
    """
    current_options = current_options or {}
    changes, groups = [], {}
    for vm_key in sorted(desired_options or {}):
        wanted = {key: value for key, value in sorted((desired_options[vm_key] or {}).items()) if value is not None}
        have = current_options.get(vm_key) or {}
        if not wanted or all(key in have and have[key] == value for key, value in wanted.items()):
            continue
        changes.append({"vm": vm_key, "before": {key: have.get(key) for key in wanted}, "after": dict(wanted)})
        group_key = json.dumps(wanted, sort_keys=True)
        groups.setdefault(group_key, {"options": dict(wanted), "vms": []})["vms"].append(vm_key)
    return {"changes": changes, "batches": [groups[key] for key in sorted(groups)]}


def write_calls(plan, options_plan=None, disks_first=False):
    """The write calls of a plan, in the order they are sent: ``[("assign", {"policies", "resources"}) ...,
    ("options", {"vms", "options"}) ...]``. Pure.

    By default one assignment call per batch (one distinct resulting set, VMs and disks together, as SPP's
    ``applySLAPolicies`` takes them), then the options. ``disks_first``: for a backup service that may refuse a disk
    write this collection could not check (the Cloud Temple console and its availability zone rule), each disk is its
    own call (the console's disk route takes one disk, docs/cloudtemple-api.md section 7.2), and every disk call comes
    before the VM calls, so that a refused disk leaves no VM-level change applied."""
    batches = plan.get("batches") or []
    if not disks_first:
        calls = [("assign", batch) for batch in batches]
    else:
        disk_calls, vm_calls = [], []
        for batch in batches:
            disk_calls += [("assign", {"policies": batch["policies"], "resources": [resource]})
                           for resource in batch["resources"] if resource["disk"] is not None]
            vms = [resource for resource in batch["resources"] if resource["disk"] is None]
            if vms:
                vm_calls.append(("assign", {"policies": batch["policies"], "resources": vms}))
        calls = disk_calls + vm_calls
    return calls + [("options", batch) for batch in (options_plan or {}).get("batches") or []]


def summarize(plan, options_plan=None, disks_first=False):
    """Counts for results and diffs.

    ``vms_changed``: distinct VMs with any change (VM level, a disk, or options); ``disks_changed``: disk sets
    changed; ``policies_added`` / ``policies_removed``: names added / removed, over all resources;
    ``options_changed``: VMs whose options change; ``calls``: writes the plan makes (``write_calls``: assignment
    batches plus options batches, each disk its own call with ``disks_first``).
    """
    changes = plan.get("changes") or []
    option_changes = (options_plan or {}).get("changes") or []
    return {
        "vms_changed": len({c["vm"] for c in changes} | {c["vm"] for c in option_changes}),
        "disks_changed": sum(1 for c in changes if c["disk"] is not None),
        "policies_added": sum(len(c["added"]) for c in changes),
        "policies_removed": sum(len(c["removed"]) for c in changes),
        "options_changed": len(option_changes),
        "calls": len(write_calls(plan, options_plan, disks_first=disks_first)),
    }


def _names(policies):
    return ", ".join(policies) if policies else "(none)"


def _option_text(options):
    return ", ".join("%s=%s" % (key, "unset" if value is None else json.dumps(value))
                     for key, value in sorted(options.items()))


def diff_of(plan, current, options_plan=None, disks_first=False):
    """Ansible ``diff``: text before and after, per VM and disk, listing only what changes.

    Each changed VM gets a header line ``name (moref):`` and one indented line per changed resource
    (``policies:`` for the VM level, the disk label for a disk, ``options:`` for backup options). Both texts end
    with the same summary line, so a diff viewer shows it as context; ``after_header`` repeats the counts.
    """
    vms = (current or {}).get("vms") or {}
    lines_by_vm = {}

    def block(vm_key, vm_name):
        return lines_by_vm.setdefault(vm_key, {"name": vm_name, "before": [], "after": []})

    for change in plan.get("changes") or []:
        entry = block(change["vm"], change["vm_name"] or change["vm"])
        label = "policies" if change["disk"] is None else change["disk"]
        entry["before"].append("  %s: %s" % (label, _names(change["before"])))
        entry["after"].append("  %s: %s" % (label, _names(change["after"])))
    for change in (options_plan or {}).get("changes") or []:
        entry = block(change["vm"], (vms.get(change["vm"]) or {}).get("name") or change["vm"])
        entry["before"].append("  options: %s" % _option_text(change["before"]))
        entry["after"].append("  options: %s" % _option_text(change["after"]))

    counts = summarize(plan, options_plan, disks_first=disks_first)
    summary = " ".join("%s=%d" % (key, counts[key]) for key in
                       ("vms_changed", "disks_changed", "policies_added", "policies_removed", "options_changed",
                        "calls"))
    before, after = [], []
    for vm_key in sorted(lines_by_vm, key=lambda key: (lines_by_vm[key]["name"] or "", key)):
        entry = lines_by_vm[vm_key]
        header = "%s (%s):" % (entry["name"], vm_key)
        before.extend([header] + entry["before"])
        after.extend([header] + entry["after"])
    if lines_by_vm:
        before.append("# %s" % summary)
        after.append("# %s" % summary)
    return {
        "before_header": "SLA assignments before",
        "after_header": "SLA assignments after (%s)" % summary,
        "before": "".join(line + "\n" for line in before),
        "after": "".join(line + "\n" for line in after),
    }
