# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""backup_inventory, the coverage inventory plugin and the backup_report role with ``backup_service: cloudtemple``
(the console's compute API lists the VMs: no SPP_* and no VMWARE_* variable). The lab holds one VM protected by Gold,
one whose only policy is held, unprotected running VMs and a clone SPP has never inventoried; coverage and flags must
say what SPP's own record and pyVmomi say."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid

import pytest

import vcenter
from cloudtemple_console import RUN_JOB, held_policy
from helpers import assign_policies, cloned_vm, plain

pytestmark = pytest.mark.integration
ANSIBLE_INVENTORY = os.path.join(os.path.dirname(sys.executable), "ansible-inventory")
PROTECTED = "DC0_H0_VM0"
HELD_ONLY = "DC0_H0_VM1"
SAYS_SPP = ("unknown_to_backup", "unprotected", "held_only", "violation")  # the flags SPP's record decides alone


@pytest.fixture
def situations(console):
    """Yields (console, name of the held policy, name of a powered-off clone SPP does not know)."""
    held = "Held-%s" % uuid.uuid4().hex[:4]
    assign_policies(console.lab, vms={PROTECTED: ["Gold"]})
    held_policy(console.lab, held, HELD_ONLY)
    with cloned_vm(console.lab, PROTECTED, "ct-inv") as clone:
        yield console, held, clone


def expected_flags(console):
    """VM name -> the flags of SAYS_SPP each VM must carry, from SPP's record (policies, held jobs) and pyVmomi
    (power states): a VM with no policy is unprotected, one whose policies are all held is held_only, and a running VM
    in either case is a violation."""
    state = console.lab.spp.state()
    held = {name[len("vmware_"):] for name in state["held"]}
    with console.lab.vcenter() as client:
        facts = vcenter.vm_facts(client)
    flags = {}
    for name, (_moref, power) in facts.items():
        policies = state["vms"].get(name)
        unknown = policies is None
        disk_policies = [p for (vm, _label), ps in state["disks"].items() if vm == name for p in ps]
        unprotected = not policies and not disk_policies
        held_only = bool(policies) and set(policies) <= held
        flags[name] = [flag for flag, on in (("unknown_to_backup", unknown), ("unprotected", unprotected),
                                             ("held_only", held_only),
                                             ("violation", power == "poweredOn" and (unprotected or held_only)))
                       if on]
    return flags


def said(vms):
    return {vm["name"]: [flag for flag in vm["flags"] if flag in SAYS_SPP] for vm in vms}


@pytest.mark.covers("backup_inventory")
def test_coverage_and_flags_match_spp_and_a_rescan_converges(situations):
    console, held, clone = situations

    def after_each(index, result):
        assert result["vms"] and "Traceback" not in result["_output"]
        everything = result["vms"] + result["vcenter_only"]
        assert said(everything) == expected_flags(console), index
        known = console.lab.spp.vms()
        assert {vm["name"]: vm["policies"] for vm in result["vms"]} == {n: known[n]["policies"] for n in known}
        by_name = {vm["name"]: vm for vm in everything}
        assert by_name[HELD_ONLY]["held_policies"] == [held]
        if index == 0:
            assert said(result["vcenter_only"]) == {clone: ["unknown_to_backup", "unprotected"]}
            assert console.count(RUN_JOB) == 0, "check mode runs no inventory"
        else:
            assert result["vcenter_only"] == [] and clone in known
            assert said([by_name[clone]]) == {clone: ["unprotected"]}, "powered off: no violation"
            assert console.count(RUN_JOB) == (1 if index == 1 else 0), "the inventory runs once, while needed"
        console.clear_counts()

    console.clear_counts()
    results = console.four_runs("coverage", {"rescan_until_visible": [clone], "rescan_timeout": 120},
                                after_each=after_each)
    assert [r["changed"] for r in results] == [True, True, False, False]
    summary = results[3]["summary"]
    assert summary["flags"]["held_only"] == 1 and summary["flags"]["unknown_to_backup"] == 0


@pytest.mark.covers("coverage inventory plugin")
def test_the_coverage_inventory_plugin(situations, tmp_path):
    console, held, clone = situations
    config = tmp_path / "lab.sovereign_coverage.yml"
    config.write_text(textwrap.dedent("""\
        plugin: sovereign.vm_backup.coverage
        backup_service: cloudtemple
    """))
    listing = inventory_list(console, str(config), tmp_path / "list.json")
    hostvars = plain(listing["_meta"]["hostvars"])
    groups = {name: sorted(group.get("hosts", [])) for name, group in plain(listing).items() if name != "_meta"}
    flags = expected_flags(console)
    with console.lab.vcenter() as client:
        facts = vcenter.vm_facts(client)
    assert sorted(hostvars) == sorted(facts), "every VM of the console is a host"
    for flag in SAYS_SPP:
        assert groups.get(flag, []) == sorted(name for name, on in flags.items() if flag in on), flag
    assert groups["policy_Gold"] == [PROTECTED]
    assert groups["policy_" + held.replace("-", "_")] == [HELD_ONLY]
    for name, (moref, power) in facts.items():
        assert hostvars[name]["sovereign_backup_moref"] == moref
        assert hostvars[name]["sovereign_backup_power_state"] == power
    assert hostvars[clone]["sovereign_backup_known_to_backup"] is False
    assert hostvars[HELD_ONLY]["sovereign_backup_held_policies"] == [held]


def inventory_list(console, config, dest):
    """``ansible-inventory --list -vvv`` with the console's connection only (the plugin reads VM_BACKUP_SERVICE
    too, but the configuration names the service); no secret in its output."""
    run_env = console.lab.command_env(console.command_env(extra={"ANSIBLE_INVENTORY_UNPARSED_FAILED": "true"}))
    completed = subprocess.run([ANSIBLE_INVENTORY, "-i", config, "--list", "-vvv", "--output", str(dest)],
                               env=run_env, capture_output=True, text=True, timeout=600, check=False)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-6000:]
    console.assert_no_secret(output)
    listing = dest.read_text()
    console.assert_no_secret(listing)
    return json.loads(listing)


REPORT_PLAY = """
- name: Backup report on the Cloud Temple console
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Write the report
      ansible.builtin.include_role:
        name: sovereign.vm_backup.backup_report
      vars:
        backup_report_dest: "{{ report_dest }}"
        backup_report_formats: [json, csv]
"""


@pytest.mark.covers("backup_report")
def test_the_backup_report_role(situations, tmp_path):
    console, held, clone = situations
    play = tmp_path / "report.yml"
    play.write_text(REPORT_PLAY)
    dest = tmp_path / "report"
    _rc, output, _results, _seconds = console.playbook(str(play), {"report_dest": str(dest)})
    assert "Traceback" not in output
    report = json.loads((dest / "coverage.json").read_text())
    rows = {vm["name"]: vm for vm in report["vms"]}
    known = console.lab.spp.vms()
    flags = expected_flags(console)
    assert sorted(rows) == sorted(flags)
    for name, row in rows.items():
        assert row["policies"] == (known[name]["policies"] if name in known else []), name
        assert [flag for flag in row["flags"] if flag in SAYS_SPP] == flags[name], name
    assert rows[clone]["flags"][0] == "unknown_to_backup" and held in report["summary"]["per_policy"]
    assert os.path.exists(str(dest / "coverage.csv"))
