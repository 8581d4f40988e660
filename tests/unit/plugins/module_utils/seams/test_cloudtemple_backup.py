# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``CloudTempleBackupService`` against the scripted console (issue 15): the refusals before any request, the joined
read by id, the inferred last backups, policies and their jobs, one assignment call per policy set, activity failures
with the console's reason, the empty set's short deadline, a lost write read back, the inventory job, and a policy's
run followed through its session."""

from __future__ import annotations

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import (
    AmbiguousResult,
    ConfigurationError,
    Conflict,
    InvalidRequest,
    NotFound,
    TaskFailed,
    Unsupported,
    WaitTimeout,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.seams import backup_service
from ansible_collections.sovereign.vm_backup.plugins.module_utils.seams import cloudtemple_shapes as shapes
from ansible_collections.sovereign.vm_backup.plugins.module_utils.seams.cloudtemple_backup import CloudTempleBackupService
from ansible_collections.sovereign.vm_backup.plugins.module_utils.seams.cloudtemple_inventory import CloudTempleInventory
from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import restore as restore_service

from ct_fake_server import CT_SECRET, Reply
from ct_seam_support import (  # noqa: F401  pylint: disable=unused-import
    ACTIVITIES,
    BACKUP,
    COMPUTE,
    MM_ID,
    VC_UUID,
    backup_vm,
    by_query,
    client,
    compute_disk,
    compute_vm,
    policy,
    route_activity,
    route_write,
    session,
)
from restore_fixtures import request

VM1, VM2, VM3 = "4219b1a4-0000-0000-0000-000000000001", "4219b1a4-0000-0000-0000-000000000002", \
    "4219b1a4-0000-0000-0000-000000000003"
DISK1, DISK2 = "c084f65b-0000-0000-0000-00000000d001", "c084f65b-0000-0000-0000-00000000d002"
GOLD, SILVER = "442718ef-0000-0000-0000-0000000000g1", "442718ef-0000-0000-0000-0000000000s1"
GOLD_JOB, SILVER_JOB, INVENTORY_JOB = "job-gold", "job-silver", "job-inventory"
ACT1, ACT2, ACT3 = "8c6c3447-0000-0000-0000-0000000000a1", "8c6c3447-0000-0000-0000-0000000000a2", \
    "8c6c3447-0000-0000-0000-0000000000a3"


def console_record(vm_id, name, moref, disks=None, template=False):
    """A VM as ``CloudTempleInventory.list_vms`` gives it (``compute_id`` set)."""
    return {"name": name, "moref": moref, "instance_uuid": vm_id, "compute_id": vm_id, "power_state": "poweredOn",
            "template": template, "has_snapshots": False, "folder": None, "datacenter": "DC-TH3S", "host": None,
            "cluster": "clu-1", "disks": disks, "nics": None}


def vsphere_record(name, moref, disks=None):
    """A VM as vCenter lists it (no compute id)."""
    return {"name": name, "moref": moref, "instance_uuid": "vc-" + moref, "power_state": "poweredOff",
            "template": False, "has_snapshots": False, "folder": "/DC0/vm", "datacenter": "DC0", "host": "h1",
            "cluster": "c1", "disks": disks, "nics": []}


def route_policies(console, *items):
    def answer(request):
        if request.query.get("virtualDiskId") == DISK1:
            return Reply(200, [policy(SILVER, "Silver", site="Secondary")])
        if request.query:
            return Reply(200, [])
        return Reply(200, list(items) or [policy(GOLD, "Gold"), policy(SILVER, "Silver", site="Secondary")])
    console.route("GET", BACKUP + "/policies", answer)


def route_jobs(console, gold_status="IDLE", silver_status="IDLE", inventory_status="IDLE"):
    jobs = [{"id": GOLD_JOB, "name": "vmware_Gold", "type": "backup", "status": gold_status, "policyId": GOLD},
            {"id": SILVER_JOB, "name": "vmware_Silver", "type": "backup", "status": silver_status, "policyId": SILVER},
            {"id": INVENTORY_JOB, "name": "Hypervisor Inventory", "type": "catalog", "status": inventory_status,
             "policyId": None}]
    console.route("GET", BACKUP + "/jobs", Reply(200, jobs))
    return jobs


@pytest.fixture
def ct(client):
    return CloudTempleBackupService(client)


# -- refusals: before any request ----------------------------------------------------------------------------------


def test_it_offers_no_capability_and_words_every_refusal_in_the_consoles_terms(ct, console):
    assert (ct.kind, ct.label, ct.OFFERS) == ("cloudtemple", "the Cloud Temple console API", frozenset())
    assert set(ct.REFUSALS) == set(backup_service.OPERATIONS)
    for capability in backup_service.OPERATIONS:
        with pytest.raises(Unsupported) as caught:
            ct.require(capability)
        assert caught.value.details["backend"] == "cloudtemple"
        assert "docs/cloudtemple-api.md" in caught.value.message or "support" in caught.value.message
    assert console.requests == []


def test_the_refusals_of_restore_and_policy_writes_say_what_to_do_instead(ct):
    with pytest.raises(Unsupported) as caught:
        ct.restorer()
    assert caught.value.message == (
        "restoring a VM (vm_restore) is not offered by the Cloud Temple console API: the public console API offers no "
        "restore route (docs/cloudtemple-api.md section 14); restore from the Cloud Temple console "
        "(https://shiva.cloud-temple.com): the VM's Backups tab (\"Sauvegardes\"), then Restore (\"Restaurer\"), in "
        "mode TEST, CLONE or PRODUCTION.")
    with pytest.raises(Unsupported) as caught:
        ct.policy_admin()
    assert "policies are created by Cloud Temple support: " in caught.value.message
    # Where to ask, as the seed says it: the lifebuoy icon at the top right of the console's window.
    assert ("a service request to Cloud Temple support, made from the lifebuoy icon at the top right of the Cloud "
            "Temple console (https://shiva.cloud-temple.com)") in caught.value.message


@pytest.mark.parametrize("method, args", [
    ("vm_options", (VM1,)), ("set_options", ([VM1], {"makeApplicationConsistent": True})),
    ("start_vm_backup", ("Gold", [VM1])), ("session_logs", ("s1",)), ("session_points", ([("s1", VM1)], {})),
    ("latest_point", (VM1,)), ("restorer", ()), ("policy_admin", ()),
])
def test_the_methods_of_the_refused_capabilities_send_nothing(ct, console, method, args):
    with pytest.raises(Unsupported):
        getattr(ct, method)(*args)
    assert console.requests == []


def test_the_services_refuse_before_any_request(ct, client, console):
    """vm_restore is refused before any request. backup_sla_policy and vm_backup_run read first (a policy that is
    as asked is ok; VMs a policy's whole job would back up too are listed), then refuse before any write: see
    tests/unit/plugins/module_utils/services/test_cloudtemple_services.py."""
    inventory = CloudTempleInventory(client)
    with pytest.raises(Unsupported, match="no restore route"):
        restore_service.converge(ct, inventory, request())
    assert console.requests == []


# -- the joined read -------------------------------------------------------------------------------------------------


def test_read_joined_reads_each_vm_by_id_with_the_consoles_own_records(ct, console):
    console.route("GET", BACKUP + "/virtual_machines/" + VM1, Reply(200, backup_vm(VM1, "web01", "vm-1", ["Gold"])))
    console.route("GET", BACKUP + "/virtual_machines/" + VM2, Reply(404, "not found"))
    listed = [console_record(VM1, "web01", "vm-1"), console_record(VM2, "web02", "vm-2"),
              console_record(VM3, "tpl", "vm-3", template=True)]
    calls = []
    vms, vcenter_only, backup_only = ct.read_joined(lambda: calls.append(1) or (None, listed), with_disks=False)
    assert calls == [1]
    assert [(r["name"], r["spp_id"], r["policies"], r["known_to_backup"]) for r in vms] == [
        ("web01", VM1, ["Gold"], True)]
    assert [(r["name"], r["spp_id"], r["known_to_backup"]) for r in vcenter_only] == [("web02", None, False)]
    assert backup_only == []
    assert sorted(call.path for call in console.calls()) == [BACKUP + "/virtual_machines/" + VM1,
                                                             BACKUP + "/virtual_machines/" + VM2], \
        "no compute listing (the records carry their ids), no read of a template"


def test_read_joined_with_disks_reads_the_policies_of_the_known_vms_disks_only(ct, console):
    console.route("GET", BACKUP + "/virtual_machines/" + VM1, Reply(200, backup_vm(VM1, "web01", "vm-1")))
    console.route("GET", BACKUP + "/virtual_machines/" + VM2, Reply(404, "not found"))
    route_policies(console)
    disks1 = [shapes.disk_record(compute_disk(DISK1, VM1, "Hard disk 1")),
              shapes.disk_record(compute_disk(DISK2, VM1, "Hard disk 2", key="2001"))]
    listed = [console_record(VM1, "web01", "vm-1", disks=disks1),
              console_record(VM2, "web02", "vm-2", disks=[shapes.disk_record(compute_disk("d9", VM2, "Hard disk 1"))])]
    vms, _vcenter_only, _backup_only = ct.read_joined(lambda: (None, listed))
    assert [(d["label"], d["spp_id"], d["policies"], d["mode"]) for d in vms[0]["disks"]] == [
        ("Hard disk 1", DISK1, ["Silver"], "normal"), ("Hard disk 2", DISK2, [], "normal")]
    disk_reads = sorted(call.query["virtualDiskId"] for call in console.calls("GET", BACKUP + "/policies"))
    assert disk_reads == sorted([DISK1, DISK2]), "the disks of a VM the backup service does not know are not read"
    assert not console.calls("GET", COMPUTE + "/virtual_disks"), "the inventory already read the disks"
    assert ct.policies_of == {VM1: {"Silver"}}


def test_read_joined_only_reads_the_vms_asked_for(ct, console):
    console.route("GET", BACKUP + "/virtual_machines/" + VM2, Reply(200, backup_vm(VM2, "web02", "vm-2")))
    listed = [console_record(VM1, "web01", "vm-1"), console_record(VM2, "web02", "vm-2")]
    vms, vcenter_only, _backup_only = ct.read_joined(lambda: (None, listed), with_disks=False, only={"vm-2"})
    assert [r["moref"] for r in vms] == ["vm-2"] and vcenter_only == []
    assert [call.path for call in console.calls()] == [BACKUP + "/virtual_machines/" + VM2]


def test_read_joined_maps_vcenters_vms_to_compute_ids_in_one_listing(ct, console):
    console.route("GET", COMPUTE, Reply(200, [{"id": MM_ID, "name": "vc", "instanceUuid": VC_UUID},
                                              {"id": "mm-2", "name": "vc2", "instanceUuid": "other"}]))
    console.route("GET", COMPUTE + "/virtual_machines", Reply(200, [
        compute_vm(VM1, "web01", "vm-1"), compute_vm(VM3, "elsewhere", "vm-2", manager="mm-2")]))
    console.route("GET", BACKUP + "/virtual_machines/" + VM1, Reply(200, backup_vm(VM1, "web01", "vm-1", ["Gold"])))
    console.route("GET", COMPUTE + "/virtual_disks", by_query("virtualMachineId", {
        VM1: Reply(200, [compute_disk(DISK1, VM1, "Hard disk 1")])}))
    route_policies(console)
    listed = [vsphere_record("web01", "vm-1", disks=[{"label": "Hard disk 1", "key": 2000, "size_bytes": 1,
                                                      "mode": "normal"}]),
              vsphere_record("web02", "vm-2")]
    vms, vcenter_only, _backup_only = ct.read_joined(lambda: (VC_UUID, listed))
    assert [(r["name"], r["spp_id"], r["policies"]) for r in vms] == [("web01", VM1, ["Gold"])]
    assert [(d["label"], d["spp_id"], d["policies"]) for d in vms[0]["disks"]] == [("Hard disk 1", DISK1, ["Silver"])]
    assert [r["name"] for r in vcenter_only] == ["web02"], "vm-2 of another vCenter is not this vCenter's vm-2"
    listing = console.calls("GET", COMPUTE + "/virtual_machines")
    assert len(listing) == 1 and listing[0].query == {"machineManagerId": MM_ID}
    assert not console.calls("GET", BACKUP + "/virtual_machines/" + VM3)


def test_read_joined_refuses_a_vcenter_the_console_does_not_list(ct, console):
    console.route("GET", COMPUTE, Reply(200, [{"id": "a", "name": "vc-a", "instanceUuid": "u-a"},
                                              {"id": "b", "name": "vc-b", "instanceUuid": "u-b"}]))
    with pytest.raises(ConfigurationError, match="lists 2 vCenters \\(vc-a, vc-b\\) and none has the instance UUID"):
        ct.read_joined(lambda: (VC_UUID, [vsphere_record("web01", "vm-1")]))
    assert not console.calls("GET", COMPUTE + "/virtual_machines")


# -- last backups, inferred ------------------------------------------------------------------------------------------


def test_last_backups_are_the_newest_completed_session_of_a_policy_the_vm_holds(ct, console):
    console.route("GET", BACKUP + "/virtual_machines/" + VM1, Reply(200, backup_vm(VM1, "web01", "vm-1", ["Gold"])))
    console.route("GET", BACKUP + "/virtual_machines/" + VM2, Reply(200, backup_vm(VM2, "web02", "vm-2", ["Silver"])))
    route_policies(console)
    route_jobs(console)
    console.route("GET", BACKUP + "/jobs/session", Reply(200, [
        session("s1", GOLD_JOB, "COMPLETED", 1000), session("s2", GOLD_JOB, "COMPLETED", 3000),
        session("s3", GOLD_JOB, "PARTIAL", 5000), session("s4", SILVER_JOB, "FAILED", 4000)]))
    ct.read_joined(lambda: (None, [console_record(VM1, "web01", "vm-1"), console_record(VM2, "web02", "vm-2")]),
                   with_disks=False)
    before = len(console.calls())
    found = ct.last_backups()
    assert found == {VM1: {"time": 3000, "policy": "Gold", "source": "policy_sessions_inferred", "version": None},
                     VM2: {"time": None, "policy": None, "source": "policy_sessions_inferred", "version": None}}
    assert len(console.calls()) - before == 3, "policies, jobs and sessions: whatever the number of VMs"
    assert ct.last_backups([VM2, "unknown"]) == {VM2: found[VM2]}
    assert len(console.calls()) - before == 3, "read once per read_joined"


# -- policies, jobs, sites -------------------------------------------------------------------------------------------


def test_sla_policies_come_back_in_spps_definition_shape(ct, console):
    route_policies(console)
    definitions = ct.sla_policies()
    assert definitions[0] == {"id": GOLD, "name": "Gold", "description": "", "spec": {"subpolicy": [
        {"type": "REPLICATION", "useEncryption": False, "software": True, "site": "Primary", "retention": {"age": 30},
         "trigger": {"frequency": 1, "type": "DAILY", "activateDate": 1591002000000}}]}}
    assert ct.find_policy("Silver", definitions)["id"] == SILVER
    with pytest.raises(NotFound, match="no SLA policy named 'Platinum' \\(known: Gold, Silver\\)"):
        ct.find_policy("Platinum", definitions)


def test_policy_jobs_read_held_and_running_from_the_jobs_of_each_policy(ct, console):
    route_policies(console)
    route_jobs(console, gold_status="HELD")
    assert ct.policy_jobs() == {"Gold": {"job": "vmware_Gold", "held": True, "running": False, "session_id": None},
                                "Silver": {"job": "vmware_Silver", "held": False, "running": False, "session_id": None}}
    assert not console.calls("GET", BACKUP + "/jobs/session"), "no session read while no job runs"
    route_jobs(console, silver_status="RUNNING")
    console.route("GET", BACKUP + "/jobs/session", Reply(200, [session("s1", SILVER_JOB, "COMPLETED", 1000),
                                                               session("s2", SILVER_JOB, "RUNNING", 2000)]))
    assert ct.policy_jobs()["Silver"] == {"job": "vmware_Silver", "held": False, "running": True, "session_id": "s2"}


def test_sites(ct, console):
    console.route("GET", BACKUP + "/sites", Reply(200, [{"id": "s-1", "name": "Primary"}]))
    assert ct.sites() == [{"id": "s-1", "name": "Primary"}]


# -- assignments -----------------------------------------------------------------------------------------------------


def test_assign_sends_one_call_for_every_vm_of_the_set_and_one_per_disk(ct, console):
    route_policies(console)
    route_write(console, "POST", BACKUP + "/policies/assign/virtual_machine", ACT1)
    route_write(console, "POST", BACKUP + "/policies/assign/virtual_disk", ACT2, ACT3)
    for activity_id in (ACT1, ACT2, ACT3):
        route_activity(console, activity_id, ("running", {"progression": 0.5}), ("completed", {}))
    ct.assign([(VM1, None), (VM2, None), (VM1, DISK1), (VM2, DISK2)], ["Gold", "Silver"])
    vm_calls = console.calls("POST", BACKUP + "/policies/assign/virtual_machine")
    assert [call.json for call in vm_calls] == [{"virtualMachineIds": [VM1, VM2], "slaPolicies": [GOLD, SILVER]}]
    assert [call.json for call in console.calls("POST", BACKUP + "/policies/assign/virtual_disk")] == [
        {"virtualDiskId": DISK1, "slaPolicies": [GOLD, SILVER]}, {"virtualDiskId": DISK2, "slaPolicies": [GOLD, SILVER]}]
    order = [call.path.rsplit("/", 1)[-1] for call in console.calls() if call.method == "POST"
             or call.path.startswith(ACTIVITIES)]
    assert order[0] == "virtual_machine" and order.index("virtual_disk") > order.index(ACT1), \
        "each call's activity ends before the next call is sent"


def test_an_unknown_policy_name_is_refused_before_any_write(ct, console):
    route_policies(console)
    with pytest.raises(InvalidRequest, match="no SLA policy named Platinum"):
        ct.assign([(VM1, None)], ["Gold", "Platinum"])
    assert not console.calls("POST")


def test_a_failed_activity_fails_with_the_consoles_reason_and_no_secret(ct, console, client):
    ct.names_by_id = {VM1: "web01"}
    route_policies(console)
    route_write(console, "POST", BACKUP + "/policies/assign/virtual_machine", ACT1)
    reason = "Could not find virtual machine %s in compute/SPP (token %s)" % (VM1, CT_SECRET)
    route_activity(console, ACT1, ("failed", {"reason": reason}))
    with pytest.raises(TaskFailed) as caught:
        ct.assign([(VM1, None)], ["Gold"])
    message = caught.value.message
    assert message.startswith("assigning Gold to web01 failed on the Cloud Temple console (activity %s): Could not "
                              "find virtual machine %s in compute/SPP" % (ACT1, VM1))
    assert CT_SECRET not in message and CT_SECRET not in repr(caught.value.to_result())
    assert caught.value.details["activity"] == ACT1
    for token in client._tokens:  # pylint: disable=protected-access
        assert token not in message


def test_an_activity_that_failed_for_a_transient_reason_is_sent_once_more(ct, console, log_lines):
    route_policies(console)
    route_write(console, "POST", BACKUP + "/policies/assign/virtual_machine", ACT1, ACT2, ACT3)
    route_activity(console, ACT1, ("failed", {"reason": "None of the workers were able to respond"}))
    route_activity(console, ACT2, ("completed", {}))
    ct.assign([(VM1, None)], ["Gold"])
    assert len(console.calls("POST")) == 2
    assert any("failed for a transient reason" in line for line in log_lines)
    route_activity(console, ACT3, ("failed", {"reason": "None of the workers were able to respond"}))
    route_write(console, "POST", BACKUP + "/policies/assign/virtual_machine", ACT3)
    with pytest.raises(TaskFailed, match="None of the workers"):
        ct.assign([(VM1, None)], ["Gold"])
    assert len(console.calls("POST")) == 4, "once more, not more"


def test_an_empty_set_is_sent_and_its_activity_is_bounded_by_the_write_timeout(client, console, fake_time):
    ct = CloudTempleBackupService(client, write_timeout=7)  # vm_backup_policy's write_timeout
    ct.names_by_id = {VM1: "web01"}
    route_policies(console)
    route_write(console, "POST", BACKUP + "/policies/assign/virtual_machine", ACT1)
    route_activity(console, ACT1, ("waiting", {}))
    started = fake_time.now
    with pytest.raises(WaitTimeout) as caught:
        ct.assign([(VM1, None)], [])
    assert console.calls("POST")[0].json == {"virtualMachineIds": [VM1], "slaPolicies": []}
    assert 0 < fake_time.now - started <= 7
    assert caught.value.message.startswith("assigning no policy (removing every policy) to web01: ")
    assert "#306" in caught.value.message and "stays waiting" in caught.value.message


def test_a_lost_write_is_read_back_before_it_fails(ct, console):
    ct.names_by_id = {VM1: "web01"}
    route_policies(console)
    console.route("POST", BACKUP + "/policies/assign/virtual_machine", Reply(502, "Bad Gateway"))
    console.route("GET", BACKUP + "/virtual_machines/" + VM1, Reply(200, backup_vm(VM1, "web01", "vm-1", ["Silver"])),
                  Reply(200, backup_vm(VM1, "web01", "vm-1", ["Gold"])))
    with pytest.raises(AmbiguousResult) as caught:
        ct.assign([(VM1, None)], ["Gold"])
    assert "Read back right after: web01: Silver" in caught.value.message
    assert len(console.calls("POST")) == 1, "a write is never sent twice"
    ct.assign([(VM1, None)], ["Gold"])  # lost again, but the console already holds Gold: applied
    assert len(console.calls("POST")) == 2


def test_policy_sets_read_those_resources_only(ct, console):
    console.route("GET", BACKUP + "/virtual_machines/" + VM1, Reply(200, backup_vm(VM1, "web01", "vm-1",
                                                                                   ["Silver", "Gold"])))
    console.route("GET", BACKUP + "/virtual_machines/" + VM2, Reply(404, "gone"))
    route_policies(console)
    assert ct.policy_sets([(VM1, None), (VM2, None), (VM1, DISK1)]) == {
        (VM1, None): ["Gold", "Silver"], (VM2, None): None, (VM1, DISK1): ["Silver"]}
    assert len(console.calls()) == 3


# -- the inventory job -----------------------------------------------------------------------------------------------


def test_rescan_runs_the_inventory_job_by_name_and_waits_until_it_is_idle(ct, console):
    console.route("GET", BACKUP + "/jobs", Reply(200, [
        {"id": "other", "name": "Application Server Inventory", "type": "catalog", "status": "IDLE"},
        {"id": INVENTORY_JOB, "name": "Hypervisor Inventory", "type": "catalog", "status": "IDLE"}]))
    route_write(console, "POST", BACKUP + "/jobs/run", ACT1)
    route_activity(console, ACT1, ("completed", {"result": INVENTORY_JOB}))
    console.route("GET", BACKUP + "/jobs/" + INVENTORY_JOB,
                  Reply(200, {"id": INVENTORY_JOB, "name": "Hypervisor Inventory", "status": "RUNNING"}),
                  Reply(200, {"id": INVENTORY_JOB, "name": "Hypervisor Inventory", "status": "IDLE"}))
    lines = []
    assert ct.rescan(600, progress=lines.append)["status"] == "IDLE"
    assert [call.json for call in console.calls("POST")] == [{"jobId": INVENTORY_JOB}]
    assert console.calls("GET", BACKUP + "/jobs")[0].query == {"type": "catalog"}
    assert any("Hypervisor Inventory is RUNNING" in line for line in lines)


def test_rescan_follows_a_run_already_under_way(ct, console):
    console.route("GET", BACKUP + "/jobs", Reply(200, [
        {"id": INVENTORY_JOB, "name": "Hypervisor Inventory", "type": "catalog", "status": "RUNNING"}]))
    console.route("GET", BACKUP + "/jobs/" + INVENTORY_JOB,
                  Reply(200, {"id": INVENTORY_JOB, "name": "Hypervisor Inventory", "status": "IDLE"}))
    ct.rescan(600)
    assert not console.calls("POST")


def test_rescan_is_bounded(ct, console, fake_time):
    route_jobs(console)
    route_write(console, "POST", BACKUP + "/jobs/run", ACT1)
    route_activity(console, ACT1, ("completed", {}))
    console.route("GET", BACKUP + "/jobs/" + INVENTORY_JOB,
                  Reply(200, {"id": INVENTORY_JOB, "name": "Hypervisor Inventory", "status": "RUNNING"}))
    with pytest.raises(WaitTimeout, match="Hypervisor Inventory is still RUNNING after 30 s"):
        ct.rescan(30)


# -- a policy's backup run -------------------------------------------------------------------------------------------


def test_start_policy_backup_runs_the_policys_job_and_finds_its_new_session(ct, console):
    route_policies(console)
    route_jobs(console)
    console.route("GET", BACKUP + "/jobs/session", Reply(200, [session("old", GOLD_JOB, "COMPLETED", 1000)]),
                  Reply(200, [session("old", GOLD_JOB, "COMPLETED", 1000)]),
                  Reply(200, [session("old", GOLD_JOB, "COMPLETED", 1000), session("new", GOLD_JOB, "RUNNING", 900),
                              session("other", SILVER_JOB, "RUNNING", 2000)]))
    route_write(console, "POST", BACKUP + "/jobs/run", ACT1)
    route_activity(console, ACT1, ("running", {"progression": 0.2}), ("completed", {"result": GOLD_JOB}))
    assert ct.start_policy_backup("Gold") == "new", "the new session of that job, whatever its start time says"
    assert [call.json for call in console.calls("POST")] == [{"jobId": GOLD_JOB}]


def test_a_running_job_is_a_conflict_before_any_write_and_its_session_is_followed(ct, console):
    route_policies(console)
    route_jobs(console, gold_status="RUNNING")
    console.route("GET", BACKUP + "/jobs/session", Reply(200, [session("s1", GOLD_JOB, "COMPLETED", 1000),
                                                               session("s2", GOLD_JOB, "RUNNING", 2000)]))
    with pytest.raises(Conflict, match="already running"):
        ct.start_policy_backup("Gold")
    assert not console.calls("POST")
    running = ct.running_session("Gold")
    assert (running["id"], running["status"], running["type"]) == ("s2", "RUNNING", "protection")
    assert ct.running_session("Silver") is None


def test_a_policy_without_a_job_is_named(ct, console):
    route_policies(console)
    console.route("GET", BACKUP + "/jobs", Reply(200, []))
    with pytest.raises(NotFound, match="SLA policy Gold has no backup job"):
        ct.start_policy_backup("Gold")


def test_wait_sessions_reads_the_list_once_per_poll_and_reports_progress(ct, console):
    console.route("GET", BACKUP + "/jobs/session",
                  Reply(200, [session("a", GOLD_JOB, "RUNNING", 1000), session("b", SILVER_JOB, "RUNNING", 1000)]),
                  Reply(200, [session("a", GOLD_JOB, "COMPLETED", 1000), session("b", SILVER_JOB, "RUNNING", 1000)]),
                  Reply(200, [session("a", GOLD_JOB, "COMPLETED", 1000), session("b", SILVER_JOB, "FAILED", 1000)]))
    seen, reports = {}, []
    found = ct.wait_sessions(["a", "b"], timeout=600, poll=5, progress=reports.append, seen=seen)
    assert {key: value["status"] for key, value in found.items()} == {"a": "COMPLETED", "b": "FAILED"}
    assert len(console.calls()) == 3 and seen == found
    assert found["a"]["properties"]["statistics"][0] == {"total": 2, "success": 2, "failed": 0, "skipped": 0,
                                                         "resourceType": "vm"}
    assert len(reports) == 2 + 2 + 1


def test_wait_sessions_is_bounded(ct, console):
    console.route("GET", BACKUP + "/jobs/session", Reply(200, [session("a", GOLD_JOB, "RUNNING", 1000)]))
    with pytest.raises(WaitTimeout) as caught:
        ct.wait_sessions(["a", "missing"], timeout=20, poll=5)
    assert caught.value.details["sessions"] == [{"id": "a", "status": "RUNNING", "percent": None},
                                                {"id": "missing", "status": "", "percent": None}]


def test_session_and_backup_sessions(ct, console):
    console.route("GET", BACKUP + "/jobs/session", Reply(200, [
        session("a", GOLD_JOB, "COMPLETED", 1000, policy_name="Gold"), session("b", GOLD_JOB, "COMPLETED", 5000),
        session("c", INVENTORY_JOB, "COMPLETED", 6000, kind="catalog")]))
    assert ct.session("a")["policyName"] == "Gold" and ct.session("zzz") is None
    assert [s["id"] for s in ct.backup_sessions(2000)] == ["b"]
