# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fault injection of the Cloud Temple console emulator's admin API (tests/emulators/cloudtemple/README.md): HTTP
faults (the SPP emulator's registry), token expiry, activities that fail or stay waiting (#306), the rate limit of
docs/cloudtemple-api.md 2.6, the visibility lag (#72), and the admin state and reset."""

from __future__ import annotations

import time
import uuid

import pytest
import requests

from cloudtemple_api import state_key

BACKUP = "/api/backup/v1/spp"
COMPUTE = "/api/compute/v1/vcenters"
TOO_MANY = {"error": {"status": "429 Too Many Requests", "message": "Too Many Requests"}}  # docs 2.6


def _vm_id(spp_vm: dict) -> str:
    return spp_vm["config"]["instanceUuid"]


def _fault(cloudtemple, **fault) -> None:
    cloudtemple.admin("POST", "/faults", fault)


def test_a_429_with_retry_after_then_the_answer(cloudtemple):
    _fault(cloudtemple, method="GET", path_prefix=f"{BACKUP}/policies", status=429, retry_after=2)
    refused = cloudtemple.raw("GET", f"{BACKUP}/policies")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "2" and refused.json() == TOO_MANY
    assert cloudtemple.raw("GET", f"{BACKUP}/policies").status_code == 200


def test_5xx_for_n_calls(cloudtemple):
    _fault(cloudtemple, method="GET", path_prefix=f"{BACKUP}/jobs", status=503, count=2)
    assert [cloudtemple.raw("GET", f"{BACKUP}/jobs").status_code for _attempt in range(3)] == [503, 503, 200]
    assert cloudtemple.admin("GET", "/faults")["faults"] == []


def test_a_5xx_after_the_effect_leaves_the_assignment_applied(cloudtemple, spp, fresh_vm):
    """#102: a 500 on a policy change that took effect; the client must re-read, not retry blindly."""
    _fault(cloudtemple, method="POST", path_prefix=f"{BACKUP}/policies/assign", status=500, after_effect=True)
    vm_id = _vm_id(fresh_vm)
    response = cloudtemple.raw("POST", f"{BACKUP}/policies/assign/virtual_machine",
                               json={"virtualMachineIds": [vm_id], "slaPolicies": [cloudtemple.policy("Gold")["id"]]})
    assert response.status_code == 500 and "Location" not in response.headers
    (activity,) = cloudtemple.admin("GET", "/state")["activities"]
    assert state_key(cloudtemple.wait(activity["id"])) == "completed"
    assert cloudtemple.policy_names(vm_id) == ["Gold"]


def test_a_slow_read(cloudtemple):
    """#391: a read that takes long, then answers normally."""
    _fault(cloudtemple, method="GET", path_prefix=f"{BACKUP}/policies", latency_ms=400)
    start = time.monotonic()
    assert cloudtemple.raw("GET", f"{BACKUP}/policies").status_code == 200
    assert time.monotonic() - start >= 0.4
    start = time.monotonic()
    cloudtemple.raw("GET", f"{BACKUP}/policies")
    assert time.monotonic() - start < 0.4  # count 1: the next read is fast again


def test_a_dropped_answer_and_a_patch_fault(cloudtemple):
    _fault(cloudtemple, method="GET", path_prefix=f"{BACKUP}/sites", drop_after_effect=True)
    with pytest.raises(requests.ConnectionError):
        cloudtemple.raw("GET", f"{BACKUP}/sites")
    _fault(cloudtemple, method="PATCH", path_prefix=f"{COMPUTE}/virtual_machines/power", status=502)
    response = cloudtemple.raw("PATCH", f"{COMPUTE}/virtual_machines/power", json={"id": "x", "powerAction": "on"})
    assert response.status_code == 502
    assert cloudtemple.raw("GET", f"{COMPUTE}/virtual_machines/power/recommendations",
                           params={"virtualMachineId": str(uuid.uuid4())}).status_code == 404  # GET: no fault


def test_token_expiry_now(cloudtemple):
    old = cloudtemple.token
    issued = cloudtemple.admin("GET", "/state")["tokens"]["issued"]
    assert cloudtemple.admin("POST", "/tokens/expire")["expired"] >= 1
    assert cloudtemple.raw("GET", f"{BACKUP}/sites", token=old).status_code == 401
    cloudtemple.login()
    assert cloudtemple.raw("GET", f"{BACKUP}/sites").status_code == 200
    assert cloudtemple.admin("GET", "/state")["tokens"]["issued"] == issued + 1


def test_the_next_activity_of_a_kind_fails(cloudtemple, spp, fresh_vm):
    vm_id, gold = _vm_id(fresh_vm), cloudtemple.policy("Gold")["id"]
    cloudtemple.admin("POST", "/activity-failure", {"kind": "assign_virtual_machine", "reason": "None of the "
                                                    "workers were able to respond"})
    failed = cloudtemple.assign_vms([vm_id], [gold])
    assert failed["state"]["failed"]["reason"] == "None of the workers were able to respond"
    assert cloudtemple.policy_names(vm_id) == []  # before the effect: nothing applied
    assert state_key(cloudtemple.assign_vms([vm_id], [gold])) == "completed"  # count 1

    cloudtemple.admin("POST", "/activity-failure", {"kind": "*", "reason": "late", "after_effect": True})
    silver = cloudtemple.policy("Silver")["id"]
    assert cloudtemple.assign_vms([vm_id], [silver])["state"]["failed"]["reason"] == "late"
    assert cloudtemple.policy_names(vm_id) == ["Silver"]  # after the effect: applied, yet failed


def test_an_activity_that_stays_waiting_until_released(cloudtemple):
    catalog = cloudtemple.get(f"{BACKUP}/jobs", type="catalog")[0]
    cloudtemple.admin("POST", "/activity-waiting", {"kind": "run_job"})
    activity_id = cloudtemple.write("POST", f"{BACKUP}/jobs/run", {"jobId": catalog["id"]})
    time.sleep(0.3)  # at the lab's speed an activity normally ends in under 0.1 s
    assert cloudtemple.activity(activity_id)["state"] == {"waiting": {}}
    assert cloudtemple.admin("DELETE", "/activity-waiting") == {"released": 1}
    assert state_key(cloudtemple.wait(activity_id)) == "completed"


def test_the_empty_assignment_hang_of_306(cloudtemple, fresh_vm):
    vm_id = _vm_id(fresh_vm)
    cloudtemple.admin("POST", "/activity-waiting", {"kind": "empty_assignment", "count": None})
    stuck = cloudtemple.write("POST", f"{BACKUP}/policies/assign/virtual_machine",
                              {"virtualMachineIds": [vm_id], "slaPolicies": []})
    assert state_key(cloudtemple.assign_vms([vm_id], [cloudtemple.policy("Gold")["id"]])) == "completed"
    assert cloudtemple.activity(stuck)["state"] == {"waiting": {}}
    assert cloudtemple.admin("GET", "/state")["activity_waiting"][0]["kind"] == "empty_assignment"
    cloudtemple.admin("POST", "/reset")  # a reset drops the stuck activity and the rule
    assert cloudtemple.raw("GET", f"/api/activity/v1/activities/{stuck}").status_code == 404


def test_the_rate_limit_answers_the_documented_429(cloudtemple):
    cloudtemple.admin("POST", "/rate-limit", {"per_second": 3})
    time.sleep(1.0)  # a fresh window
    statuses = [cloudtemple.raw("GET", f"{BACKUP}/sites") for _attempt in range(4)]
    assert [response.status_code for response in statuses] == [200, 200, 200, 429]
    assert statuses[-1].json() == TOO_MANY and int(statuses[-1].headers["Retry-After"]) >= 1
    assert cloudtemple.raw("GET", f"{COMPUTE}").status_code == 200  # another product has its own window
    cloudtemple.admin("GET", "/state")  # the admin API is never limited
    cloudtemple.admin("POST", "/rate-limit", {"per_second": None})
    assert cloudtemple.raw("GET", f"{BACKUP}/sites").status_code == 200


def test_a_visibility_lag_after_the_inventory(cloudtemple, vcenter, request):
    """#72: the inventory job is IDLE, yet the VM answers 404 for a while."""
    cloudtemple.admin("POST", "/visibility-lag", {"seconds": 0.5})
    name = f"t{uuid.uuid4().hex[:8]}"
    vcenter.clone("DC0_H0_VM0", name)
    request.addfinalizer(lambda: vcenter.destroy(name))
    vm_id = vcenter.vm(name)["instance_uuid"]
    cloudtemple.inventory()
    assert cloudtemple.raw("GET", f"{BACKUP}/virtual_machines/{vm_id}").status_code == 404
    time.sleep(0.6)
    assert cloudtemple.raw("GET", f"{BACKUP}/virtual_machines/{vm_id}").status_code == 200


def test_state_counts_and_reset(cloudtemple):
    cloudtemple.get(f"{BACKUP}/policies")
    cloudtemple.get(f"{BACKUP}/policies/{cloudtemple.policy('Gold')['id']}")
    state = cloudtemple.admin("GET", "/state")
    assert state["route_counts"]["GET /api/backup/v1/spp/policies"] == 2
    assert state["route_counts"]["GET /api/backup/v1/spp/policies/{policy_id}"] == 1
    assert state["request_counts"]["GET /api/backup/v1/spp/policies"] == 2
    assert state["tokens"]["issued"] >= 1 and state["speed"] == 0.05 and state["rate_limit"] is None
    assert cloudtemple.secret not in str(state) and cloudtemple.token not in str(state)
    _fault(cloudtemple, method="GET", path_prefix="/api", status=503, count=0)
    cloudtemple.admin("POST", "/reset")
    state = cloudtemple.admin("GET", "/state")
    assert state["faults"] == [] and state["route_counts"] == {} and state["activities"] == []
    assert cloudtemple.raw("GET", f"{BACKUP}/sites").status_code == 200  # tokens survive a reset
