# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""backup_sla_policy and vm_backup_policy: each case runs check, real, check, real, and the end state is read back
from the backup server (helpers.SppReader) and vCenter (pyVmomi) where it matters, never from the module's own answer
nor through the collection's client."""

from __future__ import annotations

import uuid

import pytest

import vcenter
from helpers import CONVERGES, can_hold, changed_pattern

pytestmark = pytest.mark.integration


def create_policy(lab, name, site="Secondary"):
    lab.module("backup_sla_policy", {"name": name, "site": site, "retention": {"days": 7}})


# -- backup_sla_policy --------------------------------------------------------------------------------------------

def test_policy_create_update_hold_release_delete(fresh_lab):
    name = "Tier-%s" % uuid.uuid4().hex[:4]
    create = {"name": name, "description": "tier 1", "site": "Secondary", "retention": {"days": 30},
              "schedule": {"every": "weekly", "weekdays": ["monday", "friday"], "start": "2026-01-05T21:00:00Z",
                           "timezone": "Europe/Paris"}}
    assert changed_pattern(fresh_lab.four_runs("backup_sla_policy", create)) == CONVERGES
    policy = fresh_lab.spp.state()["policies"][name]
    subpolicy = policy["spec"]["subpolicy"][0]
    assert subpolicy["site"] == "Secondary" and subpolicy["retention"] == {"age": 30}
    assert subpolicy["trigger"]["type"] == "WEEKLY" and subpolicy["trigger"]["dowList"][2] is True

    update = {"name": name, "retention": {"recovery_points": 10}, "encryption": True}
    assert changed_pattern(fresh_lab.four_runs("backup_sla_policy", update)) == CONVERGES
    state = fresh_lab.spp.state()
    subpolicy = state["policies"][name]["spec"]["subpolicy"][0]
    assert subpolicy["retention"] == {"numsnapshots": 10} and subpolicy["useEncryption"] is True
    assert subpolicy["trigger"]["type"] == "WEEKLY", "options not given are left alone"
    assert [p for p in state["policies"] if p == name] == [name], "an update never leaves a renamed copy"

    fresh_lab.module("vm_backup_policy", {"vm": "DC0_H0_VM0", "policies": [name]})
    if can_hold(fresh_lab, "vmware_%s" % name):
        assert changed_pattern(fresh_lab.four_runs("backup_sla_policy", {"name": name, "held": True})) == CONVERGES
        assert "vmware_%s" % name in fresh_lab.spp.state()["held"]
        assert changed_pattern(fresh_lab.four_runs("backup_sla_policy", {"name": name, "held": False})) == CONVERGES
        assert "vmware_%s" % name not in fresh_lab.spp.state()["held"]
    else:
        assert_hold_refused_without_change(fresh_lab, name)

    refused = fresh_lab.module("backup_sla_policy", {"name": name, "state": "absent"}, expect_rc=2)
    assert "still assigned to 1 resource(s): VM DC0_H0_VM0" in refused["msg"]
    assert name in fresh_lab.spp.state()["policies"]
    fresh_lab.module("vm_backup_policy", {"vm": "DC0_H0_VM0", "policies": [name], "state": "absent",
                                          "enforce": {"last_policy_of_running_vm": False}})
    assert changed_pattern(fresh_lab.four_runs("backup_sla_policy", {"name": name, "state": "absent"})) == CONVERGES
    assert name not in fresh_lab.spp.state()["policies"]


def assert_hold_refused_without_change(lab, name):
    """The public record shows no hold link on jobs (spp-api.md 14.17): held: true fails in check mode and for real,
    naming the links the job does show, and changes nothing, not even the other options of the same task."""
    before = lab.spp.state()
    job = lab.spp.job("vmware_%s" % name)
    for check in (True, False):
        refused = lab.module("backup_sla_policy", {"name": name, "held": True, "retention": {"days": 3}}, check=check,
                             expect_rc=2)
        message = refused["msg"]
        assert "SPP job 'vmware_%s' offers no 'hold' action" % name in message, message
        assert "its links are %s" % ", ".join(sorted(job["links"])) in message, message
        assert "Nothing was changed: policy %s is left as it was" % name in message, message
        assert refused.get("changed") is False
        assert lab.spp.state() == before, "no write: the retention of the same task was not applied either"
    # held: false is already true, and held is read from the job's status.
    results = lab.four_runs("backup_sla_policy", {"name": name, "held": False})
    assert changed_pattern(results) == [False] * 4
    assert results[-1]["policy"]["held"] is False and results[-1]["policy"]["held_from"] == "status"


# -- vm_backup_policy ---------------------------------------------------------------------------------------------

