# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""backup_inventory as a coverage report: a lab of its own holds one VM in each flag's situation, built through the
collection's modules, vCenter and the emulator's clock; every flag, reason and summary count is asserted, and the
report is checked against what both servers say (pyVmomi and the emulator's own record, never the collection's
readers).

Under the emulator's public-record profile (spp-api.md 14.17) jobs show no hold link, so no policy can be held: the
Frozen policy stays as it is (``backup_sla_policy`` refuses clearly), and the VM that only has it is merely stale.
There the VM listing carries no last backup time and the vdisk search answers 404: the report reads the VMs with
recovery points in one search, then the ``latestversion`` of those and each VM's ``links.vdisks``, at most one read of
each per VM.
"""

from __future__ import annotations

import datetime

import pytest

import vcenter
from conftest import Environment, _external_env
from lab import Lab

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("coverage_lab")]  # one lab of its own, built once
TARGET = "coverage"
FAST = {"poll_interval": 1}

# name -> flags the report must give, in the report's order
EXPECTED = {
    "DC0_H0_VM0": [],  # Gold, backed up now
    "DC0_H0_VM1": ["stale"],  # Gold, last backup 48 h ago
    "DC0_H0_VM2": ["unprotected", "violation"],  # no policy, running
    "DC0_C0_RP0_VM0": ["held_only", "stale", "violation"],  # only Frozen (held), running, never backed up
    "DC0_C0_RP0_VM1": ["partially_covered"],  # Gold, backed up, with an independent disk
    "DC0_C0_RP0_VM2": ["stale", "partially_covered"],  # Offsite on Hard disk 1 only, Hard disk 2 without policy
    "cov-snap": ["stale", "blocked_first_backup"],  # Gold, powered off, has a snapshot, never backed up
    "cov-new": ["unknown_to_backup", "unprotected", "violation"],  # cloned and started after the last inventory
}
REASONS = {
    ("DC0_H0_VM1", "stale"): "is 48 h old, older than the RPO of 24 h",
    ("DC0_H0_VM2", "unprotected"): "no backup policy at VM or disk level",
    ("DC0_H0_VM2", "violation"): "powered on while unprotected",
    ("DC0_C0_RP0_VM0", "held_only"): "every policy is held or no longer exists (Frozen)",
    ("DC0_C0_RP0_VM0", "stale"): "never backed up, although Frozen is assigned",
    ("DC0_C0_RP0_VM0", "violation"): "powered on while every policy is held",
    ("DC0_C0_RP0_VM1", "partially_covered"): "Hard disk 2 is independent: snapshots do not capture it.",
    ("DC0_C0_RP0_VM2", "partially_covered"): "Hard disk 2 has no policy while the VM is protected at disk level.",
    ("cov-snap", "blocked_first_backup"): "has vSphere snapshots and has never been backed up",
    ("cov-new", "unknown_to_backup"): "never inventoried",
}


@pytest.fixture(scope="module")
def coverage_lab(tmp_path_factory):
    """A lab of its own, so that the summary counts are exact; it needs the emulator's clock (``/age``)."""
    if _external_env():
        pytest.skip("builds VMs in every flag's situation with the SPP emulator's admin API")
    lab = Lab(str(tmp_path_factory.mktemp("coverage-lab")), vms=3, cluster_hosts=2, hosts=1, speed=0.05)
    lab.start()
    try:
        env = Environment(lab.env, emulated=True)
        env.frozen_held = _build_every_situation(env)
        yield env
    finally:
        lab.stop()


def expected_flags(held):
    """EXPECTED, for a lab where the Frozen policy could be held (``held``) or not (public-record profile)."""
    flags = dict(EXPECTED)
    if not held:
        flags["DC0_C0_RP0_VM0"] = ["stale"]  # Frozen is assigned and usable: never backed up, nothing more
    return flags


def expected_reasons(held):
    return {key: text for key, text in REASONS.items()
            if held or key not in (("DC0_C0_RP0_VM0", "held_only"), ("DC0_C0_RP0_VM0", "violation"))}


def _session_ids(lab):
    return {s["id"] for s in lab.admin("GET", "/state")["sessions"] if s["type"] == "protection"}


