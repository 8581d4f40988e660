# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compliance flags, their reasons, the summary and the pipeline gate are pure functions of the joined inventory."""

from __future__ import annotations

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure import coverage_model
from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import InvalidRequest
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import jobs as spp_jobs

NOW = 1_763_777_470_000  # 2025-11-22T02:11:10Z
HOUR_MS = 3_600_000
DAY = 86_400
HELD = {"Gold": False, "Silver": False, "Frozen": True}


def record(name, policies=(), known=True, power="poweredOn", snapshots=False, disks=None):
    return {
        "name": name, "moref": "vm-" + name, "instance_uuid": "u-" + name, "spp_id": "s-" + name if known else None,
        "known_to_backup": known, "power_state": power, "has_snapshots": snapshots, "policies": sorted(policies),
        "disks": disks if disks is not None else [{"label": "Hard disk 1", "mode": "normal", "policies": []}],
        "nics": [{"label": "Network adapter 1"}],
    }


def disk(label, mode="normal", policies=()):
    return {"label": label, "mode": mode, "policies": list(policies)}


def assess(rec, last_hours_ago=1, rpo=DAY, with_disks=True):
    last = None if last_hours_ago is None else NOW - int(last_hours_ago * HOUR_MS)
    return coverage_model.assess_vm(rec, HELD, last, NOW, rpo, with_disks)


@pytest.mark.parametrize("text, seconds", [("24h", 86400), ("90m", 5400), ("7d", 604800), ("1d12h", 129600),
                                           ("1w", 604800), (" 30 s ", 30), ("2H", 7200)])
def test_rpo_durations(text, seconds):
    assert coverage_model.parse_rpo(text) == seconds


@pytest.mark.parametrize("text", ["", "24", "h", "1y", "24h!", "0h", "-1h", None])
def test_rpo_rejects_what_is_not_a_duration(text):
    with pytest.raises(InvalidRequest):
        coverage_model.parse_rpo(text)


def test_a_protected_recently_backed_up_vm_is_compliant():
    assert assess(record("ok", ["Gold"])) == ([], {}, [])


def test_unknown_to_backup_is_also_unprotected_and_a_violation_when_running():
    flags, reasons, _held = assess(record("new", known=False), last_hours_ago=None)
    assert flags == ["unknown_to_backup", "unprotected", "violation"]
    assert "never inventoried" in reasons["unknown_to_backup"]
    flags, _reasons, _held = assess(record("new", known=False, power="poweredOff"), last_hours_ago=None)
    assert flags == ["unknown_to_backup", "unprotected"]


def test_no_policy_running_is_a_violation_and_never_stale():
    flags, reasons, _held = assess(record("bare"), last_hours_ago=None)
    assert flags == ["unprotected", "violation"]
    assert reasons["violation"].startswith("powered on while unprotected")


def test_held_only_counts_deleted_policies_as_held_and_names_them():
    flags, reasons, held = assess(record("frozen", ["Frozen", "Deleted"]))
    assert flags == ["held_only", "violation"]
    assert held == ["Deleted", "Frozen"] and "Deleted, Frozen" in reasons["held_only"]
    assert "every policy is held" in reasons["violation"]


def test_one_usable_policy_is_enough():
    flags, _reasons, held = assess(record("mixed", ["Frozen", "Gold"]))
    assert flags == [] and held == ["Frozen"]


def test_held_only_powered_off_is_no_violation():
    assert assess(record("frozen", ["Frozen"], power="poweredOff"))[0] == ["held_only"]


def test_stale_when_older_than_rpo_or_never_backed_up():
    flags, reasons, _held = assess(record("old", ["Gold"]), last_hours_ago=49)
    assert flags == ["stale"]
    assert "49 h old" in reasons["stale"] and "RPO of 24 h" in reasons["stale"]
    assert assess(record("edge", ["Gold"]), last_hours_ago=23.9)[0] == []
    flags, reasons, _held = assess(record("never", ["Gold"]), last_hours_ago=None)
    assert flags == ["stale"] and reasons["stale"].startswith("never backed up")
    assert "12 days old" in assess(record("old", ["Gold"]), last_hours_ago=300)[1]["stale"]


def test_stale_follows_the_rpo():
    assert assess(record("vm", ["Gold"]), last_hours_ago=3, rpo=2 * 3600)[0] == ["stale"]
    assert assess(record("vm", ["Gold"]), last_hours_ago=3, rpo=4 * 3600)[0] == []


def test_blocked_first_backup_only_before_the_first_backup():
    flags, reasons, _held = assess(record("snap", ["Gold"], snapshots=True), last_hours_ago=None)
    assert flags == ["stale", "blocked_first_backup"] and "snapshots" in reasons["blocked_first_backup"]
    assert assess(record("snap", ["Gold"], snapshots=True), last_hours_ago=1)[0] == []


