# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Contract of the Cloud Temple console emulator (docs/cloudtemple-api.md): each route's method, status and shape,
the 201 + Location activity of every write, the token exchange, and the console's own refusals. Effects in SPP and
vCenter are in test_cloudtemple_effects.py, fault injection in test_cloudtemple_faults.py."""

from __future__ import annotations

import time
import uuid

import pytest

from cloudtemple_api import disk_id, job_id, jwt_claims, policy_id, state_key
from conftest import make_fresh_vm

BACKUP = "/api/backup/v1/spp"
COMPUTE = "/api/compute/v1/vcenters"
VM_KEYS = {  # the v1.10.0 VM object (12.2)
    "id", "name", "moref", "machineManager", "datacenter", "hostCluster", "datastore", "datastoreCluster",
    "powerState", "template", "snapshoted", "sppMode", "operatingSystem", "operatingSystemMoref", "hardwareVersion",
    "cpu", "numCoresPerSocket", "memory", "cpuUsage", "memoryUsage", "cpuHotAddEnabled", "cpuHotRemoveEnabled",
    "memoryHotAddEnabled", "tools", "toolsVersion", "storage", "triggeredAlarms", "extraConfig", "bootOptions",
    "distributedVirtualPortGroupIds", "replicationConfig", "consolidationNeeded", "exposeHardwareVirtualization",
}


def _is_uuid(value: str) -> bool:
    return str(uuid.UUID(value)) == value


def _error(response, status: int) -> str:
    """The console's error body: the 429 shape of 2.6 for every status (inferred)."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"status", "message"}, body
    assert body["error"]["status"].startswith(str(status))
    return body["error"]["message"]


def _vm_id(spp_vm: dict) -> str:
    return spp_vm["config"]["instanceUuid"]


def test_the_lab_exports_the_console_variables(lab):
    env = lab.env
    assert env["CLOUDTEMPLE_URL"].startswith("https://127.0.0.1:")
    assert env["CLOUDTEMPLE_CA_PATH"] == lab.ca_path and env["CLOUDTEMPLE_CLIENT_ID"] and env["CLOUDTEMPLE_SECRET_ID"]
    assert "CLOUDTEMPLE_URL=" in lab.export_lines().replace("export ", "")


# --- authentication (3) ------------------------------------------------------------------------------------------


def test_the_token_exchange_answers_a_raw_jwt_with_the_claims_clients_read(cloudtemple):
    response = cloudtemple.exchange()
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/plain")
    claims = jwt_claims(response.text)
    assert {"exp", "iat", "userId", "companyId", "scope"} <= set(claims)
    assert 295 <= claims["exp"] - claims["iat"] <= 301  # 5 minutes (3.3)
    assert _is_uuid(claims["scope"]["id"]) and _is_uuid(claims["userId"]) and _is_uuid(claims["companyId"])
    assert response.text.count(".") == 2

    assert "Invalid" in _error(cloudtemple.exchange(secret="wrong"), 401)
    assert cloudtemple.exchange(client_id="someone-else").status_code == 401


def test_every_other_route_needs_a_valid_bearer(cloudtemple):
    assert cloudtemple.raw("GET", f"{BACKUP}/policies", token=None).status_code == 401
    assert cloudtemple.raw("GET", f"{BACKUP}/policies", token="not.a.jwt").status_code == 401
    header, payload, _signature = cloudtemple.token.split(".")
    forged = f"{header}.{payload}.{'A' * 43}"
    assert cloudtemple.raw("GET", f"{BACKUP}/policies", token=forged).status_code == 401
    assert cloudtemple.raw("GET", f"{BACKUP}/policies").status_code == 200


def test_a_token_expires_after_its_lifetime(cloudtemple):
    cloudtemple.admin("POST", "/token-ttl", {"seconds": 0.3})
    short = cloudtemple.login()
    assert cloudtemple.raw("GET", f"{BACKUP}/sites", token=short).status_code == 200
    time.sleep(0.4)
    assert "expired" in _error(cloudtemple.raw("GET", f"{BACKUP}/sites", token=short), 401)
    assert cloudtemple.raw("GET", f"{BACKUP}/sites", token=cloudtemple.login()).status_code == 200


