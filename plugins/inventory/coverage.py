# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
name: coverage
short_description: Inventory of vCenter VMs grouped by backup policy and backup compliance
version_added: 0.1.0
description:
  - Builds an inventory of the VMs of a vCenter (templates excluded), from the same coverage report as the
    P(sovereign.vm_backup.backup_inventory#module) module, and groups them by IBM Storage Protect Plus (SPP) backup
    policy and by compliance flag, so that a play can target, for example, every unprotected VM.
  - Every VM vCenter has is a host, including the VMs the backup server has never inventoried. VMs that only the
    backup server knows (deleted from vCenter) are not hosts.
  - The configuration file name must end in V(sovereign_coverage.yml) or V(sovereign_coverage.yaml), for example
    V(prod.sovereign_coverage.yml).
  - "Groups (each name starts with O(group_prefix)): C(policy_<name>) for every SLA policy of the server, holding the
    VMs that have the policy at VM or at disk level; one group per compliance flag: C(unknown_to_backup),
    C(unprotected), C(held_only), C(stale), C(blocked_first_backup), C(partially_covered) and C(violation); and
    C(compliant), the VMs without any flag. These groups exist even when empty, so that C(groups['unprotected'])
    is always defined. C(partially_covered) exists only when O(include) has V(disks), because the flag cannot be
    computed otherwise."
  - Policy names are made safe for group names the standard way, as P(ansible.builtin.constructed#inventory) does;
    every character that is not a letter, a digit or C(_) becomes C(_), whatever C(TRANSFORM_INVALID_GROUP_CHARS)
    says, so that the group names do not depend on the controller's configuration.
  - "Host variables, all prefixed with C(sovereign_backup_): C(name), C(moref), C(instance_uuid), C(spp_id) (null
    when C(known_to_backup) is false), C(known_to_backup), C(power_state), C(has_snapshots), C(folder), C(datacenter),
    C(cluster), C(esxi_host) (the ESXi host name), C(policies) (VM level), C(disk_policies) (the policies of the VM's
    disks, read in every case), C(disks) and C(nics) (null unless in O(include)),
    C(held_policies), C(last_backup) (newest good recovery point, ISO 8601 UTC, or null), C(last_backup_policy),
    C(flags) (list), C(reasons) (flag to sentence) and C(compliant) (bool)."
  - The plugin does not read the VMs' IP addresses and never sets C(ansible_host). The hosts are meant for tasks
    delegated to the controller (see the examples), or set C(ansible_host) yourself with O(compose).
author:
  - sovereign.vm_backup maintainers (@sovereign-cloud)
requirements:
  - pyvmomi
  - requests
extends_documentation_fragment:
  - sovereign.vm_backup.plugin_connection
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
options:
  plugin:
    description: Marks the file as a configuration of this plugin.
    type: str
    required: true
    choices:
      - sovereign.vm_backup.coverage
  rpo:
    description:
      - Recovery point objective. A VM whose newest good recovery point is older than this, or that was never
        backed up although it has a policy, is in the C(stale) group.
      - A duration like V(24h), V(90m), V(7d) or V(1d12h) (units s, m, h, d, w).
    type: str
    default: 24h
  include:
    description:
      - Per-VM details to read besides policies and compliance.
      - V(disks) reads the virtual disks, their modes and their own policies; it is needed for the
        C(partially_covered) group and for the disk-level members of the C(policy_<name>) groups.
      - V(nics) reads the network adapters into C(sovereign_backup_nics).
      - The backup job statistics of the P(sovereign.vm_backup.backup_inventory#module) module are not offered, as
        no host or group uses them.
    type: list
    elements: str
    choices:
      - disks
      - nics
    default:
      - disks
  hostnames:
    description:
      - What names the inventory hosts.
      - V(name) is the VM name. When several VMs share a name (in different folders), each of them is named
        C(<name>_<moref>), so that no VM hides another and the names do not depend on the listing order; a
        warning lists them.
      - V(moref) is the vCenter managed object id (C(vm-42)), unique within a vCenter.
      - V(instance_uuid) is the vCenter instance UUID of the VM.
    type: str
    choices:
      - name
      - moref
      - instance_uuid
    default: name
  group_prefix:
    description:
      - Text put before the name of every group this plugin creates (not before the groups of O(groups) and
        O(keyed_groups)), for example V(backup_) for C(backup_unprotected) and C(backup_policy_Gold).
    type: str
    default: ""
notes:
  - The plugin reads both servers in bulk, with a few paged listings and no call per VM, like the
    P(sovereign.vm_backup.backup_inventory#module) module. With O(cache=true), the report is kept in the cache and
    the servers are not read again until the cache expires or C(ansible-inventory --flush-cache) is run.
  - The plugin never runs the backup server's inventory job; VMs created since its last run are in
    C(unknown_to_backup).
"""

EXAMPLES = r"""
# prod.sovereign_coverage.yml; the connection comes from the environment (SPP_URL, SPP_USERNAME, SPP_PASSWORD,
# VMWARE_HOST, VMWARE_USER, VMWARE_PASSWORD and so on), as for the modules.
# Run: ansible-inventory -i prod.sovereign_coverage.yml --graph
---
plugin: sovereign.vm_backup.coverage
rpo: 24h

# Credentials in the file. A password can also be vaulted, with
# ansible-vault encrypt_string --name spp_password; then run ansible-inventory with --ask-vault-pass.
---
plugin: sovereign.vm_backup.coverage
spp_url: https://spp.example.com
spp_username: ansible
spp_password: "{{ lookup('ansible.builtin.env', 'MY_SPP_PASSWORD') }}"
spp_ca_path: /etc/pki/spp-ca.pem
vcenter_hostname: vcenter.example.com
vcenter_username: ansible@vsphere.local
vcenter_password: "{{ lookup('ansible.builtin.env', 'MY_VC_PASSWORD') }}"

# Name hosts by moref, prefix the plugin's groups, set ansible_host from the VM name, add groups by datacenter
# and for production VMs at risk, and keep the report for an hour in a JSON file cache.
---
plugin: sovereign.vm_backup.coverage
hostnames: moref
group_prefix: backup_
compose:
  ansible_host: sovereign_backup_name + '.example.com'
keyed_groups:
  - key: sovereign_backup_datacenter
    prefix: dc
groups:
  production_at_risk: sovereign_backup_folder.startswith('/DC0/vm/prod') and not sovereign_backup_compliant
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/sovereign_coverage
cache_timeout: 3600

# A playbook that protects every unprotected VM; the tasks run on the controller.
# ansible-playbook -i prod.sovereign_coverage.yml protect.yml
#
# - name: Protect the unprotected VMs
#   hosts: unprotected
#   gather_facts: false
#   tasks:
#     - name: Assign the default policy
#       sovereign.vm_backup.vm_backup_policy:
#         vm: "{{ sovereign_backup_moref }}"
#         policies: [Bronze]
#       delegate_to: localhost
"""

import collections

from ansible.errors import AnsibleParserError
from ansible.inventory.group import to_safe_group_name
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.display import Display
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.sovereign.vm_backup.plugins.module_utils import _argspec, _coverage
from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import VmBackupError

display = Display()

CONFIG_SUFFIXES = ("sovereign_coverage.yml", "sovereign_coverage.yaml")
VARIABLE_PREFIX = "sovereign_backup_"
# Record keys whose name would mislead among host variables.
RENAMED_KEYS = {"host": "esxi_host"}
COMPLIANT_GROUP = "compliant"


# -- pure: coverage report -> hosts, variables and groups ---------------------------------------------------------


def inventory_source(report):
    """The part of a coverage report the inventory is built from, and what the cache keeps (JSON-serialisable).

    ``flags_read``: the flags the report could compute (``partially_covered`` needs the disks).
    """
    summary = report["summary"]
    return {
        "vms": list(report["vms"]) + list(report["vcenter_only"]),
        "policies": sorted(summary["per_policy"]),
        "flags_read": [flag for flag in _coverage.FLAGS if summary["flags"].get(flag) is not None],
    }


def host_variables(record):
    return {VARIABLE_PREFIX + RENAMED_KEYS.get(key, key): value for key, value in record.items()}


def inventory_hostnames(records, hostnames="name"):
    """``(names, duplicates)``: the inventory hostname of each record, in order, and ``{shared name: [hostnames]}``.

    A name several VMs share becomes ``<name>_<moref>`` for each of them: no VM hides another, and which VM gets
    which name does not depend on the order vCenter lists them in.
    """
    def base(record):
        return record.get(hostnames) or record["moref"]  # a record without instance UUID still gets a name

    counts = collections.Counter(base(record) for record in records)
    names, duplicates = [], {}
    for record in records:
        name = base(record)
        if counts[name] > 1:
            duplicates.setdefault(name, []).append("%s_%s" % (name, record["moref"]))
            name = "%s_%s" % (name, record["moref"])
        names.append(name)
    return names, {name: sorted(hosts) for name, hosts in duplicates.items()}


def group_name(prefix, name):
    # force: the names must not depend on TRANSFORM_INVALID_GROUP_CHARS; silent: documented, so no warning.
    return to_safe_group_name(prefix + name, force=True, silent=True)


def build_inventory(source, hostnames="name", group_prefix=""):
    """``{"hosts": {hostname: variables}, "groups": {group: [hostnames]}, "duplicates": {...}}``, all sorted. Pure.

    Every policy and every flag that was read gets its group, even an empty one.
    """
    records = sorted(source["vms"], key=lambda r: (r.get("name") or "", r.get("moref") or ""))
    names, duplicates = inventory_hostnames(records, hostnames)
    groups = {group_name(group_prefix, flag): [] for flag in list(source["flags_read"]) + [COMPLIANT_GROUP]}
    for policy in source["policies"]:
        groups[group_name(group_prefix, "policy_" + policy)] = []
    hosts = {}
    for name, record in zip(names, records):
        hosts[name] = host_variables(record)
        policies = set(record.get("policies") or []) | set(record.get("disk_policies") or [])
        member_of = ["policy_" + policy for policy in policies] + list(record.get("flags") or [])
        if record.get("compliant"):
            member_of.append(COMPLIANT_GROUP)
        for group in member_of:
            groups.setdefault(group_name(group_prefix, group), []).append(name)
    return {
        "hosts": dict(sorted(hosts.items())),
        "groups": {group: sorted(set(members)) for group, members in sorted(groups.items())},
        "duplicates": duplicates,
    }


# -- the plugin ---------------------------------------------------------------------------------------------------


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "sovereign.vm_backup.coverage"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(CONFIG_SUFFIXES)

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache=cache)
        self._read_config_data(path)
        cache_key = self.get_cache_key(path)
        # ``cache`` is False on --flush-cache or meta: refresh_inventory; the option is the user's choice.
        read_cache = self.get_option("cache") and cache
        update_cache = self.get_option("cache") and not cache
        source = None
        if read_cache:
            try:
                source = self._cache[cache_key]
            except KeyError:  # expired, or never written
                update_cache = True
        if source is None:
            source = self._read_source()
        if update_cache:
            self._cache[cache_key] = source
        self._populate(source)

    def _connection_params(self):
        """The modules' connection params from this plugin's options: templates rendered, vaulted values decrypted."""
        params = {}
        for option, spec in _argspec.connection_argument_spec().items():
            value = self.get_option(option)
            if spec["type"] == "str" and value is not None:
                if self.templar.is_template(value):
                    value = self.templar.template(value)
                value = to_text(value)  # decrypts a vaulted value
            params[option] = value
        return params

    def _read_source(self):
        rpo = self.get_option("rpo")
        include = self.get_option("include")
        try:
            # Bad options fail before any connection.
            _coverage.parse_rpo(rpo)
            _coverage.validate_include(include)
            params = self._connection_params()
            spp = _argspec.spp_client_from_params(params, logger=display.vvvv)
            vsphere = _argspec.vsphere_client_from_params(params)
            with spp, vsphere:
                report = _coverage.collect_coverage(spp, vsphere, rpo=rpo, include=include, progress=display.vvv)
        except VmBackupError as error:
            raise AnsibleParserError(error.message) from None  # the typed message says it all; no credentials
        return inventory_source(report)

    def _populate(self, source):
        built = build_inventory(source, self.get_option("hostnames"), self.get_option("group_prefix"))
        for name, hosts in built["duplicates"].items():
            display.warning("%d VMs are named %s; their inventory hostnames are %s"
                            % (len(hosts), name, ", ".join(hosts)))
        for group in built["groups"]:
            self.inventory.add_group(group)
        strict = self.get_option("strict")
        for host, variables in built["hosts"].items():
            self.inventory.add_host(host)
            for key, value in variables.items():
                # Names come from vCenter and SPP: never templated (ansible-core < 2.19 would, without wrap_var).
                self.inventory.set_variable(host, key, wrap_var(value))
            self._set_composite_vars(self.get_option("compose"), variables, host, strict=strict)
            # Conditional and keyed groups see the composed variables too, as in ansible.builtin.constructed.
            host_vars = self.inventory.get_host(host).get_vars()
            self._add_host_to_composed_groups(self.get_option("groups"), host_vars, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), host_vars, host, strict=strict)
        for group, hosts in built["groups"].items():
            for host in hosts:
                self.inventory.add_host(host, group=group)