def test_partially_covered_by_independent_and_rdm_disks():
    rec = record("db", ["Gold"], disks=[disk("Hard disk 1"), disk("Hard disk 2", "independent"),
                                        disk("Hard disk 3", "rdm")])
    flags, reasons, _held = assess(rec)
    assert flags == ["partially_covered"]
    assert reasons["partially_covered"] == ("Hard disk 2 is independent: snapshots do not capture it; "
                                            "Hard disk 3 is an RDM: snapshots do not capture it.")


def test_partially_covered_by_disks_without_policy_at_disk_level_only():
    rec = record("data", disks=[disk("Hard disk 1", policies=["Gold"]), disk("Hard disk 2")])
    flags, reasons, _held = assess(rec)
    assert flags == ["partially_covered"]
    assert "Hard disk 2 has no policy while the VM is protected at disk level" in reasons["partially_covered"]
    # A VM-level policy covers every (snapshot-able) disk.
    rec["policies"] = ["Silver"]
    assert assess(rec)[0] == []


def test_partially_covered_is_not_evaluated_without_disks():
    rec = record("db", ["Gold"], disks=[disk("Hard disk 2", "independent")])
    assert assess(rec, with_disks=False)[0] == []


def test_disk_level_policies_held():
    rec = record("data", disks=[disk("Hard disk 1", policies=["Frozen"])], power="poweredOff")
    assert assess(rec)[0] == ["held_only"]


def _session(start_hours_ago, status, kind="protection"):
    return {"start": NOW - int(start_hours_ago * HOUR_MS), "status": status, "type": kind}


def test_job_outcomes_for_24h_7d_and_per_day():
    sessions = [
        _session(1, "COMPLETED"), _session(2, "PARTIAL"), _session(3, "RUNNING"), _session(0.5, "PENDING"),
        _session(30, "FAILED"), _session(50, "CANCELLED"), _session(100, "COMPLETED"),
        _session(24 * 8, "FAILED"),  # older than 7 days
        _session(1, "COMPLETED", kind="catalog"),  # an inventory run is not a backup
        {"start": None, "status": "COMPLETED", "type": "protection"},
    ]
    jobs = coverage_model.summarize_jobs(sessions, NOW)
    assert jobs["last_24h"] == {"successful": 1, "failed": 0, "partial": 1, "running": 2, "total": 4}
    assert jobs["last_7d"] == {"successful": 2, "failed": 2, "partial": 1, "running": 2, "total": 7}
    assert [day["date"] for day in jobs["per_day"]] == ["2025-11-%02d" % d for d in range(16, 23)]
    by_date = {day["date"]: day for day in jobs["per_day"]}
    # NOW is 02:11 UTC: 1, 2 and 0.5 hours ago are today, 3 hours ago is yesterday.
    assert by_date["2025-11-22"] == {"date": "2025-11-22", "successful": 1, "failed": 0, "partial": 1, "running": 1}
    assert by_date["2025-11-21"]["running"] == 1 and by_date["2025-11-21"]["failed"] == 0
    assert by_date["2025-11-20"]["failed"] == 2 and by_date["2025-11-19"]["failed"] == 0  # 30 h and 50 h ago
    assert by_date["2025-11-17"]["successful"] == 1


def _assessed(records, include=("disks", "nics", "jobs"), last=None, source="latestversion"):
    last = last or {}
    last_backups = {r["spp_id"]: {"time": last.get(r["name"]), "policy": "Gold" if r["name"] in last else None,
                                  "source": source if r["name"] in last else "recovery_search"}
                    for r in records}
    coverage_model.assess(records, [], last_backups, HELD, NOW, DAY, set(include))
    return records


def test_assess_adds_the_compliance_keys_and_drops_what_was_not_read():
    rec = _assessed([record("ok", ["Gold"])], last={"ok": NOW - HOUR_MS})[0]
    assert rec["last_backup"] == "2025-11-22T01:11:10Z" and rec["last_backup_policy"] == "Gold"
    assert rec["last_backup_source"] == "latestversion"
    assert rec["flags"] == [] and rec["compliant"] and rec["reasons"] == {} and rec["held_policies"] == []
    assert rec["disks"] and rec["nics"]
    rec = _assessed([record("ok", ["Gold"])], include=())[0]
    assert rec["disks"] is None and rec["nics"] is None and rec["flags"] == ["stale"] and not rec["compliant"]