# --- policies (6) ------------------------------------------------------------------------------------------------


def test_policies_are_spps_slas_under_console_ids(cloudtemple, spp):
    policies = cloudtemple.get(f"{BACKUP}/policies")
    slas = spp.get("/api/spec/storageprofile")["storageprofiles"]
    assert [item["id"] for item in policies] == [policy_id(sla["id"]) for sla in slas]
    gold = cloudtemple.policy("Gold")
    assert set(gold) == {"id", "name", "subPolicies"}
    (sub,) = gold["subPolicies"]
    assert set(sub) == {"type", "useEncryption", "software", "site", "retention", "trigger", "target"}
    assert sub["site"] == "Primary" and sub["retention"] == {"age": 7} and sub["trigger"]["type"] == "HOURLY"
    assert cloudtemple.get(f"{BACKUP}/policies/{gold['id']}") == gold
    assert "No SLA policy" in _error(cloudtemple.raw("GET", f"{BACKUP}/policies/{uuid.uuid4()}"), 404)
    # A filter that matches nothing is 200 [] (4.1).
    assert cloudtemple.get(f"{BACKUP}/policies", virtualMachineId=str(uuid.uuid4())) == []
    assert cloudtemple.get(f"{BACKUP}/policies", virtualDiskId=str(uuid.uuid4())) == []


# --- assignment (7) and activities (5) -----------------------------------------------------------------------------


def test_an_assignment_is_an_activity_that_replaces_the_vms_policies(cloudtemple, fresh_vm):
    vm_id = _vm_id(fresh_vm)
    gold, silver = cloudtemple.policy("Gold")["id"], cloudtemple.policy("Silver")["id"]
    activity_id = cloudtemple.write("POST", f"{BACKUP}/policies/assign/virtual_machine",
                                    {"virtualMachineIds": [vm_id], "slaPolicies": [gold, silver]})
    first = cloudtemple.activity(activity_id)
    assert state_key(first) in ("waiting", "running")
    done = cloudtemple.wait(activity_id)
    assert set(done) >= {"id", "tenantId", "description", "type", "tags", "initiator", "creationDate",
                         "concernedItems", "state"}
    assert done["type"] == "BackupActivity" and done["tags"] == ["slaPolicy", "assign", "virtual_machine"]
    assert {"id": vm_id, "type": "VCenterVirtualMachine"} in done["concernedItems"]
    assert {"id": gold, "type": "SLAPolicy"} in done["concernedItems"]
    assert done["creationDate"].endswith("Z") and len(done["creationDate"]) == 24
    assert set(done["state"]["completed"]) == {"startDate", "stopDate", "result"}
    assert cloudtemple.policy_names(vm_id) == ["Gold", "Silver"]

    assert state_key(cloudtemple.assign_vms([vm_id], [silver])) == "completed"
    assert cloudtemple.policy_names(vm_id) == ["Silver"]  # replace semantics, not a delta
    listed = {item["id"] for item in cloudtemple.get("/api/activity/v1/activities")}
    assert activity_id in listed
    assert "No activity" in _error(cloudtemple.raw("GET", f"/api/activity/v1/activities/{uuid.uuid4()}"), 404)


def test_a_bulk_assignment_applies_one_list_to_every_vm_in_one_activity(cloudtemple, spp, vcenter, request):
    first, second = make_fresh_vm(spp, vcenter, request), make_fresh_vm(spp, vcenter, request)
    ids = [_vm_id(first), _vm_id(second)]
    bronze = cloudtemple.policy("Bronze")["id"]
    done = cloudtemple.assign_vms(ids, [bronze])
    assert state_key(done) == "completed"
    assert [cloudtemple.policy_names(vm_id) for vm_id in ids] == [["Bronze"], ["Bronze"]]


