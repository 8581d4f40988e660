# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""vm_backup_run's decisions: targets, pre-flight, grouping, skip, outcomes, messages."""

from __future__ import annotations

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import InvalidRequest, RuleViolation
from ansible_collections.sovereign.vm_backup.plugins.module_utils._time import iso_time, parse_duration
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure import backup_run_plan as plan

HOUR_MS = 3600 * 1000
NOW = 1_800_000_000_000


def record(name, moref, policies=(), known=True, snapshots=False, disks=None, uuid=None):
    return {"name": name, "moref": moref, "instance_uuid": uuid or "uuid-" + moref, "spp_id": "spp-" + moref if known else None,
            "known_to_backup": known, "policies": sorted(policies), "has_snapshots": snapshots,
            "disks": disks if disks is not None else [{"label": "Hard disk 1", "mode": "normal", "policies": []}]}


# -- durations and times --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, seconds", [("30m", 1800), ("4h", 14400), ("1d", 86400), ("1h30m", 5400),
                                           ("2w", 1209600), (" 45 s ", 45), ("1H", 3600)])
def test_parse_duration(text, seconds):
    assert parse_duration(text, "skip_if_backed_up_within") == seconds


@pytest.mark.parametrize("text", ["", "4", "h", "4x", "4h-1m", "0m", "-1h", "1.5h"])
def test_parse_duration_rejects(text):
    with pytest.raises(InvalidRequest) as caught:
        parse_duration(text, "skip_if_backed_up_within")
    assert "skip_if_backed_up_within" in str(caught.value)


def test_iso_time():
    assert iso_time(0) == "1970-01-01T00:00:00Z"
    assert iso_time(None) is None


# -- targets ------------------------------------------------------------------------------------------------------

def test_resolve_targets_by_name_moref_and_uuid_in_order_without_repeats():
    records = [record("web01", "vm-1"), record("db01", "vm-2", uuid="5003-aa"), record("app", "vm-3")]
    targets, problems = plan.resolve_targets(["db01", "vm-1", "5003-aa", "web01"], records)
    assert [t["moref"] for t in targets] == ["vm-2", "vm-1"] and problems == []


def test_resolve_targets_lists_every_unknown_and_ambiguous_name():
    records = [record("twin", "vm-1"), record("twin", "vm-2"), record("web01", "vm-3")]
    targets, problems = plan.resolve_targets(["twin", "ghost", "web01", "vm-2"], records)
    assert [t["moref"] for t in targets] == ["vm-3", "vm-2"]
    assert [(p["rule"], p["vm"]) for p in problems] == [("ambiguous_name", "twin"), ("vm_not_found", "ghost")]
    assert "vm-1, vm-2" in problems[0]["reason"]


def test_policy_members_include_disk_level_assignments():
    disk_only = record("d", "vm-2", disks=[{"label": "Hard disk 2", "mode": "normal", "policies": ["Gold"]}])
    records = [record("a", "vm-1", ["Gold"]), disk_only, record("c", "vm-3", ["Silver"])]
    assert [r["name"] for r in plan.policy_members(records, "Gold")] == ["a", "d"]


# -- pre-flight ---------------------------------------------------------------------------------------------------

def test_choose_policy_first_vm_level_policy_not_held():
    vm = record("web01", "vm-1", ["Bronze", "Gold", "Silver"])
    assert plan.choose_policy(vm, held=set()) == ("Bronze", None)
    assert plan.choose_policy(vm, held={"Bronze"}) == ("Gold", None)


def test_choose_policy_explicit_must_be_one_of_the_vm_policies_and_not_held():
    vm = record("web01", "vm-1", ["Gold"], disks=[{"label": "Hard disk 2", "mode": "normal", "policies": ["DR"]}])
    assert plan.choose_policy(vm, set(), "DR") == ("DR", None)
    sla, problem = plan.choose_policy(vm, set(), "Silver")
    assert sla is None and problem["rule"] == "policy_not_assigned" and "Gold, DR (disk)" in problem["reason"]
    sla, problem = plan.choose_policy(vm, {"Gold"}, "Gold")
    assert sla is None and problem["rule"] == "policy_held" and "backup_sla_policy" in problem["fix"]


