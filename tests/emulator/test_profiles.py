# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The two profiles of the emulator (spp-api.md 14.17; tests/emulators/spp/README.md, "Profiles").

One test per profile point. For a point of the public-record profile, the test makes a request that the default
profile accepts and the public-record profile refuses, or reads an answer and shows that the invented field is gone
under public-record. For a point that holds in both profiles (the ``bed`` fixture runs it under each), it shows that
both refuse, or both act on the field.
"""

from __future__ import annotations

import json
import re

import pytest

from conftest import CLEANUP_LINK, SppApi, is_test_active, now_ms, wait_until
from lab import LabError, choose_profile

RECOVERY_SERVICE = "serviceprovider.recovery.hypervisor"


def _filter(*criteria):
    return json.dumps([{"property": prop, "value": value, "op": op} for prop, op, value in criteria])


def _error(response, status: int) -> str:
    """The description of an error answer of this status (either family's shape, spp-api.md 14.1)."""
    assert response.status_code == status, response.text
    body = response.json()
    return (body.get("response") or body)["description"]


def _adhoc(spp: SppApi, vm: dict, **extra) -> dict:
    body = {"slaPolicyName": "Gold", "subtype": "vmware", "resource": [vm["links"]["self"]["href"]], **extra}
    return spp.call("POST", "/ngp/hypervisor", expect=201, params={"action": "adhoc"}, json=body)


def _restore_body(spp: SppApi, vm: dict, mode: str = "clone", version: dict | None = None, **subpolicy) -> dict:
    """A restore request as IBM's samples/vmware_restore.py builds it; version: the source's version member."""
    recovery_vm = spp.vm(vm["name"], source="recovery")
    latest = {"href": recovery_vm["links"]["latestversion"]["href"], "metadata": {"useLatest": True}}
    return {
        "subType": "vmware",
        "spec": {
            "source": [
                {
                    "href": recovery_vm["links"]["self"]["href"],
                    "id": recovery_vm["id"],
                    "resourceType": "vm",
                    "include": True,
                    "metadata": {"name": vm["name"]},
                    "version": version or latest,
                }
            ],
            "subpolicy": [
                {
                    "type": "IV",
                    "destination": subpolicy.pop("destination", {"systemDefined": True}),
                    "source": subpolicy.pop("source", None),
                    "option": {"mode": mode, "poweron": False, "continueonerror": True, "autocleanup": True},
                }
            ],
        },
    }


def _post_restore(spp: SppApi, body: dict):
    return spp.raw("POST", "/ngp/hypervisor", params={"action": "restore"}, json=body)


def _restore(spp: SppApi, body: dict) -> dict:
    since = now_ms()
    answer = spp.call("POST", "/ngp/hypervisor", expect=201, params={"action": "restore"}, json=body)
    return spp.wait_settled(spp.started_session(answer, since))


def _newest_version(spp: SppApi, vm: dict) -> dict:
    return spp.get(spp.vm(vm["name"], source="recovery")["links"]["latestversion"]["href"], embedCopies="true")


def _source_network_href(spp: SppApi, version: dict) -> str:
    """The network a version's first NIC was on, as IBM's samples/vmware_restore.py reads it: version links.vnics,
    then the vnic's links.networks."""
    vnic = spp.get(version["links"]["vnics"]["href"])["vnics"][0]
    return spp.get(vnic["links"]["networks"]["href"])["networks"][0]["links"]["self"]["href"]


def _source_datastore_href(spp: SppApi, version: dict) -> str:
    """The datastore of a version, as samples/vmware_restore.py reads it: version links.volumes."""
    return spp.get(version["links"]["volumes"]["href"])["volumes"][0]["links"]["self"]["href"]


# --- selection ---------------------------------------------------------------------------------------------------


def test_the_lab_chooses_the_profile_from_its_argument_or_the_environment(monkeypatch, lab, public_lab):
    monkeypatch.delenv("SPP_EMULATOR_PROFILE", raising=False)
    assert choose_profile() == "default"
    monkeypatch.setenv("SPP_EMULATOR_PROFILE", "public-record")
    assert choose_profile() == "public-record"
    assert choose_profile("default") == "default"  # the argument wins over the variable
    monkeypatch.setenv("SPP_EMULATOR_PROFILE", "strict")
    with pytest.raises(LabError, match="strict"):
        choose_profile()
    for running, profile in ((lab, "default"), (public_lab, "public-record")):
        assert running.env["SPP_EMULATOR_PROFILE"] == profile
        assert f"export SPP_EMULATOR_PROFILE={profile}\n" in running.export_lines()
        client = SppApi(running.env)
        assert client.admin("GET", "/profile") == {"profile": profile}
        assert client.admin("GET", "/state")["profile"] == profile


# --- both profiles: the record is clear -----------------------------------------------------------------------


def test_restore_map_keys_match_hrefs_exactly(bed):
    """A key of mapvm, mapvirtualnetwork or mapRRPdatastore that names the right object only by the id inside its
    href is refused (400), naming the key; the hrefs exactly as the API gave them are accepted."""
    spp = bed.spp
    vm = bed.fresh_vm()
    spp.backup(vm)
    version = _newest_version(spp, vm)
    network, datastore = _source_network_href(spp, version), _source_datastore_href(spp, version)
    exact = {
        "mapvm": {spp.vm(vm["name"], source="recovery")["links"]["self"]["href"]: {"name": vm["name"] + "_renamed"}},
        "mapvirtualnetwork": {network: {"recovery": network, "test": network}},
        "mapRRPdatastore": {datastore: datastore},
    }
    for map_name, mapping in exact.items():
        ((key, value),) = mapping.items()
        by_id_only = key.split("?", 1)[0]  # the same object id, but not the href the API gave
        assert by_id_only != key
        refused = _post_restore(spp, _restore_body(spp, vm, destination={map_name: {by_id_only: value}}))
        description = _error(refused, 400)
        assert map_name in description and repr(by_id_only) in description, description
    session = _restore(spp, _restore_body(spp, vm, destination={"systemDefined": True, **exact}))
    assert session["status"] == "COMPLETED"
    assert bed.vcenter.vm(vm["name"] + "_renamed") is not None


def test_a_pinned_point_needs_its_copy_and_protection_time(bed):
    """useLatest false: version.copy.href and version.metadata.protectionTime are required (400 otherwise)."""
    spp = bed.spp
    vm = bed.fresh_vm()
    spp.backup(vm)
    version = _newest_version(spp, vm)
    copy = version["copies"][0]
    time_ms = version["protectionInfo"]["protectionTime"]
    pinned = {
        "href": copy["links"]["version"]["href"],
        "copy": {"href": copy["links"]["self"]["href"]},
        "metadata": {"useLatest": False, "protectionTime": time_ms},
    }
    without_copy = {key: value for key, value in pinned.items() if key != "copy"}
    without_time = {**pinned, "metadata": {"useLatest": False}}
    for version_member, missing in ((without_copy, "version.copy.href"), (without_time, "protectionTime")):
        assert missing in _error(_post_restore(spp, _restore_body(spp, vm, version=version_member)), 400)
    session = _restore(spp, _restore_body(spp, vm, version=pinned))
    assert session["status"] == "COMPLETED"
    assert spp.restores(session)[0]["copyId"] == copy["id"]


def test_map_rrp_datastore_moves_the_restored_vm(bed):
    """mapRRPdatastore is acted on: the restored VM's files are on the target datastore (checked in vCenter)."""
    spp, vcenter = bed.spp, bed.vcenter
    vcenter.add_datastore("restore-target")
    vm = bed.fresh_vm()  # inventories the new datastore too
    spp.backup(vm)
    source = _source_datastore_href(spp, _newest_version(spp, vm))
    target = next(v for v in spp.get("/api/hypervisor/1001/volume")["volumes"] if v["name"] == "restore-target")
    destination = {"systemDefined": True, "mapRRPdatastore": {source: target["links"]["self"]["href"]}}
    session = _restore(spp, _restore_body(spp, vm, destination=destination))
    assert session["status"] == "COMPLETED"
    restored = vcenter.by_moref(spp.restores(session)[0]["moref"])
    assert restored["datastore"] == "restore-target"
    assert vcenter.vm(vm["name"])["datastore"] != "restore-target"  # the original stays where it was


def test_subpolicy_source_chooses_the_copy(bed):
    """subpolicy.source.copy.site is acted on: the restore uses the copy at that site, or fails (404) without one."""
    spp = bed.spp
    sla = spp.sla("Silver")
    replicated = json.loads(json.dumps(sla))
    replicated["spec"]["subpolicy"].append(
        {"type": "REPLICATION", "software": False, "site": "Secondary", "retention": {"age": 7}}
    )
    spp.call("PUT", f"/ngp/slapolicy/{sla['id']}", json=replicated)
    vm = bed.fresh_vm()
    assert spp.backup(vm, "Silver")["status"] == "COMPLETED"
    copies = {copy["siteId"]: copy for copy in _newest_version(spp, vm)["copies"]}
    assert set(copies) == {"1000", "2000"}

    secondary = {"copy": {"site": {"href": f"{spp.url}/api/site/2000"}, "isOffload": None}}
    session = _restore(spp, _restore_body(spp, vm, source=secondary))
    assert session["status"] == "COMPLETED"
    (restored,) = spp.restores(session)
    assert (restored["siteId"], restored["copyId"]) == ("2000", copies["2000"]["id"])
    assert any("at site Secondary" in entry["message"] for entry in spp.logs(session))

    nowhere = {"copy": {"site": {"href": f"{spp.url}/api/site/3000"}, "isOffload": None}}
    assert "site DR" in _error(_post_restore(spp, _restore_body(spp, vm, source=nowhere)), 404)


def test_subtype_spellings_are_those_on_record(bed):
    """applySLAPolicies, applyOptions and adhoc say 'subtype'; restore says 'subType'; the swapped one is 400."""
    spp = bed.spp
    vm = bed.fresh_vm()
    spp.backup(vm)
    resource = {"href": vm["links"]["self"]["href"], "id": vm["id"], "metadataPath": vm["metadataPath"]}
    gold = spp.sla("Gold")
    bodies = {
        "applySLAPolicies": {
            "subType": "vmware",
            "version": "1.0",
            "resources": [resource],
            "slapolicies": [{"href": gold["links"]["self"]["href"], "id": gold["id"], "name": "Gold"}],
        },
        "applyOptions": {"subType": "vmware", "resources": [resource], "options": {"priority": 5}},
        "adhoc": {"subType": "vmware", "slaPolicyName": "Gold", "resource": [vm["links"]["self"]["href"]]},
    }
    for action, body in bodies.items():
        response = spp.raw("POST", "/ngp/hypervisor", params={"action": action}, json=body)
        assert "'subtype'" in _error(response, 400), action
    swapped = _restore_body(spp, vm)
    swapped["subtype"] = swapped.pop("subType")
    assert "'subType'" in _error(_post_restore(spp, swapped), 400)
    assert spp.admin("GET", "/state")["vm_policies"] == {vm["id"]: ["Gold"]}  # nothing changed


def test_post_restore_info_is_an_object_that_lists_no_vms(bed):
    """properties.postRestoreInfo is {"message", "appServerMountPoints"}, as SPP's UI job-session.model.ts reads it."""
    spp = bed.spp
    vm = bed.fresh_vm()
    spp.backup(vm)
    session = _restore(spp, _restore_body(spp, vm))
    info = session["properties"]["postRestoreInfo"]
    assert isinstance(info, dict) and set(info) == {"message", "appServerMountPoints"}
    assert isinstance(info["message"], str) and info["appServerMountPoints"] == []
    (restored,) = spp.restores(session)
    text = json.dumps(info)
    assert vm["name"] not in text and restored["moref"] not in text and restored["name"] not in text


def test_an_active_test_restore_is_pending_with_action_links(bed):
    """PENDING without action links: not started. PENDING with them: the test VM is up (the old RESOURCE ACTIVE
    is gone). The UI's filter (serviceId + status PENDING) finds it; the clean-up link (cleanup, or end_iv under
    public-record) ends it, and the other profile's name for it is refused."""
    spp = bed.spp
    vm = bed.fresh_vm()
    spp.backup(vm)
    spp.admin("POST", "/speed", {"factor": 1.0})  # a pending phase long enough to be seen
    try:
        since = now_ms()
        body = _restore_body(spp, vm, mode="test")
        answer = spp.call("POST", "/ngp/hypervisor", expect=201, params={"action": "restore"}, json=body)
        session_id = spp.started_session(answer, since)
        pending = spp.session(session_id)
    finally:
        spp.admin("POST", "/speed", {"factor": 0.05})
    assert pending["status"] == "PENDING" and not is_test_active(pending)
    assert not {"cleanup", "end_iv", "rrp", "clone"} & set(pending["links"])

    active = spp.wait_settled(session_id)
    assert active["status"] == "PENDING" and active["end"] is None
    cleanup = CLEANUP_LINK[bed.profile]
    assert {cleanup, "rrp", "clone"} <= set(active["links"])
    assert not {"cleanup", "end_iv"} - {cleanup} & set(active["links"])
    ui_filter = _filter(("serviceId", "IN", [RECOVERY_SERVICE]), ("status", "=", "PENDING"))
    assert [s["id"] for s in spp.get("/api/endeavour/jobsession", filter=ui_filter)["sessions"]] == [session_id]
    assert spp.get(f"/api/endeavour/job/{active['jobId']}")["status"] == "PENDING"

    # Each profile refuses the other's clean-up name: cleanup is the default profile's (spp-api.md 14.9), end_iv
    # the only one on record (ECX).
    other = CLEANUP_LINK["public-record" if bed.profile == "default" else "default"]
    other_href = re.sub(r"action=\w+", f"action={other}", active["links"][cleanup]["href"])
    assert other in _error(spp.raw("POST", other_href, json={}), 400)
    spp.call("POST", active["links"][cleanup]["href"], expect=201, json={})
    ended = spp.wait_session(session_id)
    assert ended["status"] == "COMPLETED" and not is_test_active(ended)
    assert bed.vcenter.by_moref(spp.restores(ended)[0]["moref"]) is None


def test_every_link_resolves_in_both_profiles(bed):
    """No link leads to a route the profile does not serve (under public-record: no invented route is linked)."""
    spp = bed.spp
    vm = bed.fresh_vm()
    session = spp.backup(vm)
    version = spp.get(vm["links"]["latestversion"]["href"], embedCopies="true")
    vnics = spp.get(version["links"]["vnics"]["href"])
    documents = [
        spp.get("/api/hypervisor"),
        spp.vm(vm["name"]),
        session,
        spp.job("vmware_Gold"),
        version,
        vnics,
        spp.get("/api/hypervisor/1001/host"),
        spp.get("/api/hypervisor/1001/cluster"),
        spp.get("/api/hypervisor/1001/volume"),
        spp.get("/api/site"),
        spp.sla("Gold"),
    ]
    hrefs = set()
    for document in documents:
        stack = [document]
        while stack:
            value = stack.pop()
            if isinstance(value, dict):
                links = value.get("links")
                if isinstance(links, dict):
                    hrefs |= {link["href"] for link in links.values() if isinstance(link, dict) and "href" in link}
                    hrefs |= {link["schema"] for link in links.values() if isinstance(link, dict) and "schema" in link}
                stack.extend(v for k, v in value.items() if k != "links")
            elif isinstance(value, list):
                stack.extend(value)
    hrefs = {href for href in hrefs if "action=" not in href or "/schema" in href}
    assert len(hrefs) > 20
    for href in sorted(hrefs):
        assert spp.raw("GET", href).status_code == 200, href


# --- the public-record profile: only what the record shows ----------------------------------------------------


def test_adhoc_answers_carry_no_session_id(spp, fresh_vm, spp_public, public_fresh_vm):
    spp.assign([fresh_vm], ["Gold"])
    assert "sessionId" in _adhoc(spp, fresh_vm)["response"]
    spp_public.assign([public_fresh_vm], ["Gold"])
    since = now_ms()
    answer = _adhoc(spp_public, public_fresh_vm)
    assert set(answer["response"]) == {"name", "id"} and answer["response"]["name"] == "vmware_Gold"
    session = spp_public.wait_session(spp_public.find_session("vmware_Gold", since))  # by jobName, as IBM does
    assert session["status"] == "COMPLETED"


def test_restore_answers_carry_no_session_id(spp, fresh_vm, spp_public, public_fresh_vm):
    spp.backup(fresh_vm)
    assert (
        "sessionId"
        in spp.call(
            "POST", "/ngp/hypervisor", expect=201, params={"action": "restore"}, json=_restore_body(spp, fresh_vm)
        )["response"]
    )
    spp_public.backup(public_fresh_vm)
    answer = spp_public.call(
        "POST",
        "/ngp/hypervisor",
        expect=201,
        params={"action": "restore"},
        json=_restore_body(spp_public, public_fresh_vm),
    )
    assert set(answer["response"]) == {"name", "id"} and answer["response"]["name"].startswith("onDemandRestore_")
    sessions = spp_public.get("/api/endeavour/jobsession", filter=_filter(("jobName", "=", answer["response"]["name"])))
    assert len(sessions["sessions"]) == 1  # samples/vmware_restore.py get_job_infos: restore job names are unique


def test_jobs_show_no_hold_or_release_links(spp, fresh_vm, spp_public, public_fresh_vm):
    spp.assign([fresh_vm], ["Silver"])
    job = spp.job("vmware_Silver")
    assert {"hold", "release"} <= set(job["links"])
    assert spp.call("POST", job["links"]["hold"]["href"])["status"] == "HELD"

    spp_public.assign([public_fresh_vm], ["Silver"])
    job = spp_public.job("vmware_Silver")
    assert not {"hold", "release"} & set(job["links"])
    response = spp_public.raw(
        "POST", f"/api/endeavour/job/{job['id']}", params={"action": "hold", "actionname": "hold"}
    )
    assert "hold" in _error(response, 400)
    assert spp_public.job("vmware_Silver")["status"] == "IDLE"


def test_job_session_listings_answer_total_0(spp, spp_public):
    for client in (spp, spp_public):
        for _run in range(3):
            client.wait_session(client.run_job(client.job("Maintenance")))
    assert spp.get("/api/endeavour/jobsession")["total"] == 3

    everything = spp_public.get("/api/endeavour/jobsession")
    assert everything["total"] == 0 and len(everything["sessions"]) == 3  # APAR IT45897
    job = spp_public.job("Maintenance")
    assert spp_public.get(f"/api/endeavour/jobsession/history/jobid/{job['id']}")["total"] == 0
    collected, href = [], f"{spp_public.url}/api/endeavour/jobsession?pageSize=2"
    while href:  # paging works through links.nextPage
        page = spp_public.get(href)
        assert page["total"] == 0
        collected += [session["id"] for session in page["sessions"]]
        href = page["links"].get("nextPage", {}).get("href")
    assert collected == [session["id"] for session in everything["sessions"]]


def test_vm_listings_carry_an_empty_protection_info(spp, fresh_vm, spp_public, public_fresh_vm):
    spp.backup(fresh_vm)
    assert spp.vm(fresh_vm["name"])["protectionInfo"]["protectionTime"] > 0

    spp_public.backup(public_fresh_vm)
    listed = spp_public.get("/api/hypervisor/1001/vm")["vms"]
    found = spp_public.vm(public_fresh_vm["name"])
    for vm in [
        *listed,
        found,
        spp_public.get(found["links"]["self"]["href"]),
        spp_public.vm(found["name"], "recovery"),
    ]:
        assert vm["protectionInfo"] == {}, vm["name"]
    latest = spp_public.get(found["links"]["latestversion"]["href"])  # where the record reads the time
    assert latest["protectionInfo"]["protectionTime"] > 0


def test_the_vdisk_search_exists_only_in_the_default_profile(spp, fresh_vm, spp_public, public_fresh_vm):
    search = {"params": {"resourceType": "vdisk", "from": "hlo"}, "json": {"name": "*", "hypervisorType": "vmware"}}
    assert spp.raw("POST", "/api/hypervisor/search", **search).status_code == 200
    _error(spp_public.raw("POST", "/api/hypervisor/search", **search), 404)
    disks = spp_public.get(public_fresh_vm["links"]["vdisks"]["href"])["vdisks"]  # as the record reads disks
    assert disks and all(disk["vmId"] == public_fresh_vm["id"] for disk in disks)


def test_the_hypervisor_network_listing_exists_only_in_the_default_profile(spp, spp_public):
    assert spp.raw("GET", "/api/hypervisor/1001/network").status_code == 200
    assert "networks" in spp.get("/api/hypervisor")["hypervisors"][0]["links"]

    _error(spp_public.raw("GET", "/api/hypervisor/1001/network"), 404)
    assert "networks" not in spp_public.get("/api/hypervisor")["hypervisors"][0]["links"]
    host = spp_public.get("/api/hypervisor/1001/host")["hosts"][0]  # networks per host, as the record lists them
    networks = spp_public.get(host["links"]["networks"]["href"])["networks"]
    assert networks and spp_public.raw("GET", networks[0]["links"]["self"]["href"]).status_code == 200


def test_copies_name_their_site_by_site_id_only(spp, fresh_vm, spp_public, public_fresh_vm):
    spp.backup(fresh_vm)
    assert "site" in spp.get(fresh_vm["links"]["copies"]["href"])["copies"][0]["links"]

    spp_public.backup(public_fresh_vm)
    (copy,) = spp_public.get(public_fresh_vm["links"]["copies"]["href"])["copies"]
    assert "site" not in copy["links"] and copy["siteId"] == "1000"
    assert spp_public.get(f"/api/site/{copy['siteId']}")["name"] == "Primary"  # samples/sqlrestore.py


def test_a_job_start_needs_the_actionname_of_its_schema(spp, fresh_vm, spp_public, public_fresh_vm):
    spp.assign([fresh_vm], ["Gold"])
    job = spp.job("vmware_Gold")
    spp.wait_session(spp.call("POST", job["links"]["start"]["href"])["lastrun"]["sessionId"])  # no body: fine

    spp_public.assign([public_fresh_vm], ["Gold"])
    job = spp_public.job("vmware_Gold")
    schema = spp_public.get(job["links"]["start"]["schema"])
    values = [workflow["value"] for workflow in schema["parameter"]["actionname"]["values"]]
    assert values and "start" not in values  # the workflow must be read from the schema, not guessed
    assert "actionname" in _error(spp_public.raw("POST", job["links"]["start"]["href"]), 400)
    assert "actionname" in _error(
        spp_public.raw("POST", job["links"]["start"]["href"], json={"actionname": "start"}), 400
    )
    spp_public.call("POST", job["links"]["start"]["href"], json={"actionname": values[0]})
    live = wait_until(lambda: spp_public.get(job["links"]["livejobsessions"]["href"])["sessions"], message="live")
    assert spp_public.wait_session(live[0]["id"])["status"] == "COMPLETED"


def test_the_start_answer_does_not_name_the_new_session(spp, spp_public):
    job = spp.job("Maintenance")
    started = spp.start_job(job)
    assert started["lastrun"]["status"] in ("PENDING", "RUNNING")  # the default profile names the new session
    spp.wait_session(started["lastrun"]["sessionId"])

    job = spp_public.job("Maintenance")
    started = spp_public.start_job(job)
    assert started["lastrun"] is None  # the state before the start: no session of it yet
    live = spp_public.get(started["links"]["livejobsessions"]["href"])["sessions"]  # as JobAPI.run finds it
    assert len(live) == 1 and live[0]["jobId"] == job["id"]
    spp_public.wait_session(live[0]["id"])
    assert spp_public.job("Maintenance")["lastrun"]["sessionId"] == live[0]["id"]