def test_malformed_writes_are_400_and_create_no_activity(cloudtemple):
    for path, body in (
        (f"{BACKUP}/policies/assign/virtual_machine", {"virtualMachineIds": [], "slaPolicies": []}),
        (f"{BACKUP}/policies/assign/virtual_machine", {"virtualMachineIds": ["x"]}),
        (f"{BACKUP}/policies/assign/virtual_disk", {"slaPolicies": []}),
        (f"{BACKUP}/jobs/run", {}),
    ):
        _error(cloudtemple.raw("POST", path, json=body), 400)
    _error(cloudtemple.raw("PATCH", f"{COMPUTE}/virtual_machines/power", json={"id": "x", "powerAction": "reset"}),
           400)
    assert cloudtemple.get("/api/activity/v1/activities") == []


def test_an_unknown_vm_disk_or_policy_is_a_failed_activity_with_the_texts_on_record(cloudtemple, fresh_vm):
    unknown = str(uuid.uuid4())
    gold = cloudtemple.policy("Gold")["id"]
    failed = cloudtemple.assign_vms([unknown], [gold])
    assert failed["state"]["failed"]["reason"] == f"Could not find virtual machine {unknown} in compute/SPP"  # #45
    failed = cloudtemple.assign_disk(unknown, [gold])
    assert failed["state"]["failed"]["reason"] == f"Could not find virtual disk {unknown} in compute/SPP."  # #9
    failed = cloudtemple.assign_vms([_vm_id(fresh_vm)], [unknown])
    assert failed["state"]["failed"]["reason"] == f"Could not find SLA policy {unknown}."
    assert set(failed["state"]["failed"]) == {"startDate", "stopDate", "reason"}
    assert cloudtemple.policy_names(_vm_id(fresh_vm)) == []


def test_a_vm_is_invisible_to_backup_until_the_inventory_job_ran(cloudtemple, vcenter, request):
    """#45/#72: a VM created after SPP's last inventory is in compute at once, but 404 on the backup routes and
    refused by an assignment until the Hypervisor Inventory catalog job has run."""
    name = f"t{uuid.uuid4().hex[:8]}"
    vcenter.clone("DC0_H0_VM0", name)
    request.addfinalizer(lambda: vcenter.destroy(name))
    vm_id = vcenter.vm(name)["instance_uuid"]
    assert cloudtemple.get(f"{COMPUTE}/virtual_machines/{vm_id}")["name"] == name
    assert "not yet inventoried" in _error(cloudtemple.raw("GET", f"{BACKUP}/virtual_machines/{vm_id}"), 404)
    gold = cloudtemple.policy("Gold")["id"]
    failed = cloudtemple.assign_vms([vm_id], [gold])
    assert failed["state"]["failed"]["reason"] == f"Could not find virtual machine {vm_id} in compute/SPP"

    cloudtemple.inventory()
    known = cloudtemple.get(f"{BACKUP}/virtual_machines/{vm_id}")
    assert known["id"] == vm_id and known["name"] == name and known["datacenterName"] == "DC0"
    assert set(known) == {"id", "name", "moref", "internalId", "internalVCenterId", "vCenterId", "href",
                          "metadataPath", "storageProfiles", "datacenterName", "volumes"}
    assert known["internalVCenterId"] == 1001 and known["storageProfiles"] == []
    assert state_key(cloudtemple.assign_vms([vm_id], [gold])) == "completed"
    assert cloudtemple.get(f"{BACKUP}/virtual_machines/{vm_id}")["storageProfiles"] == ["Gold"]


def test_disk_assignment_and_the_backup_view_of_a_disk(cloudtemple, fresh_vm):
    vm_id = _vm_id(fresh_vm)
    (disk,) = cloudtemple.get(f"{COMPUTE}/virtual_disks", virtualMachineId=vm_id)
    assert disk["id"] == disk_id(vm_id, int(disk["nativeId"]))
    backup_disk = cloudtemple.get(f"{BACKUP}/virtual_disks/{disk['id']}")
    assert set(backup_disk) == {"id", "name", "internalId", "instanceId", "sppServerId", "virtualMachineId"}
    assert backup_disk["virtualMachineId"] == vm_id and backup_disk["name"] == disk["name"]
    gold = cloudtemple.policy("Gold")  # Primary site: AZ06, the lab's datacenters are in AZ05
    done = cloudtemple.assign_disk(disk["id"], [gold["id"]])
    assert state_key(done) == "completed" and done["tags"] == ["slaPolicy", "assign", "virtual_disk"]
    assert {"id": disk["id"], "type": "VCenterVirtualDisk"} in done["concernedItems"]
    assert [item["name"] for item in cloudtemple.get(f"{BACKUP}/policies", virtualDiskId=disk["id"])] == ["Gold"]
    assert cloudtemple.policy_names(vm_id) == []  # a disk policy is the disk's only (7.2)


