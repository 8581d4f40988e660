# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Service behind ``vm_powerstate``: plan a power action, check protection before a power-on, then act and wait.

Considered private: only this collection may import it. Reads, through the two seams: one bulk listing of vCenter's
VMs (without devices) to find the VM; only when the action would power the VM on and protection is enforced, the
backup service's joined view (with SPP: one paged listing each of hypervisors and VMs), its SLA policies, jobs and
sites. Check mode runs the same reads and the same rule check, and skips the power action. An inventory that cannot
reset a VM or shut its guest down fails before any action.
"""

from __future__ import annotations

import time

from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import assignments as assignment_service
from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import joined_inventory
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure import rules
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.vm_resolver import resolve_vm
from ansible_collections.sovereign.vm_backup.plugins.module_utils._wait import wait_until
from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import InvalidRequest, RuleViolation, WaitTimeout

POWERED_ON = "poweredOn"
POWERED_OFF = "poweredOff"
SUSPENDED = "suspended"
STATES = ("powered-on", "powered-off", "restarted", "shutdown-guest")
# The VM inventory's capability that an action needs, when not every inventory has it (seams/vm_inventory.py).
NEEDS = {"reset": "reset", "shutdown_guest": "guest_shutdown"}
UNKNOWN_FIX = ("make the backup server see it (vm_backup_policy with rescan: true, or backup_inventory with "
               "rescan: true) and assign it a policy that is not held (vm_backup_policy), then power it on")


# -- pure ---------------------------------------------------------------------------------------------------------


def plan_action(state, power_state):
    """``(action, after)`` for a wanted ``state`` and the current vSphere power state. Pure.

    ``action`` is None (nothing to do), ``power_on``, ``power_off``, ``reset`` or ``shutdown_guest``; ``after`` is the
    power state once it is done. ``restarted`` always acts: it resets a running VM and powers on a VM that is off.
    """
    if state not in STATES:
        raise InvalidRequest("unknown state %s; choose one of %s" % (state, ", ".join(STATES)))
    if state == "powered-on":
        return (None, power_state) if power_state == POWERED_ON else ("power_on", POWERED_ON)
    if state == "powered-off":
        return (None, power_state) if power_state == POWERED_OFF else ("power_off", POWERED_OFF)
    if state == "restarted":
        return ("reset", POWERED_ON) if power_state == POWERED_ON else ("power_on", POWERED_ON)
    if power_state == POWERED_OFF:
        return None, power_state
    if power_state == SUSPENDED:
        raise InvalidRequest("the guest of a suspended VM cannot be asked to shut down; use state: powered-off "
                             "(hard power-off) or powered-on first")
    return "shutdown_guest", POWERED_OFF


def protection_violations(moref, vm, policies):
    """Violations that forbid powering the VM on (see ``rules.check_power_on_rules``), with a fix that names this
    collection's modules for a VM the backup server does not know. Pure."""
    violations = rules.check_power_on_rules(moref, vm, policies)
    if not vm.get("known_to_backup"):
        violations = [dict(item, fix=UNKNOWN_FIX) for item in violations]
    return violations


# -- I/O ----------------------------------------------------------------------------------------------------------


def read_protection(backup, inventory, moref, vcenter_vms):
    """``(vm, policies)``: the VM's ``current["vms"]`` record and the policy catalogue, from the backup service's
    view joined with the vCenter listing already read."""
    # only: a backup service that reads per VM (the Cloud Temple console) reads this one VM.
    reader = joined_inventory.InventoryReader(backup, inventory, with_disks=False, vcenter_vms=vcenter_vms,
                                              only={moref})
    vms, vcenter_only, _spp_only = reader.read()
    records = [record for record in vms + vcenter_only if record["moref"] == moref]
    held = {name for name, job in backup.policy_jobs().items() if job["held"]}
    current = assignment_service.build_current(records, backup.sla_policies(), held, backup.sites())
    return current["vms"].get(moref) or {"moref": moref, "known_to_backup": False}, current["policies"]


def wait_powered_off(inventory, moref, timeout, progress, sleep=time.sleep, clock=time.monotonic, interval=2.0):
    """Poll the VM's power state until it is off; ``WaitTimeout`` after ``timeout`` seconds (the guest may still be
    shutting down)."""
    last = {}

    def check():
        last["state"] = (inventory.vm_details(moref) or {}).get("power_state")
        return last["state"] if last["state"] == POWERED_OFF else None

    def timed_out():
        return WaitTimeout("the guest of %s is still %s %d s after the shutdown request; it may still be shutting "
                           "down. Wait longer (timeout), or use state: powered-off for a hard power-off."
                           % (moref, last["state"], timeout), moref=moref, power_state=last["state"])

    def report(elapsed, _remaining):
        progress("waiting for the guest of %s to shut down: %s after %d s of %d s"
                 % (moref, last["state"], elapsed, timeout))

    return wait_until(check, timeout, timed_out, progress=report, first_delay=min(0.5, interval),
                      max_delay=interval, sleep=sleep, clock=clock)


def converge(inventory, ref, state, backups, enforce_protection=True, timeout=600, check_mode=False, progress=None):
    """Bring the VM ``ref`` to ``state``; returns the module result.

    ``inventory``: a ``VmInventory``. ``backups`` is a context manager factory yielding the ``BackupService``; it is
    entered only when the action would power the VM on and ``enforce_protection`` is true.
    """
    progress = progress or (lambda message: None)
    vcenter_vms = inventory.list_vms(devices=False)
    record = resolve_vm(ref, vcenter_vms)
    moref, before = record["moref"], record.get("power_state")
    action, after = plan_action(state, before)
    if action in NEEDS:
        inventory.require(NEEDS[action])

    policies = protected = None
    if action == "power_on" and enforce_protection:
        with backups() as backup:
            vm, catalogue = read_protection(backup, inventory, moref, vcenter_vms)
        policies = sorted(vm.get("policies") or [])
        violations = protection_violations(moref, dict(vm, name=record["name"]), catalogue)
        protected = not violations
        if violations:
            raise RuleViolation(violations, outcome="%s was not powered on" % record["name"])

    if action and not check_mode:
        if action == "power_on":
            inventory.power_on(moref, timeout=timeout, progress=progress)
        elif action == "power_off":
            inventory.power_off(moref, timeout=timeout, progress=progress, suspended=True)
        elif action == "reset":
            inventory.reset(moref, timeout=timeout, progress=progress)
        else:
            progress("asking the guest of %s (%s) to shut down" % (record["name"], moref))
            inventory.shutdown_guest(moref)
            wait_powered_off(inventory, moref, timeout, progress)
        after = (inventory.vm_details(moref) or {}).get("power_state", after)

    return {
        "changed": action is not None,
        "name": record["name"],
        "moref": moref,
        "instance_uuid": record.get("instance_uuid"),
        "action": action,
        "power_state_before": before,
        "power_state": after,
        "policies": policies,
        "protected": protected,
        "diff": {"before": {"power_state": before}, "after": {"power_state": after}},
    }
