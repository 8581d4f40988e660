#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: backup_sla_policy
short_description: Manage an IBM Storage Protect Plus SLA policy, including hold and release
version_added: 0.1.0
description:
  - Creates, updates or deletes one SLA (backup) policy on an IBM Storage Protect Plus (SPP) server, and holds or
    releases its backup job.
  - Only the options you give are compared with the server, so fields managed elsewhere are left alone. An update
    sends the full definition with the policy's current name, so it never triggers SPP's rename-and-copy behaviour.
  - A policy that is still assigned to VMs or disks is not deleted; the error lists them.
  - A held policy runs no scheduled backup, and a VM whose policies are all held is not protected.
  - With O(backup_service=cloudtemple), reads and checks the policy only; see the notes.
author:
  - sovereign.vm_backup maintainers (@sovereign-cloud)
extends_documentation_fragment:
  - sovereign.vm_backup.connection.spp
  - sovereign.vm_backup.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
  action_group:
    support: full
    membership:
      - sovereign.vm_backup.all
options:
  name:
    description: Name of the SLA policy, a non-empty string. It identifies the policy; this module never renames one.
    type: str
    required: true
  state:
    description: Whether the policy exists.
    type: str
    choices: [present, absent]
    default: present
  description:
    description: Free text shown with the policy.
    type: str
  site:
    description:
      - Name of the site (availability zone) where backups of this policy are stored, for example C(Primary).
      - Required to create a policy. A policy assigned to a disk must target a site other than the VM's.
    type: str
  retention:
    description: How long recovery points are kept. Give exactly one of O(retention.days) or O(retention.recovery_points).
    type: dict
    suboptions:
      days:
        description:
          - Keep recovery points this many days. Lowering it purges older points on the server.
          - From 1 to 36500. A value outside is refused before any call.
        type: int
      recovery_points:
        description:
          - Keep this many recovery points.
          - From 1 to 100000. A value outside is refused before any call.
        type: int
  schedule:
    description: When the policy's job runs. Keys you leave out keep their current value.
    type: dict
    suboptions:
      every:
        description: The unit of the schedule.
        type: str
        choices: [subhourly, hourly, daily, weekly, monthly]
      interval:
        description:
          - Run every O(schedule.interval) units (minutes for C(subhourly)).
          - From 1 to 999. A value outside is refused before any call.
        type: int
      start:
        description: First run, as an ISO 8601 date and time (UTC when no offset is given). SPP rounds it to 5 minutes.
        type: str
      timezone:
        description: Time zone of the schedule, for example C(Europe/Paris).
        type: str
      weekdays:
        description: Days of the week, by name (C(monday)) or number (1 is Sunday), with O(schedule.every=weekly).
        type: list
        elements: str
      monthdays:
        description: Days of the month, each from 1 to 31, with O(schedule.every=monthly).
        type: list
        elements: int
  encryption:
    description: Encrypt backups of this policy.
    type: bool
  held:
    description:
      - Hold (V(true)) or release (V(false)) the policy's backup job. Leave unset to keep the current state.
      - SPP creates the job with the first assignment, so a policy that is assigned to nothing cannot be held yet.
    type: bool
