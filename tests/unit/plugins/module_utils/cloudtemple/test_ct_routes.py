# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each route function of the Cloud Temple client sends the documented method, path, query and body
(docs/cloudtemple-api.md sections 6 to 12), asserted on the requests the scripted console recorded."""

from __future__ import annotations

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import InvalidRequest, NotFound
from ansible_collections.sovereign.vm_backup.plugins.module_utils.cloudtemple import backup, compute

from ct_fake_server import Reply, write_reply

ACTIVITY_ID = "6f1d0c1e-2a7b-4c55-9a55-0f1f7b9d3e21"
VM = "4219b1a4-5a0e-2d53-8f63-1c9e2a7d0b11"
VM2 = "4219b1a4-5a0e-2d53-8f63-1c9e2a7d0b22"
DISK = "c084f65b-48b6-4b01-aa3d-b742b11ecabd"
POLICY = "442718ef-44a1-43d7-9b57-2d910d74e928"
POLICY2 = "9d6c1f8e-7d2c-4b63-8e4a-5a2f7c9b1d00"

NESTED_VM = {"id": VM, "name": "web-1", "powerState": "stopped", "machineManager": {"id": "mm-1", "name": "vc"},
             "datacenter": {"id": "dc-1", "name": "DC-TH3S"}, "hostCluster": {"id": "hc-1", "name": "clu"}}
FLAT_VM = {"id": VM2, "name": "web-2", "powerState": "running", "machineManagerId": "mm-1",
           "virtualDatacenterId": "dc-2", "datacenterName": "DC-PAR7S", "hostClusterName": "clu"}


def only_call(console):
    calls = console.calls()
    assert len(calls) == 1, [(call.method, call.target) for call in calls]
    return calls[0]


# -- backup: policies and assignment (sections 6, 7) --------------------------------------------------------------


@pytest.mark.parametrize("kwargs, query", [
    ({}, {}),
    ({"virtual_machine_id": VM}, {"virtualMachineId": [VM]}),
    ({"virtual_disk_id": DISK}, {"virtualDiskId": [DISK]}),
])
def test_list_policies(console, make_ct, kwargs, query):
    console.route("GET", backup.POLICIES_PATH, Reply(200, [{"id": POLICY, "name": "sla001-daily-par7s"}]))
    policies = backup.list_policies(make_ct(console), **kwargs)
    assert policies == [{"id": POLICY, "name": "sla001-daily-par7s"}] and not policies.partial
    call = only_call(console)
    assert (call.method, call.path, call.query_all) == ("GET", "/api/backup/v1/spp/policies", query)


def test_list_policies_takes_one_filter_at_a_time(console, make_ct):
    with pytest.raises(InvalidRequest):
        backup.list_policies(make_ct(console), virtual_machine_id=VM, virtual_disk_id=DISK)
    assert console.requests == []


def test_get_policy_and_its_absence(console, make_ct):
    console.route("GET", "/api/backup/v1/spp/policies/" + POLICY, Reply(200, {"id": POLICY}))
    client = make_ct(console)
    assert backup.get_policy(client, POLICY) == {"id": POLICY}
    assert backup.get_policy(client, POLICY2) is None
    assert [call.path for call in console.calls()] == ["/api/backup/v1/spp/policies/" + POLICY,
                                                       "/api/backup/v1/spp/policies/" + POLICY2]


def test_assign_to_vms_sends_the_whole_set_in_one_call(console, make_ct):
    console.route("POST", "/api/backup/v1/spp/policies/assign/virtual_machine", write_reply(ACTIVITY_ID))
    assert backup.assign_to_vms(make_ct(console), [VM, VM2], [POLICY, POLICY2]) == ACTIVITY_ID
    call = only_call(console)
    assert call.method == "POST" and call.query_all == {}
    assert call.json == {"virtualMachineIds": [VM, VM2], "slaPolicies": [POLICY, POLICY2]}


def test_assign_to_vms_refuses_an_empty_vm_list_before_any_call(console, make_ct):
    with pytest.raises(InvalidRequest):
        backup.assign_to_vms(make_ct(console), [], [POLICY])
    assert console.requests == []


def test_an_empty_policy_list_is_sent_only_when_asked(console, make_ct):
    console.route("POST", "/api/backup/v1/spp/policies/assign/virtual_machine", write_reply(ACTIVITY_ID))
    console.route("POST", "/api/backup/v1/spp/policies/assign/virtual_disk", write_reply(ACTIVITY_ID))
    client = make_ct(console)
    for call in (lambda: backup.assign_to_vms(client, [VM], []), lambda: backup.assign_to_disk(client, DISK, [])):
        with pytest.raises(InvalidRequest) as caught:
            call()
        assert "#306" in str(caught.value) and "allow_empty" in str(caught.value)
    assert console.requests == []
    assert backup.assign_to_vms(client, [VM], [], allow_empty=True) == ACTIVITY_ID
    assert backup.assign_to_disk(client, DISK, [], allow_empty=True) == ACTIVITY_ID
    assert [call.json for call in console.calls()] == [{"virtualMachineIds": [VM], "slaPolicies": []},
                                                       {"virtualDiskId": DISK, "slaPolicies": []}]


def test_assign_to_disk(console, make_ct):
    console.route("POST", "/api/backup/v1/spp/policies/assign/virtual_disk", write_reply(ACTIVITY_ID))
    assert backup.assign_to_disk(make_ct(console), DISK, [POLICY]) == ACTIVITY_ID
    call = only_call(console)
    assert (call.method, call.path) == ("POST", "/api/backup/v1/spp/policies/assign/virtual_disk")
    assert call.json == {"virtualDiskId": DISK, "slaPolicies": [POLICY]}


# -- backup: jobs, sessions, inventory (section 10) ----------------------------------------------------------------


INVENTORY = {"id": "job-inv", "name": "Hypervisor Inventory", "type": "catalog", "status": "IDLE"}
APPLICATION = {"id": "job-app", "name": "Application Server Inventory", "type": "catalog", "status": "IDLE"}


def test_list_jobs_with_and_without_a_type(console, make_ct):
    console.route("GET", "/api/backup/v1/spp/jobs", Reply(200, [INVENTORY]))
    client = make_ct(console)
    backup.list_jobs(client)
    backup.list_jobs(client, type="catalog")
    assert [(call.path, call.query_all) for call in console.calls()] == [
        ("/api/backup/v1/spp/jobs", {}), ("/api/backup/v1/spp/jobs", {"type": ["catalog"]})]


def test_get_job(console, make_ct):
    console.route("GET", "/api/backup/v1/spp/jobs/job-inv", Reply(200, INVENTORY))
    client = make_ct(console)
    assert backup.get_job(client, "job-inv") == INVENTORY
    assert backup.get_job(client, "job-gone") is None


@pytest.mark.parametrize("policy, body", [(None, {"jobId": "job-inv"}), (POLICY, {"jobId": "job-inv", "policyId": POLICY})])
def test_run_job(console, make_ct, policy, body):
    console.route("POST", "/api/backup/v1/spp/jobs/run", write_reply(ACTIVITY_ID))
    assert backup.run_job(make_ct(console), "job-inv", policy_id=policy) == ACTIVITY_ID
    call = only_call(console)
    assert (call.method, call.path, call.json) == ("POST", "/api/backup/v1/spp/jobs/run", body)


def test_list_sessions(console, make_ct):
    console.route("GET", "/api/backup/v1/spp/jobs/session", Reply(200, [{"id": "s1", "status": "COMPLETED"}]))
    assert backup.list_sessions(make_ct(console)) == [{"id": "s1", "status": "COMPLETED"}]
    assert only_call(console).query_all == {}


def test_find_inventory_job_by_name_not_by_position(console, make_ct):
    console.route("GET", "/api/backup/v1/spp/jobs", Reply(200, [APPLICATION, INVENTORY]), Reply(200, [APPLICATION]))
    client = make_ct(console)
    assert backup.find_inventory_job(client) == INVENTORY
    assert only_call(console).query_all == {"type": ["catalog"]}
    with pytest.raises(NotFound) as caught:
        backup.find_inventory_job(client)
    assert "Application Server Inventory" in str(caught.value)


# -- backup: what the backup service knows (sections 8, 9) ----------------------------------------------------------


def test_get_backup_vm_is_none_until_inventoried(console, make_ct):
    path = "/api/backup/v1/spp/virtual_machines/" + VM
    console.route("GET", path, Reply(404, "Not Found"), Reply(200, {"id": VM, "storageProfiles": ["SLA_DAILY"]}))
    client = make_ct(console)
    assert backup.get_backup_vm(client, VM) is None
    assert backup.get_backup_vm(client, VM)["storageProfiles"] == ["SLA_DAILY"]
    assert [call.path for call in console.calls()] == [path, path]


def test_get_backup_disk(console, make_ct):
    console.route("GET", "/api/backup/v1/spp/virtual_disks/" + DISK, Reply(200, {"id": DISK}))
    client = make_ct(console)
    assert backup.get_backup_disk(client, DISK) == {"id": DISK}
    assert backup.get_backup_disk(client, "other") is None


def test_ids_are_quoted_in_paths(console, make_ct):
    backup.get_backup_vm(make_ct(console), "a/b?c")
    assert only_call(console).target == "/api/backup/v1/spp/virtual_machines/a%2Fb%3Fc"


def test_list_sites_and_vcenters(console, make_ct):
    console.route("GET", "/api/backup/v1/spp/sites", Reply(200, [{"id": "s1", "name": "PAR7S"}]))
    console.route("GET", "/api/backup/v1/spp/vcenters", Reply(200, [{"id": "v1", "instanceId": "uuid"}]))
    client = make_ct(console)
    assert backup.list_sites(client) == [{"id": "s1", "name": "PAR7S"}]
    backup.list_vcenters(client)
    backup.list_vcenters(client, spp_server_id="spp-1")
    assert [(call.path, call.query_all) for call in console.calls()] == [
        ("/api/backup/v1/spp/sites", {}), ("/api/backup/v1/spp/vcenters", {}),
        ("/api/backup/v1/spp/vcenters", {"sppServerId": ["spp-1"]})]


# -- compute (section 12) -----------------------------------------------------------------------------------------


def test_list_vms_sends_scalar_and_list_filters_and_returns_both_shapes(console, make_ct):
    console.route("GET", "/api/compute/v1/vcenters/virtual_machines", Reply(200, [NESTED_VM, FLAT_VM]))
    vms = compute.list_vms(make_ct(console), name="web", machine_manager_id="mm-1", all_options=True,
                           datacenters=["dc-1", "dc-2"], host_clusters="hc-1", networks=[], datastores=None)
    assert vms == [NESTED_VM, FLAT_VM]
    call = only_call(console)
    assert call.query_all == {"name": ["web"], "machineManagerId": ["mm-1"], "allOptions": ["true"],
                              "datacenters[]": ["dc-1", "dc-2"], "hostClusters[]": ["hc-1"]}
    assert [compute.vm_datacenter_id(vm) for vm in vms] == ["dc-1", "dc-2"]
    assert [compute.vm_machine_manager_id(vm) for vm in vms] == ["mm-1", "mm-1"]
    assert [compute.vm_host_cluster_id(vm) for vm in vms] == ["hc-1", None]


def test_list_vms_refuses_an_unknown_filter(console, make_ct):
    with pytest.raises(TypeError):
        compute.list_vms(make_ct(console), folder="x")
    assert console.requests == []


def test_get_vm(console, make_ct):
    console.route("GET", "/api/compute/v1/vcenters/virtual_machines/" + VM, Reply(200, NESTED_VM))
    client = make_ct(console)
    assert compute.get_vm(client, VM) == NESTED_VM
    assert compute.get_vm(client, VM2) is None


def test_list_disks_of_a_vm_and_404_as_empty(console, make_ct):
    console.route("GET", "/api/compute/v1/vcenters/virtual_disks", Reply(200, [{"id": DISK, "virtualMachineId": VM}]),
                  Reply(404, "Not Found"))
    client = make_ct(console)
    assert compute.list_disks(client, VM) == [{"id": DISK, "virtualMachineId": VM}]
    assert compute.list_disks(client, VM2, name="Hard disk 1") == []
    assert [call.query_all for call in console.calls()] == [
        {"virtualMachineId": [VM]}, {"virtualMachineId": [VM2], "name": ["Hard disk 1"]}]


def test_placement_listings(console, make_ct):
    for path in ("hosts", "virtual_datacenters", "folders"):
        console.route("GET", "/api/compute/v1/vcenters/" + path, Reply(200, []))
    console.route("GET", "/api/compute/v1/vcenters", Reply(200, [{"id": "mm-1", "instanceUuid": "uuid"}]))
    client = make_ct(console)
    compute.list_hosts(client, host_cluster_id="hc-1", datacenter_id="dc-1")
    compute.list_datacenters(client, machine_manager_id="mm-1")
    assert compute.list_machine_managers(client) == [{"id": "mm-1", "instanceUuid": "uuid"}]
    compute.list_folders(client, datacenter_id="dc-1", name="prod")
    assert [(call.path, call.query_all) for call in console.calls()] == [
        ("/api/compute/v1/vcenters/hosts", {"hostClusterId": ["hc-1"], "datacenterId": ["dc-1"]}),
        ("/api/compute/v1/vcenters/virtual_datacenters", {"machineManagerId": ["mm-1"]}),
        ("/api/compute/v1/vcenters", {}),
        ("/api/compute/v1/vcenters/folders", {"name": ["prod"], "datacenterId": ["dc-1"]})]


@pytest.mark.parametrize("vm, body", [
    (NESTED_VM, {"id": VM, "datacenterId": "dc-1", "powerAction": "on"}),
    (FLAT_VM, {"id": VM2, "datacenterId": "dc-2", "powerAction": "on"}),
    (VM, {"id": VM, "powerAction": "on"}),
], ids=["nested", "flat", "id"])
def test_power_on(console, make_ct, vm, body):
    console.route("PATCH", "/api/compute/v1/vcenters/virtual_machines/power", write_reply(ACTIVITY_ID))
    assert compute.power(make_ct(console), vm, "on") == ACTIVITY_ID
    call = only_call(console)
    assert (call.method, call.path, call.json) == ("PATCH", "/api/compute/v1/vcenters/virtual_machines/power", body)


def test_power_on_with_a_recommendation_as_the_provider_sends_it(console, make_ct):
    console.route("PATCH", "/api/compute/v1/vcenters/virtual_machines/power", write_reply(ACTIVITY_ID))
    recommendation = {"key": 1, "hostClusterId": "hc-1", "hostId": "h-1", "hostClusterName": "clu", "hostName": "esx"}
    compute.power(make_ct(console), NESTED_VM, "on", recommendation=recommendation)
    assert only_call(console).json == {
        "id": VM, "datacenterId": "dc-1", "powerAction": "on",
        "recommendation": {"key": 1, "hostClusterId": "hc-1", "hostId": "", "hostClusterName": "", "hostName": ""}}


def test_power_refuses_an_unknown_action_before_any_call(console, make_ct):
    with pytest.raises(InvalidRequest):
        compute.power(make_ct(console), NESTED_VM, "reset")
    assert console.requests == []


def test_power_recommendations(console, make_ct):
    path = "/api/compute/v1/vcenters/virtual_machines/power/recommendations"
    console.route("GET", path, Reply(200, [{"key": 1, "hostClusterId": "hc-1"}]), Reply(404, "Not Found"))
    client = make_ct(console)
    assert compute.power_recommendations(client, NESTED_VM) == [{"key": 1, "hostClusterId": "hc-1"}]
    assert compute.power_recommendations(client, FLAT_VM) == []
    assert [call.query_all for call in console.calls()] == [
        {"virtualMachineId": [VM], "datacenterId": ["dc-1"], "hostClusterId": ["hc-1"]},
        {"virtualMachineId": [VM2], "datacenterId": ["dc-2"]}]
