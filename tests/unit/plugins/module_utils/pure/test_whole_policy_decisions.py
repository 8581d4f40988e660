# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure decisions behind a backup service that runs whole policies only and says little about them (issue 15):
groups from the policies that have a job, the other VMs a policy's job backs up, outcomes from a session's status
and counts, the order of the writes, and the disk site rule left to the service."""

from __future__ import annotations

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure import assignment_plan, rules
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure import backup_run_plan as plan


def record(name, moref, policies=(), disks=()):
    return {"name": name, "moref": moref, "policies": list(policies), "known_to_backup": True,
            "disks": [{"label": label, "policies": list(disk_policies)} for label, disk_policies in disks]}


RECORDS = [record("web01", "vm-1", ["Gold"]), record("db01", "vm-2", ["Gold"]), record("app01", "vm-3", ["Silver"]),
           record("data01", "vm-4", disks=[("Hard disk 2", ["Gold"])])]
JOBS = {"Gold": {"job": "console-job-gold"}, "Silver": {"job": "console-job-silver"}}


# -- groups ----------------------------------------------------------------------------------------------------------


def test_the_job_is_named_and_chosen_from_the_policies_that_have_one():
    targets = RECORDS[:2]
    groups = plan.build_groups(targets, {"vm-1": "Gold", "vm-2": "Gold"}, set(), run_policy="Gold", jobs=JOBS)
    assert groups == [{"policy": "Gold", "job": "console-job-gold", "action": "start_job", "morefs": ["vm-1", "vm-2"]}]
    groups = plan.build_groups(targets, {"vm-1": "Gold", "vm-2": "Gold"}, set(), run_policy="Gold", jobs={})
    assert groups[0]["action"] == "adhoc" and groups[0]["job"] == "vmware_Gold", "no job: an ad hoc backup, as before"


def test_whole_policies_only_runs_every_group_and_keeps_the_recent_vms_of_a_policy_that_runs():
    chosen = {"vm-1": "Gold", "vm-2": "Gold", "vm-3": "Silver"}
    groups = plan.build_groups(RECORDS[:3], chosen, {"vm-1", "vm-3"}, jobs=JOBS, whole_policies_only=True)
    assert groups == [{"policy": "Gold", "job": "console-job-gold", "action": "start_job", "morefs": ["vm-1", "vm-2"]}]
    assert plan.skipped_after_grouping({"vm-1", "vm-3"}, groups) == {"vm-3"}


def test_the_other_vms_of_a_policy_run_disk_level_members_included():
    groups = [{"policy": "Gold", "job": "console-job-gold", "action": "start_job", "morefs": ["vm-1"]},
              {"policy": "Silver", "job": "console-job-silver", "action": "start_job", "morefs": ["vm-3"]}]
    others = plan.policy_run_others(groups, RECORDS, {"vm-1", "vm-3"})
    assert others == {"Gold": ["data01", "db01"]}
    assert plan.covers(groups[0], RECORDS) == ["data01", "db01", "web01"]
    assert plan.covers(dict(groups[0], action="adhoc"), RECORDS) == ["web01"]
    (violation,) = plan.whole_policy_violations(groups, others, {"vm-1": "web01", "vm-3": "app01"}, "the console")
    assert violation["rule"] == plan.WHOLE_POLICY_ONLY and violation["vm"] == "web01"
    assert violation["reason"] == ("the console runs a policy's whole job only (no backup of chosen VMs): backing up "
                                   "web01 runs job console-job-gold of SLA policy Gold, which backs up 2 other VM(s) "
                                   "too: data01, db01.")
    warning = plan.whole_policy_warning(groups, others, "the console")
    assert "Gold (job console-job-gold, also data01, db01)" in warning and "Silver" not in warning
    assert plan.whole_policy_warning(groups, {}, "the console") is None


# -- outcomes --------------------------------------------------------------------------------------------------------


def session(status, failed=0, total=3):
    return {"id": "s1", "status": status, "properties": {"statistics": [{"resourceType": "vm", "total": total,
                                                                         "failed": failed}]}}


@pytest.mark.parametrize("status, failed, outcome", [
    ("COMPLETED", 0, "success"), ("COMPLETED", 1, "unknown"), ("FAILED", 3, "failed"), ("CANCELED", 0, "failed"),
    ("PARTIAL", 1, "unknown"),
])
def test_without_per_vm_detail_the_session_decides_for_every_vm(status, failed, outcome):
    for started in (True, False):  # a run of the policy's job covers its VMs, attached to or not
        assert plan.settle_vm(session(status, failed), None, [], started, per_vm_detail=False) == (
            outcome, plan.FROM_SESSION_INFERRED)
    message = plan.session_outcome_message(session(status, failed), outcome)
    assert ("session s1 ended %s (%d of 3 VM(s) failed)" % (status, failed)) in message


def test_with_per_vm_detail_the_source_is_named():
    assert plan.settle_vm(session("COMPLETED"), {"id": "v"}, [], True) == ("success", plan.FROM_RECOVERY_POINT)
    assert plan.settle_vm(session("PARTIAL"), None, [{"type": "ERROR"}], True) == ("failed", plan.FROM_JOB_LOG)
    assert plan.settle_vm(session("FAILED"), None, [], True) == ("failed", plan.FROM_SESSION)
    assert plan.settle_vm(session("COMPLETED"), None, [], False) == (None, None)


def test_the_timeout_message_names_where_to_follow():
    text = plan.timeout_message(60, [("s1", {"status": "RUNNING"})], [], where="the Cloud Temple console API")
    assert "follow session s1 in the Cloud Temple console API" in text
    assert "follow session s1 in SPP" in plan.timeout_message(60, [("s1", {})], [])


# -- writes and the disk site rule ---------------------------------------------------------------------------------


PLAN = {"batches": [{"policies": [], "resources": [{"vm": "vm-3", "disk": None}]},
                    {"policies": ["Gold"], "resources": [{"vm": "vm-1", "disk": None}, {"vm": "vm-1", "disk": "d2"},
                                                         {"vm": "vm-2", "disk": "d1"}]}],
        "changes": []}
OPTIONS = {"batches": [{"vms": ["vm-1"], "options": {"makeApplicationConsistent": False}}], "changes": []}


def test_write_calls_keep_the_batches_by_default_and_put_each_disk_first_when_asked():
    assert assignment_plan.write_calls(PLAN, OPTIONS) == [("assign", batch) for batch in PLAN["batches"]] + [
        ("options", OPTIONS["batches"][0])]
    assert assignment_plan.write_calls(PLAN, disks_first=True) == [
        ("assign", {"policies": ["Gold"], "resources": [{"vm": "vm-1", "disk": "d2"}]}),
        ("assign", {"policies": ["Gold"], "resources": [{"vm": "vm-2", "disk": "d1"}]}),
        ("assign", {"policies": [], "resources": [{"vm": "vm-3", "disk": None}]}),
        ("assign", {"policies": ["Gold"], "resources": [{"vm": "vm-1", "disk": None}]})]
    assert assignment_plan.summarize(PLAN, OPTIONS)["calls"] == 3
    assert assignment_plan.summarize(PLAN, OPTIONS, disks_first=True)["calls"] == 5


CURRENT = {"vms": {"vm-1": {"name": "web01", "site": None, "power_state": "poweredOff", "policies": [],
                            "disks": {"Hard disk 2": {"policies": []}}}},
           "policies": {"Gold": {"site": "Primary", "held": False}}}
DISK_CHANGE = {"changes": [{"vm": "vm-1", "vm_name": "web01", "disk": "Hard disk 2", "before": [], "after": ["Gold"],
                            "added": ["Gold"], "removed": [], "origins": []}]}


def test_the_disk_site_rule_fails_closed_unless_the_service_checks_it_itself():
    (violation,) = rules.check_assignment_rules(CURRENT, DISK_CHANGE)
    assert violation["rule"] == rules.DISK_POLICY_SITE and "is unknown" in violation["reason"]
    assert rules.check_assignment_rules(CURRENT, DISK_CHANGE, vm_sites_known=False) == []
    deferred = rules.deferred_disk_sites(CURRENT, DISK_CHANGE, vm_sites_known=False)
    assert deferred == [{"vm": "web01", "moref": "vm-1", "disk": "Hard disk 2", "policies": ["Gold"]}]
    assert rules.deferred_disk_sites(CURRENT, DISK_CHANGE, vm_sites_known=True) == []
    assert rules.deferred_disk_sites(CURRENT, DISK_CHANGE, enforce={"disk_policy_site": False},
                                     vm_sites_known=False) == []
    warning = rules.deferred_disk_sites_warning(deferred, "the console")
    assert warning.startswith("The console names no VM's availability zone") and "web01 / Hard disk 2 (Gold)" in warning
    assert rules.deferred_disk_sites_warning([], "the console") is None
