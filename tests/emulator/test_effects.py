# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the emulator does in vCenter (spp-api.md 14.9-14.11), checked through pyVmomi, not through its answers."""

from __future__ import annotations

import pytest

from conftest import is_test_active, wait_until


def _errors(spp, session):
    return [entry for entry in spp.logs(session) if entry["type"] == "ERROR"]


def _versions(spp, vm):
    return spp.get(vm["links"]["versions"]["href"])["versions"]


# --- backup ----------------------------------------------------------------------------------------------------


def test_a_backup_leaves_no_snapshot_and_adds_a_version(spp, vcenter, fresh_vm):
    session = spp.backup(fresh_vm)
    assert session["status"] == "COMPLETED"
    tasks = [
        description
        for description, entity in vcenter.recent_tasks()
        if entity in (fresh_vm["name"], fresh_vm["nativeObject"]["mor"]["val"]) or "removeSnapshot" in description
    ]
    assert "VirtualMachine.createSnapshot" in tasks  # a snapshot was taken...
    assert "removeSnapshot" in tasks[-1]  # ...and removed
    assert vcenter.vm(fresh_vm["name"])["has_snapshots"] is False
    (version,) = _versions(spp, fresh_vm)
    assert version["protectionInfo"]["storageProfileName"] == "Gold"
    assert version["protectionInfo"]["subPolicyType"] == "BACKUP"
    assert version["consistency"] == "application"  # quiesced by default
    assert version["vmConfig"]["instanceUuid"] == vcenter.vm(fresh_vm["name"])["instance_uuid"]
    assert spp.get(fresh_vm["links"]["latestversion"]["href"])["id"] == version["id"]
    copies = spp.get(fresh_vm["links"]["copies"]["href"])["copies"]
    assert [(c["siteName"], c["protectionInfo"]["subPolicyType"]) for c in copies] == [("Primary", "BACKUP")]
    assert any(entry["messageId"] == "CTGGA2384" for entry in spp.logs(session))

    assert spp.apply_options(fresh_vm, {"makeApplicationConsistent": False}).status_code == 200
    assert spp.backup(fresh_vm)["status"] == "COMPLETED"
    assert [v["consistency"] for v in _versions(spp, fresh_vm)] == ["crash", "application"]  # newest first


def test_the_first_backup_of_a_vm_with_a_snapshot_fails_for_that_vm(spp, vcenter, fresh_vm):
    vcenter.snapshot(fresh_vm["name"])
    session = spp.backup(fresh_vm)
    assert session["status"] == "FAILED"
    (error,) = _errors(spp, session)
    assert fresh_vm["name"] in error["message"] and "snapshot" in error["message"]
    assert _versions(spp, fresh_vm) == []
    assert vcenter.vm(fresh_vm["name"])["has_snapshots"] is True  # the user's snapshot is left alone


def test_later_backups_accept_existing_snapshots(spp, vcenter, fresh_vm):
    assert spp.backup(fresh_vm)["status"] == "COMPLETED"
    vcenter.snapshot(fresh_vm["name"])
    assert spp.backup(fresh_vm)["status"] == "COMPLETED"
    assert len(_versions(spp, fresh_vm)) == 2


def test_independent_disks_are_reported_as_not_captured(spp, vcenter, fresh_vm):
    vcenter.add_disk(fresh_vm["name"], "independent_persistent")
    spp.inventory()
    session = spp.backup(spp.vm(fresh_vm["name"]))
    assert session["status"] == "COMPLETED"
    statistics = {entry["resourceType"]: entry for entry in session["properties"]["statistics"]}
    assert statistics["vdisk"]["skipped"] == 1 and statistics["vdisk"]["success"] == 1
    warnings = [entry for entry in spp.logs(session) if entry["type"] == "WARN"]
    assert len(warnings) == 1 and "not captured" in warnings[0]["message"]
    captured = [disk["captured"] for disk in _versions(spp, fresh_vm)[0]["vmConfig"]["disks"]]
    assert sorted(captured) == [False, True]


def test_an_injected_vm_failure_makes_the_session_partial(spp, vcenter, fresh_vm):
    other_name = fresh_vm["name"] + "_b"
    vcenter.clone(fresh_vm["name"], other_name)
    spp.inventory()
    other = spp.vm(other_name)
    spp.assign([fresh_vm, other], ["Bronze"])
    spp.admin("POST", "/vm-failure", {"vm": other_name, "message": "disk read error"})
    job = spp.job("vmware_Bronze")
    session = spp.wait_session(spp.call("POST", job["links"]["start"]["href"])["lastrun"]["sessionId"])
    assert session["status"] == "PARTIAL"
    (error,) = _errors(spp, session)
    assert other_name in error["message"] and "disk read error" in error["message"]
    assert len(_versions(spp, fresh_vm)) == 1 and _versions(spp, other) == []


