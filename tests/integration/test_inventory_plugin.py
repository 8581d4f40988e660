# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The coverage inventory plugin through ansible-inventory: groups and host variables after the lab is put in known
situations (unprotected, held only, unknown to the backup server, protected, backed up), checked against what
vCenter (pyVmomi) and the backup server (helpers.SppReader) say; the cache and --flush-cache; templated credentials
that never show; and a play that targets a group of the plugin."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import uuid

import pytest

import vcenter
from helpers import can_hold, cloned_vm, plain

pytestmark = pytest.mark.integration
ANSIBLE_INVENTORY = os.path.join(os.path.dirname(sys.executable), "ansible-inventory")
UNPROTECTED = "DC0_H0_VM0"
HELD = "DC0_H0_VM1"
BACKED_UP = "DC0_H0_VM2"
GOLD = ["DC0_H0_VM2", "DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1", "DC0_C0_RP0_VM2"]


def write_config(directory, text=""):
    path = os.path.join(str(directory), "lab.sovereign_coverage.yml")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("plugin: sovereign.vm_backup.coverage\n" + textwrap.dedent(text))
    return path


def ansible_inventory(lab, config, *args, env=None, expect_rc=0):
    """Run ansible-inventory on ``config`` with the lab's connection variables (``env`` adds or, with None, removes
    variables); return its output."""
    run_env = lab.command_env(dict(env or {}, ANSIBLE_INVENTORY_UNPARSED_FAILED="true"))
    completed = subprocess.run([ANSIBLE_INVENTORY, "-i", config] + list(args), env=run_env, capture_output=True,
                               text=True, timeout=600, check=False)
    output = completed.stdout + completed.stderr
    if expect_rc is not None:
        assert completed.returncode == expect_rc, output[-6000:]
    return completed.stdout if expect_rc == 0 else output


def graph(lab, config, *args, **kwargs):
    """``ansible-inventory --graph`` as {group: sorted hosts}; every group of the plugin is a child of ``all``."""
    groups, current = {}, None
    for line in ansible_inventory(lab, config, "--graph", *args, **kwargs).splitlines():
        found = re.match(r"^(?P<indent>[ |]*)\|--(?P<group>@)?(?P<name>.+?)(?(group):)$", line)
        if not found:
            continue
        if found.group("group"):
            current = groups.setdefault(found.group("name"), [])
        elif current is not None:
            current.append(found.group("name"))
    return {name: sorted(hosts) for name, hosts in groups.items()}


def hostvars(lab, config, **kwargs):
    return plain(json.loads(ansible_inventory(lab, config, "--list", **kwargs))["_meta"]["hostvars"])


def vcenter_state(lab):
    """VM name -> (moref, power state), straight from pyVmomi."""
    with lab.vcenter() as client:
        return vcenter.vm_facts(client)


def spp_policies_by_vm(lab):
    return {name: vm["policies"] for name, vm in lab.spp.vms().items()}


def members(policies_by_vm, policy):
    return sorted(name for name, policies in policies_by_vm.items() if policy in policies)


@pytest.fixture
def situations(fresh_lab):
    """One VM unprotected and running, one whose only policy is held, the others on Gold, one of them backed up
    just now, and a clone the backup server has never inventoried. Yields (lab, held policy name, clone name, whether
    the policy is held).

    Where jobs show no hold link (the public-record profile, spp-api.md 14.17) the policy cannot be held: HELD is then
    merely a VM with a policy and no backup."""
    held = "Held-%s" % uuid.uuid4().hex[:4]
    fresh_lab.module("backup_sla_policy", {"name": held, "site": "Secondary", "retention": {"days": 7}})
    fresh_lab.module("vm_backup_policy", {"assignments": [{"vm": HELD, "policies": [held]}] + [
        {"vm": name, "policies": ["Gold"]} for name in GOLD]})
    is_held = can_hold(fresh_lab, "vmware_%s" % held)
    fresh_lab.module("backup_sla_policy", {"name": held, "held": True}, expect_rc=0 if is_held else 2)
    fresh_lab.module("vm_backup_run", {"vms": [BACKED_UP], "poll_interval": 1, "timeout": 300})
    assert (fresh_lab.spp.job("vmware_%s" % held)["status"] == "HELD") is is_held
    with cloned_vm(fresh_lab, BACKED_UP, "inv-new") as unknown:
        yield fresh_lab, held, unknown, is_held


