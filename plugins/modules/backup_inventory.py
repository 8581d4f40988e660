#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: backup_inventory
short_description: Report backup coverage and compliance of every VM of a vCenter with IBM Storage Protect Plus
version_added: 0.1.0
description:
  - Lists the VMs of a vCenter and the VMs known to an IBM Storage Protect Plus (SPP) server, joins them on identity
    (vCenter instance UUID, moref and VM instance UUID, never on names alone), and returns each VM with its SLA
    policies at VM level and at disk level, its power state and whether it has snapshots.
  - VMs known to one side only are returned separately, in RV(vcenter_only) and RV(spp_only).
  - Flags every VM that is not really protected, each flag with a short reason, and summarizes the flags, the VMs
    per policy and the outcomes of the backup jobs of the last 24 hours and 7 days. The flags are
    C(unknown_to_backup) (in vCenter, never inventoried by the backup server), C(unprotected) (no policy at VM or
    disk level), C(held_only) (every policy is held, or no longer exists), C(stale) (has a policy but no good
    recovery point within O(rpo)), C(blocked_first_backup) (has snapshots and was never backed up, so its first
    backup fails), C(partially_covered) (independent or RDM disks, or disks without a policy while the VM is protected
    at disk level only) and C(violation) (powered on while unprotected or held only).
  - With O(fail_on), the module becomes a gate for pipelines; it fails and lists every VM that carries one of those
    flags, with its reason and fix.
  - Reads through one paged PropertyCollector listing on the vCenter side and paged listings on the SPP side
    (hypervisors, VMs with their newest recovery point, vdisks, SLA policies, jobs and the job sessions of the last
    7 days); it makes no per-VM call, so it stays fast on vCenters with thousands of VMs. O(include) leaves out what
    a run does not need.
  - Read-only, apart from the optional rescan, which runs the SPP C(Hypervisor Inventory) job.
  - Works with O(backup_service=cloudtemple) too; see the notes.
author:
  - sovereign.vm_backup maintainers (@sovereign-cloud)
extends_documentation_fragment:
  - sovereign.vm_backup.connection.spp
  - sovereign.vm_backup.connection.vcenter
  - sovereign.vm_backup.attributes
attributes:
  check_mode:
    support: full
    details: In check mode no rescan runs; C(changed) tells whether a rescan would change what the backup server knows.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: Without a rescan nothing changes. With O(rescan=true), a second run reports no change.
  action_group:
    support: full
    membership:
      - sovereign.vm_backup.all
options:
  rescan:
    description:
      - Run the SPP C(Hypervisor Inventory) job and wait for it before reporting, so that VMs created since the last
        inventory are known to the backup server.
    type: bool
    default: false
  rescan_until_visible:
    description:
      - VMs (names, morefs or instance UUIDs) that must be visible to the backup server before the module reports.
      - When one of them is not, the module runs the inventory job, and runs it again until they all are or
        O(rescan_timeout) has passed.
    type: list
    elements: str
    default: []
  rescan_timeout:
    description:
      - How many seconds to wait, in all, for the inventory job runs.
      - From 1 to 604800 (a week). A value outside is refused before any call.
    type: int
    default: 600
  rpo:
    description:
      - Recovery point objective. A VM with a policy whose newest good recovery point is older than this, or that
        has none, is flagged C(stale).
      - A duration with units C(s), C(m), C(h), C(d) or C(w), for example C(24h), C(90m) or C(1d12h), longer than
        0; checked before any call.
    type: str
    default: 24h
  include:
    description:
      - What to read beyond the VMs, their policies, power state, snapshots and newest recovery point, which are
        always read.
      - C(disks) reads the virtual disks from vCenter (labels, sizes, independent and RDM disks); without it,
        C(partially_covered) is not evaluated (its summary count is null) and RV(vms[].disks) is null. The disk-level
        policies are read in every case, so a VM protected at disk level never looks unprotected.
      - C(nics) reads the network adapters (RV(vms[].nics)). They say nothing about protection, so the default
        leaves them out. C(disks) and C(nics) both come from the VMs' virtual hardware, the costly part of the vCenter
        listing.
      - C(jobs) reads the backup job sessions of the last 7 days for the C(jobs) part of RV(summary).
      - An empty list makes the cheapest run, enough to answer "has every VM a policy?".
    type: list
    elements: str
    choices: [disks, nics, jobs]
    default: [disks, jobs]
  fail_on:
    description:
      - Flags that make the task fail, for pipelines and audits. The failure message lists every VM concerned with
        its reason and fix; the result still carries RV(summary), and C(offenders) maps each flag to its VMs.
      - C(partially_covered) needs C(disks) in O(include).
    type: list
    elements: str
    choices: [unknown_to_backup, unprotected, held_only, stale, blocked_first_backup, partially_covered, violation]
    default: []