def _build_every_situation(lab):
    """Every flag's situation; returns whether the Frozen policy could be held."""
    lab.module("backup_sla_policy", {"name": "Frozen", "site": "Primary", "retention": {"days": 7}})
    lab.module("backup_sla_policy", {"name": "Offsite", "site": "Secondary", "retention": {"days": 7}})
    with lab.vcenter() as client:
        vcenter.add_disk(client, "DC0_C0_RP0_VM1", "Hard disk 2", disk_mode="independent_persistent")
        vcenter.add_disk(client, "DC0_C0_RP0_VM2", "Hard disk 2")
        vcenter.clone_vm(client, "DC0_H0_VM0", "cov-snap", power_on=False)
        vcenter.take_snapshot(client, "cov-snap")
    lab.admin("POST", "/inventory")
    lab.module("vm_backup_policy", {"assignments": [
        {"vm": "DC0_H0_VM0", "policies": ["Gold"]},
        {"vm": "DC0_H0_VM1", "policies": ["Gold"]},
        {"vm": "DC0_C0_RP0_VM0", "policies": ["Frozen"]},
        {"vm": "DC0_C0_RP0_VM1", "policies": ["Gold"]},
        {"vm": "DC0_C0_RP0_VM2", "disk": "Hard disk 1", "policies": ["Offsite"]},
        {"vm": "cov-snap", "policies": ["Gold"]},
    ]})
    held = "hold" in (lab.spp.job("vmware_Frozen") or {}).get("links", {})
    if held:
        lab.module("backup_sla_policy", {"name": "Frozen", "held": True})
    else:  # the public record shows no hold link: refused, naming the job's links, and nothing changes
        refused = lab.module("backup_sla_policy", {"name": "Frozen", "held": True}, expect_rc=2)
        assert "offers no 'hold' action" in refused["msg"] and "Nothing was changed" in refused["msg"], refused["msg"]
        assert lab.spp.held_jobs() == []

    # Two days ago: one good backup of DC0_H0_VM1.
    lab.module("vm_backup_run", dict(FAST, vms=["DC0_H0_VM1"]))
    old_sessions = sorted(_session_ids(lab))
    vm_ids = [vm_id for vm_id, vm in lab.admin("GET", "/state")["vms"].items() if vm["name"] == "DC0_H0_VM1"]
    aged = lab.admin("POST", "/age", {"hours": 48, "vms": vm_ids, "sessions": old_sessions})
    assert aged == {"aged_versions": 1, "aged_sessions": 1}
    # Today: one good session for two VMs, and one failed session.
    lab.module("vm_backup_run", dict(FAST, vms=["DC0_H0_VM0", "DC0_C0_RP0_VM1"]))
    lab.admin("POST", "/vm-failure", {"vm": "DC0_H0_VM0", "count": 1, "message": "datastore full"})
    lab.module("vm_backup_run", dict(FAST, vms=["DC0_H0_VM0"]), expect_rc=2)

    with lab.vcenter() as client:
        vcenter.clone_vm(client, "DC0_H0_VM2", "cov-new")
        vcenter.power_on(client, "cov-new")
    return held


def everything(result):
    return {vm["name"]: vm for vm in result["vms"] + result["vcenter_only"]}


def test_every_flag_with_its_reason(coverage_lab):
    result = coverage_lab.module(TARGET, {"rpo": "24h"})
    assert result["changed"] is False
    vms = everything(result)
    assert {name: vm["flags"] for name, vm in vms.items()} == expected_flags(coverage_lab.frozen_held)
    for (name, flag), text in expected_reasons(coverage_lab.frozen_held).items():
        assert text in vms[name]["reasons"][flag], (name, flag, vms[name]["reasons"])
    for name, vm in vms.items():
        assert sorted(vm["reasons"]) == sorted(vm["flags"]), name
        assert vm["compliant"] is (not vm["flags"])
    assert [vm["name"] for vm in result["vcenter_only"]] == ["cov-new"]
    assert vms["DC0_C0_RP0_VM0"]["held_policies"] == (["Frozen"] if coverage_lab.frozen_held else [])
    assert vms["DC0_C0_RP0_VM2"]["policies"] == [] and vms["DC0_C0_RP0_VM2"]["disks"][0]["policies"] == ["Offsite"]
    assert vms["DC0_H0_VM0"]["last_backup_policy"] == "Gold"
    # Where each time was read: the recovery point search for the VMs it does not list (never backed up), else the
    # VM listing or, when the listing lacks the time (public record), the VM's latestversion.
    read_from = "vm_listing" if coverage_lab.admin("GET", "/profile")["profile"] != "public-record" else "latestversion"
    assert vms["DC0_H0_VM0"]["last_backup_source"] == read_from
    assert vms["cov-snap"]["last_backup_source"] == "recovery_search" and vms["cov-new"]["last_backup_source"] is None
    assert result["summary"]["last_backup_sources"] == {read_from: 3, "recovery_search": 4}


