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
  - With O(backup_service=cloudtemple), the backup side is Cloud Temple's console API instead of an SPP server, with
    the same groups and flags; the VMs come from vCenter when the C(vcenter_*) options are set, and from the console's
    compute API otherwise.
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
  - When the names of several policies are made the same group name (V(Gold-EU) and V(Gold.EU) would both give
    C(policy_Gold_EU)), one group would hold the VMs of all of them. Instead, each of them gets that name followed by
    C(_) and the first 8 hexadecimal digits of the SHA-256 of C(policy_<exact name>) (C(policy_Gold_EU_8a50eb47) for
    V(Gold-EU)), which do not change when other policies come and go, and a warning says which group is which
    policy's. A policy whose name needs no change (V(Gold_EU)) keeps its plain group name.
  - "Every string that comes from vCenter or the backup server (VM, folder, datacenter, cluster, ESXi host and policy
    names, reasons, anything) is data, never a template. The plugin marks every host variable unsafe, and every host
    name that could be read as a template (it holds C({) or starts with C(#jinja2:)), so that no supported
    ansible-core renders them, neither in O(compose), O(groups) and O(keyed_groups) nor in a later play: a VM named
    C({{ 7*7 }}) is the host C({{ 7*7 }}), and its C(sovereign_backup_name) is C({{ 7*7 }}), not C(49)."
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
  - pyvmomi (to read vCenter; not needed with O(backup_service=cloudtemple) and no C(vcenter_*) options)
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
      - "With V(name), a VM named like the controller (C(localhost), C(127.0.0.1), C(::1): the names of ansible-core's
        C(LOCALHOST) constant) or like an implicit group (C(all), C(ungrouped)) is named C(<name>_<moref>) too
        (C(localhost_vm-42)), with a warning. Otherwise the VM would replace Ansible's implicit localhost, and
        C(delegate_to: localhost) would run with the VM's variables instead of on the controller. Other loopback
        names, such as C(localhost.localdomain), are ordinary host names to Ansible and are kept."
      - "With V(name), a VM named like one of the groups this plugin makes (C(unprotected), C(compliant),
        C(policy_Gold) and so on, with O(group_prefix)) is named C(<name>_<moref>) too, with a warning. Ansible reads a
        host pattern that names both a host and a group as the host: with a VM named C(unprotected), C(hosts:
        unprotected) would run on that VM alone instead of on every unprotected VM."
      - Should C(<name>_<moref>) be the name of another VM, C(_<moref>) is added again until the name is free, so that
        no VM takes the place of another. C(sovereign_backup_name) always holds the VM's real name.
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
  - The cache key covers the configuration file, O(backup_service), the servers (O(spp_url), O(cloudtemple_url),
    O(vcenter_hostname) and O(vcenter_port)), the user names and O(cloudtemple_client_id), O(rpo) and O(include), as a
    digest; never a password or secret. The same file pointed at another server or service reads it instead of
    serving the other one's report.
  - The plugin never runs the backup server's inventory job; VMs created since its last run are in
    C(unknown_to_backup).
  - "With O(backup_service=cloudtemple), the groups and flags keep their meanings. The console has no list of the
    backup service's VMs, so the plugin reads each VM's record by its id (in parallel), and each disk's policies one
    disk at a time, only when O(include) has V(disks) (the default): without it, a VM protected on its disks only
    is in C(unprotected) and not in the C(policy_<name>) group of its disk policies. C(sovereign_backup_last_backup)
    is inferred from the policies' job sessions (C(sovereign_backup_last_backup_source) V(policy_sessions_inferred))
    and held from the status of each policy's job. Without C(vcenter_*) options, the VMs come from the console's
    compute API: C(sovereign_backup_instance_uuid) is the console's id of the VM (also what O(hostnames=instance_uuid)
    names hosts by), and C(sovereign_backup_folder), C(sovereign_backup_esxi_host) and C(sovereign_backup_nics) are
    null (unavailable through the console)."
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
import hashlib
import json

from ansible import constants as C
from ansible.errors import AnsibleParserError
from ansible.inventory.group import to_safe_group_name
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.display import Display
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.sovereign.vm_backup.plugins.module_utils import _connection, _module
from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import coverage as coverage_service
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure import coverage_model
from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import VmBackupError

display = Display()

CONFIG_SUFFIXES = ("sovereign_coverage.yml", "sovereign_coverage.yaml")
VARIABLE_PREFIX = "sovereign_backup_"
# Record keys whose name would mislead among host variables.
RENAMED_KEYS = {"host": "esxi_host"}
COMPLIANT_GROUP = "compliant"
POLICY_GROUP_PREFIX = "policy_"
# The groups every inventory has. A host pattern that names one of them means the group, never a host.
IMPLICIT_GROUPS = frozenset(("all", "ungrouped"))
# Hex digits of the SHA-256 of a group's label that tell apart groups whose safe names would be the same.
GROUP_DIGEST_LENGTH = 8
# What a cached report depends on besides the configuration file's path: both servers, who reads them, and the options
# that change the report. Never a password; the key holds a digest of them, not the values.
CACHE_IDENTITY_OPTIONS = ("backup_service", "spp_url", "spp_username", "cloudtemple_url", "cloudtemple_client_id",
                          "vcenter_hostname", "vcenter_port", "vcenter_username")