notes:
  - "Concurrent runs: an update sends the whole definition (SPP offers no partial or conditional update), so two plays
    that change the same policy at the same time could each report success while one change is lost. The module reads
    the policy again just before the update: if it changed since the module read it, the task fails with
    C(concurrent change) and writes nothing. It reads it back just after: if a value it set is no longer there, the
    task fails with C(concurrent change), naming the policy, what it wrote and what is there now. A re-run converges."
  - "The check narrows the window but cannot close it, so plays that change the same policy must be serialised, for
    example with C(throttle: 1), C(serial) or one job at a time per AWX job template."
  - "With O(backup_service=cloudtemple), the module is B(read-only): Cloud Temple's console API only reads policies
    (docs/cloudtemple-api.md sections 6 and 14), and new policies are created by Cloud Temple support, through a
    service request made from the lifebuoy icon at the top right of the Cloud Temple console
    (U(https://shiva.cloud-temple.com)). O(state=present) of an existing policy, given by name alone or with options
    that match what the console holds, is V(ok) (C(changed=false)) and returns RV(policy). O(state=absent) of a
    policy the console does not have is V(ok). Creating, changing (any option that differs, O(description)
    included: the console's policies have none) or deleting a policy fails after the reads and before any write,
    with C(policies are created by Cloud Temple support) and where to ask. O(held) is a check: it is V(ok) when the
    policy is in that state (read from the status of its job, C(HELD); inferred, section 16.6) and fails
    otherwise, saying which state it is in (the console has no hold or release route). Check mode does the same."
"""

EXAMPLES = r"""
- name: A daily policy kept 30 days, stored on the secondary site
  sovereign.vm_backup.backup_sla_policy:
    name: Daily-30d
    description: Daily backup, 30 days
    site: Secondary
    retention:
      days: 30
    schedule:
      every: daily
      start: "2026-01-01T22:00:00Z"
      timezone: Europe/Paris

- name: Protect a VM with it (the backup server creates the policy's job at its first assignment)
  sovereign.vm_backup.vm_backup_policy:
    vm: app01
    policies: [Daily-30d]

- name: Suspend the policy during a legal hold
  sovereign.vm_backup.backup_sla_policy:
    name: Daily-30d
    held: true

- name: Release it
  sovereign.vm_backup.backup_sla_policy:
    name: Daily-30d
    held: false

- name: Delete a policy no VM uses any more
  sovereign.vm_backup.backup_sla_policy:
    name: Legacy
    state: absent
"""

RETURN = r"""
policy:
  description: The policy as it is after the run (as it would be, in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    name:
      description: Policy name.
      type: str
    id:
      description: Policy id on the server (unknown for a policy that check mode would create).
      type: str
    description:
      description: Description.
      type: str
    site:
      description: Target site of the backups.
      type: str
    encryption:
      description: Whether backups are encrypted.
      type: bool
    retention:
      description: 'SPP retention: C(age) in days, or C(numsnapshots).'
      type: dict
    trigger:
      description: SPP schedule trigger (C(type), C(frequency), C(activateDate) in epoch ms, C(timezone), day lists).
      type: dict
    held:
      description: Whether the policy's job is held.
      type: bool
    held_from:
      description:
        - The field of the policy's job that RV(policy.held) was read from (C(status), or on servers whose jobs
          carry no status, C(lastSessionStatus) or C(lastrun.status)). Null when the policy has no job yet.
        - "With O(backup_service=cloudtemple), C(job status (inferred: the policy object has no status))."
      type: str
      sample: status
    job:
      description: Name of the policy's backup job, or null before the first assignment.
      type: str
actions:
  description: What was done (or would be done in check mode).
  returned: always
  type: list
  elements: str
  sample: ["update: retention, trigger", "hold"]
"""

from ansible_collections.sovereign.vm_backup.plugins.module_utils import _module
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure import sla_definition
from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import sla_policies as sla_policy_service


def main():
    module = _module.connected_module(
        dict(
            name=dict(type="str", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            description=dict(type="str"),
            site=dict(type="str"),
            retention=dict(type="dict", options=dict(days=dict(type="int"), recovery_points=dict(type="int")),
                           mutually_exclusive=[("days", "recovery_points")],
                           required_one_of=[("days", "recovery_points")]),
            schedule=dict(type="dict", options=dict(
                every=dict(type="str", choices=["subhourly", "hourly", "daily", "weekly", "monthly"]),
                interval=dict(type="int"),
                start=dict(type="str"),
                timezone=dict(type="str"),
                weekdays=dict(type="list", elements="str"),
                monthdays=dict(type="list", elements="int"),
            )),
            encryption=dict(type="bool"),
            held=dict(type="bool"),
        ),
        vcenter=False,
        supports_check_mode=True,
        ranges=sla_definition.RANGES,
        texts={"name": "a policy name"},
    )
    params = module.params
    # The whole definition is checked before any call too (the service checks it again).
    _module.precheck(module, lambda: sla_definition.check_definition(
        site=params["site"], retention=params["retention"], schedule=params["schedule"],
        encryption=params["encryption"]))

    _module.run_with_seams(module, lambda backup, _inventory: sla_policy_service.ensure_sla_policy(
        backup, params["name"], state=params["state"], description=params["description"], site=params["site"],
        retention=params["retention"], schedule=params["schedule"], encryption=params["encryption"],
        held=params["held"], check_mode=module.check_mode), inventory=False)


if __name__ == "__main__":
    main()
