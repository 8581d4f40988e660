# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""backup_inventory against the lab: the report matches what vCenter (pyVmomi) and the backup server (helpers.SppReader)
really hold."""

from __future__ import annotations

import re
import uuid

import pytest

import vcenter
from helpers import assign_policies

pytestmark = pytest.mark.integration


def inventory_sessions(lab):
    return [session["id"] for session in lab.spp.sessions("Hypervisor Inventory")]


def test_report_matches_both_servers(fresh_lab):
    known = fresh_lab.spp.state()
    spp_vms = sorted(known["vms"])
    disk = next(label for vm, label in sorted(known["disks"]) if vm == spp_vms[3])
    assign_policies(fresh_lab, vms={spp_vms[0]: ["Gold"], spp_vms[1]: ["Gold"], spp_vms[2]: ["Gold", "Silver"]},
                    disks={(spp_vms[3], disk): ["Silver"]})
    with fresh_lab.vcenter() as client:
        vcenter_names = vcenter.all_vm_names(client)

    _rc, _out, result = fresh_lab.playbook("backup_inventory")

    assert result["changed"] is False and result["rescanned"] is False
    assert sorted(vm["name"] for vm in result["vms"] + result["vcenter_only"]) == vcenter_names
    by_name = {vm["name"]: vm for vm in result["vms"]}
    assert by_name[spp_vms[0]]["policies"] == ["Gold"]
    assert by_name[spp_vms[1]]["policies"] == ["Gold"]
    assert by_name[spp_vms[2]]["policies"] == ["Gold", "Silver"]
    with_disk = by_name[spp_vms[3]]
    assert with_disk["policies"] == []
    assert [(d["label"], d["policies"]) for d in with_disk["disks"] if d["policies"]] == [(disk, ["Silver"])]
    state = fresh_lab.admin("GET", "/state")
    for vm in result["vms"]:
        assert sorted(state["vm_policies"].get(vm["spp_id"], [])) == vm["policies"]
        assert vm["power_state"] in ("poweredOn", "poweredOff", "suspended")
        assert re.fullmatch(r"vm-\d+", vm["moref"])
    assert result["summary"]["with_vm_policy"] == 3 and result["summary"]["with_disk_policy_only"] == 1


def test_rescan_makes_a_new_vm_visible_check_real_check_real(fresh_lab):
    name = "ci-new-%s" % uuid.uuid4().hex[:6]
    with fresh_lab.vcenter() as client:
        vcenter.clone_vm(client, "DC0_H0_VM0", name)
    try:
        sessions_before = inventory_sessions(fresh_lab)
        outcomes = []
        for check in (True, False, True, False):
            _rc, _out, result = fresh_lab.playbook("backup_inventory", {"visible": [name]}, check=check)
            outcomes.append(result["changed"])
            if check and len(outcomes) == 1:
                assert name in [vm["name"] for vm in result["vcenter_only"]]
                assert inventory_sessions(fresh_lab) == sessions_before, "check mode must not run the inventory job"
            if not check:
                assert name in [vm["name"] for vm in result["vms"]]
        assert outcomes == [True, True, False, False]
        assert name in fresh_lab.spp.vms()
    finally:
        with fresh_lab.vcenter() as client:
            vcenter.destroy_vm(client, name)


def test_unknown_vm_fails_with_a_clear_message(fresh_lab):
    _rc, output, _result = fresh_lab.playbook("backup_inventory", {"visible": ["no-such-vm"]}, expect_rc=2)
    assert "vCenter has no VM named no-such-vm" in output
    assert "Traceback" not in output


def test_no_secret_in_verbose_output(fresh_lab):
    _rc, output, result = fresh_lab.playbook("backup_inventory", {"rescan": True}, verbosity=3)
    assert result["rescanned"] is True
    state = fresh_lab.admin("GET", "/state")
    secrets = [fresh_lab.env["SPP_PASSWORD"], fresh_lab.env["VMWARE_PASSWORD"]] + state["login_session_ids"]
    assert state["login_session_ids"], "the run must have logged in"
    for secret in secrets:
        assert secret not in output