CACHE_IDENTITY_DIGEST_LENGTH = 16


# -- pure: coverage report -> hosts, variables and groups ---------------------------------------------------------


def inventory_source(report):
    """The part of a coverage report the inventory is built from, and what the cache keeps (JSON-serialisable).

    ``flags_read``: the flags the report could compute (``partially_covered`` needs the disks).
    """
    summary = report["summary"]
    return {
        "vms": list(report["vms"]) + list(report["vcenter_only"]),
        "policies": sorted(summary["per_policy"]),
        "flags_read": [flag for flag in coverage_model.FLAGS if summary["flags"].get(flag) is not None],
    }


def cache_identity_digest(identity):
    """Hex digest of ``identity`` (option -> value, JSON-serialisable), the part of the cache key that tells apart
    reports of other servers or settings read with the same configuration file. Pure."""
    text = json.dumps(identity, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:CACHE_IDENTITY_DIGEST_LENGTH]


def host_variables(record):
    return {VARIABLE_PREFIX + RENAMED_KEYS.get(key, key): value for key, value in record.items()}


def reserved_host_names():
    """The names no VM may have as its inventory hostname, because Ansible gives them a meaning of its own.

    - ``C.LOCALHOST`` (``localhost``, ``127.0.0.1`` and ``::1`` in ansible-core 2.17 to 2.21): an inventory host with
      one of these names becomes Ansible's localhost, so ``delegate_to: localhost`` and ``hosts: localhost`` would run
      with that VM's variables (a composed ``ansible_host``, its connection) instead of on the controller. Read from
      ansible-core, which may add names. Other loopback names (``localhost.localdomain``, ``127.0.0.2``) are ordinary
      hosts to Ansible: it never makes them its localhost.
    - ``all`` and ``ungrouped``: the implicit groups; a host of that name could not be targeted by its name.
    """
    return frozenset(C.LOCALHOST) | IMPLICIT_GROUPS


def could_be_a_template(text):
    """Whether ansible-core before 2.19 would render ``text`` as a template somewhere: it holds ``{`` (every delimiter
    Ansible's Jinja uses starts with it: ``{{``, ``{%``, ``{#``) or starts with ``#jinja2:``, a header that sets other
    delimiters (``#jinja2:variable_start_string:'<'`` ...). Pure."""
    return "{" in text or text.startswith("#jinja2:")


def inventory_hostnames(records, hostnames="name", reserved=frozenset()):
    """``(names, duplicates, renamed_reserved)``: the inventory hostname of each record, in order; ``{shared name:
    [hostnames]}``; and ``{reserved name: [hostnames]}``. Pure.

    A VM is ``<name>_<moref>`` rather than ``<name>`` when several VMs share the name (no VM hides another, and which
    VM gets which name does not depend on the order vCenter lists them in), or when the name is in ``reserved`` (see
    reserved_host_names: a VM called ``localhost`` must not stand in for the controller). Should ``<name>_<moref>`` be
    the name of another VM, ``_<moref>`` is added again: no VM can take another's place by its choice of name.
    """
    def base(record):
        return record.get(hostnames) or record["moref"]  # a record without instance UUID still gets a name

    counts = collections.Counter(base(record) for record in records)
    to_rename = {name for name, count in counts.items() if count > 1 or name in reserved}
    kept = set(counts) - to_rename
    names, duplicates, renamed_reserved = [], {}, {}
    for record in records:
        name = hostname = base(record)
        if name in to_rename:
            hostname = "%s_%s" % (name, record["moref"])
            while hostname in kept:  # morefs are unique, so only a name kept as it is can be in the way
                hostname = "%s_%s" % (hostname, record["moref"])
            (renamed_reserved if name in reserved else duplicates).setdefault(name, []).append(hostname)
        names.append(hostname)
    return (names, {name: sorted(hosts) for name, hosts in duplicates.items()},
            {name: sorted(hosts) for name, hosts in renamed_reserved.items()})


def group_name(prefix, name):
    # force: the names must not depend on TRANSFORM_INVALID_GROUP_CHARS; silent: documented, so no warning.
    return to_safe_group_name(prefix + name, force=True, silent=True)


def _digest(label, length):
    return hashlib.sha256(label.encode("utf-8")).hexdigest()[:length]