def test_choose_policy_without_policies():
    assert plan.choose_policy(record("a", "vm-1"), set())[1]["rule"] == "no_policy"
    disk_only = record("b", "vm-2", disks=[{"label": "Hard disk 2", "mode": "normal", "policies": ["DR"]}])
    sla, problem = plan.choose_policy(disk_only, set())
    assert sla is None and problem["rule"] == "no_policy" and "only disks carry policies (DR)" in problem["reason"]
    sla, problem = plan.choose_policy(record("c", "vm-3", ["Gold", "Silver"]), {"Gold", "Silver"})
    assert sla is None and problem["rule"] == "all_policies_held" and "Gold, Silver" in problem["reason"]


def test_preflight_reports_every_refusal_of_every_target():
    targets = [
        record("fine", "vm-1", ["Gold"]),
        record("new", "vm-2", known=False),
        record("bare", "vm-3"),
        record("held", "vm-4", ["Silver"]),
        record("snap", "vm-5", ["Gold"], snapshots=True),
        record("snap-but-backed-up", "vm-6", ["Gold"], snapshots=True),
    ]
    chosen, violations = plan.preflight(targets, {"Silver"}, {"vm-1": None, "vm-5": None, "vm-6": NOW})
    assert chosen == {"vm-1": "Gold", "vm-6": "Gold"}
    assert [(v["vm"], v["rule"]) for v in violations] == [
        ("new", "unknown_to_backup"), ("bare", "no_policy"), ("held", "all_policies_held"),
        ("snap", "first_backup_with_snapshots")]
    assert "never deletes a snapshot" in violations[-1]["fix"]
    assert "rescan_until_visible: [new]" in violations[0]["fix"]
    message = str(RuleViolation(violations, outcome="no backup was started"))
    assert message.startswith("4 rule violation(s); no backup was started:")
    assert all(name in message for name in ("new", "bare", "held", "snap"))


def test_recent_targets():
    targets = [record("a", "vm-1"), record("b", "vm-2"), record("c", "vm-3")]
    last = {"vm-1": NOW - HOUR_MS, "vm-2": NOW - 5 * HOUR_MS, "vm-3": None}
    assert plan.recent_targets(targets, last, NOW, 4 * 3600) == {"vm-1"}
    assert plan.recent_targets(targets, last, NOW, None) == set()


# -- grouping -----------------------------------------------------------------------------------------------------

def test_build_groups_one_per_sla_in_name_order():
    targets = [record("a", "vm-1"), record("b", "vm-2"), record("c", "vm-3"), record("d", "vm-4")]
    chosen = {"vm-1": "Silver", "vm-2": "Gold", "vm-3": "Silver", "vm-4": "Gold"}
    groups = plan.build_groups(targets, chosen, skipped={"vm-4"})
    assert groups == [
        {"policy": "Gold", "job": "vmware_Gold", "action": "adhoc", "morefs": ["vm-2"]},
        {"policy": "Silver", "job": "vmware_Silver", "action": "adhoc", "morefs": ["vm-1", "vm-3"]},
    ]


def test_build_groups_whole_policy_starts_its_job_unless_some_are_skipped():
    targets = [record("a", "vm-1"), record("b", "vm-2")]
    chosen = {"vm-1": "Gold", "vm-2": "Gold"}
    group = plan.build_groups(targets, chosen, set(), run_policy="Gold", jobs={"Gold": {"job": "vmware_Gold"}})[0]
    assert group["action"] == "start_job"
    group = plan.build_groups(targets, chosen, {"vm-1"}, run_policy="Gold", jobs={"Gold": {"job": "vmware_Gold"}})[0]
    assert group["action"] == "adhoc" and group["morefs"] == ["vm-2"]
    assert plan.build_groups(targets, chosen, {"vm-1", "vm-2"}, run_policy="Gold", jobs={"Gold": {"job": "vmware_Gold"}}) == []


def test_running_conflicts_for_if_running_fail():
    groups = [{"policy": "Gold", "job": "vmware_Gold", "action": "adhoc", "morefs": ["vm-1", "vm-2"]},
              {"policy": "Silver", "job": "vmware_Silver", "action": "adhoc", "morefs": ["vm-3"]}]
    problems = plan.running_conflicts(groups, {"vmware_Gold": "17"}, {"vm-1": "a", "vm-2": "b", "vm-3": "c"})
    assert len(problems) == 1 and problems[0]["vm"] == "a, b" and "session 17" in problems[0]["reason"]


# -- outcomes -----------------------------------------------------------------------------------------------------

ERROR = {"type": "ERROR", "messageId": "CTGGA2391", "message": "Backup of virtual machine web01 failed: boom",
         "messageParams": ["web01", "boom"]}
WARN = {"type": "WARN", "messageId": "CTGGA2393", "message": "Disk Hard disk 2 of virtual machine web01 is rdm: ..."}


