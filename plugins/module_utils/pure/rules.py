# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""SecNumCloud rules ("Rules from the field" in design.md) checked on a whole plan before any write. Pure: no I/O.

Considered private: only this collection may import it.

Rules that ``enforce`` can switch off, one key each, all on by default (a missing key or None means on):

- ``last_policy_of_running_vm``: a powered-on VM keeps at least one usable VM-level policy. Fires when a change
  empties the VM-level set of a powered-on VM that had one, or leaves it with held policies only when it had a
  policy that was not held (a VM whose policies are all held is not protected).
- ``held_policy``: a held policy (its job is held, spp-api.md section 14.7) cannot be added to a VM or a disk, nor
  kept in a set that the plan writes: each write sends the whole set, and the server refuses one naming a held policy.
- ``disk_policy_site``: a policy added to a disk targets a site other than the VM's own site. When either site is
  unknown the rule cannot be verified and fires (fail closed), except with a backup service that can name no VM's
  site (``vm_sites_known`` false: the Cloud Temple console, docs/cloudtemple-api.md section 16.7), which checks the
  rule itself when it assigns the policy: the check is left to it, and ``deferred_disk_sites`` says which disks.

Rules that cannot be switched off, because the write could not be made at all:

- ``unknown_to_backup``: the plan writes to a VM (or a disk) the backup server has not inventoried yet.
- ``unknown_policy``: the plan sends a policy name the backup server does not have.
- ``unknown_disk``: an intent names a disk label the VM does not have.