def test_groups_and_host_variables(situations, tmp_path):
    lab, held, unknown, is_held = situations
    config = write_config(tmp_path)
    groups = graph(lab, config)
    variables = hostvars(lab, config)

    in_vcenter = vcenter_state(lab)
    by_spp = spp_policies_by_vm(lab)
    assert unknown in in_vcenter and unknown not in by_spp, "the clone is unknown to the backup server"
    assert sorted(variables) == sorted(in_vcenter), "every vCenter VM is a host"
    assert by_spp[UNPROTECTED] == [] and by_spp[HELD] == [held]

    unprotected = sorted(name for name in in_vcenter if not by_spp.get(name))
    assert UNPROTECTED in unprotected and unknown in unprotected
    assert groups["unprotected"] == unprotected
    assert groups["unknown_to_backup"] == [unknown]
    held_only = [HELD] if is_held else []
    assert groups["held_only"] == held_only
    # Running without a usable policy: the unprotected VMs that are on, and the held-only one.
    assert groups["violation"] == sorted(name for name in unprotected + held_only if in_vcenter[name][1] == "poweredOn")
    assert UNPROTECTED in groups["violation"] and unknown not in groups["violation"], "the clone is off"
    assert groups["policy_Gold"] == members(by_spp, "Gold") == sorted(GOLD)
    assert groups["policy_" + held.replace("-", "_")] == [HELD]
    assert groups["policy_Silver"] == [] and groups["policy_Bronze"] == [], "every policy has a group"
    assert groups["compliant"] == [BACKED_UP], "the only VM with a policy and a fresh backup"
    assert set(GOLD) - {BACKED_UP} <= set(groups["stale"]) and BACKED_UP not in groups["stale"]
    assert "partially_covered" in groups and "blocked_first_backup" in groups

    for name, (moref, power_state) in in_vcenter.items():
        assert variables[name]["sovereign_backup_moref"] == moref
        assert variables[name]["sovereign_backup_power_state"] == power_state
        assert "ansible_host" not in variables[name]
    assert variables[UNPROTECTED]["sovereign_backup_flags"] == ["unprotected", "violation"]
    assert set(variables[UNPROTECTED]["sovereign_backup_reasons"]) == {"unprotected", "violation"}
    assert variables[HELD]["sovereign_backup_held_policies"] == ([held] if is_held else [])
    assert variables[HELD]["sovereign_backup_policies"] == [held]
    assert variables[unknown]["sovereign_backup_known_to_backup"] is False
    assert variables[unknown]["sovereign_backup_spp_id"] is None
    assert variables[BACKED_UP]["sovereign_backup_compliant"] is True
    assert variables[BACKED_UP]["sovereign_backup_last_backup_policy"] == "Gold"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", variables[BACKED_UP]["sovereign_backup_last_backup"])
    assert variables[BACKED_UP]["sovereign_backup_datacenter"] == "DC0"
    assert variables[BACKED_UP]["sovereign_backup_esxi_host"]

    # The same inventory named by moref and with prefixed groups.
    by_moref = graph(lab, write_config(tmp_path, "hostnames: moref\ngroup_prefix: backup_\n"))
    assert by_moref["backup_held_only"] == [in_vcenter[name][0] for name in held_only]
    assert by_moref["backup_unknown_to_backup"] == [in_vcenter[unknown][0]]
    assert "unprotected" not in by_moref


