# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""backup_inventory against the lab: the report matches what vCenter and the backup server really hold."""

from __future__ import annotations

import re
import uuid

import pytest

import vcenter
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import listing as spp_listing
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import jobs as spp_jobs
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import policies as spp_policies

pytestmark = pytest.mark.integration


def _inventory_sessions(spp):
    job = spp_jobs.find_job(spp, "Hypervisor Inventory")
    return [s["id"] for s in spp.paginate("/api/endeavour/jobsession", "sessions",
                                          params={"filter": '[{"property":"jobId","value":"%s","op":"="}]' % job["id"]})]


def test_report_matches_both_servers(fresh_lab):
    with fresh_lab.spp_client() as spp, fresh_lab.vsphere_client() as vsphere:
        spp_vms = sorted(spp_listing.list_vms(spp), key=lambda vm: vm["name"])
        gold = spp_policies.find_sla_policy(spp, "Gold")
        silver = spp_policies.find_sla_policy(spp, "Silver")
        spp_policies.apply_sla_policies(spp, spp_vms[:2], [gold])
        spp_policies.apply_sla_policies(spp, spp_vms[2:3], [gold, silver])
        disk = next(d for d in spp_listing.list_vdisks(spp) if d["vmId"] == spp_vms[3]["id"])
        spp_policies.apply_sla_policies(spp, [disk], [silver])
        vcenter_names = vcenter.all_vm_names(vsphere)

    _rc, _out, result = fresh_lab.playbook("backup_inventory")

    assert result["changed"] is False and result["rescanned"] is False
    assert sorted(vm["name"] for vm in result["vms"] + result["vcenter_only"]) == vcenter_names
    by_name = {vm["name"]: vm for vm in result["vms"]}
    assert by_name[spp_vms[0]["name"]]["policies"] == ["Gold"]
    assert by_name[spp_vms[1]["name"]]["policies"] == ["Gold"]
    assert by_name[spp_vms[2]["name"]]["policies"] == ["Gold", "Silver"]
    with_disk = by_name[spp_vms[3]["name"]]
    assert with_disk["policies"] == []
    assert [(d["label"], d["policies"]) for d in with_disk["disks"] if d["policies"]] == [(disk["name"], ["Silver"])]
    state = fresh_lab.admin("GET", "/state")
    for vm in result["vms"]:
        assert sorted(state["vm_policies"].get(vm["spp_id"], [])) == vm["policies"]
        assert vm["power_state"] in ("poweredOn", "poweredOff", "suspended")
        assert re.fullmatch(r"vm-\d+", vm["moref"])
    assert result["summary"]["with_vm_policy"] == 3 and result["summary"]["with_disk_policy_only"] == 1


def test_rescan_makes_a_new_vm_visible_check_real_check_real(fresh_lab):
    name = "ci-new-%s" % uuid.uuid4().hex[:6]
    with fresh_lab.vsphere_client() as vsphere:
        vcenter.clone_vm(vsphere, "DC0_H0_VM0", name)
    try:
        with fresh_lab.spp_client() as spp:
            sessions_before = _inventory_sessions(spp)
        outcomes = []
        for check in (True, False, True, False):
            _rc, _out, result = fresh_lab.playbook("backup_inventory", {"visible": [name]}, check=check)
            outcomes.append(result["changed"])
            if check and len(outcomes) == 1:
                assert name in [vm["name"] for vm in result["vcenter_only"]]
                with fresh_lab.spp_client() as spp:
                    assert _inventory_sessions(spp) == sessions_before, "check mode must not run the inventory job"
            if not check:
                assert name in [vm["name"] for vm in result["vms"]]
        assert outcomes == [True, True, False, False]
        with fresh_lab.spp_client() as spp:
            assert name in [vm["name"] for vm in spp_listing.list_vms(spp)]
    finally:
        with fresh_lab.vsphere_client() as vsphere:
            vcenter.destroy_vm(vsphere, name)


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