def test_entries_by_name_matches_whole_names_only():
    others = [{"message": "VM web010 failed"}, {"message": "VM web01-old failed"}, {"message": "VM x-web01 failed"}]
    entries = [ERROR, {"message": "VM web01 failed"}] + others
    about = plan.entries_by_name(entries, ["web01", "db01"])
    assert about == {"web01": [ERROR, {"message": "VM web01 failed"}], "db01": []}
    about = plan.entries_by_name(entries, ["web01", "web010", "web01-old"])
    assert about["web01"] == entries[:2]
    assert about["web010"] == [others[0]] and about["web01-old"] == [others[1]]


@pytest.mark.parametrize("version, entries, started, status, stats, outcome", [
    ({"id": "v1"}, [WARN], True, "COMPLETED", {}, "success"),
    (None, [ERROR], True, "PARTIAL", {"failed": 1}, "failed"),
    (None, [WARN], True, "COMPLETED", {"skipped": 1}, "skipped"),
    (None, [], True, "COMPLETED", {"failed": 0}, "skipped"),
    (None, [], True, "FAILED", {"failed": 1}, "failed"),
    (None, [], True, "PARTIAL", {"failed": 1}, "failed"),
    (None, [], False, "COMPLETED", {}, None),  # someone else's run, without this VM: it needs its own backup
    (None, [ERROR], False, "PARTIAL", {}, "failed"),
])
def test_vm_outcome(version, entries, started, status, stats, outcome):
    session = {"status": status, "properties": {"statistics": [{"resourceType": "vm", **stats}]}}
    about = plan.entries_by_name(entries, ["web01", "db01"])["web01"]
    assert about == entries, "the scripted log lines are all about web01"
    assert plan.vm_outcome(session, version, about, started) == outcome


def test_not_captured_disks():
    disks = [{"label": "Hard disk 1", "mode": "normal", "policies": []},
             {"label": "Hard disk 2", "mode": "independent", "policies": []},
             {"label": "Hard disk 3", "mode": "rdm", "policies": ["DR"]},
             {"label": "Hard disk 4", "mode": "normal", "policies": ["DR"]}]
    vm = record("web01", "vm-1", ["Gold"], disks=disks)
    assert plan.not_captured_disks(vm, "Gold") == ["Hard disk 2", "Hard disk 3"]
    assert plan.not_captured_disks(vm, "DR") == ["Hard disk 1", "Hard disk 2", "Hard disk 3"]


def test_recovery_point_and_log_line():
    version = {"id": 42, "protectionInfo": {"protectionTime": 1000}}
    assert plan.recovery_point(version) == {"id": "42", "time": 1000, "time_iso": "1970-01-01T00:00:01Z"}
    assert plan.recovery_point(None) is None
    line = plan.log_line(dict(ERROR, jobsessionId=7, logTime=2000))
    assert line == {"session_id": "7", "time": 2000, "time_iso": "1970-01-01T00:00:02Z", "type": "ERROR",
                    "message_id": "CTGGA2391", "message": ERROR["message"]}


def test_failure_message_names_each_failed_vm_with_its_error_line():
    vms = [{"name": "web01", "outcome": "failed", "session_id": "7", "messages": [plan.format_entry(WARN), plan.format_entry(ERROR)]},
           {"name": "db01", "outcome": "success", "session_id": "7", "messages": []},
           {"name": "app01", "outcome": "failed", "session_id": "8", "messages": []}]
    text = plan.failure_message(vms, [{"id": "7", "status": "PARTIAL"}, {"id": "8", "status": "FAILED"}])
    assert text.startswith("the backup failed for 2 of 3 VM(s) (1 success):")
    assert "- web01 (session 7): ERROR CTGGA2391: Backup of virtual machine web01 failed: boom" in text
    assert "WARN" not in text.split("\n")[1]
    assert "- app01 (session 8): no recovery point was recorded" in text
    assert "7 PARTIAL, 8 FAILED" in text


def test_timeout_message_names_the_running_sessions_and_claims_no_failure():
    running = [("17", {"id": "17", "status": "RUNNING", "percent": 40, "jobName": "vmware_Gold"})]
    vms = [{"name": "web01", "outcome": "running"}, {"name": "db01", "outcome": "success"}]
    text = plan.timeout_message(1, running, vms)
    assert "SPP job session 17 (job 'vmware_Gold') is RUNNING at 40%" in text
    assert "keeps running on the server" in text and "follow session 17" in text
    assert "has not failed" in text and "Still running for: web01." in text
    assert "failed in a session" not in text