def test_summary_counts_flags_policies_and_jobs():
    known = _assessed([
        record("a", ["Gold", "Silver"]), record("b", disks=[disk("Hard disk 1", policies=["Silver"])]),
        record("c"), record("d", ["Frozen"], power="poweredOff"),
    ], last={"a": NOW - HOUR_MS, "b": NOW - HOUR_MS})
    unknown = [record("e", known=False)]
    coverage_model.assess([], unknown, {}, HELD, NOW, DAY, {"disks", "nics", "jobs"})
    summary = coverage_model.summarize(known, unknown, [{"name": "gone"}], HELD, {"disks", "nics", "jobs"}, "24h", DAY,
                                       NOW, [_session(1, "COMPLETED")])
    assert {k: summary[k] for k in ("vms", "known_to_backup", "unknown_to_backup", "backup_only", "compliant",
                                    "non_compliant", "with_vm_policy", "with_disk_policy_only", "without_policy")} == {
        "vms": 5, "known_to_backup": 4, "unknown_to_backup": 1, "backup_only": 1, "compliant": 2, "non_compliant": 3,
        "with_vm_policy": 2, "with_disk_policy_only": 1, "without_policy": 2}
    assert summary["flags"] == {"unknown_to_backup": 1, "unprotected": 2, "held_only": 1, "stale": 1,
                                "blocked_first_backup": 0, "partially_covered": 0, "violation": 2}
    assert summary["per_policy"] == {"Frozen": {"vms": 1, "held": True}, "Gold": {"vms": 1, "held": False},
                                     "Silver": {"vms": 2, "held": False}}
    assert summary["rpo"] == "24h" and summary["rpo_seconds"] == DAY
    assert summary["generated_at"] == "2025-11-22T02:11:10Z"
    assert summary["jobs"]["last_24h"]["successful"] == 1
    assert summary["last_backup_sources"] == {"latestversion": 2, "recovery_search": 2}, "the unknown VM has no source"


def test_a_vm_never_backed_up_says_where_that_was_read():
    rec = _assessed([record("new", ["Gold"])])[0]
    assert rec["last_backup"] is None and rec["last_backup_policy"] is None
    assert rec["last_backup_source"] == "recovery_search" and "stale" in rec["flags"]
    listed = _assessed([record("old", ["Gold"])], last={"old": NOW - HOUR_MS}, source="vm_listing")[0]
    assert listed["last_backup_source"] == "vm_listing" and listed["compliant"]


def test_latest_protection_reads_one_entry_of_last_backups():
    assert coverage_model.latest_protection(None) == (None, None, None)
    assert coverage_model.latest_protection({"time": 5, "policy": "Gold", "source": "latestversion"}) == \
        (5, "Gold", "latestversion")
    assert coverage_model.latest_protection({"time": None, "policy": "Gold", "source": "recovery_search"}) == \
        (None, None, "recovery_search")


def test_summary_leaves_unread_data_null():
    recs = _assessed([record("a", ["Gold"])], include=())
    summary = coverage_model.summarize(recs, [], [], HELD, set(), "24h", DAY, NOW, None)
    assert summary["jobs"] is None and summary["flags"]["partially_covered"] is None
    assert summary["flags"]["stale"] == 1


def test_gate_lists_every_offender_with_reason_and_fix():
    recs = _assessed([record("web02"), record("web01"), record("frozen", ["Frozen"]), record("ok", ["Gold"])],
                     last={"ok": NOW})
    with pytest.raises(coverage_model.CoverageGateFailed) as caught:
        coverage_model.gate(recs, [], ["violation", "unprotected"], {"vms": 4})
    error = caught.value
    assert error.details["failed_vms"] == ["frozen", "web01", "web02"]
    assert error.details["offenders"] == {"violation": ["frozen", "web01", "web02"], "unprotected": ["web01", "web02"]}
    assert error.details["summary"] == {"vms": 4}
    lines = error.message.splitlines()
    assert lines[0] == "3 VM(s) fail the coverage gate (unprotected, violation):"
    assert lines[1].startswith("- [unprotected] web01: no backup policy") and "Fix: assign a policy" in lines[1]
    assert len(lines) == 6
    coverage_model.gate(recs, [], ["blocked_first_backup"], {})  # nobody carries it: no error


def test_include_and_fail_on_are_checked_together():
    assert coverage_model.validate_include(["disks", "jobs"]) == {"disks", "jobs"}
    with pytest.raises(InvalidRequest, match="needs include: disks"):
        coverage_model.validate_include(["jobs"], ["partially_covered"])
    with pytest.raises(InvalidRequest, match="unknown include"):
        coverage_model.validate_include(["everything"])
    with pytest.raises(InvalidRequest, match="unknown fail_on"):
        coverage_model.validate_include([], ["bad"])


def test_backup_sessions_are_filtered_by_the_server_and_again_locally():
    class FakeSpp:
        def __init__(self):
            self.calls = []

        def paginate(self, path, key, params=None, page_size=1000):
            self.calls.append((path, key, params, page_size))
            return [_session(1, "COMPLETED"), _session(1, "COMPLETED", kind="catalog"), _session(24 * 9, "FAILED")]

    spp = FakeSpp()
    sessions = spp_jobs.list_backup_sessions(spp, NOW - 7 * DAY * 1000)
    assert len(sessions) == 1 and len(spp.calls) == 1
    assert '"property": "start"' in spp.calls[0][2]["filter"] and '"protection"' in spp.calls[0][2]["filter"]
