# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The services with a backup service like Cloud Temple's console (issue 15): no capability, the console's own
refusals (``CloudTempleBackupService.REFUSALS``), reads by VM, whole policy runs, outcomes without logs or recovery
points, read-only policies, the disk site rule left to the console. The console is in memory here (the seam's
methods, no HTTP); the backend's own HTTP is tested in seams/test_cloudtemple_backup.py."""

from __future__ import annotations

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import (
    InvalidRequest,
    PartialApply,
    RuleViolation,
    TaskFailed,
    Unsupported,
    WaitTimeout,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.inventory_join import join_inventories
from ansible_collections.sovereign.vm_backup.plugins.module_utils.seams import cloudtemple_shapes as shapes
from ansible_collections.sovereign.vm_backup.plugins.module_utils.seams.cloudtemple_backup import CloudTempleBackupService
from ansible_collections.sovereign.vm_backup.plugins.module_utils.seams.cloudtemple_inventory import CloudTempleInventory
from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import assignments
from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import backup_run
from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import powerstate
from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import sla_policies

NOW = 1_800_000_000_000
HOUR_MS = 3_600_000


def listed(name, moref, power="poweredOn", disks=("Hard disk 1",)):
    """A VM as the console's compute inventory lists it."""
    return {"name": name, "moref": moref, "instance_uuid": "ct-" + moref, "compute_id": "ct-" + moref,
            "power_state": power, "template": False, "has_snapshots": False, "folder": None, "datacenter": "DC-TH3S",
            "host": None, "cluster": "clu", "nics": None,
            "disks": [{"label": label, "key": 2000 + index, "size_bytes": 1, "mode": "normal", "datastore": "ds",
                       "compute_id": "ct-%s/%s" % (moref, label)} for index, label in enumerate(disks)]}


class Inventory(CloudTempleInventory):
    """The console's compute inventory (no capability), in memory."""

    def __init__(self, vms):
        super().__init__(None)
        self.vms = {vm["moref"]: vm for vm in vms}
        self.actions = []

    @property
    def instance_uuid(self):
        return None

    def list_vms(self, page_size=1000, devices=True):
        return [dict(vm, disks=vm["disks"] if devices else None) for vm in self.vms.values()]

    def vm_details(self, moref):
        return dict(self.vms[moref], marker=None, test_record=None)

    def power_on(self, moref, timeout=600, progress=None):
        self.actions.append(("power_on", moref))
        self.vms[moref]["power_state"] = "poweredOn"
        return True


class Console(CloudTempleBackupService):
    """The console's backup service, in memory: ``known`` maps a moref to its policies (and its disks' ones)."""

    def __init__(self, known, policies=("Gold", "Silver"), held=(), last=None, status="COMPLETED", stats=None,
                 fail_assign=None):
        super().__init__(None)
        self.known = {moref: {"policies": list(item.get("policies", [])), "disks": dict(item.get("disks", {}))}
                      for moref, item in known.items()}
        self.definitions = [{"id": "id-" + name, "name": name, "description": "", "spec": {"subpolicy": [
            {"type": "REPLICATION", "software": True, "site": "Primary", "retention": {"age": 30}}]}}
            for name in policies]
        self.held = set(held)
        self.last = last or {}
        self.status, self.stats = status, stats or {"total": 2, "success": 2, "failed": 0}
        self.fail_assign = fail_assign or {}  # call number -> error
        self.calls = []

    def read_joined(self, vcenter, with_disks=True, page_size=1000, only=None):
        self.calls.append(("read_joined", None if only is None else sorted(only), with_disks))
        uuid, vms = vcenter()
        vms = [vm for vm in vms if only is None or vm["moref"] in only]
        stand_ins, disks = [], []
        for vm in vms:
            item = self.known.get(vm["moref"])
            if item is None:
                continue
            stand_ins.append(shapes.backup_vm_stand_in("ct-" + vm["moref"], vm["moref"],
                                                       {"name": vm["name"], "storageProfiles": item["policies"]}))
            if with_disks:
                disks += [shapes.disk_stand_in("ct-" + vm["moref"], "ct-%s/%s" % (vm["moref"], disk["label"]),
                                               disk["label"], item["disks"].get(disk["label"], []))
                          for disk in vm["disks"] or []]
        return join_inventories(uuid, vms, shapes.hypervisors_stand_in(uuid), stand_ins, disks)

    def last_backups(self, backup_ids=None, search_first=None, page_size=1000):
        return {vm_id: {"time": self.last.get(vm_id), "policy": None, "source": "policy_sessions_inferred",
                        "version": None} for vm_id in backup_ids or []}

    def rescan(self, timeout, progress=None):
        self.calls.append(("rescan",))

    def sla_policies(self, page_size=1000):
        self.policies_by_name = {d["name"]: d for d in self.definitions}
        return [dict(d) for d in self.definitions]

    def policy_jobs(self, page_size=1000):
        return {d["name"]: {"job": "vmware_" + d["name"], "held": d["name"] in self.held, "running": False,
                            "session_id": None} for d in self.definitions}

    def sites(self, page_size=1000):
        return [{"id": "1000", "name": "Primary"}]

    def assign(self, resources, policy_names):
        self.calls.append(("assign", list(resources), list(policy_names)))
        error = self.fail_assign.get(sum(1 for call in self.calls if call[0] == "assign"))
        if error is not None:
            raise error
        for vm_id, disk_id in resources:
            item = self.known[vm_id[3:]]
            if disk_id is None:
                item["policies"] = list(policy_names)
            else:
                item["disks"][disk_id.split("/", 1)[1]] = list(policy_names)

    def policy_sets(self, resources, page_size=1000):
        sets = {}
        for vm_id, disk_id in resources:
            item = self.known[vm_id[3:]]
            sets[(vm_id, disk_id)] = sorted(item["policies"] if disk_id is None
                                            else item["disks"].get(disk_id.split("/", 1)[1], []))
        return sets

    def start_policy_backup(self, policy):
        self.calls.append(("start", policy))
        return "s-" + policy

    def running_session(self, policy):
        return None

    def _session(self, session_id):
        return {"id": session_id, "status": self.status, "start": NOW, "end": NOW + 1000, "duration": 1000,
                "percent": None, "type": "protection",
                "properties": {"statistics": [dict(self.stats, resourceType="vm")]}}

    def session(self, session_id):
        return self._session(session_id)

    def wait_sessions(self, session_ids, timeout, poll, progress=None, seen=None):
        found = {session_id: self._session(session_id) for session_id in session_ids}
        for session in found.values():
            if progress is not None:
                progress(session)
        if seen is not None:
            seen.update(found)
        return found

    def backup_sessions(self, since_ms, page_size=1000):
        return []


GOLD_PAIR = {"vm-1": {"policies": ["Gold"]}, "vm-2": {"policies": ["Gold"]}, "vm-3": {"policies": ["Silver"]}}
VMS = [listed("web01", "vm-1"), listed("db01", "vm-2"), listed("app01", "vm-3")]


def starts(console):
    return [call for call in console.calls if call[0] == "start"]


# -- vm_backup_run -------------------------------------------------------------------------------------------------


def test_named_vms_on_a_whole_policy_service_read_then_fail_listing_the_other_vms():
    console = Console(GOLD_PAIR)
    with pytest.raises(RuleViolation) as caught:
        backup_run.run_backup(console, Inventory(VMS), vms=["web01"], now_ms=NOW)
    (violation,) = caught.value.details["violations"]
    assert violation["rule"] == "whole_policy_only" and violation["vm"] == "web01"
    assert "runs a policy's whole job only" in violation["reason"] and "1 other VM(s) too: db01" in violation["reason"]
    assert "whole_policy: true" in violation["fix"] and "policy: Gold" in violation["fix"]
    assert "no backup was started" in caught.value.message
    assert starts(console) == [] and console.calls[0] == ("read_joined", None, True), "read in full, then refused"


def test_whole_policy_runs_each_policy_once_and_reports_scope_covers_and_inferred_outcomes():
    console = Console(GOLD_PAIR)
    result = backup_run.run_backup(console, Inventory(VMS), vms=["web01", "app01"], whole_policy=True, now_ms=NOW,
                                   poll_interval=1)
    assert starts(console) == [("start", "Gold"), ("start", "Silver")]
    assert result["scope"] == "policy" and result["changed"] is True
    assert [(p["policy"], p["action"], p["scope"], p["vms"], p["covers"]) for p in result["plan"]] == [
        ("Gold", "start_job", "policy", ["web01"], ["db01", "web01"]),
        ("Silver", "start_job", "policy", ["app01"], ["app01"])]
    assert [(vm["name"], vm["outcome"], vm["outcome_source"], vm["recovery_point"]) for vm in result["vms"]] == [
        ("web01", "success", "session_status_inferred", None), ("app01", "success", "session_status_inferred", None)]
    assert "success inferred: session s-Gold ended COMPLETED (0 of 2 VM(s) failed)" in result["vms"][0]["messages"][0]
    (warning,) = result["warnings"]
    assert "runs a policy's whole job only" in warning and "Gold (job vmware_Gold, also db01)" in warning


def test_vms_that_are_all_their_policys_vms_need_no_confirmation():
    console = Console(GOLD_PAIR)
    result = backup_run.run_backup(console, Inventory(VMS), vms=["app01"], now_ms=NOW, poll_interval=1)
    assert starts(console) == [("start", "Silver")] and result["warnings"] == []
    result = backup_run.run_backup(console, Inventory(VMS), vms=["web01", "db01"], now_ms=NOW, poll_interval=1)
    assert starts(console)[-1] == ("start", "Gold") and result["warnings"] == []


def test_a_policy_alone_runs_its_job_and_settles_each_vm_from_the_session():
    console = Console(GOLD_PAIR)
    result = backup_run.run_backup(console, Inventory(VMS), policy="Gold", now_ms=NOW, poll_interval=1)
    assert starts(console) == [("start", "Gold")] and result["scope"] == "policy"
    assert [(vm["name"], vm["outcome"]) for vm in result["vms"]] == [("db01", "success"), ("web01", "success")]
    assert result["progress"] and all(line.startswith("the Cloud Temple console API job session s-Gold")
                                      for line in result["progress"]), result["progress"]


def test_a_failed_session_fails_the_task_and_a_partial_one_is_unknown_with_a_warning():
    console = Console(GOLD_PAIR, status="FAILED", stats={"total": 2, "failed": 2})
    with pytest.raises(TaskFailed) as caught:
        backup_run.run_backup(console, Inventory(VMS), policy="Gold", now_ms=NOW, poll_interval=1)
    assert {vm["outcome"] for vm in caught.value.details["vms"]} == {"failed"}
    console = Console(GOLD_PAIR, status="PARTIAL", stats={"total": 2, "failed": 1})
    result = backup_run.run_backup(console, Inventory(VMS), policy="Gold", now_ms=NOW, poll_interval=1)
    assert {vm["outcome"] for vm in result["vms"]} == {"unknown"}
    assert "outcome unknown" in result["vms"][0]["messages"][0]
    assert any("does not say which VMs failed" in warning for warning in result["warnings"])


def test_skip_uses_the_inferred_times_and_a_policy_that_must_run_backs_up_all_its_vms():
    recent, old = NOW - HOUR_MS, NOW - 48 * HOUR_MS
    console = Console(GOLD_PAIR, last={"ct-vm-1": recent, "ct-vm-2": recent})
    result = backup_run.run_backup(console, Inventory(VMS), policy="Gold", skip_if_backed_up_within="4h",
                                   now_ms=NOW)
    assert starts(console) == [] and result["changed"] is False
    assert [(vm["outcome"], vm["outcome_source"]) for vm in result["vms"]] == [("skipped", "last_backup_inferred")] * 2
    assert "its policies' job sessions (inferred" in result["vms"][0]["messages"][0]
    console = Console(GOLD_PAIR, last={"ct-vm-1": recent, "ct-vm-2": old})
    result = backup_run.run_backup(console, Inventory(VMS), policy="Gold", skip_if_backed_up_within="4h",
                                   now_ms=NOW, poll_interval=1)
    assert starts(console) == [("start", "Gold")]
    assert [vm["outcome"] for vm in result["vms"]] == ["success", "success"], "the job backed both up"


def test_check_mode_plans_the_whole_policy_run_without_starting_it():
    console = Console(GOLD_PAIR)
    result = backup_run.run_backup(console, Inventory(VMS), vms=["web01"], whole_policy=True, check_mode=True,
                                   now_ms=NOW)
    assert starts(console) == [] and result["changed"] is True and result["scope"] == "policy"
    assert result["plan"][0]["covers"] == ["db01", "web01"]


# -- backup_sla_policy: read-only ------------------------------------------------------------------------------------


@pytest.mark.parametrize("check_mode", [False, True])
def test_an_existing_policy_as_asked_is_ok(check_mode):
    console = Console({})
    for options in ({}, {"retention": {"days": 30}, "site": "Primary"}, {"held": False}):
        result = sla_policies.ensure_sla_policy(console, "Gold", check_mode=check_mode, **options)
        assert (result["changed"], result["actions"]) == (False, [])
        assert result["policy"]["name"] == "Gold" and result["policy"]["job"] == "vmware_Gold"
        assert result["policy"]["held_from"].startswith("job status (inferred")
    result = sla_policies.ensure_sla_policy(console, "Bronze", state="absent", check_mode=check_mode)
    assert result == {"changed": False, "policy": {}, "actions": [], "diff": {"before": {}, "after": {}}}


@pytest.mark.parametrize("name, options, operation", [
    ("Bronze", {"site": "Primary"}, "creating SLA policy Bronze (the Cloud Temple console API has none of that "
                                    "name; it has: Gold, Silver)"),
    ("Gold", {"retention": {"days": 7}}, "changing SLA policy Gold (retention differs from what it holds: retention "
                                         "{'age': 30})"),
    ("Gold", {"description": "daily"}, "changing SLA policy Gold (description differs from what it holds: "
                                       "description (none))"),
    ("Gold", {"state": "absent"}, "deleting SLA policy Gold"),
])
@pytest.mark.parametrize("check_mode", [False, True])
def test_a_creation_change_or_deletion_fails_with_where_to_ask(name, options, operation, check_mode):
    with pytest.raises(Unsupported) as caught:
        sla_policies.ensure_sla_policy(Console({}), name, check_mode=check_mode, **options)
    message = caught.value.message
    assert message.startswith(operation + " is not offered by the Cloud Temple console API: policies are created by "
                              "Cloud Temple support: a service request to Cloud Temple support, made from the "
                              "lifebuoy icon at the top right of the Cloud Temple console "
                              "(https://shiva.cloud-temple.com)")
    assert caught.value.details["capability"] == "sla_policy_write" and caught.value.details["changed"] is False


def test_held_is_a_check_of_the_policys_state():
    console = Console({}, held={"Gold"})
    assert sla_policies.ensure_sla_policy(console, "Gold", held=True)["policy"]["held"] is True
    with pytest.raises(Unsupported) as caught:
        sla_policies.ensure_sla_policy(console, "Gold", held=False)
    assert caught.value.message.startswith("releasing SLA policy Gold (it is held: its job vmware_Gold is HELD) "
                                           "is not offered by the Cloud Temple console API: a held policy is a "
                                           "matter for Cloud Temple support")
    with pytest.raises(Unsupported, match=r"holding SLA policy Silver \(it is not held: its job vmware_Silver"):
        sla_policies.ensure_sla_policy(console, "Silver", held=True)


def test_an_unknown_site_is_a_plain_error_before_anything_else():
    with pytest.raises(InvalidRequest, match="nothing was changed"):
        sla_policies.ensure_sla_policy(Console({}), "Gold", site="Nowhere")


# -- vm_backup_policy ----------------------------------------------------------------------------------------------


def assigns(console):
    return [(call[1], call[2]) for call in console.calls if call[0] == "assign"]


def test_only_the_vms_of_the_task_are_read_from_the_console():
    console = Console(GOLD_PAIR)
    result = assignments.converge(console, Inventory(VMS), [{"vm": "web01", "policies": ["Silver"]}])
    assert console.calls[0] == ("read_joined", ["vm-1"], False)
    assert assigns(console) == [([("ct-vm-1", None)], ["Gold", "Silver"])]
    assert result["changed"] is True and "warnings" not in result


def test_a_scope_reads_its_members_too():
    console = Console(GOLD_PAIR)
    result = assignments.converge(console, Inventory(VMS), [{"vm": "web01", "policies": ["Gold"]}], scope="all")
    assert console.calls[0] == ("read_joined", ["vm-1", "vm-2", "vm-3"], True)
    assert sorted(item["vm"] for item in result["drift"]) == ["vm-2", "vm-3"] and result["changed"] is False


def test_an_unknown_vm_fails_before_the_console_is_read():
    console = Console(GOLD_PAIR)
    with pytest.raises(InvalidRequest, match="vCenter has no VM nosuch"):
        assignments.converge(console, Inventory(VMS), [{"vm": "nosuch", "policies": ["Gold"]}])
    assert console.calls == []


@pytest.mark.parametrize("check_mode", [False, True])
def test_the_disk_site_rule_is_left_to_the_console_with_a_warning_and_disks_go_first(check_mode):
    console = Console(GOLD_PAIR)
    items = [{"vm": "db01", "policies": ["Silver"]}, {"vm": "web01", "disk": "Hard disk 1", "policies": ["Silver"]},
             {"vm": "app01", "disk": "Hard disk 1", "policies": ["Gold"]}]
    result = assignments.converge(console, Inventory(VMS), items, check_mode=check_mode)
    (warning,) = result["warnings"]
    assert warning.startswith("The Cloud Temple console API names no VM's availability zone")
    assert "app01 / Hard disk 1 (Gold); web01 / Hard disk 1 (Silver)" in warning and "disk_policy_site" in warning
    assert result["summary"]["calls"] == 3, "one call per disk, then one per VM policy set"
    if check_mode:
        assert assigns(console) == []
        return
    assert assigns(console) == [([("ct-vm-3", "ct-vm-3/Hard disk 1")], ["Gold"]),
                                ([("ct-vm-1", "ct-vm-1/Hard disk 1")], ["Silver"]),
                                ([("ct-vm-2", None)], ["Gold", "Silver"])]


def test_the_rule_switched_off_gives_no_warning():
    console = Console(GOLD_PAIR)
    items = [{"vm": "web01", "disk": "Hard disk 1", "policies": ["Silver"]}]
    result = assignments.converge(console, Inventory(VMS), items, enforce={"disk_policy_site": False})
    assert "warnings" not in result


@pytest.mark.parametrize("error", [TaskFailed("assigning Silver to db01 failed on the Cloud Temple console (activity "
                                              "a1): The SLA policy Silver backs up to the site Secondary, in the "
                                              "availability zone AZ05"),
                                   WaitTimeout("the activity is still waiting")])
def test_a_console_failure_after_a_write_is_a_partial_apply_and_the_first_one_is_itself(error):
    items = [{"vm": "web01", "disk": "Hard disk 1", "policies": ["Silver"]}, {"vm": "db01", "policies": ["Silver"]}]
    console = Console(GOLD_PAIR, fail_assign={2: error})
    with pytest.raises(PartialApply) as caught:
        assignments.converge(console, Inventory(VMS), items)
    assert caught.value.message.startswith("1 of 2 write call(s) were applied before this failure: " +
                                           error.message.rstrip("."))
    console = Console(GOLD_PAIR, fail_assign={1: error})
    with pytest.raises(type(error)) as caught:
        assignments.converge(console, Inventory(VMS), items)
    assert caught.value is error, "a refused disk is the first write: nothing was applied"


@pytest.mark.parametrize("items, options", [
    ([{"vm": "web01", "policies": []}], {}),
    ([{"vm": "web01", "policies": ["Gold"]}, {"name_pattern": "db*", "policies": []}], {}),
])
def test_an_empty_policy_list_that_changes_nothing_is_refused_before_any_call(items, options):
    console = Console(GOLD_PAIR)
    with pytest.raises(InvalidRequest) as caught:
        assignments.converge(console, Inventory(VMS), items, **options)
    assert " no policy: with state: present" in caught.value.message and "state: absent" in caught.value.message
    assert "purge: true" in caught.value.message and console.calls == []


def test_an_empty_policy_list_with_purge_removes_every_policy_of_a_powered_off_vm():
    console = Console(GOLD_PAIR)
    vms = [listed("web01", "vm-1", power="poweredOff"), listed("db01", "vm-2")]
    result = assignments.converge(console, Inventory(vms), [{"vm": "web01", "policies": []}], purge=True)
    assert assigns(console) == [([("ct-vm-1", None)], [])] and result["changes"][0]["after"] == []
    with pytest.raises(RuleViolation, match="last_policy_of_running_vm|without any backup policy"):
        assignments.converge(console, Inventory(vms), [{"vm": "db01", "policies": []}], purge=True)


def test_empty_policy_problems_accept_purge_scope_absent_and_options():
    items = [{"vm": "web01", "policies": []}]
    assert assignments.empty_policy_problems(items, purge=True) is None
    assert assignments.empty_policy_problems(items, scope="all") is None
    assert assignments.empty_policy_problems(items, state="absent") is None
    assert assignments.empty_policy_problems([dict(items[0], quiesce=False)]) is None
    assert assignments.empty_policy_problems(items, option_defaults={"quiesce": True}) is None
    assert isinstance(assignments.empty_policy_problems(items), InvalidRequest)


# -- vm_powerstate ---------------------------------------------------------------------------------------------------


def test_the_protection_check_reads_the_one_vm_then_powers_on():
    console = Console(GOLD_PAIR)
    inventory = Inventory([listed("web01", "vm-1", power="poweredOff"), listed("db01", "vm-2")])

    class Backups:
        def __enter__(self):
            return console

        def __exit__(self, *exc):
            return False

    result = powerstate.converge(inventory, "web01", "powered-on", Backups)
    assert console.calls[0] == ("read_joined", ["vm-1"], False)
    assert inventory.actions == [("power_on", "vm-1")] and result["protected"] is True