Each violation is ``{"rule", "vm" (name), "moref", "disk" (label or None), "reason", "fix"}``; ``ensure_*`` raise
``RuleViolation`` carrying every violation, so the message names every offending VM with its fix.
"""

from __future__ import annotations

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import InvalidRequest, RuleViolation
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.assignment_plan import natural_key, resource_sort_key

LAST_POLICY_OF_RUNNING_VM = "last_policy_of_running_vm"
HELD_POLICY = "held_policy"
DISK_POLICY_SITE = "disk_policy_site"
SWITCHABLE_RULES = (LAST_POLICY_OF_RUNNING_VM, HELD_POLICY, DISK_POLICY_SITE)

UNKNOWN_TO_BACKUP = "unknown_to_backup"
UNKNOWN_POLICY = "unknown_policy"
UNKNOWN_DISK = "unknown_disk"
POWER_ON_PROTECTION = "protected_before_power_on"
RULE_ORDER = (UNKNOWN_TO_BACKUP, UNKNOWN_DISK, UNKNOWN_POLICY) + SWITCHABLE_RULES + (POWER_ON_PROTECTION,)

RESCAN_FIX = "run with rescan: true (the backup server has not inventoried it yet)"


def rule_switches(enforce=None):
    """``enforce`` -> ``{rule: bool}`` for every switchable rule. An unknown key is a caller bug and raises."""
    enforce = enforce or {}
    unknown = sorted(set(enforce) - set(SWITCHABLE_RULES))
    if unknown:
        raise InvalidRequest("unknown rule(s) in enforce: %s; the rules that can be switched off are %s"
                             % (", ".join(unknown), ", ".join(SWITCHABLE_RULES)))
    return {rule: enforce.get(rule) is None or bool(enforce[rule]) for rule in SWITCHABLE_RULES}


def _violation(rule, vm_key, vm, disk, reason, fix):
    return {"rule": rule, "vm": (vm or {}).get("name") or vm_key, "moref": vm_key, "disk": disk,
            "reason": reason, "fix": fix}


def _quoted(names):
    return ", ".join(names) if names else "(none)"


def _sort_violations(violations):
    return sorted(violations, key=lambda item: resource_sort_key(item["vm"], item["moref"], item["disk"])
                  + (RULE_ORDER.index(item["rule"]),))


def _where(change):
    origins = [origin for origin in change.get("origins") or () if origin]
    return " (from %s)" % ", ".join(origins) if origins else ""


def _resource_text(change):
    return "disk %s" % change["disk"] if change["disk"] is not None else "the VM"


def _usable(policies, names):
    return [name for name in names if name in policies and not policies[name].get("held")]


def _check_last_policy(change, vm, policies):
    if change["disk"] is not None or vm.get("power_state") != "poweredOn" or not change["before"]:
        return None
    name = vm.get("name") or change["vm"]
    fix = ("keep at least one policy on %s, power it off first, or set enforce.%s: false"
           % (name, LAST_POLICY_OF_RUNNING_VM))
    if not change["after"]:
        reason = ("removing %s would leave this powered-on VM without any backup policy%s."
                  % (_quoted(change["removed"]), _where(change)))
        return _violation(LAST_POLICY_OF_RUNNING_VM, change["vm"], vm, None, reason, fix)
    if _usable(policies, change["before"]) and not _usable(policies, change["after"]):
        reason = ("removing %s would leave this powered-on VM with held policies only (%s), so it would not be "
                  "protected%s." % (_quoted(change["removed"]), _quoted(change["after"]), _where(change)))
        return _violation(LAST_POLICY_OF_RUNNING_VM, change["vm"], vm, None, reason, fix)
    return None


def _is_held(policies, name):
    return bool((policies.get(name) or {}).get("held"))


def _check_held(change, vm, policies):
    """A held policy in the set a change writes: added by it, or kept in a set that changes otherwise.

    ``applySLAPolicies`` sends the resource's whole resulting set, and the server refuses any call that names a held
    policy (spp-api.md section 14.1), so a kept held policy would make the write fail part-way through the run.
    """
    held = [name for name in change["added"] if _is_held(policies, name)]
    kept = [name for name in change["after"] if name not in change["added"] and _is_held(policies, name)]
    if not held and not kept:
        return None
    reasons = []
    if held:
        reasons.append("%s %s held, so it cannot be assigned to %s" % (
            _quoted(held), "is" if len(held) == 1 else "are", _resource_text(change)))
    if kept:
        reasons.append("%s %s held and would stay in the set written to %s; the backup server refuses any "
                       "assignment that names a held policy" % (
                           _quoted(kept), "is" if len(kept) == 1 else "are", _resource_text(change)))
    reason = "%s%s." % ("; ".join(reasons), _where(change))
    fixes = ["release %s first (backup_sla_policy with held: false)" % _quoted(held + kept)]
    if held:
        others = sorted(name for name, policy in policies.items() if not policy.get("held") and name not in held)
        fixes.append("choose another policy (not held: %s)" % _quoted(others))
    if kept:
        fixes.append("remove %s from %s in the same task (state: absent, or purge: true)" % (
            _quoted(kept), _resource_text(change)))
    fix = "%s, or set enforce.%s: false" % (", or ".join(fixes), HELD_POLICY)
    return _violation(HELD_POLICY, change["vm"], vm, change["disk"], reason, fix)


def _check_disk_site(change, vm, policies):
    if change["disk"] is None or not change["added"]:
        return None
    vm_site = vm.get("site")
    name = vm.get("name") or change["vm"]
    switch = "or set enforce.%s: false" % DISK_POLICY_SITE
    if not vm_site:
        reason = ("the site %s runs in is unknown, so it cannot be verified that %s target(s) another site%s."
                  % (name, _quoted(change["added"]), _where(change)))
        fix = "make the VM's site known to the inventory, %s" % switch
        return _violation(DISK_POLICY_SITE, change["vm"], vm, change["disk"], reason, fix)
    same_site = [n for n in change["added"] if n in policies and policies[n].get("site") in (vm_site, None)]
    if not same_site:
        return None
    alternatives = sorted("%s (%s)" % (n, p.get("site")) for n, p in policies.items()
                          if p.get("site") and p.get("site") != vm_site and not p.get("held"))
    reason = ("%s target(s) site %s, but %s runs in site %s; a disk policy must target another site%s."
              % (_quoted(same_site), " / ".join(sorted({policies[n].get("site") or "unknown" for n in same_site})),
                 name, vm_site, _where(change)))
    if alternatives:
        fix = "choose a policy on a site other than %s (%s), %s" % (vm_site, ", ".join(alternatives), switch)
    else:
        fix = "create a policy whose site is not %s (backup_sla_policy), %s" % (vm_site, switch)
    return _violation(DISK_POLICY_SITE, change["vm"], vm, change["disk"], reason, fix)


def _check_unknown_to_backup(plan, vms, options_plan):
    violations = []
    option_vms = {c["vm"] for c in (options_plan or {}).get("changes") or ()}
    to_write = set(plan.get("unknown_to_backup") or ())
    to_write.update(key for key in option_vms if not (vms.get(key) or {}).get("known_to_backup"))
    for vm_key in to_write:
        vm = vms.get(vm_key) or {}
        name = vm.get("name") or vm_key
        if vm.get("known_to_backup") and vm.get("spp_id"):
            vm_disks = vm.get("disks") or {}
            disks = sorted({c["disk"] for c in plan.get("changes") or () if c["vm"] == vm_key and c["disk"]
                            and not (vm_disks.get(c["disk"]) or {}).get("spp_id")}, key=natural_key)
            reason = "the backup server does not know disk(s) %s of %s yet, so their policies cannot be written." % (
                _quoted(disks), name)
        else:
            reason = "the backup server does not know %s yet, so its policies and options cannot be written." % name
        violations.append(_violation(UNKNOWN_TO_BACKUP, vm_key, vm, None, reason, RESCAN_FIX))
    return violations


def _check_unknown_policies(plan, vms, policies):
    unknown = set(plan.get("unknown_policies") or ())
    if not unknown:
        return []
    existing = sorted(policies)
    fix = "use an existing policy (%s), or create it first with backup_sla_policy" % _quoted(existing)
    violations = []
    for change in plan.get("changes") or ():
        missing = [name for name in change["after"] if name in unknown]
        if missing:
            reason = "policy %s does not exist on the backup server%s." % (_quoted(missing), _where(change))
            violations.append(_violation(UNKNOWN_POLICY, change["vm"], vms.get(change["vm"]), change["disk"],
                                         reason, fix))
    return violations


def _check_unknown_disks(plan, vms):
    violations = []
    for entry in plan.get("unknown_disks") or ():
        vm = vms.get(entry["vm"]) or {}
        origins = " (from %s)" % ", ".join(entry.get("origins")) if entry.get("origins") else ""
        reason = "%s has no disk labelled %r%s." % (vm.get("name") or entry["vm"], entry["disk"], origins)
        fix = "use one of its disks: %s" % _quoted(entry.get("known") or [])
        violations.append(_violation(UNKNOWN_DISK, entry["vm"], vm, entry["disk"], reason, fix))
    return violations


def _site_left_to_service(rule, vm, vm_sites_known):
    return rule == DISK_POLICY_SITE and not vm_sites_known and not vm.get("site")


def deferred_disk_sites(current, plan, enforce=None, vm_sites_known=True):
    """The disk changes whose site rule was left to the backup service (see ``vm_sites_known``): ``[{"vm" (name),
    "moref", "disk", "policies" (added)}]``, sorted; [] when the rule is off or the sites are known."""
    if vm_sites_known or not rule_switches(enforce)[DISK_POLICY_SITE]:
        return []
    vms = current.get("vms") or {}
    found = []
    for change in plan.get("changes") or ():
        vm = vms.get(change["vm"]) or {}
        if change["disk"] is not None and change["added"] and not vm.get("site"):
            found.append({"vm": vm.get("name") or change["vm"], "moref": change["vm"], "disk": change["disk"],
                          "policies": list(change["added"])})
    return sorted(found, key=lambda item: resource_sort_key(item["vm"], item["moref"], item["disk"]))


def deferred_disk_sites_warning(deferred, service):
    """The warning of a task whose disk site rule was left to ``service`` (its label), or None."""
    if not deferred:
        return None
    disks = "; ".join("%s / %s (%s)" % (item["vm"], item["disk"], _quoted(item["policies"])) for item in deferred)
    return ("%s names no VM's availability zone, so this task could not check that the policies added to these "
            "disks target another zone than their VM's (rule %s): %s. %s checks it when it assigns them: a refusal "
            "fails the task with its reason, and the disks are written before any VM-level change."
            % (service[:1].upper() + service[1:], DISK_POLICY_SITE, disks, service[:1].upper() + service[1:]))


def check_assignment_rules(current, plan, enforce=None, options_plan=None, vm_sites_known=True):
    """Every violation of the plan (from ``plan_assignments``, and optionally ``plan_options``), sorted by VM.

    ``vm_sites_known`` false: the backup service names no VM's site, and checks the disk site rule itself (see the
    module's docstring), so a VM without a site is no violation of it here.
    Does not raise for violations; raises ``InvalidRequest`` only for an unknown key in ``enforce``.
    """
    switches = rule_switches(enforce)
    vms = current.get("vms") or {}
    policies = current.get("policies") or {}
    violations = _check_unknown_to_backup(plan, vms, options_plan)
    violations += _check_unknown_disks(plan, vms)
    violations += _check_unknown_policies(plan, vms, policies)
    checks = ((LAST_POLICY_OF_RUNNING_VM, _check_last_policy), (HELD_POLICY, _check_held),
              (DISK_POLICY_SITE, _check_disk_site))
    for change in plan.get("changes") or ():
        vm = vms.get(change["vm"]) or {}
        for rule, check in checks:
            if switches[rule] and not _site_left_to_service(rule, vm, vm_sites_known):
                violation = check(change, vm, policies)
                if violation:
                    violations.append(violation)
    return _sort_violations(violations)


def ensure_rules(current, plan, enforce=None, options_plan=None, vm_sites_known=True):
    """Raise ``RuleViolation`` with every violation of the plan; return None when there is none."""
    violations = check_assignment_rules(current, plan, enforce=enforce, options_plan=options_plan,
                                        vm_sites_known=vm_sites_known)
    if violations:
        raise RuleViolation(violations)


def check_power_on_rules(vm_key, vm, policies):
    """Violations that forbid powering on one VM (``vm``: a ``current["vms"]`` record, ``policies``: the catalog).

    A VM needs at least one VM-level policy that exists and is not held: disk policies cover their disk only, and a
    VM whose policies are all held is not protected. Not switchable. Callers checking several VMs concatenate the
    lists and raise ``RuleViolation`` once, so the message names all of them.
    """
    name = vm.get("name") or vm_key
    if not vm.get("known_to_backup"):
        reason = "the backup server does not know %s yet, so it has no backup policy." % name
        fix = "%s, then assign a policy before powering it on" % RESCAN_FIX
        return [_violation(POWER_ON_PROTECTION, vm_key, vm, None, reason, fix)]
    assigned = sorted(vm.get("policies") or ())
    if _usable(policies, assigned):
        return []
    if assigned:
        reason = "%s has held or unknown policies only (%s), so it is not protected." % (name, _quoted(assigned))
        fix = "release one of them (backup_sla_policy with held: false) or assign a policy that is not held"
    else:
        reason = "%s has no VM-level backup policy." % name
        fix = "assign a policy that is not held (vm_backup_policy) before powering it on"
    usable = sorted(n for n, p in policies.items() if not p.get("held"))
    if usable:
        fix += "; available: %s" % ", ".join(usable)
    return [_violation(POWER_ON_PROTECTION, vm_key, vm, None, reason, fix)]


def ensure_power_on_allowed(current, vm_keys):
    """Raise ``RuleViolation`` naming every VM of ``vm_keys`` that cannot be powered on."""
    vms = current.get("vms") or {}
    policies = current.get("policies") or {}
    violations = []
    for vm_key in vm_keys:
        violations += check_power_on_rules(vm_key, vms.get(vm_key) or {}, policies)
    if violations:
        raise RuleViolation(_sort_violations(violations))