def test_cache_until_flushed(fresh_lab, tmp_path):
    cache = tmp_path / "cache"
    config = write_config(tmp_path, """
        cache: true
        cache_plugin: ansible.builtin.jsonfile
        cache_connection: %s
        cache_timeout: 3600
    """ % cache)
    before = graph(fresh_lab, config)
    assert UNPROTECTED in before["unprotected"] and before["policy_Silver"] == []
    assert os.listdir(str(cache)), "the report is in the cache"

    fresh_lab.module("vm_backup_policy", {"vm": UNPROTECTED, "policies": ["Silver"]})
    assert spp_policies_by_vm(fresh_lab)[UNPROTECTED] == ["Silver"], "the server has changed"
    assert graph(fresh_lab, config) == before, "a cached run does not read the servers"

    after = graph(fresh_lab, config, "--flush-cache")
    assert UNPROTECTED not in after["unprotected"] and after["policy_Silver"] == [UNPROTECTED]
    assert graph(fresh_lab, config) == after, "the flush refreshed the cache"


def test_templated_credentials_never_show(fresh_lab, tmp_path):
    secrets = {"SPP_PASSWORD": fresh_lab.env["SPP_PASSWORD"], "VMWARE_PASSWORD": fresh_lab.env["VMWARE_PASSWORD"]}
    config = write_config(tmp_path, """
        spp_password: "{{ lookup('ansible.builtin.env', 'INV_TEST_SPP_PASSWORD') }}"
        vcenter_password: "{{ lookup('ansible.builtin.env', 'INV_TEST_VC_PASSWORD') }}"
    """)
    env = {"SPP_PASSWORD": None, "VMWARE_PASSWORD": None, "INV_TEST_SPP_PASSWORD": secrets["SPP_PASSWORD"],
           "INV_TEST_VC_PASSWORD": secrets["VMWARE_PASSWORD"]}
    listing = tmp_path / "list.json"
    output = ansible_inventory(fresh_lab, config, "--list", "--output", str(listing), "-vvvv", env=env,
                               expect_rc=None)
    assert UNPROTECTED in plain(json.loads(listing.read_text()))["_meta"]["hostvars"], output[-3000:]
    session_ids = fresh_lab.admin("GET", "/state")["login_session_ids"]
    assert session_ids
    for secret in list(secrets.values()) + session_ids:
        assert secret not in output and secret not in listing.read_text()

    wrong = "Wrong-%s" % uuid.uuid4().hex
    failed = ansible_inventory(fresh_lab, config, "--graph", "-vvvv", env=dict(env, INV_TEST_SPP_PASSWORD=wrong),
                               expect_rc=None)
    assert "rejected the credentials" in failed, failed[-3000:]
    assert wrong not in failed and secrets["VMWARE_PASSWORD"] not in failed

    missing = ansible_inventory(fresh_lab, config, "--graph", env={"SPP_URL": None}, expect_rc=None)
    assert "missing connection option(s): spp_url (environment variable SPP_URL)" in missing, missing[-3000:]
    assert "Traceback" not in missing, "a clear message, no traceback"
    assert "No inventory was parsed" in missing


def test_a_play_targets_the_unprotected_group(fresh_lab, tmp_path):
    with cloned_vm(fresh_lab, BACKED_UP, "inv-play") as unknown:
        config = write_config(tmp_path)
        unprotected = graph(fresh_lab, config)["unprotected"]
        assert UNPROTECTED in unprotected and unknown in unprotected
        _rc, output, results = fresh_lab.playbook("inventory_coverage_protect", {"default_policy": "Bronze"},
                                                  env={"ANSIBLE_INVENTORY": config})
        assert results is not None, output[-3000:]
        assert sorted(results) == unprotected, "the play ran for exactly the group's hosts"
        assert all(outcome["changed"] for outcome in results.values())
        by_spp = spp_policies_by_vm(fresh_lab)
        assert all(by_spp[name] == ["Bronze"] for name in unprotected), "the server has them on Bronze"
        groups = graph(fresh_lab, config)
        assert groups["unprotected"] == [] and groups["unknown_to_backup"] == []
        assert groups["policy_Bronze"] == unprotected