# --- the console's refusals (7.1, 7.2, 12.5; 16 inferred 4) --------------------------------------------------------


def test_a_held_policy_cannot_be_assigned_nor_start_a_vm(cloudtemple, spp, fresh_vm):
    vm_id = _vm_id(fresh_vm)
    gold = cloudtemple.policy("Gold")["id"]
    assert state_key(cloudtemple.assign_vms([vm_id], [gold])) == "completed"
    spp_job = spp.job("vmware_Gold")
    spp.call("POST", spp_job["links"]["hold"]["href"])
    job = cloudtemple.get(f"{BACKUP}/jobs/{job_id(spp_job['id'])}")
    assert job["status"] == "HELD" and job["policyId"] == gold

    failed = cloudtemple.assign_vms([vm_id], [gold])
    assert "held" in failed["state"]["failed"]["reason"] and "Gold" in failed["state"]["failed"]["reason"]
    message = _error(cloudtemple.power(vm_id, "on", expect=409), 409)
    assert "cannot power on" in message and "held" in message


def test_power_on_without_a_policy_is_refused_at_once(cloudtemple, fresh_vm):
    """#38, #194: a synchronous 4xx (409, inferred), not an activity."""
    vm_id = _vm_id(fresh_vm)
    message = _error(cloudtemple.power(vm_id, "on", expect=409), 409)
    assert "you cannot power on" in message.lower() and "no sla policies" in message
    assert cloudtemple.get("/api/activity/v1/activities") == []
    unknown = {"id": str(uuid.uuid4()), "powerAction": "off"}
    assert "No virtual machine" in _error(cloudtemple.raw("PATCH", f"{COMPUTE}/virtual_machines/power", json=unknown), 404)


def test_the_last_policy_of_a_running_vm_cannot_be_removed(cloudtemple, fresh_vm):
    vm_id = _vm_id(fresh_vm)
    gold = cloudtemple.policy("Gold")["id"]
    assert state_key(cloudtemple.assign_vms([vm_id], [gold])) == "completed"
    assert state_key(cloudtemple.wait(cloudtemple.power(vm_id, "on").headers["Location"])) == "completed"
    failed = cloudtemple.assign_vms([vm_id], [])
    assert "last SLA policy of the running virtual machine" in failed["state"]["failed"]["reason"]
    assert cloudtemple.policy_names(vm_id) == ["Gold"]

    assert state_key(cloudtemple.wait(cloudtemple.power(vm_id, "off").headers["Location"])) == "completed"
    assert state_key(cloudtemple.assign_vms([vm_id], [])) == "completed"  # "slaPolicies": [] removes all (7.1)
    assert cloudtemple.policy_names(vm_id) == []


def test_a_disk_policy_in_the_vms_own_zone_is_refused(cloudtemple, spp, fresh_vm):
    """7.2: the lab puts datacenter DC0 and SPP's Secondary site in AZ05."""
    spp.call("POST", "/ngp/slapolicy", expect=201, json={
        "name": "Near", "type": "backup", "version": "1.0",
        "spec": {"simple": True, "subpolicy": [{"type": "REPLICATION", "software": True, "site": "Secondary",
                                                "retention": {"age": 7}, "trigger": {"type": "DAILY", "frequency": 1}}]},
    })
    near = cloudtemple.policy("Near")
    (disk,) = cloudtemple.get(f"{COMPUTE}/virtual_disks", virtualMachineId=_vm_id(fresh_vm))
    reason = cloudtemple.assign_disk(disk["id"], [near["id"]])["state"]["failed"]["reason"]
    assert "AZ05" in reason and "another availability zone" in reason and "Near" in reason
    assert cloudtemple.admin("GET", "/zones")["sites"]["Secondary"] == "AZ05"
    assert state_key(cloudtemple.assign_vms([_vm_id(fresh_vm)], [near["id"]])) == "completed"  # VMs: no zone rule