def distinct_group_names(labels, prefix=""):
    """``(groups, collisions)``: ``{label: group name}``, a distinct group for each label (``policy_<policy name>``
    or a flag), and ``{safe name: {label: group name}}`` for the labels whose safe names were the same. Pure.

    Making a name safe turns every character that is not a letter, a digit or ``_`` into ``_``, so ``policy_Gold-EU``
    and ``policy_Gold.EU`` would both be ``policy_Gold_EU``: one group for the VMs of two policies, and a play meant
    for one policy would run on the other's VMs too. Each such label gets ``_`` and the first 8 hex digits of the
    SHA-256 of the label appended instead: they depend on the label alone, so a group keeps its name whatever policies
    come and go. A label that needed no change (a policy named ``Gold_EU``) keeps the plain name, for the same reason.
    """
    safe = {label: group_name(prefix, label) for label in sorted(set(labels))}
    sharing = collections.defaultdict(list)
    for label, name in safe.items():
        sharing[name].append(label)
    shared = {name for name, same in sharing.items() if len(same) > 1}
    kept = {name for label, name in safe.items() if name not in shared or name == prefix + label}
    groups = {}
    for label, name in safe.items():
        if name in shared and name != prefix + label:
            suffixed = "%s_%s" % (name, _digest(label, GROUP_DIGEST_LENGTH))
            if suffixed in kept:  # only a label crafted to look like another's group: the whole digest then
                suffixed = "%s_%s" % (name, _digest(label, 64))
            name = suffixed
        groups[label] = name
    collisions = {name: {label: groups[label] for label in sharing[name]} for name in sorted(shared)}
    return groups, collisions


def group_source(label):
    """What a group label stands for, in words: ``SLA policy Gold-EU``, ``flag stale``."""
    if label.startswith(POLICY_GROUP_PREFIX):
        return "SLA policy %s" % label[len(POLICY_GROUP_PREFIX):]
    return "flag %s" % label


def group_labels(record):
    """The labels of the plugin's groups the VM of ``record`` belongs to (before prefix and safe names)."""
    policies = set(record.get("policies") or []) | set(record.get("disk_policies") or [])
    labels = [POLICY_GROUP_PREFIX + policy for policy in sorted(policies)] + list(record.get("flags") or [])
    if record.get("compliant"):
        labels.append(COMPLIANT_GROUP)
    return labels


def build_inventory(source, hostnames="name", group_prefix="", reserved=None):
    """``{"hosts": {hostname: variables}, "groups": {group: [hostnames]}, "duplicates": {...}, "reserved": {...},
    "group_collisions": {...}}``, all sorted. Pure.

    Every policy and every flag that was read gets its group, even an empty one. ``reserved``: the names no host may
    have, by default reserved_host_names(); the names of the groups are not host names either. ``duplicates``,
    ``reserved``, ``named_like_groups`` and ``group_collisions`` say which names were changed (see
    inventory_hostnames and distinct_group_names), for the warnings.
    """
    if reserved is None:
        reserved = reserved_host_names()
    records = sorted(source["vms"], key=lambda r: (r.get("name") or "", r.get("moref") or ""))
    member_labels = [group_labels(record) for record in records]
    always = list(source["flags_read"]) + [COMPLIANT_GROUP] + [POLICY_GROUP_PREFIX + p for p in source["policies"]]
    labels = set(always).union(*member_labels)
    group_of, collisions = distinct_group_names(labels, group_prefix)
    # Ansible reads a host pattern that names a host and a group as the host: with a VM named "unprotected", the play
    # "hosts: unprotected" would run on that VM alone. Such a VM gets another name, as one named localhost does.
    group_names = set(group_of.values()) - set(reserved)
    names, duplicates, renamed = inventory_hostnames(records, hostnames, frozenset(reserved) | group_names)
    groups = {group_of[label]: [] for label in always}
    for name, member_of in zip(names, member_labels):
        for label in member_of:
            groups.setdefault(group_of[label], []).append(name)
    hosts = {name: host_variables(record) for name, record in zip(names, records)}
    return {
        "hosts": dict(sorted(hosts.items())),
        "groups": {group: sorted(set(members)) for group, members in sorted(groups.items())},
        "duplicates": duplicates,
        "reserved": {name: hosts for name, hosts in renamed.items() if name not in group_names},
        "named_like_groups": {name: hosts for name, hosts in renamed.items() if name in group_names},
        "group_collisions": collisions,
    }


def _renamed_vms(name, hosts):
    if len(hosts) == 1:
        return "the VM named %s is the inventory host %s" % (name, hosts[0])
    return "the %d VMs named %s are the inventory hosts %s" % (len(hosts), name, ", ".join(hosts))