def test_summary_counts(coverage_lab):
    summary = coverage_lab.module(TARGET, {})["summary"]
    held = coverage_lab.frozen_held
    assert {key: summary[key] for key in ("vms", "known_to_backup", "unknown_to_backup", "backup_only", "compliant",
                                          "non_compliant", "with_vm_policy", "with_disk_policy_only",
                                          "without_policy")} == {
        "vms": 8, "known_to_backup": 7, "unknown_to_backup": 1, "backup_only": 0, "compliant": 1,
        "non_compliant": 7, "with_vm_policy": 5, "with_disk_policy_only": 1, "without_policy": 2}
    assert summary["flags"] == {"unknown_to_backup": 1, "unprotected": 2, "held_only": int(held), "stale": 4,
                                "blocked_first_backup": 1, "partially_covered": 2, "violation": 2 + held}
    assert summary["per_policy"] == {"Bronze": {"vms": 0, "held": False}, "Frozen": {"vms": 1, "held": held},
                                     "Gold": {"vms": 4, "held": False}, "Offsite": {"vms": 1, "held": False},
                                     "Silver": {"vms": 0, "held": False}}
    assert summary["rpo"] == "24h" and summary["rpo_seconds"] == 86400

    jobs = summary["jobs"]
    assert jobs["last_24h"] == {"successful": 1, "failed": 1, "partial": 0, "running": 0, "total": 2}
    assert jobs["last_7d"] == {"successful": 2, "failed": 1, "partial": 0, "running": 0, "total": 3}
    today = datetime.datetime.now(datetime.timezone.utc).date()
    days = [(today - datetime.timedelta(days=n)).isoformat() for n in range(6, -1, -1)]
    assert [day["date"] for day in jobs["per_day"]] == days
    per_day = {day["date"]: (day["successful"], day["failed"], day["partial"], day["running"])
               for day in jobs["per_day"]}
    two_days_ago = (today - datetime.timedelta(days=2)).isoformat()
    assert per_day[days[-1]] == (1, 1, 0, 0) and per_day[two_days_ago] == (1, 0, 0, 0)
    assert sum(sum(counts) for counts in per_day.values()) == 3


def test_report_agrees_with_both_servers(coverage_lab):
    vms = everything(coverage_lab.module(TARGET, {}))
    listed = coverage_lab.spp.vms()
    with coverage_lab.vcenter() as client:
        for name, vm in vms.items():
            assert vcenter.power_state(client, name) == vm["power_state"], name
    for name, vm in vms.items():
        if name not in listed:
            assert vm["flags"][0] == "unknown_to_backup"
            continue
        assert listed[name]["policies"] == vm["policies"], name
        protection = listed[name]["protection_time"]
        expected = (datetime.datetime.fromtimestamp(protection / 1000, datetime.timezone.utc)
                    .strftime("%Y-%m-%dT%H:%M:%SZ") if protection else None)
        assert vm["last_backup"] == expected, name


def test_rpo_decides_what_is_stale(coverage_lab):
    vms = everything(coverage_lab.module(TARGET, {"rpo": "3d", "include": []}))
    assert vms["DC0_H0_VM1"]["flags"] == [], "48 h is within an RPO of 3 days"
    assert vms["DC0_C0_RP0_VM0"]["flags"] == expected_flags(coverage_lab.frozen_held)["DC0_C0_RP0_VM0"], \
        "never backed up stays stale"