# --- restore ---------------------------------------------------------------------------------------------------


@pytest.fixture
def backed_up(spp, fresh_vm):
    assert spp.backup(fresh_vm)["status"] == "COMPLETED"
    return fresh_vm


def _restored_vm(spp, session):
    """What the emulator restored (admin /state): postRestoreInfo is an object that lists no VMs (spp-api.md 14.13)."""
    (entry,) = spp.restores(session)
    return entry


def test_a_test_restore_creates_an_isolated_vm(spp, vcenter, backed_up):
    session = spp.restore(backed_up, "test")
    assert session["status"] == "PENDING" and is_test_active(session)
    assert {"cleanup", "rrp", "clone"} <= set(session["links"])
    test_vm = vcenter.vm(backed_up["name"] + "_TEST")
    assert test_vm is not None and test_vm["moref"] == _restored_vm(spp, session)["moref"]
    assert test_vm["nics"] and all(not nic["connected"] and not nic["start_connected"] for nic in test_vm["nics"])
    assert vcenter.vm(backed_up["name"])["moref"] == backed_up["nativeObject"]["mor"]["val"]  # original untouched


def test_a_test_restore_connects_to_a_mapped_test_network(spp, vcenter, backed_up):
    networks = {net["key"]: net for net in spp.get("/api/hypervisor/1001/network")["networks"]}
    source_network = networks[vcenter.vm(backed_up["name"])["nics"][0]["network"]]
    test_network = next(net for net in networks.values() if net["name"] == "VM Network")
    mapping = {source_network["links"]["self"]["href"]: {"test": test_network["links"]["self"]["href"]}}
    session = spp.restore(backed_up, "test", destination={"mapvirtualnetwork": mapping})
    assert is_test_active(session)
    test_vm = vcenter.by_moref(_restored_vm(spp, session)["moref"])
    assert [(nic["network"], nic["start_connected"]) for nic in test_vm["nics"]] == [("VM Network", True)]


def test_cleanup_removes_the_test_vm_and_ends_the_session(spp, vcenter, backed_up):
    session = spp.restore(backed_up, "test")
    test_moref = _restored_vm(spp, session)["moref"]
    spp.call("POST", session["links"]["cleanup"]["href"], expect=201, json={})
    assert spp.wait_session(session["id"], ("COMPLETED", "FAILED"))["status"] == "COMPLETED"
    assert vcenter.by_moref(test_moref) is None
    assert vcenter.vm(backed_up["name"]) is not None


def test_rrp_moves_the_test_vm_to_production(spp, vcenter, backed_up):
    original = vcenter.vm(backed_up["name"])
    session = spp.restore(backed_up, "test")
    test_moref = _restored_vm(spp, session)["moref"]
    spp.call("POST", session["links"]["rrp"]["href"], expect=201, json={})
    assert spp.wait_session(session["id"], ("COMPLETED", "FAILED"))["status"] == "COMPLETED"
    assert vcenter.by_moref(original["moref"]) is None
    promoted = vcenter.by_moref(test_moref)
    assert promoted["name"] == backed_up["name"] and vcenter.vm(backed_up["name"] + "_TEST") is None
    assert promoted["instance_uuid"] == original["instance_uuid"]
    assert all(nic["connected"] and nic["start_connected"] for nic in promoted["nics"])


def test_clone_keeps_the_test_vm_as_a_permanent_clone(spp, vcenter, backed_up):
    original = vcenter.vm(backed_up["name"])
    session = spp.restore(backed_up, "test")
    test_moref = _restored_vm(spp, session)["moref"]
    spp.call("POST", session["links"]["clone"]["href"], expect=201, json={})
    assert spp.wait_session(session["id"], ("COMPLETED", "FAILED"))["status"] == "COMPLETED"
    kept = vcenter.by_moref(test_moref)
    assert kept["name"] == backed_up["name"] + "_TEST"
    assert kept["instance_uuid"] != original["instance_uuid"]
    assert not {nic["mac"] for nic in kept["nics"]} & {nic["mac"] for nic in original["nics"]}
    assert all(nic["connected"] and nic["start_connected"] for nic in kept["nics"])
    assert vcenter.by_moref(original["moref"]) is not None


def test_test_session_actions_need_an_active_test_restore(spp, backed_up):
    session = spp.restore(backed_up, "test")
    spp.call("POST", session["links"]["cleanup"]["href"], expect=201, json={})
    spp.wait_session(session["id"], ("COMPLETED",))
    response = spp.raw("POST", session["links"]["rrp"]["href"], json={})
    assert response.status_code == 409 and response.json()["title"] == "Error"


