#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: vm_backup_policy
short_description: Converge the SLA policies of many VMs and disks in one task, with the SecNumCloud rules
version_added: 0.1.0
description:
  - Declares which IBM Storage Protect Plus (SPP) SLA policies protect which VMs, or which single virtual disks, and
    converges the backup server to it in one task.
  - VMs are named by name, moref or instance UUID, or selected in vCenter by folder, name pattern or vSphere tag.
  - Reads everything once (one PropertyCollector listing of vCenter VMs and one paged listing each of the backup
    server's VMs, disks, policies, jobs and sites), plans, checks every rule for the whole plan, and only then writes,
    with one C(applySLAPolicies) call per distinct resulting policy set. SPP replaces a resource's whole set on each
    call, so the module always sends each changed resource's complete resulting set.
  - "Rules checked before any write: the last policy of a powered-on VM cannot be removed; a held policy cannot be
    assigned; a policy assigned to a disk must target a site other than the VM's; a VM must be known to the backup
    server (O(rescan=true) runs the inventory job first). One error lists every offending VM with its fix."
  - A disk-level policy applies to that disk only; the VM does not inherit it, and VM-level assignments never change
    a disk's own policies.
  - Works with O(backup_service=cloudtemple) too, where the console checks the disk policy site rule; see the notes.
author:
  - sovereign.vm_backup maintainers (@sovereign-cloud)
extends_documentation_fragment:
  - sovereign.vm_backup.connection.spp
  - sovereign.vm_backup.connection.vcenter
  - sovereign.vm_backup.attributes
attributes:
  check_mode:
    support: full
    details: The plan, the rule checks and the diff are computed in check mode too; only the writes (and the rescan)
      are skipped.
  diff_mode:
    support: full
  idempotent:
    support: full
  action_group:
    support: full
    membership:
      - sovereign.vm_backup.all
options:
  assignments:
    description:
      - What to assign. Each item designates VMs with one or more selectors (all must match) and lists policies.
    type: list
    elements: dict
    default: []
    suboptions:
      vm:
        description: A VM by name, moref (C(vm-42)) or instance UUID. A name shared by several VMs is an error, as is
          a name that is another VM's moref or instance UUID (a VM named C(vm-42)).
        type: str
      folder:
        description: Every VM in this inventory folder or below it, for example C(/DC0/vm/prod).
        type: str
      name_pattern:
        description: Every VM whose name matches this shell-style pattern, for example C(web-*).
        type: str
      tag:
        description:
          - Every VM carrying this vSphere tag, by tag name, or as C(category/tag), for example C(tier/gold).
          - A tag name is unique only within its category. A bare name that several categories use is an error that
            lists the candidates as C(category/tag), raised before any change (in check mode too); give one of them.
        type: str
      disk:
        description: A disk label (C(Hard disk 2)); the policies then apply to that disk only.
        type: str
      policies:
        description:
          - SLA policy names.
          - "An empty list with O(state=present) is refused before any call unless O(purge=true) (the set becomes
            empty: every policy of the VM or disk is removed, the rules permitting), O(scope) is set (nothing is
            declared for those VMs), or the item sets a backup option. To remove policies, list them with
            O(state=absent)."
        type: list
        elements: str
        required: true
      quiesce:
        description: Application-consistent (quiesced) snapshots for these VMs; overrides O(quiesce).
        type: bool
      fallback_to_crash_consistent:
        description: Fall back to a crash-consistent snapshot when quiescing fails; overrides O(fallback_to_crash_consistent).
        type: bool
  vm:
    description: Shortcut for one assignment item; goes with O(policies) and optionally O(disk).
    type: str
  folder:
    description: Shortcut selector for one assignment item, see O(assignments[].folder).
    type: str
  name_pattern:
    description: Shortcut selector for one assignment item, see O(assignments[].name_pattern).
    type: str
  tag:
    description: Shortcut selector for one assignment item, see O(assignments[].tag).
    type: str
  disk:
    description: With O(vm), the disk the policies apply to.
    type: str
  policies:
    description: With O(vm) or a shortcut selector, the policies of that single assignment.
    type: list
    elements: str
  state:
    description:
      - V(present) ensures the listed policies are assigned; V(absent) removes them.
    type: str
    choices: [present, absent]
    default: present
  purge:
    description: With O(state=present), make each listed VM's (or disk's) set exactly the listed policies.
    type: bool
    default: false
  scope:
    description:
      - Authoritative scope, an inventory folder path or V(all) for the whole vCenter. VMs in the scope that carry
        policies not declared for them are reported in RV(drift).
    type: str
  purge_scope:
    description: Remove the undeclared policies reported in RV(drift). The rules still apply.
    type: bool
    default: false
  quiesce:
    description: Application-consistent (quiesced) snapshots for every VM the task selects (SPP option
      C(makeApplicationConsistent)). Leave unset to keep the current value.
    type: bool
  fallback_to_crash_consistent:
    description: Fall back to crash-consistent snapshots when quiescing fails (SPP option
      C(fallbackToUnquiescedSnapshot)), for every VM the task selects. Leave unset to keep the current value.
    type: bool
  rescan:
    description: When a VM is not known to the backup server yet, run the inventory job and wait until it is.
    type: bool
    default: false
  rescan_timeout:
    description:
      - Seconds to wait, in all, for the VMs to become visible after O(rescan).
      - From 1 to 604800 (a week). A value outside is refused before any call.
    type: int
    default: 600
  write_timeout:
    description:
      - Seconds to wait for the backup service to apply each change the task sends (one set of policies, to the VMs
        and disks that get it), when it applies changes in the background. With O(backup_service=cloudtemple) every
        change is an activity of the console, followed until it ends; an empty policy list's activity may never
        start (Cloud Temple provider issue 306), and the task then fails after this many seconds, saying so.
      - With O(backup_service=spp) SPP applies a change in its answer, which O(spp_timeout) bounds; this option
        is not used.
      - From 1 to 604800 (a week). A value outside is refused before any call.
    type: int
    default: 600
  planned_policies:
    description:
      - SLA policies that an earlier task of the same play creates, given as the same dicts that task takes
        (M(sovereign.vm_backup.backup_sla_policy) options; only C(name), C(site) and C(state) are read).
      - In check mode they do not exist yet, so the plan treats them as existing on their C(site). Ignored outside
        check mode, for policies that already exist, and for entries with C(state=absent).
      - Each entry needs C(name), a non-empty string; C(site), when set, is a non-empty string and C(state)
        V(present) or V(absent). Bad entries are refused before any call, all of them in one message.
    type: list
    elements: dict
    default: []
  enforce:
    description: The rules, each on by default. Turn one off only deliberately.
    type: dict
    default: {}
    suboptions:
      last_policy_of_running_vm:
        description: Refuse to leave a powered-on VM without a policy, or with held policies only.
        type: bool
        default: true
      held_policy:
        description: Refuse to assign a held policy.
        type: bool
        default: true
      disk_policy_site:
        description: Refuse a disk policy that targets the VM's own site.
        type: bool
        default: true