# --- jobs and sessions (10) ----------------------------------------------------------------------------------------


def test_jobs_include_the_inventory_catalog_job_and_each_policys_backup_job(cloudtemple, spp, fresh_vm):
    catalog = cloudtemple.get(f"{BACKUP}/jobs", type="catalog")
    assert [job["name"] for job in catalog] == ["Hypervisor Inventory"]
    assert set(catalog[0]) == {"id", "name", "displayName", "type", "status", "policyId"}
    assert catalog[0]["id"] == job_id(spp.job("Hypervisor Inventory")["id"]) and catalog[0]["status"] == "IDLE"
    silver = cloudtemple.policy("Silver")["id"]
    cloudtemple.assign_vms([_vm_id(fresh_vm)], [silver])
    backup = cloudtemple.job("vmware_Silver")
    assert backup["type"] == "backup" and backup["policyId"] == silver and backup["status"] in ("IDLE", "RUNNING")
    assert cloudtemple.get(f"{BACKUP}/jobs/{backup['id']}") == backup
    assert "No job" in _error(cloudtemple.raw("GET", f"{BACKUP}/jobs/{uuid.uuid4()}"), 404)


def test_running_a_job_completes_when_it_started_and_leaves_a_session(cloudtemple, fresh_vm):
    gold = cloudtemple.policy("Gold")["id"]
    cloudtemple.assign_vms([_vm_id(fresh_vm)], [gold])
    job = cloudtemple.job("vmware_Gold")
    done = cloudtemple.run_job(job["id"])
    assert state_key(done) == "completed" and done["state"]["completed"]["result"] == job["id"]
    sessions = [item for item in cloudtemple.get(f"{BACKUP}/jobs/session") if item["jobId"] == job["id"]]
    assert len(sessions) == 1
    (session,) = sessions
    assert set(session) == {"id", "jobName", "slaPolicyType", "jobId", "type", "duration", "start", "end", "status",
                            "statistics", "slaPolicies"}
    assert session["jobName"] == "vmware_Gold" and session["type"] == "backup"
    assert set(session["statistics"]) == {"total", "success", "failed", "skipped"}
    assert session["slaPolicies"][0]["id"] == gold
    unknown = str(uuid.uuid4())
    assert cloudtemple.run_job(unknown)["state"]["failed"]["reason"] == f"Could not find job {unknown}."


# --- compute (12) --------------------------------------------------------------------------------------------------


def test_the_vm_list_and_object_have_the_v1_10_shape_and_filters(cloudtemple, vcenter):
    vms = cloudtemple.get(f"{COMPUTE}/virtual_machines")
    assert isinstance(vms, list) and vms
    assert all(set(vm) == VM_KEYS for vm in vms)
    by_name = {vm["name"]: vm for vm in vms}
    base = by_name["DC0_C0_RP0_VM0"]
    assert base["id"] == vcenter.vm("DC0_C0_RP0_VM0")["instance_uuid"]
    assert base["powerState"] in ("running", "stopped") and base["datacenter"]["name"] == "DC0"
    assert base["hostCluster"]["name"] == "DC0_C0" and base["memory"] % (1024 * 1024) == 0
    assert cloudtemple.get(f"{COMPUTE}/virtual_machines/{base['id']}") == base
    assert "No virtual machine" in _error(cloudtemple.raw("GET", f"{COMPUTE}/virtual_machines/{uuid.uuid4()}"), 404)

    assert [vm["name"] for vm in cloudtemple.get(f"{COMPUTE}/virtual_machines", name="DC0_H0_VM1")] == ["DC0_H0_VM1"]
    in_cluster = cloudtemple.get(f"{COMPUTE}/virtual_machines", **{"hostClusters[]": base["hostCluster"]["id"]})
    assert {vm["name"] for vm in in_cluster} == {name for name in by_name if name.startswith("DC0_C0")}
    two = cloudtemple.raw("GET", f"{COMPUTE}/virtual_machines?datacenters[]={uuid.uuid4()}"
                                 f"&datacenters[]={base['datacenter']['id']}").json()
    assert len(two) == len(vms)  # a list filter repeats name[]= (2.4); every value counts
    assert cloudtemple.get(f"{COMPUTE}/virtual_machines", **{"hosts[]": str(uuid.uuid4())}) == []


