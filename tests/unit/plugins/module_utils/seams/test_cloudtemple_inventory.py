# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``CloudTempleInventory`` against the scripted console (issue 15): the refusals before any request, the compute
listing in the vSphere listing's shape (both VM shapes), disks in parallel only with devices, shared morefs, the
vCenter's instance UUID, and power on (recommendation, activity, the console's refusal as a rule violation) and off."""

from __future__ import annotations

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import (
    ApiError,
    NotFound,
    RuleViolation,
    TaskFailed,
    Unsupported,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.seams import vm_inventory
from ansible_collections.sovereign.vm_backup.plugins.module_utils.seams.cloudtemple_inventory import CloudTempleInventory
from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import assignments
from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import powerstate

from ct_fake_server import CT_SECRET, Reply
from ct_seam_support import (  # noqa: F401  pylint: disable=unused-import
    COMPUTE,
    MM_ID,
    VC_UUID,
    by_query,
    client,
    compute_disk,
    compute_vm,
    route_activity,
    route_write,
)

VM1, VM2, VM3 = "4219b1a4-0000-0000-0000-0000000000v1", "4219b1a4-0000-0000-0000-0000000000v2", \
    "4219b1a4-0000-0000-0000-0000000000v3"
ACT = "8c6c3447-0000-0000-0000-0000000000b1"
VMS = COMPUTE + "/virtual_machines"
POWER = VMS + "/power"

FLAT_VM = {"id": VM2, "name": "old-shape", "moref": "vm-2", "powerState": "stopped", "machineManagerId": MM_ID,
           "virtualDatacenterId": "dc-2", "datacenterName": "DC-PAR7S", "hostClusterName": "clu-2",
           "hostName": "esx-2", "snapshoted": True}


@pytest.fixture
def inventory(client):
    return CloudTempleInventory(client)


def route_vms(console, *vms):
    console.route("GET", VMS, Reply(200, list(vms)))
    for vm in vms:
        console.route("GET", VMS + "/" + vm["id"], Reply(200, vm))


# -- refusals --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method, args, capability", [
    ("reset", ("vm-1",), "reset"), ("shutdown_guest", ("vm-1",), "guest_shutdown"),
    ("tag_members", (["backup"],), "tags"), ("find_folder", ("/DC0/vm",), "folders"),
    ("rename", ("vm-1", "x"), "rename"), ("list_vms_with_markers", (), "markers"),
    ("set_marker", ("vm-1", {}), "markers"), ("restore_requests", (), "markers"),
])
def test_the_refused_capabilities_send_nothing(inventory, console, method, args, capability):
    with pytest.raises(Unsupported) as caught:
        getattr(inventory, method)(*args)
    assert caught.value.details["capability"] == capability
    assert "the Cloud Temple console's compute API" in caught.value.message
    assert console.requests == []


def test_it_offers_nothing_and_says_why_for_each(inventory):
    assert inventory.kind == "cloudtemple" and inventory.OFFERS == frozenset()
    assert set(inventory.REFUSALS) == set(vm_inventory.OPERATIONS)
    assert all("docs/cloudtemple-api.md" in why for why in inventory.REFUSALS.values())


def test_a_folder_selector_is_refused_before_any_request(inventory, client, console):
    from ansible_collections.sovereign.vm_backup.plugins.module_utils.seams.cloudtemple_backup import (
        CloudTempleBackupService,
    )
    with pytest.raises(Unsupported, match="names no folder"):
        assignments.converge(CloudTempleBackupService(client), inventory, [{"folder": "/DC0/vm", "policies": ["G"]}])
    assert console.requests == []


# -- listing ---------------------------------------------------------------------------------------------------------


def test_list_vms_maps_both_shapes_to_the_vsphere_listing(inventory, console):
    route_vms(console, compute_vm(VM1, "web01", "vm-1"), FLAT_VM)
    records = inventory.list_vms(devices=False)
    assert records[0] == {
        "name": "web01", "moref": "vm-1", "instance_uuid": VM1, "compute_id": VM1, "machine_manager": "vc-" + MM_ID,
        "power_state": "poweredOn", "template": False, "has_snapshots": False, "folder": None,
        "datacenter": "DC-TH3S", "host": None, "cluster": "clu-1", "disks": None, "nics": None}
    assert (records[1]["power_state"], records[1]["datacenter"], records[1]["cluster"], records[1]["host"],
            records[1]["has_snapshots"]) == ("poweredOff", "DC-PAR7S", "clu-2", "esx-2", True)
    assert [call.path for call in console.calls()] == [VMS], "one listing, no disk read without devices"


def test_list_vms_with_devices_reads_each_vms_disks_but_the_templates(inventory, console):
    route_vms(console, compute_vm(VM1, "web01", "vm-1"), compute_vm(VM3, "tpl", "vm-3", template=True))
    console.route("GET", COMPUTE + "/virtual_disks", by_query("virtualMachineId", {VM1: Reply(200, [
        compute_disk("d1", VM1, "Hard disk 1"), compute_disk("d2", VM1, "Hard disk 2", mode="independent_persistent",
                                                             key="2001")])}))
    records = {record["name"]: record for record in inventory.list_vms()}
    assert records["web01"]["disks"] == [
        {"label": "Hard disk 1", "key": 2000, "size_bytes": 1073741824, "mode": "normal", "datastore": "DS1",
         "compute_id": "d1"},
        {"label": "Hard disk 2", "key": 2001, "size_bytes": 1073741824, "mode": "independent", "datastore": "DS1",
         "compute_id": "d2"}]
    assert records["tpl"]["disks"] is None
    assert [call.query for call in console.calls("GET", COMPUTE + "/virtual_disks")] == [{"virtualMachineId": VM1}]


def test_a_moref_two_vcenters_share_is_qualified(inventory, console):
    route_vms(console, compute_vm(VM1, "a", "vm-7"), compute_vm(VM2, "b", "vm-7", manager="mm-2"),
              compute_vm(VM3, "c", "vm-8"))
    assert [record["moref"] for record in inventory.list_vms(devices=False)] == ["vm-7@vc-mm-1", "vm-7@vc-mm-2", "vm-8"]
    assert inventory.vm_details("vm-7@vc-mm-2")["name"] == "b"


def test_instance_uuid_is_the_one_vcenters_or_none_with_several(inventory, console):
    console.route("GET", COMPUTE, Reply(200, [{"id": MM_ID, "name": "vc", "instanceUuid": VC_UUID}]))
    assert inventory.instance_uuid == VC_UUID
    assert inventory.instance_uuid == VC_UUID and len(console.calls()) == 1, "read once"
    several = CloudTempleInventory(inventory.client)
    console.route("GET", COMPUTE, Reply(200, [{"id": "a", "instanceUuid": "u-a"}, {"id": "b", "instanceUuid": "u-b"}]))
    assert several.instance_uuid is None


def test_vm_details_reads_the_vm_now(inventory, console):
    route_vms(console, compute_vm(VM1, "web01", "vm-1"))
    inventory.list_vms(devices=False)
    details = inventory.vm_details("vm-1")
    assert (details["name"], details["power_state"], details["marker"], details["test_record"]) == (
        "web01", "poweredOn", None, None)
    assert inventory.vm_details("vm-404") is None


# -- power -----------------------------------------------------------------------------------------------------------


def test_power_on_sends_the_first_recommendation_and_waits_for_the_activity(inventory, console):
    route_vms(console, compute_vm(VM1, "web01", "vm-1", power="stopped"))
    console.route("GET", POWER + "/recommendations", Reply(200, [
        {"key": 7, "hostClusterId": "hc-1", "hostId": "h-1", "hostClusterName": "clu", "hostName": "esx"},
        {"key": 8, "hostClusterId": "hc-2"}]))
    route_write(console, "PATCH", POWER, ACT)
    route_activity(console, ACT, ("running", {"progression": 0.5}), ("completed", {"result": VM1}))
    lines = []
    assert inventory.power_on("vm-1", timeout=60, progress=lines.append) is True
    call = console.calls("PATCH")[0]
    assert call.json == {"id": VM1, "datacenterId": "dc-1", "powerAction": "on", "recommendation": {
        "key": 7, "hostClusterId": "hc-1", "hostId": "", "hostClusterName": "", "hostName": ""}}
    assert console.calls("GET", POWER + "/recommendations")[0].query["virtualMachineId"] == VM1
    assert any("running 50 %" in line for line in lines)


def test_power_on_of_a_running_vm_changes_nothing(inventory, console):
    route_vms(console, compute_vm(VM1, "web01", "vm-1"))
    assert inventory.power_on("vm-1") is False
    assert not console.calls("PATCH")


def test_the_consoles_refusal_to_power_on_is_a_rule_violation_in_its_own_words(inventory, console):
    route_vms(console, compute_vm(VM1, "web01", "vm-1", power="stopped"))
    console.route("GET", POWER + "/recommendations", Reply(200, []))
    body = {"error": {"status": "409 Conflict", "message": "You cannot power on the virtual machine web01 because it "
                      "has no sla policies (%s)" % CT_SECRET}}
    console.route("PATCH", POWER, Reply(409, body))
    with pytest.raises(RuleViolation) as caught:
        inventory.power_on("vm-1")
    violation = caught.value.violations[0]
    assert violation["rule"] == "protected_before_power_on" and violation["moref"] == "vm-1"
    assert violation["reason"].startswith("the Cloud Temple console refused to power it on (HTTP 409): You cannot "
                                          "power on the virtual machine web01 because it has no sla policies")
    assert "web01 was not powered on" in caught.value.message and CT_SECRET not in caught.value.message
    assert "recommendation" not in console.calls("PATCH")[0].json, "an empty list powers on without one"
    assert not [call for call in console.calls() if "/activity/" in call.path]


def test_a_403_that_is_not_about_policies_stays_a_permission_error(inventory, console):
    route_vms(console, compute_vm(VM1, "web01", "vm-1", power="stopped"))
    console.route("GET", POWER + "/recommendations", Reply(200, []))
    console.route("PATCH", POWER, Reply(403, "Forbidden."))
    with pytest.raises(ApiError) as caught:
        inventory.power_on("vm-1")
    assert not isinstance(caught.value, RuleViolation)
    assert caught.value.details["permission"] == "compute_iaas_vmware_virtual_machine_power"


def test_a_failed_power_activity_carries_its_reason(inventory, console):
    route_vms(console, compute_vm(VM1, "web01", "vm-1", power="stopped"))
    console.route("GET", POWER + "/recommendations", Reply(404, "none"))
    route_write(console, "PATCH", POWER, ACT)
    route_activity(console, ACT, ("failed", {"reason": "host in maintenance"}))
    with pytest.raises(TaskFailed, match="host in maintenance"):
        inventory.power_on("vm-1")


def test_power_off(inventory, console):
    route_vms(console, compute_vm(VM1, "web01", "vm-1"), compute_vm(VM2, "web02", "vm-2", power="stopped"))
    route_write(console, "PATCH", POWER, ACT)
    route_activity(console, ACT, ("completed", {}))
    assert inventory.power_off("vm-1") is True and inventory.power_off("vm-2") is False
    assert [call.json for call in console.calls("PATCH")] == [{"id": VM1, "datacenterId": "dc-1", "powerAction": "off"}]
    with pytest.raises(NotFound, match="no VM with moref 'vm-9'"):
        inventory.power_off("vm-9")


def test_vm_powerstate_turns_off_a_vm_through_the_console(inventory, console):
    route_vms(console, compute_vm(VM1, "web01", "vm-1"))
    route_write(console, "PATCH", POWER, ACT)
    route_activity(console, ACT, ("completed", {}))
    result = powerstate.converge(inventory, "web01", "powered-off", lambda: pytest.fail("read the backup service"))
    assert (result["changed"], result["action"], result["instance_uuid"]) == (True, "power_off", VM1)
