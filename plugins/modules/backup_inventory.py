#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: backup_inventory
short_description: Report every VM of a vCenter with its IBM Storage Protect Plus backup policies
version_added: 0.1.0
description:
  - Lists the VMs of a vCenter and the VMs known to an IBM Storage Protect Plus (SPP) server, joins them on identity
    (vCenter instance UUID, moref and VM instance UUID, never on names alone), and returns each VM with its SLA
    policies at VM level and at disk level, its power state and whether it has snapshots.
  - VMs known to one side only are returned separately, in RV(vcenter_only) and RV(spp_only).
  - Reads through one paged PropertyCollector listing on the vCenter side and paged listings on the SPP side; it
    makes no per-VM call, so it stays fast on vCenters with thousands of VMs.
  - Read-only, apart from the optional rescan, which runs the SPP C(Hypervisor Inventory) job.
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
    type: int
    default: 600
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

- name: List the VMs that have no policy at all
  ansible.builtin.debug:
    msg: "{{ coverage.vms | selectattr('policies', 'equalto', []) | map(attribute='name') | list }}"
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
      description: The VM's vCenter instance UUID.
      type: str
    spp_id:
      description: The VM's id on the backup server.
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
      description: Inventory path of the VM's folder.
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
      description: Network adapters with C(label), C(mac), C(network) and C(connected).
      type: list
      elements: dict
vcenter_only:
  description: VMs that vCenter has and the backup server does not know yet (run with O(rescan=true)). Same keys as
    RV(vms), with C(known_to_backup=false).
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
summary:
  description: Counts of VMs, VMs with policies, VMs unknown to the backup server, and VMs per policy.
  returned: always
  type: dict
  sample: {"vms": 12, "known_to_backup": 11, "with_vm_policy": 9, "with_disk_policy_only": 1,
           "without_policy": 1, "unknown_to_backup": 1, "backup_only": 0, "per_policy": {"Gold": 9}}
rescanned:
  description: Whether the inventory job ran.
  returned: always
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sovereign.vm_backup.plugins.module_utils import _argspec, _inventory, _module


def main():
    module = AnsibleModule(
        argument_spec=dict(
            _argspec.connection_argument_spec(),
            rescan=dict(type="bool", default=False),
            rescan_until_visible=dict(type="list", elements="str", default=[]),
            rescan_timeout=dict(type="int", default=600),
        ),
        supports_check_mode=True,
    )

    def work():
        with _module.clients(module) as (spp, vsphere):
            found = _inventory.collect_inventory(
                spp, vsphere, rescan=module.params["rescan"], rescan_until_visible=module.params["rescan_until_visible"],
                timeout=module.params["rescan_timeout"], check_mode=module.check_mode, progress=module.log)
        found["summary"] = _inventory.summarize(found["vms"], found["vcenter_only"], found["spp_only"])
        return found

    _module.run(module, work)


if __name__ == "__main__":
    main()