notes:
  - Current backup options have no bulk read in the SPP API, so the module reads them only for the VMs whose options
    the task sets.
  - "Concurrent runs: SPP's C(applySLAPolicies) replaces a resource's whole set and takes no condition, so two plays
    that change the same VM at the same time could each report success while one change is lost. When it has
    assignments to write, the module reads the sets it replaces again just before writing (one listing of the backup
    server's VMs, and of its disks when a disk is written): if one changed since the plan, the task fails with
    C(concurrent change) and writes nothing. Just after writing, it reads them back the same way: if another writer
    replaced its change, the task fails with C(concurrent change), naming the VMs or disks, what it wrote and what is
    there now. A re-run converges. A run that writes nothing reads nothing more."
  - "The check narrows the window but cannot close it (a write still on its way to the server while the other play
    reads back is seen by neither), so plays that change the same VMs must be serialised, for example with
    C(throttle: 1) on the task, C(serial) on the play, one job at a time per AWX job template, or AWX slices that never
    share a VM. Backup options are not read back."
  - "A write that fails after earlier writes of the task were applied (an HTTP error, a failed or timed-out
    activity, an answer lost on the way) fails the task with C(N of M write call(s) were applied); a re-run
    converges from what the server holds."
  - "With O(backup_service=cloudtemple) (Cloud Temple's console API, docs/cloudtemple-api.md in the collection): VM
    and disk assignments, O(purge), O(scope) (V(all) only: the console links no VM to a folder, so O(folder) and a
    folder scope are refused before any call, as are O(tag), without a vCenter login, and the backup options
    O(quiesce) and O(fallback_to_crash_consistent), which the console sets in its UI only), drift, O(rescan) (the
    console's C(Hypervisor Inventory) job, then a bounded wait until the VMs are visible) and the rules, checked
    before any write. The console reads the backup service's VMs one at a time: the module reads the VMs the task
    names (and those of O(scope)), not the whole tenant. One C(assign/virtual_machine) call per distinct policy set
    and one C(assign/virtual_disk) call per disk, each followed through its activity with a deadline; the disks are
    written first."
  - "With O(backup_service=cloudtemple), the disk policy site rule (O(enforce.disk_policy_site)) cannot be checked
    here: the console names no VM's availability zone (docs/cloudtemple-api.md section 16.7). The console checks it
    itself when it assigns a disk policy; its refusal fails the task with the console's reason. The result then
    carries a warning naming the disks concerned, and the disks are written before any VM-level change, so that a
    refusal leaves no VM-level change applied."
  - "With O(backup_service=cloudtemple), removing every policy of a VM or disk (an empty resulting set) is sent like
    any set; as that activity may never start on the console (provider issue 306), its wait ends after
    O(write_timeout) with a message that says what to check. A powered-on VM keeps its last policy (the rule, and the console)."
  - "With O(backup_service=cloudtemple) and no C(vcenter_*) options, the VMs come from the console's compute API: a
    VM's instance UUID in O(vm) is the console's id of the VM."
"""

EXAMPLES = r"""
- name: Gold for every production VM, Silver on one VM's data disk, in one task
  sovereign.vm_backup.vm_backup_policy:
    assignments:
      - folder: /DC0/vm/prod
        policies: [Gold]
      - vm: db01
        disk: Hard disk 2
        policies: [Silver-DR]
    rescan: true

- name: One VM, exactly these policies, without quiescing (no VMware Tools)
  sovereign.vm_backup.vm_backup_policy:
    vm: legacy01
    policies: [Bronze]
    purge: true
    quiesce: false

- name: The folder is managed from Git; report policies assigned by hand, then remove them
  sovereign.vm_backup.vm_backup_policy:
    assignments: "{{ sla_assignments }}"
    scope: /DC0/vm/prod
    purge_scope: true
"""

RETURN = r"""
changes:
  description: Resources whose policy set changes, with C(vm), C(vm_name), C(disk) (null at VM level), C(before),
    C(after), C(added), C(removed) and C(origins) (the assignment items behind the change).
  returned: always
  type: list
  elements: dict
option_changes:
  description: VMs whose backup options change, with C(vm), C(before) and C(after).
  returned: always
  type: list
  elements: dict
drift:
  description: In the authoritative scope, VMs and disks carrying policies not declared for them (C(undeclared)).
  returned: always
  type: list
  elements: dict
summary:
  description: Counts of VMs and disks changed, policies added and removed, options changed, and write calls.
  returned: always
  type: dict
  sample: {"vms_changed": 1000, "disks_changed": 0, "policies_added": 1000, "policies_removed": 0,
           "options_changed": 0, "calls": 2}
rescanned:
  description: Whether the inventory job ran.
  returned: always
  type: bool
"""

from ansible_collections.sovereign.vm_backup.plugins.module_utils import _arguments, _module
from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import assignments as assignment_service

SELECTOR_OPTIONS = ("vm", "folder", "name_pattern", "tag")


def main():
    item_options = dict(
        vm=dict(type="str"), folder=dict(type="str"), name_pattern=dict(type="str"), tag=dict(type="str"),
        disk=dict(type="str"), policies=dict(type="list", elements="str", required=True),
        quiesce=dict(type="bool"), fallback_to_crash_consistent=dict(type="bool"),
    )
    module = _module.connected_module(
        dict(
            assignments=dict(type="list", elements="dict", options=item_options, default=[]),
            vm=dict(type="str"), folder=dict(type="str"), name_pattern=dict(type="str"), tag=dict(type="str"),
            disk=dict(type="str"), policies=dict(type="list", elements="str"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            purge=dict(type="bool", default=False),
            scope=dict(type="str"),
            purge_scope=dict(type="bool", default=False),
            quiesce=dict(type="bool"),
            fallback_to_crash_consistent=dict(type="bool"),
            rescan=dict(type="bool", default=False),
            rescan_timeout=dict(type="int", default=600),
            write_timeout=dict(type="int", default=600),
            planned_policies=dict(type="list", elements="dict", default=[]),
            enforce=dict(type="dict", default={}, options=dict(
                last_policy_of_running_vm=dict(type="bool", default=True),
                held_policy=dict(type="bool", default=True),
                disk_policy_site=dict(type="bool", default=True),
            )),
        ),
        required_by=dict(disk=["vm"]),
        required_if=[("purge_scope", True, ["scope"])],
        supports_check_mode=True,
        ranges={"rescan_timeout": _arguments.WAIT_SECONDS, "write_timeout": _arguments.WAIT_SECONDS},
        entries={"planned_policies": {"name": {"required": True}, "site": {},
                                      "state": {"choices": ("present", "absent")}}},
    )
    params = module.params
    items = list(params["assignments"])
    if any(params[key] for key in SELECTOR_OPTIONS):
        if params["policies"] is None:
            module.fail_json(msg="policies is required with vm, folder, name_pattern or tag")
        items.append({key: params[key] for key in SELECTOR_OPTIONS + ("disk", "policies")})
    elif params["policies"] is not None:
        module.fail_json(msg="policies needs vm, folder, name_pattern or tag (or use assignments)")

    option_defaults = {key: params[key] for key in ("quiesce", "fallback_to_crash_consistent")}

    def refuse_empty_lists():
        problem = assignment_service.empty_policy_problems(items, params["state"], params["purge"], params["scope"],
                                                           option_defaults)
        if problem:
            raise problem

    _module.precheck(module, refuse_empty_lists)  # before any call (the service checks it again)
    _module.run_with_seams(module, lambda backup, inventory: assignment_service.converge(
        backup, inventory, items, state=params["state"], purge=params["purge"], scope=params["scope"],
        purge_scope=params["purge_scope"], option_defaults=option_defaults, enforce=params["enforce"],
        rescan=params["rescan"], rescan_timeout=params["rescan_timeout"], check_mode=module.check_mode,
        progress=module.log, planned_policies=params["planned_policies"]))


if __name__ == "__main__":
    main()
