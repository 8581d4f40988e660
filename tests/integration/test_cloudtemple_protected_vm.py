# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The protected_vm role for a Cloud Temple customer (VM_BACKUP_SERVICE=cloudtemple and the CLOUDTEMPLE_* connection
only: no vCenter login, no SPP_*): a VM created powered off after the last inventory, which the console keeps
invisible to its backup routes for a few seconds more (#45, #72), is waited for, protected, backed up once (the
policy's whole job, the console's only backup) and started, in the provider's order (#38, #194: no power-on before a
policy); a second run changes nothing. End states: SPP's record, pyVmomi, the console's request counts."""

from __future__ import annotations

import pytest

from cloudtemple_console import ASSIGN_VMS, INVENTORY_JOB, POWER, RUN_JOB
from helpers import cloned_vm, power_state, recap

pytestmark = [pytest.mark.integration, pytest.mark.covers("protected_vm")]
LAG = 3


def run_role(console, name, check=False):
    return console.playbook("protected_vm_role", {"vm_name": name, "policies": ["Gold"], "first_backup": True},
                            check=check)


def test_waits_protects_backs_up_once_and_starts_a_new_vm(console):
    with cloned_vm(console.lab, "DC0_H0_VM1", "ct-pvm") as name:
        assert name not in console.lab.spp.vms() and power_state(console.lab, name) == "poweredOff"
        console.visibility_lag(LAG)
        console.clear_counts()
        sessions_before = console.lab.spp.session_ids()

        _rc, check, planned, _seconds = run_role(console, name, check=True)
        assert console.writes() == {} and power_state(console.lab, name) == "poweredOff", "check mode changes nothing"
        assert recap(check)["changed"] > 0 and planned["policies"] == ["Gold"]

        _rc, first, result, seconds = run_role(console, name)
        assert recap(first)["changed"] > 0 and seconds >= LAG, first[-3000:]
        writes = console.writes()
        assert writes.get(ASSIGN_VMS) == 1 and writes.get(POWER) == 1, writes
        runs = [s["jobName"] for s in console.lab.spp.sessions() if s["id"] not in sessions_before]
        assert runs.count("vmware_Gold") == 1 and runs.count(INVENTORY_JOB) >= 1, runs
        assert writes.get(RUN_JOB) == len(runs), "every job run went through the console: %s" % writes
        order = [tuple(a["tags"]) for a in console.activities()]
        assert order.index(("slaPolicy", "assign", "virtual_machine")) < order.index(
            ("compute", "vcenter", "virtual_machine", "power")), "assigned before it was powered on"
        assert all("completed" in a["state"] for a in console.activities()), console.activities()

        console.clear_counts()
        _rc, second, again, _seconds = run_role(console, name)
        assert recap(second)["changed"] == 0, second[-3000:]
        assert console.writes() == {}, "the second run sends nothing"

        assert power_state(console.lab, name) == "poweredOn"
        assert console.lab.spp.policies_of(name) == ["Gold"]
        assert len(console.lab.spp.versions_of(name)) == 1, "one backup, and none on the second run"
        assert result["power_state"] == "poweredOn" and result["policies"] == ["Gold"]
        assert again["policies"] == ["Gold"] and again["power_state"] == "poweredOn"