def assert_reads_in_bulk(lab, counts):
    """Listings and searches only: no request names one VM, except where the profile has no bulk route (the public
    record: each VM's vdisks, and the latestversion of each VM with recovery points), and then one read per VM."""
    # Two searches: the backup server's vdisks (disk-level policies are always read; 404 on record) and the VMs that
    # have recovery points.
    assert counts.get("POST /api/hypervisor/search") == 2, counts
    per_vm = {key: count for key, count in counts.items() if "/vm/" in key}
    if lab.admin("GET", "/profile")["profile"] != "public-record":
        assert not per_vm, counts
        return
    known = list(lab.admin("GET", "/state")["vms"])
    disks = {key for key in per_vm if key.endswith("/vdisk")}
    assert disks == {"GET /api/hypervisor/1001/vm/%s/vdisk" % vm_id for vm_id in known}, per_vm
    latest = {key for key in per_vm if key.endswith("/latestversion")}
    assert len(latest) == 3, "only the 3 VMs with recovery points"
    assert set(per_vm) == disks | latest and set(per_vm.values()) == {1}, per_vm


def test_include_nothing_reads_no_disks_and_no_sessions(coverage_lab):
    coverage_lab.admin("DELETE", "/requests")
    result = coverage_lab.module(TARGET, {"include": []})
    counts = coverage_lab.admin("GET", "/requests")["counts"]
    assert not any("jobsession" in key for key in counts), counts
    assert_reads_in_bulk(coverage_lab, counts)
    vms = everything(result)
    assert all(vm["disks"] is None and vm["nics"] is None for vm in vms.values())
    assert vms["DC0_C0_RP0_VM1"]["flags"] == [], "partially_covered needs the disks"
    assert result["summary"]["flags"]["partially_covered"] is None and result["summary"]["jobs"] is None
    assert result["summary"]["flags"]["violation"] == 2 + coverage_lab.frozen_held


def test_full_report_makes_no_per_vm_call(coverage_lab):
    coverage_lab.admin("DELETE", "/requests")
    coverage_lab.module(TARGET, {})
    counts = coverage_lab.admin("GET", "/requests")["counts"]
    assert_reads_in_bulk(coverage_lab, counts)
    assert counts.get("GET /api/endeavour/jobsession") == 1, "one page of sessions (total 0 on record: a short page)"


def test_fail_on_lists_the_vms_concerned(coverage_lab):
    result = coverage_lab.module(TARGET, {"fail_on": ["violation", "blocked_first_backup"]}, expect_rc=2)
    held = ["DC0_C0_RP0_VM0"] if coverage_lab.frozen_held else []
    assert result["failed_vms"] == held + ["DC0_H0_VM2", "cov-new", "cov-snap"]
    assert result["offenders"] == {"violation": held + ["DC0_H0_VM2", "cov-new"],
                                   "blocked_first_backup": ["cov-snap"]}
    message = result["msg"]
    assert message.startswith("%d VM(s) fail the coverage gate (blocked_first_backup, violation):" % (3 + len(held))), \
        message
    assert "- [violation] cov-new: powered on while unprotected" in message
    assert "- [blocked_first_backup] cov-snap: has vSphere snapshots" in message and "Fix: " in message
    assert result["summary"]["flags"]["violation"] == 2 + len(held), "the failed gate still reports the summary"
    cheap = coverage_lab.module(TARGET, {"fail_on": ["blocked_first_backup"], "include": []}, expect_rc=2)
    assert cheap["failed_vms"] == ["cov-snap"], "the gate works on the cheapest read too"


def test_fail_on_a_flag_that_include_leaves_out_is_refused(coverage_lab):
    result = coverage_lab.module(TARGET, {"fail_on": ["partially_covered"], "include": ["jobs"]}, expect_rc=2)
    assert "fail_on partially_covered needs include: disks" in result["msg"]


def test_unknown_rpo_is_refused(coverage_lab):
    result = coverage_lab.module(TARGET, {"rpo": "one day"}, expect_rc=2)
    assert "rpo 'one day' is not a duration" in result["msg"]


def test_nics_only_on_request(coverage_lab):
    default = everything(coverage_lab.module(TARGET, {}))
    assert all(vm["nics"] is None and vm["disks"] for vm in default.values()), "NICs are not coverage data"
    asked = everything(coverage_lab.module(TARGET, {"include": ["nics"]}))
    with coverage_lab.vcenter() as client:
        macs = vcenter.macs(client, "DC0_H0_VM0")
    assert sorted(nic["mac"] for nic in asked["DC0_H0_VM0"]["nics"]) == macs
    assert asked["DC0_H0_VM0"]["disks"] is None
