# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Contract of the SPP emulator's REST API: the conventions of spp-api.md 0 and the choices of section 14."""

from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from conftest import SppApi, wait_until

HEX32 = re.compile(r"^[0-9a-f]{32}$")


def _walk(value, path=""):
    """(path, key, value) for every dict entry, recursively."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield path, key, item
            yield from _walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]")


def _assert_api_error(response, status):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"id", "description", "title"}, body
    assert body["title"] == "Error" and body["description"] and body["id"]


def _assert_ngp_error(response, status):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"statusCode", "response"} and body["statusCode"] == status, body
    assert set(body["response"]) == {"id", "description", "title"}, body


def _filter(*criteria):
    return json.dumps([{"property": prop, "value": value, "op": op} for prop, op, value in criteria])


# --- sessions ------------------------------------------------------------------------------------------------


def test_login_returns_a_32_hex_session_id_and_logout_ends_it(spp):
    session_id = spp.login()
    assert HEX32.match(session_id)
    assert spp.raw("GET", "/api/hypervisor").status_code == 200
    assert spp.raw("DELETE", "/api/endeavour/session").status_code == 204
    _assert_api_error(spp.raw("GET", "/api/hypervisor"), 401)


def test_bad_credentials_and_unknown_sessions_get_401(spp):
    response = spp.http.post(f"{spp.url}/api/endeavour/session", auth=("admin", "wrong"), timeout=30)
    _assert_api_error(response, 401)
    _assert_api_error(spp.raw("GET", "/api/hypervisor", session_id="0" * 32), 401)
    _assert_api_error(spp.raw("GET", "/api/hypervisor", session_id=None), 401)
    _assert_ngp_error(spp.raw("GET", "/ngp/slapolicy", session_id="0" * 32), 401)


def test_session_header_name_is_case_insensitive(spp):
    response = spp.raw("GET", "/api/hypervisor", session_id=None, headers={"x-endeavour-sessionid": spp.session_id})
    assert response.status_code == 200


def test_expired_sessions_get_401(spp):
    spp.admin("POST", "/sessions/expire")
    _assert_api_error(spp.raw("GET", "/api/hypervisor"), 401)

    spp.admin("POST", "/session-ttl", {"seconds": 0.3})
    spp.login()
    assert spp.raw("GET", "/api/hypervisor").status_code == 200  # use within the idle time keeps it alive
    wait_until(
        lambda: spp.raw("GET", "/api/hypervisor").status_code == 401, timeout=10, message="the idle session to expire"
    )


def test_ping_needs_no_session(spp):
    response = spp.raw("GET", "/api/lifecycle/ping", session_id=None)
    assert response.status_code == 200 and {"version", "build"} <= set(response.json())


def test_the_emulator_serves_tls_signed_by_the_lab_ca(lab):
    ping = lab.env["SPP_URL"] + "/api/lifecycle/ping"
    assert ping.startswith("https://")
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(ping, verify=True, timeout=10)  # the system bundle does not know the lab CA
    assert requests.get(ping, verify=lab.ca_path, timeout=10).status_code == 200


def test_parallel_clients_are_served_consistently(lab, spp):
    vms = spp.get("/api/hypervisor/1001/vm")["vms"]

    def assign_and_list(vm):
        client = SppApi(lab.env)
        client.login()
        client.assign([vm], ["Silver"])
        return client.get("/api/hypervisor/1001/vm", pageSize=1)["total"]

    with ThreadPoolExecutor(8) as pool:
        totals = list(pool.map(assign_and_list, vms * 4))
    assert set(totals) == {len(vms)}
    assert all(vm["storageProfiles"] == ["Silver"] for vm in spp.get("/api/hypervisor/1001/vm")["vms"])
    assert spp.admin("GET", "/requests")["counts"]["POST /api/endeavour/session"] == 1 + 4 * len(vms)


# --- representation conventions -----------------------------------------------------------------------------


def test_ids_are_strings_times_are_epoch_ms_and_hrefs_are_absolute(spp, fresh_vm):
    session = spp.backup(fresh_vm)
    documents = [
        spp.get("/api/hypervisor"),
        spp.get("/api/hypervisor/1001/vm"),
        spp.get(fresh_vm["links"]["vdisks"]["href"]),
        spp.get("/ngp/slapolicy"),
        spp.get("/api/endeavour/job"),
        spp.get("/api/endeavour/jobsession"),
        spp.get(session["links"]["log"]["href"]),
        spp.get(fresh_vm["links"]["versions"]["href"], embedCopies="true"),
        spp.get("/api/site"),
    ]
    now_ms = time.time() * 1000
    seen = {"id": 0, "time": 0, "href": 0}
    for document in documents:
        for path, key, value in _walk(document):
            if key == "id" or key.endswith("Id") and key != "uniqueId":
                assert value is None or isinstance(value, str), f"{path}.{key} = {value!r}"
                seen["id"] += 1
            timestamp = key in ("start", "end", "logTime", "protectionTime", "lastRunTime")
            if timestamp and value is not None and not path.endswith(".links"):
                assert isinstance(value, int) and now_ms - 3_600_000 < value <= now_ms + 1000, f"{path}.{key}"
                seen["time"] += 1
            if key == "href":
                assert value.startswith(spp.url + "/"), f"{path}.href = {value}"
                seen["href"] += 1
    assert all(seen.values()), seen


def test_every_link_resolves(spp, fresh_vm):
    session = spp.backup(fresh_vm)
    version = spp.get(fresh_vm["links"]["latestversion"]["href"], embedCopies="true")
    documents = [
        spp.get("/api/hypervisor"),
        spp.vm(fresh_vm["name"]),
        session,
        spp.job("vmware_Gold"),
        version,
        spp.get("/api/hypervisor/1001/host"),
        spp.get("/api/hypervisor/1001/cluster"),
        spp.get("/api/hypervisor/1001/volume"),
        spp.get("/api/site"),
        spp.sla("Gold"),
    ]
    hrefs = {
        value
        for document in documents
        for path, key, value in _walk(document)
        if key == "href" and "action=" not in value and ".links" in path
    }
    assert len(hrefs) > 20
    for href in sorted(hrefs):
        assert spp.raw("GET", href).status_code == 200, href


def test_listings_carry_total_and_next_page_and_honour_paging(spp, fresh_vm):
    everything = spp.get("/api/hypervisor/1001/vm")
    total = everything["total"]
    assert total == len(everything["vms"]) >= 5 and "nextPage" not in everything["links"]

    page = spp.get("/api/hypervisor/1001/vm", pageSize=2, pageStartIndex=1)
    assert page["total"] == total and [vm["id"] for vm in page["vms"]] == [vm["id"] for vm in everything["vms"][1:3]]

    collected, href = [], f"{spp.url}/api/hypervisor/1001/vm?pageSize=2"
    while href:
        page = spp.get(href)
        collected += [vm["id"] for vm in page["vms"]]
        href = page["links"].get("nextPage", {}).get("href")
    assert collected == [vm["id"] for vm in everything["vms"]]

    _assert_api_error(spp.raw("GET", "/api/hypervisor/1001/vm", params={"pageSize": 10001}), 400)


def test_a_change_between_two_pages_shows_on_the_next_page(spp):
    """Each listing is kept between its pages (ViewCache.listing) until a VM changes: the next page is never stale."""
    first = spp.get("/api/hypervisor/1001/vm", pageSize=1, pageStartIndex=0)["vms"][0]
    second = spp.get("/api/hypervisor/1001/vm", pageSize=1, pageStartIndex=1)["vms"][0]
    spp.assign([second], ["Silver"])
    again = spp.get("/api/hypervisor/1001/vm", pageSize=1, pageStartIndex=1)["vms"][0]
    assert again["id"] == second["id"] and again["storageProfiles"] == ["Silver"]
    search = {"params": {"resourceType": "vdisk", "pageSize": 1}, "json": {"name": first["name"], "hypervisorType": "vmware"}}
    disks = spp.call("POST", "/api/hypervisor/search", **search)["vdisks"]
    spp.assign(disks, ["Bronze"])
    found = spp.call("POST", "/api/hypervisor/search", **search)["vdisks"]
    assert found[0]["id"] == disks[0]["id"] and found[0]["storageProfiles"] == ["Bronze"]


def test_default_page_size_is_100(spp):
    for number in range(101):
        spp.call("POST", "/ngp/slapolicy", expect=201, json=_sla_body(f"Extra{number}"))
    page = spp.get("/ngp/slapolicy")
    assert page["total"] == 104 and len(page["slapolicies"]) == 100
    assert "nextPage" in page["links"]


def test_filters_are_anded_and_sort_is_honoured(spp, fresh_vm):
    names = [vm["name"] for vm in spp.get("/api/hypervisor/1001/vm")["vms"]]
    other = next(name for name in names if name != fresh_vm["name"])
    spp.assign([fresh_vm], ["Gold"])
    both = _filter(("name", "IN", [fresh_vm["name"], other]))
    assert spp.get("/api/hypervisor/1001/vm", filter=both)["total"] == 2
    for prop in ("storageProfileName", "storageProfiles"):  # sppmon counts VMs per SLA with the first one
        gold_and_both = _filter(("name", "IN", [fresh_vm["name"], other]), (prop, "=", "Gold"))
        found = spp.get("/api/hypervisor/1001/vm", filter=gold_and_both)["vms"]
        assert [vm["name"] for vm in found] == [fresh_vm["name"]]

    descending = spp.get("/api/hypervisor/1001/vm", sort=json.dumps([{"property": "name", "direction": "DESC"}]))
    assert [vm["name"] for vm in descending["vms"]] == sorted(names, reverse=True)
    _assert_api_error(spp.raw("GET", "/api/hypervisor/1001/vm", params={"filter": "not json"}), 400)


def test_session_filters_accept_both_cancel_spellings_and_ranges(spp, fresh_vm):
    session = spp.backup(fresh_vm)
    since = _filter(("jobName", "=", "vmware_Gold"), ("start", ">=", session["start"]))
    assert [s["id"] for s in spp.get("/api/endeavour/jobsession", filter=since)["sessions"]] == [session["id"]]
    later = _filter(("jobName", "=", "vmware_Gold"), ("start", ">", session["start"]))
    assert spp.get("/api/endeavour/jobsession", filter=later)["total"] == 0

    job = spp.job("vmware_Gold")
    spp.call("POST", job["links"]["start"]["href"])
    running = spp.get(job["links"]["livejobsessions"]["href"])["sessions"][0]
    canceled = spp.call("POST", f"/api/endeavour/jobsession/{running['id']}", expect=201, params={"action": "cancel"})
    assert canceled["status"] in ("CANCELING", "CANCELED")
    spp.wait_session(running["id"])
    for spelling in ("CANCELED", "CANCELLED"):
        found = spp.get("/api/endeavour/jobsession", filter=_filter(("status", "IN", [spelling])))["sessions"]
        assert [s["id"] for s in found] == [running["id"]]
    recent = _filter(("rangeunit", "=", "hour"), ("range", "=", 1), ("jobId", "=", job["id"]))
    assert spp.get("/api/endeavour/jobsession", filter=recent)["total"] == 2


# --- errors ----------------------------------------------------------------------------------------------------


def test_errors_have_the_section_14_1_shapes(spp):
    _assert_api_error(spp.raw("GET", "/api/hypervisor/1001/vm/" + "0" * 32), 404)
    _assert_api_error(spp.raw("GET", "/api/endeavour/job/999999"), 404)
    _assert_ngp_error(spp.raw("GET", "/ngp/slapolicy/999999"), 404)
    _assert_ngp_error(spp.raw("POST", "/ngp/slapolicy", data="{", headers={"Content-Type": "application/json"}), 400)
    _assert_ngp_error(
        spp.raw(
            "POST",
            "/ngp/hypervisor",
            params={"action": "applySLAPolicies"},
            json={
                "subtype": "vmware",
                "resources": [{"href": f"{spp.url}/api/hypervisor/1001/vm/{'0' * 32}?from=hlo"}],
                "slapolicies": [],
            },
        ),
        404,
    )
    _assert_ngp_error(spp.raw("POST", "/ngp/hypervisor", params={"action": "nonsense"}, json={}), 400)
    _assert_api_error(spp.raw("GET", "/api/no/such/thing"), 404)


def test_ngp_actions_answer_with_the_wrapper(spp, fresh_vm):
    applied = spp.assign([fresh_vm], ["Gold", "Silver"])
    assert applied["statusCode"] == 200
    assert applied["response"]["resources"][0]["storageProfiles"] == ["Gold", "Silver"]
    options = spp.apply_options(fresh_vm, {"makeApplicationConsistent": False}).json()
    assert options["statusCode"] == 200
    assert options["response"]["resources"][0]["options"]["makeApplicationConsistent"] is False
    adhoc = spp.call(
        "POST",
        "/ngp/hypervisor",
        expect=201,
        params={"action": "adhoc"},
        json={"slaPolicyName": "Gold", "subtype": "vmware", "resource": [fresh_vm["links"]["self"]["href"]]},
    )
    assert adhoc["statusCode"] == 201 and adhoc["response"]["name"] == "vmware_Gold"
    assert spp.wait_session(adhoc["response"]["sessionId"])["status"] == "COMPLETED"


# --- SLA policies ----------------------------------------------------------------------------------------------


def _sla_body(name, site="Primary"):
    return {
        "name": name,
        "type": "backup",
        "version": "1.0",
        "spec": {
            "simple": True,
            "subpolicy": [
                {
                    "type": "REPLICATION",
                    "software": True,
                    "site": site,
                    "useEncryption": False,
                    "retention": {"age": 15},
                    "trigger": {"type": "DAILY", "frequency": 1, "activateDate": 1591002000000, "timezone": "UTC"},
                }
            ],
        },
    }


def test_sla_policies_are_created_updated_renamed_and_deleted(spp):
    defaults = {sla["name"]: sla["id"] for sla in spp.get("/ngp/slapolicy")["slapolicies"]}
    assert defaults == {"Gold": "2000", "Silver": "2001", "Bronze": "2002"}

    created = spp.call("POST", "/ngp/slapolicy", expect=201, json=_sla_body("Diamond"))
    assert created["links"]["self"]["href"] == f"{spp.url}/api/spec/storageprofile/{created['id']}"
    assert spp.get(f"/api/spec/storageprofile/{created['id']}")["name"] == "Diamond"
    _assert_ngp_error(spp.raw("POST", "/ngp/slapolicy", json=_sla_body("Diamond")), 409)
    _assert_ngp_error(spp.raw("POST", "/ngp/slapolicy", json=_sla_body("Bad", site="Mars")), 400)

    changed = _sla_body("Diamond")
    changed["spec"]["subpolicy"][0]["retention"] = {"age": 30}
    updated = spp.call("PUT", f"/ngp/slapolicy/{created['id']}", json=changed)
    assert updated["id"] == created["id"] and updated["spec"]["subpolicy"][0]["retention"] == {"age": 30}

    renamed = spp.call("PUT", f"/ngp/slapolicy/{created['id']}", json=_sla_body("Emerald"))
    names = {sla["name"]: sla["id"] for sla in spp.get("/ngp/slapolicy")["slapolicies"]}
    assert renamed["name"] == "Emerald" and names["Emerald"] == created["id"]
    assert "Diamond" in names and names["Diamond"] != created["id"]  # the original is left as a copy

    assert spp.raw("DELETE", f"/ngp/slapolicy/{names['Diamond']}").status_code == 204
    _assert_ngp_error(spp.raw("GET", f"/ngp/slapolicy/{names['Diamond']}"), 404)


def test_deleting_an_assigned_sla_is_refused_and_names_the_resources(spp, fresh_vm):
    created = spp.call("POST", "/ngp/slapolicy", expect=201, json=_sla_body("Ruby"))
    spp.assign([fresh_vm], ["Ruby"])
    response = spp.raw("DELETE", f"/ngp/slapolicy/{created['id']}")
    _assert_ngp_error(response, 409)
    assert fresh_vm["name"] in response.json()["response"]["description"]
    spp.assign([fresh_vm], [])
    assert spp.raw("DELETE", f"/ngp/slapolicy/{created['id']}").status_code == 204


# --- assignments, options, vdisks ------------------------------------------------------------------------------


def test_apply_sla_policies_replaces_and_clears(spp, fresh_vm):
    spp.assign([fresh_vm], ["Gold", "Silver"])
    spp.assign([fresh_vm], ["Bronze"])
    assert spp.vm(fresh_vm["name"])["storageProfiles"] == ["Bronze"]
    spp.assign([fresh_vm], [])
    assert spp.vm(fresh_vm["name"])["storageProfiles"] == []
    state = spp.admin("GET", "/state")
    assert fresh_vm["id"] not in state["vm_policies"]


def test_vdisks_are_searchable_and_take_their_own_policies(spp, fresh_vm):
    disks = spp.call(
        "POST",
        "/api/hypervisor/search",
        params={"resourceType": "vdisk", "from": "hlo"},
        json={"name": fresh_vm["name"], "hypervisorType": "vmware"},
    )["vdisks"]
    assert disks and all(disk["vmId"] == fresh_vm["id"] for disk in disks)
    disk = disks[0]
    assert disk["links"]["self"]["href"] == (
        f"{spp.url}/api/hypervisor/1001/vm/{fresh_vm['id']}/vdisk/{disk['id']}?from=hlo"
    )
    spp.assign([disk], ["Silver"])
    assert spp.get(disk["links"]["self"]["href"])["storageProfiles"] == ["Silver"]
    assert spp.vm(fresh_vm["name"])["storageProfiles"] == []  # the VM does not inherit a disk's policy
    assert spp.admin("GET", "/state")["disk_policies"] == {disk["id"]: ["Silver"]}


def test_options_default_to_quiesced_and_merge(spp, fresh_vm):
    options = spp.get(fresh_vm["links"]["options"]["href"])["options"]
    assert options["makeApplicationConsistent"] is True and options["fallbackToUnquiescedSnapshot"] is False
    assert spp.apply_options(fresh_vm, {"fallbackToUnquiescedSnapshot": True}).status_code == 200
    options = spp.get(fresh_vm["links"]["options"]["href"])["options"]
    assert options["makeApplicationConsistent"] is True and options["fallbackToUnquiescedSnapshot"] is True
    _assert_ngp_error(spp.apply_options(fresh_vm, {"makeApplicationConsistent": "no"}), 400)


# --- inventory, jobs -------------------------------------------------------------------------------------------


def test_the_hypervisor_is_the_vcenter_and_vms_carry_their_identity(spp, vcenter):
    hypervisor = spp.get("/api/hypervisor")["hypervisors"][0]
    assert hypervisor["id"] == "1001" and hypervisor["uniqueId"] == vcenter.si.content.about.instanceUuid
    in_vcenter = vcenter.vms()
    for vm in spp.get("/api/hypervisor/1001/vm")["vms"]:
        assert HEX32.match(vm["id"])
        assert in_vcenter[vm["name"]]["moref"] == vm["nativeObject"]["mor"]["val"]
        assert in_vcenter[vm["name"]]["instance_uuid"] == vm["config"]["instanceUuid"]
    assert {site["name"]: site["id"] for site in spp.get("/api/site")["sites"]}["Primary"] == "1000"


def test_new_vms_appear_only_after_the_inventory_job(spp, vcenter, fresh_vm):
    name = fresh_vm["name"] + "_late"
    vcenter.clone(fresh_vm["name"], name)
    search = {"name": name, "hypervisorType": "vmware"}
    assert spp.call("POST", "/api/hypervisor/search", params={"resourceType": "vm"}, json=search)["total"] == 0

    job = spp.job("Hypervisor Inventory")
    assert job["type"] == "catalog"
    started = spp.call("POST", job["links"]["start"]["href"])
    session = spp.wait_session(started["lastrun"]["sessionId"])
    assert session["status"] == "COMPLETED"
    assert spp.call("POST", "/api/hypervisor/search", params={"resourceType": "vm"}, json=search)["total"] == 1

    vcenter.destroy(name)
    spp.inventory()
    assert spp.call("POST", "/api/hypervisor/search", params={"resourceType": "vm"}, json=search)["total"] == 0


def test_sla_jobs_start_hold_release_and_refuse_concurrent_runs(spp, fresh_vm):
    spp.assign([fresh_vm], ["Silver"])
    job = spp.job("vmware_Silver")
    assert job["status"] == "IDLE" and {"start", "hold", "release", "livejobsessions"} <= set(job["links"])

    started = spp.call("POST", job["links"]["start"]["href"])
    _assert_api_error(spp.raw("POST", job["links"]["start"]["href"]), 409)
    session = spp.wait_session(started["lastrun"]["sessionId"])
    assert session["status"] == "COMPLETED" and session["jobId"] == job["id"]
    statistics = {entry["resourceType"]: entry for entry in session["properties"]["statistics"]}
    assert statistics["vm"] == {"resourceType": "vm", "total": 1, "success": 1, "failed": 0, "skipped": 0}
    assert session["end"] - session["start"] == session["duration"]

    held = spp.call("POST", job["links"]["hold"]["href"])
    assert held["status"] == "HELD" and spp.get(f"/api/endeavour/job/{job['id']}/status")["currentStatus"] == "HELD"
    refused = spp.raw(
        "POST",
        "/ngp/hypervisor",
        params={"action": "applySLAPolicies"},
        json={"resources": [{"href": fresh_vm["links"]["self"]["href"]}], "slapolicies": [{"name": "Silver"}]},
    )
    _assert_ngp_error(refused, 409)
    assert spp.call("POST", job["links"]["release"]["href"])["status"] == "IDLE"
    spp.assign([fresh_vm], ["Silver"])
    assert spp.job("vmware_Silver")["id"] == job["id"]  # one job per SLA, with a stable id


def test_adhoc_backup_is_refused_while_the_sla_job_runs(spp, fresh_vm):
    spp.assign([fresh_vm], ["Gold"])
    spp.admin("POST", "/speed", {"factor": 1.0})
    try:
        job = spp.job("vmware_Gold")
        spp.call("POST", job["links"]["start"]["href"])
        response = spp.raw(
            "POST",
            "/ngp/hypervisor",
            params={"action": "adhoc"},
            json={"slaPolicyName": "Gold", "subtype": "vmware", "resource": [fresh_vm["links"]["self"]["href"]]},
        )
        _assert_ngp_error(response, 409)
    finally:
        spp.admin("POST", "/speed", {"factor": 0.05})


# --- admin API: faults and counters -----------------------------------------------------------------------------


def test_status_faults_latency_and_counters(spp):
    spp.admin("POST", "/faults", {"method": "GET", "path_prefix": "/api/hypervisor", "status": 503, "count": 2})
    spp.admin("POST", "/faults", {"method": "GET", "path_prefix": "/api/site", "status": 429, "retry_after": 1})
    assert [spp.raw("GET", "/api/hypervisor").status_code for attempt in range(3)] == [503, 503, 200]
    throttled = spp.raw("GET", "/api/site")
    _assert_api_error(throttled, 429)
    assert throttled.headers["Retry-After"] == "1"
    assert spp.raw("GET", "/api/site").status_code == 200

    spp.admin("POST", "/faults", {"method": "*", "path_prefix": "/", "latency_ms": 300, "count": 1})
    began = time.monotonic()
    spp.get("/api/site")
    assert time.monotonic() - began >= 0.3

    counts = spp.admin("GET", "/requests")
    assert counts["counts"]["GET /api/hypervisor"] == 3 and counts["total"] >= 7


def test_a_dropped_answer_still_takes_effect(spp, fresh_vm):
    spp.assign([fresh_vm], ["Gold"])
    spp.admin("POST", "/faults", {"method": "POST", "path_prefix": "/ngp/hypervisor", "drop_after_effect": True})
    with pytest.raises(requests.ConnectionError):
        spp.raw(
            "POST",
            "/ngp/hypervisor",
            params={"action": "adhoc"},
            json={"slaPolicyName": "Gold", "subtype": "vmware", "resource": [fresh_vm["links"]["self"]["href"]]},
        )
    sessions = spp.get("/api/endeavour/jobsession", filter=_filter(("jobName", "=", "vmware_Gold")))["sessions"]
    assert len(sessions) == 1
