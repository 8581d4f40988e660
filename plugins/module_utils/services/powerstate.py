# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Service behind ``vm_powerstate``: plan a power action, check protection before a power-on, then act and wait.

Considered private: only this collection may import it. Reads: one PropertyCollector listing of vCenter VMs (without
devices) to find the VM; only when the action would power the VM on and protection is enforced, one paged listing
each of the backup server's hypervisors, VMs, SLA policies, jobs and sites. Check mode runs the same reads and the
same rule check, and skips the power action.
"""

from __future__ import annotations

import time

from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import assignments as assignment_service
from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import joined_inventory
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure import rules
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.vm_resolver import resolve_vm
from ansible_collections.sovereign.vm_backup.plugins.module_utils._wait import wait_until
from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import InvalidRequest, RuleViolation, WaitTimeout
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import listing as spp_listing
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import jobs as spp_jobs
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import policies as spp_policies
from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere import listing as vsphere_listing
from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere import vms as vsphere_vms
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import answers as spp_answers

POWERED_ON = "poweredOn"
POWERED_OFF = "poweredOff"
SUSPENDED = "suspended"
STATES = ("powered-on", "powered-off", "restarted", "shutdown-guest")
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


def read_protection(spp, vsphere, moref, vcenter_vms):
    """``(vm, policies)``: the VM's ``current["vms"]`` record and the policy catalogue, from the backup server's
    listings joined with the vCenter listing already read."""
    reader = joined_inventory.InventoryReader(spp, vsphere, with_disks=False, vcenter_vms=vcenter_vms)
    vms, vcenter_only, _spp_only = reader.read()
    records = [record for record in vms + vcenter_only if record["moref"] == moref]
    held_jobs = spp_answers.held_job_names(spp_jobs.list_jobs(spp))
    current = assignment_service.build_current(records, spp_policies.list_sla_policies(spp), held_jobs,
                                               spp_listing.list_sites(spp))
    return current["vms"].get(moref) or {"moref": moref, "known_to_backup": False}, current["policies"]


def wait_powered_off(vsphere, moref, timeout, progress, sleep=time.sleep, clock=time.monotonic, interval=2.0):
    """Poll the VM's power state until it is off; ``WaitTimeout`` after ``timeout`` seconds (the guest may still be
    shutting down)."""
    last = {}

    def check():
        last["state"] = (vsphere_vms.vm_details(vsphere, moref) or {}).get("power_state")
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


def converge(vsphere, ref, state, spp_clients, enforce_protection=True, timeout=600, check_mode=False,
             progress=None):
    """Bring the VM ``ref`` to ``state``; returns the module result.

    ``spp_clients`` is a context manager factory yielding the backup server's client; it is entered only when the
    action would power the VM on and ``enforce_protection`` is true.
    """
    progress = progress or (lambda message: None)
    vcenter_vms = vsphere_listing.list_vms(vsphere, devices=False)
    record = resolve_vm(ref, vcenter_vms)
    moref, before = record["moref"], record.get("power_state")
    action, after = plan_action(state, before)

    policies = protected = None
    if action == "power_on" and enforce_protection:
        with spp_clients() as spp:
            vm, catalogue = read_protection(spp, vsphere, moref, vcenter_vms)
        policies = sorted(vm.get("policies") or [])
        violations = protection_violations(moref, dict(vm, name=record["name"]), catalogue)
        protected = not violations
        if violations:
            raise RuleViolation(violations, outcome="%s was not powered on" % record["name"])

    if action and not check_mode:
        task_progress = _task_progress(progress)
        if action == "power_on":
            vsphere_vms.power_on_vm(vsphere, moref, timeout=timeout, progress=task_progress)
        elif action == "power_off":
            vsphere_vms.power_off_vm(vsphere, moref, timeout=timeout, progress=task_progress, suspended=True)
        elif action == "reset":
            vsphere_vms.reset_vm(vsphere, moref, timeout=timeout, progress=task_progress)
        else:
            progress("asking the guest of %s (%s) to shut down" % (record["name"], moref))
            vsphere_vms.shutdown_guest(vsphere, moref)
            wait_powered_off(vsphere, moref, timeout, progress)
        after = (vsphere_vms.vm_details(vsphere, moref) or {}).get("power_state", after)

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


def _task_progress(progress):
    def report(info):
        progress("vSphere task %s: %s" % (info.key, info.state))
    return report