def test_assign_to_a_vm_and_to_a_disk(fresh_lab):
    create_policy(fresh_lab, "Disk-DR")
    args = {"assignments": [{"vm": "DC0_H0_VM1", "policies": ["Gold", "Silver"]},
                            {"vm": "DC0_H0_VM1", "disk": "Hard disk 1", "policies": ["Disk-DR"]}]}
    results = fresh_lab.four_runs("vm_backup_policy", args)
    assert changed_pattern(results) == CONVERGES
    assert results[1]["summary"]["calls"] == 2  # one call per distinct resulting set
    assert "DC0_H0_VM1 (vm-" in results[0]["_output"] and "+  Hard disk 1: Disk-DR" in results[0]["_output"]
    state = fresh_lab.spp.state()
    assert state["vms"]["DC0_H0_VM1"] == ["Gold", "Silver"]
    assert state["disks"][("DC0_H0_VM1", "Hard disk 1")] == ["Disk-DR"], "the disk has its own policy"


def test_purge_makes_the_set_exact(fresh_lab):
    fresh_lab.module("vm_backup_policy", {"vm": "DC0_H0_VM2", "policies": ["Gold", "Silver"]})
    args = {"vm": "DC0_H0_VM2", "policies": ["Bronze"], "purge": True}
    assert changed_pattern(fresh_lab.four_runs("vm_backup_policy", args)) == CONVERGES
    assert fresh_lab.spp.state()["vms"]["DC0_H0_VM2"] == ["Bronze"]


def test_authoritative_scope_reports_drift_then_purges_it(fresh_lab):
    fresh_lab.module("vm_backup_policy", {"assignments": [{"name_pattern": "DC0_C0_*", "policies": ["Gold"]},
                                                          {"vm": "DC0_C0_RP0_VM1", "policies": ["Silver"]}]})
    declared = {"assignments": [{"name_pattern": "DC0_C0_*", "policies": ["Gold"]}], "scope": "/DC0/vm"}
    results = fresh_lab.four_runs("vm_backup_policy", declared)
    assert changed_pattern(results) == [False] * 4, "drift alone changes nothing"
    assert [(d["vm_name"], d["undeclared"]) for d in results[3]["drift"]] == [("DC0_C0_RP0_VM1", ["Silver"])]
    assert fresh_lab.spp.state()["vms"]["DC0_C0_RP0_VM1"] == ["Gold", "Silver"]

    results = fresh_lab.four_runs("vm_backup_policy", dict(declared, purge_scope=True))
    assert changed_pattern(results) == CONVERGES
    assert fresh_lab.spp.state()["vms"]["DC0_C0_RP0_VM1"] == ["Gold"]
    assert results[3]["drift"] == []


def test_quiesce_option(fresh_lab):
    args = {"vm": "DC0_H0_VM0", "policies": ["Gold"], "quiesce": False, "fallback_to_crash_consistent": True}
    assert changed_pattern(fresh_lab.four_runs("vm_backup_policy", args)) == CONVERGES
    options = fresh_lab.spp.options_of("DC0_H0_VM0")
    assert options["makeApplicationConsistent"] is False and options["fallbackToUnquiescedSnapshot"] is True


def test_selection_by_folder(fresh_lab):
    with fresh_lab.vcenter() as client:
        names = vcenter.all_vm_names(client)
    args = {"folder": "/DC0/vm", "policies": ["Silver"]}
    results = fresh_lab.four_runs("vm_backup_policy", args)
    assert changed_pattern(results) == CONVERGES
    state = fresh_lab.spp.state()
    assert all("Silver" in state["vms"][name] for name in names)


def test_selection_by_pattern(fresh_lab):
    results = fresh_lab.four_runs("vm_backup_policy", {"name_pattern": "DC0_H0_VM[12]", "policies": ["Bronze"]})
    assert changed_pattern(results) == CONVERGES
    state = fresh_lab.spp.state()
    assert sorted(n for n, p in state["vms"].items() if "Bronze" in p) == ["DC0_H0_VM1", "DC0_H0_VM2"]


def test_selection_by_tag(fresh_lab):
    with fresh_lab.vcenter() as client:
        tag = "backup-%s" % uuid.uuid4().hex[:4]
        vcenter.tag_vms(client, fresh_lab.env, tag, ["DC0_C0_RP0_VM0", "DC0_H0_VM2"])
    results = fresh_lab.four_runs("vm_backup_policy", {"tag": tag, "policies": ["Silver"]})
    assert changed_pattern(results) == CONVERGES
    state = fresh_lab.spp.state()
    assert sorted(n for n, p in state["vms"].items() if "Silver" in p) == ["DC0_C0_RP0_VM0", "DC0_H0_VM2"]