# -- the plugin ---------------------------------------------------------------------------------------------------


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "sovereign.vm_backup.coverage"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(CONFIG_SUFFIXES)

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache=cache)
        self._read_config_data(path)
        cache_key = self._cache_key(path)
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

    def _cache_key(self, path):
        """Ansible's key for the configuration file, and a digest of what the report depends on besides
        (``CACHE_IDENTITY_OPTIONS``, ``rpo``, ``include``): pointing the same file at another server, or reading it
        as another user, never serves the other report from the cache. Passwords are neither rendered nor used."""
        identity = self._connection_params(CACHE_IDENTITY_OPTIONS)
        identity.update(rpo=self.get_option("rpo"), include=sorted(self.get_option("include") or []))
        return "%s_%s" % (self.get_cache_key(path), cache_identity_digest(identity))

    def _connection_params(self, options=None):
        """The modules' connection params from this plugin's options: templates rendered, vaulted values decrypted.
        ``options``: only these (default: all)."""
        params = {}
        for option, spec in _connection.connection_argument_spec().items():
            if options is not None and option not in options:
                continue
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
            coverage_model.parse_rpo(rpo)
            coverage_model.validate_include(include)
            # The backends backup_service chooses, as for the modules (one console client for both seams with
            # cloudtemple and no vcenter_*); the connection warnings go to display.warning.
            with _module.open_seams(self._connection_params(), logger=display.vvvv,
                                    warn=display.warning) as (backup, inventory):
                report = coverage_service.collect_coverage(backup, inventory, rpo=rpo, include=include,
                                                           progress=display.vvv)
        except VmBackupError as error:
            raise AnsibleParserError(error.message) from None  # the typed message says it all; no credentials
        return inventory_source(report)

    def _populate(self, source):
        built = build_inventory(source, self.get_option("hostnames"), self.get_option("group_prefix"))
        self._warn_about_changed_names(built)
        for group in built["groups"]:
            self.inventory.add_group(group)
        strict = self.get_option("strict")
        for hostname, variables in built["hosts"].items():
            # Every name and value here comes from vCenter or the backup server, the hostname too: data, never a
            # template. ansible-core before 2.19 renders any string that is not marked unsafe wherever it is used:
            # in compose, groups and keyed_groups here, and in every play later (inventory_hostname included), so a VM
            # named "{{ lookup('pipe', ...) }}" would run a command on the controller. 2.19 and later trust no such
            # string; wrap_var only keeps them untrusted there. Every variable is marked, every string in it; the
            # hostname when it could be a template (see _marked_hostname).
            host = self.inventory.add_host(self._marked_hostname(hostname))
            for key, value in wrap_var(variables).items():
                self.inventory.set_variable(host, key, value)
            # As in ansible.builtin.constructed, compose, groups and keyed_groups see the host's variables as the
            # inventory holds them (marked unsafe, inventory_hostname included); groups and keyed_groups see the
            # composed variables too.
            self._set_composite_vars(self.get_option("compose"), self._host_vars(host), host, strict=strict)
            host_vars = self._host_vars(host)
            self._add_host_to_composed_groups(self.get_option("groups"), host_vars, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), host_vars, host, strict=strict)
        for group, hosts in built["groups"].items():
            for host in hosts:
                self.inventory.add_host(self._marked_hostname(host), group=group)

    @staticmethod
    def _marked_hostname(hostname):
        """The hostname, marked unsafe when it could be a template. Not every hostname: ansible-inventory --list of
        ansible-core before 2.19 writes an unsafe hostname as {"__ansible_unsafe": ...} in the host lists of the
        groups, which the tools that read those lists as names (AWX's inventory import among them) do not take; and
        a name that could not be a template is not rendered, marked or not (short of a play that builds a template
        out of it)."""
        return wrap_var(hostname) if could_be_a_template(hostname) else hostname

    def _host_vars(self, host):
        return self.inventory.get_host(host).get_vars()

    def _warn_about_changed_names(self, built):
        """One warning per VM or group whose name is not the plain one, saying why and what it is instead."""
        for name, hosts in built["duplicates"].items():
            display.warning("%d VMs are named %s; their inventory hostnames are %s"
                            % (len(hosts), name, ", ".join(hosts)))
        for name, hosts in built["reserved"].items():
            display.warning("Ansible reserves the host name %s (the controller, or an implicit group), so %s; "
                            "sovereign_backup_name keeps the name" % (name, _renamed_vms(name, hosts)))
        for name, hosts in built["named_like_groups"].items():
            display.warning("%s is a group of this inventory, and a host pattern that names a host and a group means "
                            "the host, so %s; sovereign_backup_name keeps the name" % (name, _renamed_vms(name, hosts)))
        for name, groups in built["group_collisions"].items():
            display.warning(
                "The groups of %s would all be %s (a group name keeps only letters, digits and _), which would mix "
                "their VMs; instead, %s" % (" and ".join(map(group_source, groups)), name, ", ".join(
                    "the group of %s is %s" % (group_source(label), group) for label, group in groups.items())))
