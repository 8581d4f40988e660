# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the Cloud Temple console emulator does behind its answers: its writes land in the SPP emulator (read through
SPP's own API and admin state) and in vCenter (read through pyVmomi), and it keeps no copy of either: a change made
directly in SPP or vCenter shows in the console's next answer."""

from __future__ import annotations

import uuid

from cloudtemple_api import state_key

BACKUP = "/api/backup/v1/spp"
COMPUTE = "/api/compute/v1/vcenters"


def _vm_id(spp_vm: dict) -> str:
    return spp_vm["config"]["instanceUuid"]


def test_assignments_land_in_spp(cloudtemple, spp, fresh_vm):
    vm_id = _vm_id(fresh_vm)
    gold, bronze = cloudtemple.policy("Gold")["id"], cloudtemple.policy("Bronze")["id"]
    cloudtemple.assign_vms([vm_id], [gold, bronze])
    assert sorted(spp.admin("GET", "/state")["vm_policies"][fresh_vm["id"]]) == ["Bronze", "Gold"]
    assert sorted(spp.get(fresh_vm["links"]["self"]["href"])["storageProfiles"]) == ["Bronze", "Gold"]
    (disk,) = cloudtemple.get(f"{COMPUTE}/virtual_disks", virtualMachineId=vm_id)
    cloudtemple.assign_disk(disk["id"], [bronze])
    (vdisk,) = spp.get(fresh_vm["links"]["vdisks"]["href"])["vdisks"]
    assert spp.admin("GET", "/state")["disk_policies"] == {vdisk["id"]: ["Bronze"]}
    cloudtemple.assign_vms([vm_id], [])
    assert fresh_vm["id"] not in spp.admin("GET", "/state")["vm_policies"]
    assert spp.admin("GET", "/requests")["actions"]["POST /ngp/hypervisor?action=applySLAPolicies"] == 3


def test_the_console_reads_spp_on_each_request(cloudtemple, spp, fresh_vm):
    spp.assign([fresh_vm], ["Silver"])  # straight into SPP, not through the console
    assert cloudtemple.policy_names(_vm_id(fresh_vm)) == ["Silver"]
    assert cloudtemple.get(f"{BACKUP}/virtual_machines/{_vm_id(fresh_vm)}")["storageProfiles"] == ["Silver"]


def test_power_actions_change_vcenter(cloudtemple, vcenter, fresh_vm):
    vm_id, name = _vm_id(fresh_vm), fresh_vm["name"]
    assert vcenter.vm(name)["power_state"] == "poweredOff"
    cloudtemple.assign_vms([vm_id], [cloudtemple.policy("Gold")["id"]])
    activity_id = cloudtemple.power(vm_id, "on").headers["Location"]
    done = cloudtemple.wait(activity_id)
    assert state_key(done) == "completed" and done["type"] == "ComputeActivity"
    assert done["concernedItems"] == [{"id": vm_id, "type": "virtual_machine"}]
    assert vcenter.vm(name)["power_state"] == "poweredOn"
    assert cloudtemple.get(f"{COMPUTE}/virtual_machines/{vm_id}")["powerState"] == "running"
    assert state_key(cloudtemple.wait(cloudtemple.power(vm_id, "off").headers["Location"])) == "completed"
    assert vcenter.vm(name)["power_state"] == "poweredOff"
    assert cloudtemple.get(f"{COMPUTE}/virtual_machines/{vm_id}")["powerState"] == "stopped"


def test_vcenter_changes_show_at_once(cloudtemple, vcenter, fresh_vm):
    vm_id, name = _vm_id(fresh_vm), fresh_vm["name"]
    assert cloudtemple.get(f"{COMPUTE}/snapshots", virtualMachineId=vm_id) == []
    vcenter.snapshot(name)
    (snapshot,) = cloudtemple.get(f"{COMPUTE}/snapshots", virtualMachineId=vm_id)
    assert snapshot["name"] == "manual" and snapshot["virtualMachineId"] == vm_id and snapshot["createTime"] > 0
    assert cloudtemple.get(f"{COMPUTE}/virtual_machines/{vm_id}")["snapshoted"] is True
    vcenter.add_disk(name, "independent_persistent")
    disks = cloudtemple.get(f"{COMPUTE}/virtual_disks", virtualMachineId=vm_id)
    assert sorted(disk["diskMode"] for disk in disks) == ["independent_persistent", "persistent"]
    assert cloudtemple.get(f"{COMPUTE}/virtual_disks/{disks[1]['id']}") == disks[1]


def test_the_inventory_job_runs_spps_inventory(cloudtemple, spp, vcenter, request):
    name = f"tinv{uuid.uuid4().hex[:8]}"
    vcenter.clone("DC0_H0_VM0", name)
    request.addfinalizer(lambda: vcenter.destroy(name))
    before = len(spp.get("/api/endeavour/jobsession")["sessions"])
    cloudtemple.inventory()
    sessions = spp.get("/api/endeavour/jobsession")["sessions"]
    assert len(sessions) == before + 1 and sessions[-1]["jobName"] == "Hypervisor Inventory"
    assert spp.vm(name)["config"]["instanceUuid"] == vcenter.vm(name)["instance_uuid"]  # SPP lists the new VM
