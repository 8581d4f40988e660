# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""POST /__emulator__/age: recovery points and job sessions moved into the past, and every time derived from them
(VM protectionInfo, version order, session filters, durations, log times) seen through the SPP REST API."""

from __future__ import annotations

import json
import time

import pytest

from conftest import BASE_VM

HOUR_MS = 3_600_000
SESSIONS = "/api/endeavour/jobsession"


def _filter(*criteria):
    return json.dumps([{"property": prop, "value": value, "op": op} for prop, op, value in criteria])


def _now_ms():
    return int(time.time() * 1000)


def _protection_time(spp, vm):
    return spp.get(vm["links"]["self"]["href"])["protectionInfo"]["protectionTime"]


def _version_times(spp, vm):
    return [v["protectionInfo"]["protectionTime"] for v in spp.get(vm["links"]["versions"]["href"])["versions"]]


def _copy_times(spp, vm):
    return [c["protectionInfo"]["protectionTime"] for c in spp.get(vm["links"]["copies"]["href"])["copies"]]


def _session_ids(spp, *criteria):
    return [s["id"] for s in spp.get(SESSIONS, filter=_filter(*criteria), pageSize=10000)["sessions"]]


def _run_job(spp, name):
    job = spp.call("POST", spp.job(name)["links"]["start"]["href"])
    return spp.wait_session(job["lastrun"]["sessionId"])


@pytest.fixture
def two_vms(spp, vcenter, fresh_vm):
    """fresh_vm and a second clone (removed with it: same name prefix), both backed up by one vmware_Gold run."""
    vcenter.clone(BASE_VM, f"{fresh_vm['name']}-other")
    spp.inventory()
    vms = [spp.vm(fresh_vm["name"]), spp.vm(f"{fresh_vm['name']}-other")]
    spp.assign(vms, ["Gold"])
    assert _run_job(spp, "vmware_Gold")["status"] == "COMPLETED"
    return [spp.vm(vm["name"]) for vm in vms]


def test_aging_one_vm_moves_its_recovery_points_only(spp, two_vms):
    aged, other = two_vms
    before = {vm["id"]: (_protection_time(spp, vm), _version_times(spp, vm), _copy_times(spp, vm)) for vm in two_vms}
    sessions_before = spp.get(SESSIONS)["sessions"]

    answer = spp.admin("POST", "/age", {"hours": 48, "vms": [aged["nativeObject"]["mor"]["val"]]})

    assert answer == {"aged_versions": 1, "aged_sessions": 0}
    time_before, versions_before, copies_before = before[aged["id"]]
    assert _protection_time(spp, aged) == time_before - 48 * HOUR_MS
    assert _version_times(spp, aged) == [t - 48 * HOUR_MS for t in versions_before]
    assert _copy_times(spp, aged) == [t - 48 * HOUR_MS for t in copies_before]
    latest = spp.get(aged["links"]["latestversion"]["href"], embedCopies="true")
    assert latest["protectionInfo"]["protectionTime"] == time_before - 48 * HOUR_MS
    assert {c["protectionInfo"]["protectionTime"] for c in latest["copies"]} == {time_before - 48 * HOUR_MS}
    assert (_protection_time(spp, other), _version_times(spp, other), _copy_times(spp, other)) == before[other["id"]]
    assert spp.get(SESSIONS)["sessions"] == sessions_before

    # Listings filter on the moved time: only the aged VM's last backup is older than a 24 h RPO.
    stale = _filter(("protectionInfo.protectionTime", "<", _now_ms() - 24 * HOUR_MS))
    assert [vm["id"] for vm in spp.get("/api/hypervisor/1001/vm", filter=stale)["vms"]] == [aged["id"]]

    # A new backup is the newest point again, and the list stays newest first.
    spp.backup(aged)
    times = _version_times(spp, aged)
    assert len(times) == 2 and times == sorted(times, reverse=True)
    assert _protection_time(spp, aged) == times[0] > time_before


def test_aging_a_session_moves_it_out_of_the_last_24_hours_but_not_out_of_the_last_7_days(spp, fresh_vm):
    old = spp.backup(fresh_vm)
    recent = spp.backup(fresh_vm)
    old_logs = spp.logs(old)
    version_times = _version_times(spp, fresh_vm)

    answer = spp.admin("POST", "/age", {"hours": 72, "sessions": [old["id"]]})

    assert answer == {"aged_versions": 0, "aged_sessions": 1}
    moved = spp.session(old["id"])
    assert (moved["start"], moved["end"]) == (old["start"] - 72 * HOUR_MS, old["end"] - 72 * HOUR_MS)
    assert moved["duration"] == old["duration"]
    assert [entry["logTime"] for entry in spp.logs(moved)] == [e["logTime"] - 72 * HOUR_MS for e in old_logs]
    assert spp.session(recent["id"])["start"] == recent["start"]
    assert _version_times(spp, fresh_vm) == version_times

    day, week = _now_ms() - 24 * HOUR_MS, _now_ms() - 7 * 24 * HOUR_MS
    assert _session_ids(spp, ("start", ">=", day)) == [recent["id"]]
    assert _session_ids(spp, ("start", ">=", week)) == [old["id"], recent["id"]]  # sorted by start
    assert _session_ids(spp, ("rangeunit", "=", "hour"), ("range", "=", 24)) == [recent["id"]]
    assert _session_ids(spp, ("rangeunit", "=", "day"), ("range", "=", 7)) == [old["id"], recent["id"]]
    assert _session_ids(spp, ("rangeunit", "=", "day"), ("range", "=", 2)) == [recent["id"]]


def test_a_coverage_report_reads_the_protection_sessions_of_7_days_in_one_page(spp, fresh_vm):
    old = spp.backup(fresh_vm)
    spp.admin("POST", "/age", {"hours": 5 * 24, "sessions": [old["id"]]})
    recent = spp.backup(fresh_vm)
    inventory = _run_job(spp, "Hypervisor Inventory")
    too_old = spp.backup(fresh_vm)
    spp.admin("POST", "/age", {"hours": 8 * 24, "sessions": [too_old["id"]]})

    week = _now_ms() - 7 * 24 * HOUR_MS
    page = spp.get(SESSIONS, filter=_filter(("start", ">=", week), ("type", "=", "protection")), pageSize=10000)
    assert [s["id"] for s in page["sessions"]] == [old["id"], recent["id"]]
    assert page["total"] == 2 and "nextPage" not in page["links"]
    by_service = _session_ids(spp, ("start", ">=", week), ("serviceId", "=", "serviceprovider.protection.hypervisor"))
    assert by_service == [old["id"], recent["id"]]
    assert _session_ids(spp, ("start", ">=", week), ("type", "=", "catalog")) == [inventory["id"]]


def test_aging_everything_moves_every_version_and_session(spp, fresh_vm):
    session = spp.backup(fresh_vm)
    protection_time = _protection_time(spp, fresh_vm)
    restore = spp.restore(fresh_vm, "clone")  # the admin API's record of it names the restored point by id and time
    assert spp.restores(restore)[0]["protectionTime"] == protection_time
    state = spp.admin("GET", "/state")

    answer = spp.admin("POST", "/age", {"hours": 1.5})

    assert answer == {
        "aged_versions": sum(len(versions) for versions in state["versions"].values()),
        "aged_sessions": len(state["sessions"]),
    }
    assert answer["aged_versions"] >= 1 and answer["aged_sessions"] >= 1
    assert _protection_time(spp, fresh_vm) == protection_time - 90 * 60_000
    assert spp.session(session["id"])["start"] == session["start"] - 90 * 60_000
    restored = spp.session(restore["id"])
    assert restored["start"] == restore["start"] - 90 * 60_000
    assert spp.restores(restored)[0]["protectionTime"] == protection_time - 90 * 60_000
    job = spp.job("vmware_Gold")
    assert (job["lastRunTime"], job["lastrun"]["end"]) == (session["start"] - 90 * 60_000, session["end"] - 90 * 60_000)


def _age_error(spp, body, status):
    response = spp.http.post(f"{spp.admin_url}/age", json=body, timeout=30)
    assert response.status_code == status, response.text
    error = response.json()
    assert set(error) == {"id", "description", "title"} and error["description"], error
    return error


def test_unknown_vms_or_sessions_get_404_and_bad_hours_400_without_any_change(spp, fresh_vm):
    session = spp.backup(fresh_vm)
    protection_time = _protection_time(spp, fresh_vm)

    assert "vm-999999" in _age_error(spp, {"hours": 1, "vms": [fresh_vm["id"], "vm-999999"]}, 404)["description"]
    assert "42" in _age_error(spp, {"hours": 1, "vms": [fresh_vm["id"]], "sessions": ["42"]}, 404)["description"]
    for hours in (0, -1, "48", True, None, [1]):
        _age_error(spp, {"hours": hours, "vms": [fresh_vm["id"]]}, 400)
    _age_error(spp, {"vms": [fresh_vm["id"]]}, 400)
    _age_error(spp, {"hours": 1, "vms": fresh_vm["id"]}, 400)
    _age_error(spp, {"hours": 1, "sessions": []}, 400)

    assert _protection_time(spp, fresh_vm) == protection_time
    assert spp.session(session["id"])["start"] == session["start"]
    # The VM's id and its moref name the same VM: its points move once.
    both = spp.admin("POST", "/age", {"hours": 1, "vms": [fresh_vm["id"], fresh_vm["nativeObject"]["mor"]["val"]]})
    assert both == {"aged_versions": 1, "aged_sessions": 0}
    assert _protection_time(spp, fresh_vm) == protection_time - HOUR_MS