notes:
  - "With O(backup_service=cloudtemple) (Cloud Temple's console API, docs/cloudtemple-api.md in the collection): the
    same report, flags with the same meanings, O(fail_on) and O(rescan) (the console's C(Hypervisor Inventory) job,
    run again until the VMs of O(rescan_until_visible) are visible, within O(rescan_timeout)). The console has no
    list of the backup service's VMs (section 8.1), so each VM's record is read by its id, in parallel, and
    RV(spp_only) is always empty. Disk-level policies are read one disk at a time (section 6.1), so only when
    O(include) has V(disks): without it, a VM protected on its disks only shows no policy and is flagged
    C(unprotected). Inferred values: RV(vms[].last_backup), from the policies' job sessions (see
    RV(vms[].last_backup_source)); held, from the status of the policy's job (the console's policy object has no
    status, section 16.6). C(jobs) comes from the console's session list (counts, no per-VM detail)."
  - "With O(backup_service=cloudtemple) and no C(vcenter_*) options, the VMs come from the console's compute API
    (section 12): RV(vms[].instance_uuid) is the console's id of the VM, RV(vms[].folder) is null (unavailable:
    the console links no VM to a folder), RV(vms[].host) is null and RV(vms[].nics) is null."
"""

EXAMPLES = r"""
- name: Report backup coverage of every VM
  sovereign.vm_backup.backup_inventory:
    spp_url: https://spp.example.com
    spp_username: ansible
    spp_password: "{{ vault_spp_password }}"
    vcenter_hostname: vcenter.example.com
    vcenter_username: ansible@vsphere.local
    vcenter_password: "{{ vault_vcenter_password }}"
  register: coverage

- name: Make two new VMs known to the backup server, then report
  sovereign.vm_backup.backup_inventory:
    rescan_until_visible:
      - app01
      - app02
    rescan_timeout: 900
  register: coverage

- name: List the VMs that are not compliant, with their reasons
  ansible.builtin.debug:
    msg: "{{ (coverage.vms + coverage.vcenter_only) | rejectattr('compliant') | items2dict(key_name='name', value_name='reasons') }}"

- name: Gate a pipeline - no VM may run without a policy that is not held (reads only what that needs)
  sovereign.vm_backup.backup_inventory:
    include: []
    fail_on:
      - unknown_to_backup
      - violation

- name: Daily audit with a 12-hour RPO; fail_on [stale] would make it a gate
  sovereign.vm_backup.backup_inventory:
    rpo: 12h
    include: [jobs]
  register: audit

- name: Show the stale VMs and the backup jobs of the last 24 hours
  ansible.builtin.debug:
    msg:
      - "stale: {{ (audit.vms + audit.vcenter_only) | selectattr('flags', 'contains', 'stale') | map(attribute='name') | list }}"
      - "jobs, last 24 h: {{ audit.summary.jobs.last_24h }}"
"""

RETURN = r"""
vms:
  description: VMs known to both vCenter and the backup server, sorted by name.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: VM name in vCenter.
      type: str
      sample: web01
    moref:
      description: Managed object id in vCenter.
      type: str
      sample: vm-42
    instance_uuid:
      description: The VM's vCenter instance UUID; with O(backup_service=cloudtemple) and no C(vcenter_*) options,
        the console's id of the VM.
      type: str
    spp_id:
      description: The VM's id on the backup server (on Cloud Temple's console, its compute id).
      type: str
    known_to_backup:
      description: Always true in this list.
      type: bool
    power_state:
      description: C(poweredOn), C(poweredOff) or C(suspended).
      type: str
    has_snapshots:
      description: Whether the VM has vSphere snapshots.
      type: bool
    folder:
      description: Inventory path of the VM's folder; null when the VMs come from Cloud Temple's console, which links
        no VM to a folder.
      type: str
      sample: /DC0/vm/prod
    datacenter:
      description: Datacenter name.
      type: str
    host:
      description: ESXi host name.
      type: str
    cluster:
      description: Cluster name, or null for a standalone host.
      type: str
    policies:
      description: SLA policies assigned at VM level.
      type: list
      elements: str
      sample: [Gold]
    disks:
      description:
        - Virtual disks, each with its C(label), C(key), C(size_bytes), C(mode), C(spp_id) and the C(policies)
          assigned to the disk.
        - C(mode) is C(normal), C(independent) or C(rdm); independent and RDM disks are not captured by snapshots.
      type: list
      elements: dict
    nics:
      description:
        - Network adapters with C(label), C(mac), C(network) and C(connected).
        - Null unless O(include) has C(nics).
      type: list
      elements: dict
    disk_policies:
      description: SLA policies assigned to one or more of the VM's disks (read even when O(include) leaves out
        C(disks)).
      type: list
      elements: str
    held_policies:
      description: The VM's policies, at VM or disk level, that are held or no longer exist.
      type: list
      elements: str
    last_backup:
      description: Time of the newest good recovery point (ISO 8601, UTC), or null when the VM was never backed up.
      type: str
      sample: "2026-11-22T02:11:10Z"
    last_backup_policy:
      description: SLA policy of that recovery point.
      type: str
      sample: Gold
    last_backup_source:
      description:
        - Where RV(vms[].last_backup) was read. V(vm_listing) is the C(protectionInfo) of the VM listing, when the
          server fills it; V(recovery_search) is one search of the recovery view, which lists only the VMs that
          have recovery points; V(latestversion) is the VM's own C(latestversion) link, read only for the VMs that
          neither of the first two settles (bounded parallel reads). Null when the backup server does not know the
          VM.
        - V(policy_sessions_inferred) with O(backup_service=cloudtemple), whose console has no recovery points, for
          the start of the newest C(COMPLETED) job session of a policy the VM holds now (a VM assigned after that
          session counts as backed up by it).
      type: str
      sample: recovery_search
    flags:
      description: Compliance flags, in the order of O(fail_on)'s choices; empty for a compliant VM.
      type: list
      elements: str
      sample: [unprotected, violation]
    reasons:
      description: One short sentence per flag.
      type: dict
      sample: {"unprotected": "no backup policy at VM or disk level.",
               "violation": "powered on while unprotected: SecNumCloud requires a policy that is not held."}
    compliant:
      description: Whether the VM carries no flag.
      type: bool