def test_placement_reads_and_machine_managers(cloudtemple):
    (manager,) = cloudtemple.get(COMPUTE)
    assert manager["instanceUuid"] == manager["id"] and manager["apiType"] == "VirtualCenter"
    assert cloudtemple.get(f"{COMPUTE}/{manager['id']}") == manager
    (backup_vcenter,) = cloudtemple.get(f"{BACKUP}/vcenters")
    assert backup_vcenter["instanceId"] == manager["instanceUuid"]  # the join key of 8.3 (16.8)
    (datacenter,) = cloudtemple.get(f"{COMPUTE}/virtual_datacenters")
    assert datacenter["name"] == "DC0" and datacenter["machineManager"]["id"] == manager["id"]
    clusters = cloudtemple.get(f"{COMPUTE}/host_clusters", datacenterId=datacenter["id"])
    assert [cluster["name"] for cluster in clusters] == ["DC0_C0"]
    hosts = cloudtemple.get(f"{COMPUTE}/hosts", hostClusterId=clusters[0]["id"])
    assert [host["name"] for host in hosts] == ["DC0_C0_H0"] and hosts[0]["virtualMachines"]
    assert cloudtemple.get(f"{COMPUTE}/hosts/{hosts[0]['id']}") == hosts[0]
    assert "vm" in {folder["name"] for folder in cloudtemple.get(f"{COMPUTE}/folders", datacenterId=datacenter["id"])}
    assert cloudtemple.get(f"{COMPUTE}/folders", datacenterId=str(uuid.uuid4())) == []
    vm = next(vm for vm in cloudtemple.get(f"{COMPUTE}/virtual_machines") if vm["name"] == "DC0_C0_RP0_VM0")
    (recommendation,) = cloudtemple.get(f"{COMPUTE}/virtual_machines/power/recommendations", virtualMachineId=vm["id"])
    assert recommendation == {"key": 1, "hostClusterId": clusters[0]["id"], "hostId": hosts[0]["id"],
                              "hostClusterName": "DC0_C0", "hostName": "DC0_C0_H0"}


def test_backup_infrastructure_reads(cloudtemple, spp):
    sites = cloudtemple.get(f"{BACKUP}/sites")
    assert [site["name"] for site in sites] == [site["name"] for site in spp.get("/api/site")["sites"]]
    assert all(set(site) == {"id", "name"} and _is_uuid(site["id"]) for site in sites)
    (server,) = cloudtemple.get(f"{BACKUP}/servers")
    assert set(server) == {"id", "name", "address"} and server["address"] == "127.0.0.1"
    assert cloudtemple.get(f"{BACKUP}/servers/{server['id']}") == server
    assert cloudtemple.get(f"{BACKUP}/servers", tenantId=str(uuid.uuid4())) == []
    claims = jwt_claims(cloudtemple.token)
    assert cloudtemple.get(f"{BACKUP}/servers", tenantId=claims["scope"]["id"]) == [server]
    assert cloudtemple.get(f"{BACKUP}/vcenters", sppServerId=server["id"])[0]["sppServerId"] == server["id"]
    _error(cloudtemple.raw("GET", f"{BACKUP}/servers/{uuid.uuid4()}"), 404)


def test_unknown_routes_and_methods(cloudtemple):
    _error(cloudtemple.raw("GET", "/api/backup/v1/spp/nothing"), 404)
    _error(cloudtemple.raw("DELETE", f"{BACKUP}/policies"), 405)


@pytest.mark.parametrize("path", [f"{COMPUTE}/virtual_disks", f"{COMPUTE}/snapshots"])
def test_disk_and_snapshot_lists_need_a_vm(cloudtemple, path):
    assert "virtualMachineId" in _error(cloudtemple.raw("GET", path), 400)
    _error(cloudtemple.raw("GET", path, params={"virtualMachineId": str(uuid.uuid4())}), 404)
