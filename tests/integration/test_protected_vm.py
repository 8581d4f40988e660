# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The protected_vm role, as a CI pipeline uses it: a VM created powered off after the last inventory is made visible
to the backup server, protected, backed up once and started; a second run changes nothing. With a held mandatory
policy the role fails and the VM stays off. End states are read through pyVmomi and helpers.SppReader."""

from __future__ import annotations

import contextlib
import time
import uuid

import pytest

import vcenter
from helpers import cloned_vm, hold_job, power_state, recap

pytestmark = pytest.mark.integration
SOURCE = "DC0_H0_VM1"


@contextlib.contextmanager
def new_vm(lab):
    """A VM cloned powered off after the last inventory, so the backup server does not know it; destroyed after.
    Yields (name, moref)."""
    with cloned_vm(lab, SOURCE, "ci-pvm") as name:
        with lab.vcenter() as client:
            moref = vcenter.moref(vcenter.find_vm(client, name))
        yield name, moref


def spp_vm(lab, moref):
    """The backup server's record of the VM (matched on its moref, as the backup server identifies it) and its
    recovery points; (None, []) when the server does not know it."""
    reader = lab.spp
    record = reader.vm_by_moref(moref)
    if record is None:
        return None, []
    return record, reader.versions_of(record["name"])


def run_role(lab, name, policies, expect_rc=0, check=False, **extra):
    return lab.playbook("protected_vm_role", dict(extra, vm_name=name, policies=policies), check=check,
                        expect_rc=expect_rc)


@pytest.mark.parametrize("first_backup", [True, False], ids=["first-backup", "no-backup"])
def test_protects_backs_up_once_and_starts_a_new_vm(fresh_lab, first_backup):
    with new_vm(fresh_lab) as (name, moref):
        assert spp_vm(fresh_lab, moref)[0] is None, "the backup server must not know the new VM yet"

        _rc, check, planned = run_role(fresh_lab, name, ["Gold"], first_backup=first_backup, check=True)
        assert recap(check)["changed"] > 0 and "Check mode cannot plan the" in check
        assert spp_vm(fresh_lab, moref)[0] is None or not spp_vm(fresh_lab, moref)[0]["policies"]
        assert power_state(fresh_lab, name) == "poweredOff", "check mode changes nothing"
        assert planned["policies"] == ["Gold"]

        _rc, first, result = run_role(fresh_lab, name, ["Gold"], first_backup=first_backup)
        _rc, second, again = run_role(fresh_lab, name, ["Gold"], first_backup=first_backup)

        assert recap(first)["changed"] > 0, first[-3000:]
        assert recap(second)["changed"] == 0, second[-3000:]
        assert power_state(fresh_lab, name) == "poweredOn"
        record, versions = spp_vm(fresh_lab, moref)
        assert record is not None and record["policies"] == ["Gold"]
        assert len(versions) == (1 if first_backup else 0), "one backup, and none again on the second run"
        assert result["moref"] == moref and result["power_state"] == "poweredOn" and result["policies"] == ["Gold"]
        assert again == result
        if first_backup:
            when = int(versions[0]["protectionInfo"]["protectionTime"]) // 1000
            assert result["last_backup"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))
        else:
            assert result["last_backup"] is None


def test_adds_the_mandatory_policy_and_keeps_the_others_unless_exclusive(fresh_lab):
    with new_vm(fresh_lab) as (name, moref):
        fresh_lab.module("vm_backup_policy", {"vm": name, "policies": ["Silver"], "rescan": True})

        run_role(fresh_lab, name, ["Gold"])
        assert spp_vm(fresh_lab, moref)[0]["policies"] == ["Gold", "Silver"]
        assert power_state(fresh_lab, name) == "poweredOn"

        _rc, output, result = run_role(fresh_lab, name, ["Gold"], exclusive=True)
        assert recap(output)["changed"] == 1, "only the policy set changes"
        assert spp_vm(fresh_lab, moref)[0]["policies"] == ["Gold"] and result["policies"] == ["Gold"]


def test_a_held_mandatory_policy_fails_and_the_vm_stays_off(fresh_lab):
    held = "Held-%s" % uuid.uuid4().hex[:4]
    fresh_lab.module("backup_sla_policy", {"name": held, "site": "Secondary", "retention": {"days": 7}})
    with new_vm(fresh_lab) as (assigned_before, assigned_moref), new_vm(fresh_lab) as (name, moref):
        # SPP creates a policy's job with its first assignment: only an assigned policy can be held.
        fresh_lab.module("vm_backup_policy", {"vm": assigned_before, "policies": [held], "rescan": True})
        hold_job(fresh_lab, "vmware_%s" % held)

        # A new VM: the held policy cannot be assigned, so nothing changes and the VM is not started.
        for check in (True, False):
            _rc, output, _result = run_role(fresh_lab, name, [held], expect_rc=2, check=check)
            assert "Traceback" not in output
            assert held in output and "held" in output, output[-3000:]
            assert power_state(fresh_lab, name) == "poweredOff"
        record, _versions = spp_vm(fresh_lab, moref)
        assert record is not None and not record["policies"], "the VM is visible, and gets no policy"

        # A VM that got the policy before it was held: assigned already, but vm_powerstate refuses to start it.
        _rc, output, _result = run_role(fresh_lab, assigned_before, [held], expect_rc=2)
        assert "was not powered on" in output and held in output, output[-3000:]
        assert power_state(fresh_lab, assigned_before) == "poweredOff"
        assert spp_vm(fresh_lab, assigned_moref)[0]["policies"] == [held]
