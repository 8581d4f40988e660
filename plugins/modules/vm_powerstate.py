#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: vm_powerstate
short_description: Power a VM on, off, restart it or shut its guest down, refusing to start an unprotected VM
version_added: 0.1.0
description:
  - Powers one vCenter VM on or off, restarts it, or asks its guest OS to shut down, through pyVmomi, and waits for the
    vSphere task (bounded by O(timeout)).
  - "Before any action that would power the VM on (V(powered-on) on a VM that is off or suspended, V(restarted) on a
    VM that is not running), it checks the SecNumCloud rule: a VM must have at least one VM-level backup policy that
    is not held. A VM the backup server does not know, a VM with no VM-level policy and a VM whose policies are all
    held are refused, the VM stays as it is, and the error says how to fix it (assign a policy with
    M(sovereign.vm_backup.vm_backup_policy), release a held policy with M(sovereign.vm_backup.backup_sla_policy),
    or make the backup server see the VM with a rescan)."
  - The backup server is read only for such an action, and only when O(enforce_protection=true); other actions need
    the vCenter connection only.
  - Reads vCenter once (one PropertyCollector listing, without devices) to find the VM, and the backup server with
    one paged listing each of VMs, SLA policies, jobs and sites.
  - Works with O(backup_service=cloudtemple) too (power on and off only without vCenter); see the notes.
author:
  - sovereign.vm_backup maintainers (@sovereign-cloud)
extends_documentation_fragment:
  - sovereign.vm_backup.connection.spp
  - sovereign.vm_backup.connection.vcenter
  - sovereign.vm_backup.attributes
attributes:
  check_mode:
    support: full
    details: The plan (would power on or off) and the protection check run in check mode too; only the power action
      is skipped.
  diff_mode:
    support: full
    details: The power state before and after.
  idempotent:
    support: partial
    details: V(powered-on), V(powered-off) and V(shutdown-guest) change nothing when the VM is already in that state.
      V(restarted) always restarts, so it always reports a change.
  action_group:
    support: full
    membership:
      - sovereign.vm_backup.all
options:
  vm:
    description: The VM, by name, moref (C(vm-42)) or instance UUID, a non-empty string. A name shared by several VMs
      is an error, as is a name that is another VM's moref or instance UUID (a VM named C(vm-42)).
    type: str
    required: true
  state:
    description:
      - V(powered-on) powers the VM on (a suspended VM resumes); V(powered-off) powers it off hard (a suspended VM
        too).
      - V(restarted) hard-resets a running VM (C(ResetVM_Task)), and powers on a VM that is off; it always reports a
        change.
      - V(shutdown-guest) asks the guest OS to shut down through VMware Tools, then waits until the VM is off, at most
        O(timeout) seconds. Without VMware Tools running in the guest, vCenter refuses and the task fails with an error
        that says so; there is no silent fallback to a hard power-off (use V(powered-off) for that).
    type: str
    required: true
    choices: [powered-on, powered-off, restarted, shutdown-guest]
  enforce_protection:
    description:
      - Refuse to power on a VM (or restart it from off) that the backup server does not know, that has no VM-level
        policy, or whose policies are all held.
      - Set V(false) only deliberately, for example for a VM that is protected by other means.
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for the vSphere task, or with V(shutdown-guest) for the VM to be off.
      - From 1 to 604800 (a week). A value outside is refused before any call.
    type: int
    default: 600
notes:
  - The vCenter simulator (vcsim) accepts C(ShutdownGuest) without VMware Tools and powers the VM off at once; a real
    vCenter needs VMware Tools running in the guest.
  - "With O(backup_service=cloudtemple) (Cloud Temple's console API, docs/cloudtemple-api.md in the collection): the
    protection check reads the VM's record on the console's backup service (that VM only), its policies and their
    jobs (held: the job's status, inferred). Without C(vcenter_*) options, the VM is found and powered through the
    console's compute API, over the same console connection: V(powered-on) (with the console's placement
    recommendation) and V(powered-off) only, as the console's power route takes C(on) and C(off) only (section
    12.5): V(restarted) of a running VM and V(shutdown-guest) fail before any action; a VM's instance UUID is the
    console's id of the VM. The console refuses to power on a VM without a usable policy itself (issues 38 and
    194); this module checks first, and should the console still refuse, the task fails as a rule violation
    (C(protected_before_power_on)) with the console's own words."
seealso:
  - module: sovereign.vm_backup.vm_backup_policy
  - module: sovereign.vm_backup.backup_sla_policy
"""

EXAMPLES = r"""
- name: Start a CI VM only if it is protected (fails and leaves it off otherwise)
  sovereign.vm_backup.vm_powerstate:
    vm: ci-runner-01
    state: powered-on

- name: Shut the guest down cleanly, waiting at most five minutes
  sovereign.vm_backup.vm_powerstate:
    vm: vm-42
    state: shutdown-guest
    timeout: 300

- name: Start a VM that is protected by other means
  sovereign.vm_backup.vm_powerstate:
    vm: appliance01
    state: powered-on
    enforce_protection: false
"""

RETURN = r"""
name:
  description: The VM's name.
  returned: always
  type: str
  sample: ci-runner-01
moref:
  description: The VM's managed object id.
  returned: always
  type: str
  sample: vm-42
instance_uuid:
  description: The VM's instance UUID.
  returned: always
  type: str
action:
  description: What was done (or in check mode would be done), null when nothing.
  returned: always
  type: str
  sample: power_on
power_state_before:
  description: The vSphere power state before the task (C(poweredOn), C(poweredOff) or C(suspended)).
  returned: always
  type: str
power_state:
  description: The power state after the task (in check mode, the one it would have).
  returned: always
  type: str
policies:
  description: The VM-level SLA policies on the backup server; null when the backup server was not read (no power-on,
    or O(enforce_protection=false)).
  returned: always
  type: list
  elements: str
protected:
  description: Whether the VM has a VM-level policy that is not held; null when the backup server was not read.
  returned: always
  type: bool
violations:
  description: On refusal, the rule violations, each with C(rule), C(vm), C(moref), C(reason) and C(fix).
  returned: failed
  type: list
  elements: dict
  sample: [{"rule": "no_policy", "vm": "web01", "moref": "vm-42", "reason": "web01 has no VM-level backup policy.",
            "fix": "assign one with sovereign.vm_backup.vm_backup_policy, then power it on"}]
"""

from ansible_collections.sovereign.vm_backup.plugins.module_utils import _arguments, _module
from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import powerstate as powerstate_service


def main():
    module = _module.connected_module(
        dict(
            vm=dict(type="str", required=True),
            state=dict(type="str", required=True, choices=list(powerstate_service.STATES)),
            enforce_protection=dict(type="bool", default=True),
            timeout=dict(type="int", default=600),
        ),
        supports_check_mode=True,
        ranges={"timeout": _arguments.WAIT_SECONDS},
        texts={"vm": "a VM name, moref or instance UUID"},
    )
    params = module.params

    # The backup service is read only before a power-on; with Cloud Temple's console on both sides, over the
    # inventory's own client (_module.backup_beside).
    _module.run_with_seams(module, lambda _backup, inventory: powerstate_service.converge(
        inventory, params["vm"], params["state"], _module.backup_beside(module, inventory),
        enforce_protection=params["enforce_protection"], timeout=params["timeout"], check_mode=module.check_mode,
        progress=module.log), backup=False)


if __name__ == "__main__":
    main()