def test_a_clone_restore_has_a_new_name_uuid_and_macs(spp, vcenter, backed_up):
    original = vcenter.vm(backed_up["name"])
    session = spp.restore(backed_up, "clone", poweron=True)
    assert session["status"] == "COMPLETED"
    clone = vcenter.vm(backed_up["name"] + "_CLONE")
    assert clone["moref"] == _restored_vm(spp, session)["moref"]
    assert clone["instance_uuid"] != original["instance_uuid"]
    assert clone["nics"] and not {nic["mac"] for nic in clone["nics"]} & {nic["mac"] for nic in original["nics"]}
    assert all(nic["start_connected"] for nic in clone["nics"])
    assert clone["power_state"] == "poweredOn"


def test_a_clone_restore_honours_mapvm_names(spp, vcenter, backed_up):
    source_href = spp.vm(backed_up["name"], source="recovery")["links"]["self"]["href"]
    destination = {"mapvm": {source_href: {"name": backed_up["name"] + "_copy"}}}
    assert spp.restore(backed_up, "clone", destination=destination)["status"] == "COMPLETED"
    assert vcenter.vm(backed_up["name"] + "_copy") is not None


def test_a_restore_goes_to_the_destination_target_and_folder(spp, vcenter, backed_up):
    original = vcenter.vm(backed_up["name"])
    host = next(
        h for h in spp.get("/api/hypervisor/1001/host")["hosts"] if h["nativeObject"]["mor"]["val"] != original["host"]
    )
    destination = {"target": {"href": host["links"]["self"]["href"], "resourceType": "host"}, "vmfolderpath": "/DC0/vm"}
    session = spp.restore(backed_up, "clone", destination=destination)
    assert session["status"] == "COMPLETED"
    assert vcenter.by_moref(_restored_vm(spp, session)["moref"])["host"] == host["nativeObject"]["mor"]["val"]


def test_a_recovery_restore_refuses_to_overwrite_without_allowvmoverwrite(spp, vcenter, backed_up):
    before = vcenter.vms()
    session = spp.restore(backed_up, "recovery")
    assert session["status"] == "FAILED"
    (error,) = _errors(spp, session)
    assert "allowvmoverwrite" in error["message"]
    assert vcenter.vms() == before  # nothing touched


def test_an_injected_restore_failure_fails_the_job_before_vcenter_is_touched(spp, vcenter, backed_up):
    before = vcenter.vms()
    spp.admin("POST", "/restore-failure", {"vm": backed_up["name"], "message": "vSnap mount failed", "count": 1})
    session = spp.restore(backed_up, "recovery", allowvmoverwrite=True)
    assert session["status"] == "FAILED" and spp.restores(session) == []
    assert "0 of 1" in session["properties"]["postRestoreInfo"]["message"]
    (error,) = _errors(spp, session)
    assert error["messageId"] == "CTGGA2502" and "vSnap mount failed" in error["message"]
    assert vcenter.vms() == before  # nothing touched
    assert spp.restore(backed_up, "clone")["status"] == "COMPLETED", "count 1: the next restore works"


def test_a_recovery_restore_with_allowvmoverwrite_replaces_the_original(spp, vcenter, backed_up):
    original = vcenter.vm(backed_up["name"])
    session = spp.restore(backed_up, "recovery", allowvmoverwrite=True, poweron=True)
    assert session["status"] == "COMPLETED"
    assert vcenter.by_moref(original["moref"]) is None
    restored = vcenter.vm(backed_up["name"])
    assert restored["moref"] == _restored_vm(spp, session)["moref"] != original["moref"]
    assert restored["instance_uuid"] == original["instance_uuid"]
    assert sorted(nic["mac"] for nic in restored["nics"]) == sorted(nic["mac"] for nic in original["nics"])
    assert restored["power_state"] == "poweredOn"


def test_a_deleted_vm_is_rebuilt_from_its_recorded_configuration(spp, vcenter, backed_up):
    original = vcenter.vm(backed_up["name"])
    vcenter.destroy(backed_up["name"])
    spp.inventory()
    gone = spp.call(
        "POST", "/api/hypervisor/search", params={"resourceType": "vm", "from": "hlo"}, json={"name": backed_up["name"]}
    )
    assert gone["total"] == 0
    recovery_vm = spp.vm(backed_up["name"], source="recovery")
    assert recovery_vm["inHLO"] is False
    session = spp.restore(recovery_vm, "recovery")  # nothing to overwrite: no allowvmoverwrite needed
    assert session["status"] == "COMPLETED"
    rebuilt = wait_until(lambda: vcenter.vm(backed_up["name"]), message="the rebuilt VM")
    assert rebuilt["instance_uuid"] == original["instance_uuid"]
    assert len(rebuilt["disks"]) == len(original["disks"]) and len(rebuilt["nics"]) == len(original["nics"])