vcenter_only:
  description: VMs that vCenter has and the backup server does not know yet (run with O(rescan=true)). Same keys as
    RV(vms), with C(known_to_backup=false) and the flag C(unknown_to_backup).
  returned: always
  type: list
  elements: dict
spp_only:
  description: VMs the backup server knows that this vCenter does not have (deleted VMs, or another vCenter).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: VM name as the backup server last saw it.
      type: str
    spp_id:
      description: The VM's id on the backup server.
      type: str
    policies:
      description: SLA policies still assigned at VM level.
      type: list
      elements: str
    disk_policies:
      description: SLA policies still assigned to one or more of its disks.
      type: list
      elements: str
summary:
  description:
    - Counts over every vCenter VM (templates excluded), RV(vms) and RV(vcenter_only) together.
    - C(flags) counts the VMs per flag; a flag that was not evaluated (see O(include)) is null.
    - C(per_policy) gives, for every policy of the server, the VMs that have it at VM or disk level and whether it
      is held.
    - C(last_backup_sources) counts the VMs per source of their last backup time (see RV(vms[].last_backup_source)).
    - C(jobs) counts the backup job sessions (scheduled and on demand) started in the last 24 hours and the last
      7 days by outcome (C(successful), C(failed), C(partial), C(running)), and C(per_day) gives the same per UTC day
      for the last 7 days, oldest first. Null when O(include) leaves out C(jobs).
  returned: always
  type: dict
  sample: {"vms": 12, "known_to_backup": 11, "unknown_to_backup": 1, "backup_only": 0, "compliant": 8,
           "non_compliant": 4, "with_vm_policy": 9, "with_disk_policy_only": 1, "without_policy": 2,
           "flags": {"unknown_to_backup": 1, "unprotected": 2, "held_only": 0, "stale": 1,
                     "blocked_first_backup": 0, "partially_covered": 1, "violation": 1},
           "per_policy": {"Gold": {"vms": 9, "held": false}, "Silver": {"vms": 1, "held": false}},
           "rpo": "24h", "rpo_seconds": 86400, "generated_at": "2026-11-22T02:11:10Z",
           "last_backup_sources": {"recovery_search": 11},
           "jobs": {"last_24h": {"successful": 3, "failed": 0, "partial": 1, "running": 0, "total": 4},
                    "last_7d": {"successful": 20, "failed": 1, "partial": 1, "running": 0, "total": 22},
                    "per_day": [{"date": "2026-11-22", "successful": 3, "failed": 0, "partial": 1, "running": 0}]}}
rescanned:
  description: Whether the inventory job ran.
  returned: always
  type: bool
  sample: false
"""

from ansible_collections.sovereign.vm_backup.plugins.module_utils import _arguments, _module
from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import coverage as coverage_service
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure import coverage_model


def main():
    module = _module.connected_module(
        dict(
            rescan=dict(type="bool", default=False),
            rescan_until_visible=dict(type="list", elements="str", default=[]),
            rescan_timeout=dict(type="int", default=600),
            rpo=dict(type="str", default="24h"),
            include=dict(type="list", elements="str", choices=list(coverage_model.INCLUDE_CHOICES),
                         default=list(coverage_model.DEFAULT_INCLUDE)),
            fail_on=dict(type="list", elements="str", choices=list(coverage_model.FLAGS), default=[]),
        ),
        supports_check_mode=True,
        ranges={"rescan_timeout": _arguments.WAIT_SECONDS},
        durations=("rpo",),
    )

    params = module.params
    _module.run_with_seams(module, lambda backup, inventory: coverage_service.collect_coverage(
        backup, inventory, rpo=params["rpo"], include=params["include"], fail_on=params["fail_on"], rescan=params["rescan"],
        rescan_until_visible=params["rescan_until_visible"], rescan_timeout=params["rescan_timeout"],
        check_mode=module.check_mode, progress=module.log))


if __name__ == "__main__":
    main()
