# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planning of SLA assignments and VM options: replace semantics, batching, purge, scope, idempotence, diff."""

from __future__ import annotations

import copy
import random

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import InvalidRequest
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.assignment_plan import (
    apply_plan,
    diff_of,
    natural_key,
    plan_assignments,
    plan_options,
    summarize,
)

POLICIES = {
    "Gold": {"id": "2000", "held": False, "site": "Primary"},
    "Silver": {"id": "2001", "held": False, "site": "Secondary"},
    "Bronze": {"id": "2002", "held": False, "site": "Secondary"},
    "Frozen": {"id": "2003", "held": True, "site": "Primary"},
}


def make_vm(key, name=None, policies=(), disks=None, power_state="poweredOn", site="Primary", known=True):
    disks = disks if disks is not None else {"Hard disk 1": ()}
    return {
        "name": name or "name-%s" % key, "moref": key, "instance_uuid": "uuid-%s" % key,
        "spp_id": "spp-%s" % key if known else None, "power_state": power_state, "site": site,
        "policies": list(policies),
        "disks": {label: {"spp_id": ("d-%s-%s" % (key, label)) if known else None, "policies": list(disk_policies)}
                  for label, disk_policies in disks.items()},
        "known_to_backup": known,
    }


def inventory(*vms, policies=None):
    return {"vms": {vm["moref"]: vm for vm in vms}, "policies": copy.deepcopy(POLICIES if policies is None else policies)}


def intent(vm, policies, disk=None, origin=None):
    return {"vm": vm, "disk": disk, "policies": list(policies), "origin": origin or "assignments[%s]" % vm}


def sets_of(plan):
    return {(c["vm"], c["disk"]): c["after"] for c in plan["changes"]}


def assert_idempotent(current, desired, **kwargs):
    first = plan_assignments(current, desired, **kwargs)
    converged = apply_plan(current, first)
    second = plan_assignments(converged, desired, **kwargs)
    assert second["changes"] == [] and second["batches"] == [], second
    return first, converged


# --- state=present, purge --------------------------------------------------------------------------------------------

def test_present_adds_and_keeps_what_is_there():
    current = inventory(make_vm("vm-1", "web01", ["Gold"]))
    plan = plan_assignments(current, [intent("vm-1", ["Silver"])], "present")
    assert plan["changes"] == [{"vm": "vm-1", "vm_name": "web01", "disk": None, "before": ["Gold"],
                                "after": ["Gold", "Silver"], "added": ["Silver"], "removed": [],
                                "origins": ["assignments[vm-1]"]}]
    # Replace semantics: the batch carries the whole resulting set, not only the added name.
    assert plan["batches"] == [{"policies": ["Gold", "Silver"], "resources": [{"vm": "vm-1", "disk": None}]}]
    assert plan["drift"] == [] and plan["unknown_policies"] == [] and plan["unknown_to_backup"] == []


def test_present_when_already_assigned_plans_nothing():
    current = inventory(make_vm("vm-1", policies=["Gold", "Silver"]))
    plan = plan_assignments(current, [intent("vm-1", ["Gold"])], "present")
    assert plan["changes"] == [] and plan["batches"] == []


def test_intents_for_one_resource_are_merged():
    current = inventory(make_vm("vm-1"))
    desired = [intent("vm-1", ["Gold"], origin="assignments[0]"), intent("vm-1", ["Silver"], origin="selector tag=x"),
               intent("vm-1", ["Gold"], origin="assignments[2]")]
    plan = plan_assignments(current, desired, "present", purge=True)
    assert sets_of(plan) == {("vm-1", None): ["Gold", "Silver"]}
    assert plan["changes"][0]["origins"] == ["assignments[0]", "assignments[2]", "selector tag=x"]


def test_purge_makes_each_listed_set_exactly_the_listed_one():
    current = inventory(make_vm("vm-1", policies=["Gold", "Bronze"]), make_vm("vm-2", policies=["Bronze"]),
                        make_vm("vm-3", policies=["Gold"]))
    desired = [intent("vm-1", ["Silver"]), intent("vm-2", ["Bronze"])]
    plan = plan_assignments(current, desired, "present", purge=True)
    assert sets_of(plan) == {("vm-1", None): ["Silver"]}  # vm-2 already exact; vm-3 is not listed
    assert plan["changes"][0]["removed"] == ["Bronze", "Gold"] and plan["changes"][0]["added"] == ["Silver"]


def test_purge_with_empty_list_unassigns_everything_in_one_empty_batch():
    current = inventory(make_vm("vm-1", policies=["Gold"]), make_vm("vm-2", policies=["Silver", "Bronze"]))
    plan = plan_assignments(current, [intent("vm-1", []), intent("vm-2", [])], "present", purge=True)
    assert plan["batches"] == [{"policies": [], "resources": [{"vm": "vm-1", "disk": None},
                                                              {"vm": "vm-2", "disk": None}]}]


def test_present_with_empty_list_and_no_purge_is_a_no_op():
    current = inventory(make_vm("vm-1", policies=["Gold"]))
    assert plan_assignments(current, [intent("vm-1", [])], "present")["changes"] == []


# --- state=absent --------------------------------------------------------------------------------------------------

def test_absent_removes_only_the_listed_policies():
    current = inventory(make_vm("vm-1", policies=["Gold", "Silver"]), make_vm("vm-2", policies=["Silver"]))
    plan = plan_assignments(current, [intent("vm-1", ["Silver"]), intent("vm-2", ["Silver"])], "absent")
    assert sets_of(plan) == {("vm-1", None): ["Gold"], ("vm-2", None): []}
    assert [b["policies"] for b in plan["batches"]] == [[], ["Gold"]]


def test_absent_of_a_policy_not_assigned_or_deleted_is_a_no_op_not_an_error():
    current = inventory(make_vm("vm-1", policies=["Gold"]))
    plan = plan_assignments(current, [intent("vm-1", ["Silver", "DeletedLongAgo"])], "absent")
    assert plan["changes"] == [] and plan["unknown_policies"] == []


def test_absent_on_a_vm_unknown_to_backup_writes_nothing():
    current = inventory(make_vm("vm-1", known=False))
    plan = plan_assignments(current, [intent("vm-1", ["Gold"])], "absent")
    assert plan["changes"] == [] and plan["unknown_to_backup"] == []


# --- scope -----------------------------------------------------------------------------------------------------------

def scoped_inventory():
    return inventory(
        make_vm("vm-1", "app01", ["Gold", "Bronze"], disks={"Hard disk 1": (), "Hard disk 2": ["Silver"]}),
        make_vm("vm-2", "app02", ["Silver"]),
        make_vm("vm-3", "app03", ["Gold"]),
        make_vm("vm-9", "outside", ["Bronze"]),
    )


SCOPE = ("vm-1", "vm-2", "vm-3")
SCOPED_DESIRED = [intent("vm-1", ["Gold"]), intent("vm-2", ["Silver"])]  # vm-3: in scope, nothing declared


def test_scope_reports_drift_without_removing_it():
    plan = plan_assignments(scoped_inventory(), SCOPED_DESIRED, "present", scope=SCOPE)
    assert plan["drift"] == [
        {"vm": "vm-1", "vm_name": "app01", "disk": None, "undeclared": ["Bronze"]},
        {"vm": "vm-1", "vm_name": "app01", "disk": "Hard disk 2", "undeclared": ["Silver"]},
        {"vm": "vm-3", "vm_name": "app03", "disk": None, "undeclared": ["Gold"]},
    ]
    assert plan["changes"] == [] and plan["batches"] == []


def test_scope_purge_removes_drift_keeps_declared_and_leaves_outside_alone():
    plan = plan_assignments(scoped_inventory(), SCOPED_DESIRED, "present", scope=SCOPE, scope_purge=True)
    assert sets_of(plan) == {("vm-1", None): ["Gold"], ("vm-1", "Hard disk 2"): [], ("vm-3", None): []}
    assert len(plan["drift"]) == 3  # still reported when purged
    assert all("purge_scope" in c["origins"] for c in plan["changes"])
    assert plan["batches"] == [
        {"policies": [], "resources": [{"vm": "vm-1", "disk": "Hard disk 2"}, {"vm": "vm-3", "disk": None}]},
        {"policies": ["Gold"], "resources": [{"vm": "vm-1", "disk": None}]},
    ]


def test_scope_purge_adds_declared_and_removes_undeclared_in_one_set():
    current = inventory(make_vm("vm-1", policies=["Bronze"]))
    plan = plan_assignments(current, [intent("vm-1", ["Gold"])], "present", scope=["vm-1"], scope_purge=True)
    assert plan["changes"][0]["added"] == ["Gold"] and plan["changes"][0]["removed"] == ["Bronze"]


def test_scope_drift_is_judged_per_resource_disk_intents_do_not_declare_the_vm():
    current = inventory(make_vm("vm-1", policies=["Gold"], disks={"Hard disk 1": ["Silver"]}))
    plan = plan_assignments(current, [intent("vm-1", ["Silver"], disk="Hard disk 1")], "present", scope=["vm-1"])
    assert plan["drift"] == [{"vm": "vm-1", "vm_name": "name-vm-1", "disk": None, "undeclared": ["Gold"]}]


def test_scope_ignores_keys_not_in_the_inventory():
    plan = plan_assignments(scoped_inventory(), [], "present", scope=["vm-404"], scope_purge=True)
    assert plan["changes"] == [] and plan["drift"] == []


# --- VM and disk levels are independent ------------------------------------------------------------------------------

def test_disk_intent_never_changes_the_vm_set_even_with_purge():
    current = inventory(make_vm("vm-1", policies=["Gold"], disks={"Hard disk 1": (), "Hard disk 2": ["Bronze"]}))
    plan = plan_assignments(current, [intent("vm-1", ["Silver"], disk="Hard disk 2")], "present", purge=True)
    assert sets_of(plan) == {("vm-1", "Hard disk 2"): ["Silver"]}


def test_vm_intent_never_changes_disk_sets_even_with_purge():
    current = inventory(make_vm("vm-1", policies=["Gold"], disks={"Hard disk 1": ["Silver"]}))
    plan = plan_assignments(current, [intent("vm-1", ["Bronze"])], "present", purge=True)
    assert sets_of(plan) == {("vm-1", None): ["Bronze"]}


def test_absent_on_the_vm_leaves_the_same_policy_on_its_disk():
    current = inventory(make_vm("vm-1", policies=["Silver"], disks={"Hard disk 1": ["Silver"]}))
    plan = plan_assignments(current, [intent("vm-1", ["Silver"])], "absent")
    assert sets_of(plan) == {("vm-1", None): []}


def test_vm_and_disk_with_the_same_resulting_set_share_one_call():
    current = inventory(make_vm("vm-1", disks={"Hard disk 1": ()}))
    plan = plan_assignments(current, [intent("vm-1", ["Gold"]), intent("vm-1", ["Gold"], disk="Hard disk 1")],
                            "present")
    assert plan["batches"] == [{"policies": ["Gold"], "resources": [{"vm": "vm-1", "disk": None},
                                                                    {"vm": "vm-1", "disk": "Hard disk 1"}]}]


# --- batching ------------------------------------------------------------------------------------------------------

def test_one_thousand_vms_with_three_resulting_sets_make_three_batches():
    sets = (["Gold"], ["Gold", "Silver"], ["Bronze"])
    vms = [make_vm("vm-%04d" % i, "vm%04d" % i, policies=["Gold"] if i % 2 else []) for i in range(1000)]
    current = inventory(*vms)
    desired = [intent(vm["moref"], sets[i % 3]) for i, vm in enumerate(vms)]
    plan = plan_assignments(current, desired, "present", purge=True)
    assert [b["policies"] for b in plan["batches"]] == [["Bronze"], ["Gold"], ["Gold", "Silver"]]
    written = [r["vm"] for b in plan["batches"] for r in b["resources"]]
    assert len(written) == len(set(written)) == len(plan["changes"])
    # The VMs already exact (odd index with set ["Gold"]) are not written.
    assert len(plan["changes"]) == 1000 - sum(1 for i in range(1000) if i % 2 and i % 3 == 0)
    assert_idempotent(current, desired, state="present", purge=True)


def test_batches_are_deterministic_whatever_the_intent_order():
    vms = [make_vm("vm-%d" % i, policies=["Bronze"], disks={"Hard disk 1": (), "Hard disk 2": ()}) for i in range(20)]
    desired = [intent("vm-%d" % i, ["Gold"] if i % 2 else ["Silver"], disk="Hard disk %d" % (1 + i % 2))
               for i in range(20)] + [intent("vm-%d" % i, ["Gold"]) for i in range(20)]
    reference = plan_assignments(inventory(*vms), desired, "present")
    for seed in range(5):
        shuffled = list(desired)
        random.Random(seed).shuffle(shuffled)
        assert plan_assignments(inventory(*reversed(vms)), shuffled, "present") == reference


def test_changes_are_sorted_by_vm_name_then_vm_level_then_disk_label_naturally():
    disks = {"Hard disk 10": (), "Hard disk 2": (), "Hard disk 1": ()}
    current = inventory(make_vm("vm-2", "beta", disks=disks), make_vm("vm-1", "alpha", disks=disks))
    desired = [intent(k, ["Gold"], disk=d) for k in ("vm-2", "vm-1") for d in list(disks) + [None]]
    plan = plan_assignments(current, desired, "present")
    assert [(c["vm_name"], c["disk"]) for c in plan["changes"]] == [
        (name, disk) for name in ("alpha", "beta") for disk in (None, "Hard disk 1", "Hard disk 2", "Hard disk 10")]
    assert natural_key("Hard disk 2") < natural_key("Hard disk 10")


# --- what the plan cannot write --------------------------------------------------------------------------------------

def test_unknown_policies_are_listed_for_present():
    current = inventory(make_vm("vm-1"), make_vm("vm-2"))
    plan = plan_assignments(current, [intent("vm-1", ["Gld", "Gold"]), intent("vm-2", ["Platinum"])], "present")
    assert plan["unknown_policies"] == ["Gld", "Platinum"]


def test_unknown_to_backup_lists_vms_and_disks_the_plan_writes():
    stranger = make_vm("vm-1", known=False)
    new_disk = make_vm("vm-2", disks={"Hard disk 1": (), "Hard disk 2": ()})
    new_disk["disks"]["Hard disk 2"]["spp_id"] = None
    untouched = make_vm("vm-3", known=False)
    current = inventory(stranger, new_disk, untouched, make_vm("vm-4"))
    desired = [intent("vm-1", ["Gold"]), intent("vm-2", ["Silver"], disk="Hard disk 2"),
               intent("vm-2", ["Silver"], disk="Hard disk 1"), intent("vm-4", ["Gold"])]
    assert plan_assignments(current, desired, "present")["unknown_to_backup"] == ["vm-1", "vm-2"]


def test_unknown_disk_labels_are_reported_with_the_known_ones():
    current = inventory(make_vm("vm-1", disks={"Hard disk 2": (), "Hard disk 10": ()}))
    plan = plan_assignments(current, [intent("vm-1", ["Gold"], disk="Hard disk 9", origin="assignments[4]")],
                            "present")
    assert plan["changes"] == []
    assert plan["unknown_disks"] == [{"vm": "vm-1", "vm_name": "name-vm-1", "disk": "Hard disk 9",
                                      "origins": ["assignments[4]"], "known": ["Hard disk 2", "Hard disk 10"]}]


def test_intents_naming_vms_absent_from_the_inventory_raise_with_all_of_them():
    with pytest.raises(InvalidRequest) as caught:
        plan_assignments(inventory(make_vm("vm-1")), [intent("vm-7", ["Gold"]), intent("vm-8", ["Gold"])], "present")
    assert "vm-7" in caught.value.message and "vm-8" in caught.value.message


@pytest.mark.parametrize("kwargs, words", [
    ({"state": "latest"}, "state"),
    ({"state": "absent", "purge": True}, "purge"),
    ({"state": "absent", "scope": ["vm-1"]}, "scope"),
    ({"state": "present", "scope_purge": True}, "purge_scope"),
])
def test_inconsistent_arguments_raise_typed_errors(kwargs, words):
    with pytest.raises(InvalidRequest, match=words):
        plan_assignments(inventory(make_vm("vm-1")), [], **kwargs)


# --- idempotence ---------------------------------------------------------------------------------------------------

def random_case(seed):
    rng = random.Random(seed)
    names = sorted(POLICIES)
    labels = ["Hard disk %d" % i for i in range(1, 4)]
    vms = [make_vm("vm-%d" % i, "n%d" % rng.randrange(5), rng.sample(names, rng.randrange(3)),
                   {label: rng.sample(names, rng.randrange(3)) for label in labels[:rng.randrange(1, 4)]},
                   known=rng.random() > 0.1) for i in range(8)]
    current = inventory(*vms)
    desired = []
    for _attempt in range(rng.randrange(12)):
        vm = rng.choice(vms)
        disk = rng.choice([None] + list(vm["disks"]))
        desired.append(intent(vm["moref"], rng.sample(names, rng.randrange(3)), disk=disk))
    state = rng.choice(["present", "absent"])
    kwargs = {"state": state}
    if state == "present":
        kwargs["purge"] = rng.random() < 0.5
        if rng.random() < 0.5:
            kwargs["scope"] = [vm["moref"] for vm in vms if rng.random() < 0.5]
            kwargs["scope_purge"] = rng.random() < 0.5
    return current, desired, kwargs


@pytest.mark.parametrize("seed", range(300))
def test_applying_a_plan_then_planning_again_changes_nothing(seed):
    current, desired, kwargs = random_case(seed)
    snapshot = copy.deepcopy(current)
    plan, converged = assert_idempotent(current, desired, **kwargs)
    assert current == snapshot  # planning and apply_plan never mutate their input
    # Every change is written exactly once, by the batch of its resulting set.
    written = {(r["vm"], r["disk"]): tuple(b["policies"]) for b in plan["batches"] for r in b["resources"]}
    assert written == {(c["vm"], c["disk"]): tuple(c["after"]) for c in plan["changes"]}
    assert len({tuple(b["policies"]) for b in plan["batches"]}) == len(plan["batches"])
    for change in plan["changes"]:
        vm = converged["vms"][change["vm"]]
        got = vm["policies"] if change["disk"] is None else vm["disks"][change["disk"]]["policies"]
        assert sorted(got) == change["after"]
        assert set(change["after"]) == (set(change["before"]) | set(change["added"])) - set(change["removed"])


# --- options ---------------------------------------------------------------------------------------------------------

def test_options_plan_compares_only_given_keys_and_groups_identical_dicts():
    current = {
        "vm-1": {"makeApplicationConsistent": True, "fallbackToUnquiescedSnapshot": False, "priority": 5},
        "vm-2": {"makeApplicationConsistent": False, "fallbackToUnquiescedSnapshot": False},
        "vm-3": {"makeApplicationConsistent": True, "fallbackToUnquiescedSnapshot": True},
        "vm-4": {"makeApplicationConsistent": True},
    }
    desired = {
        "vm-1": {"makeApplicationConsistent": False},
        "vm-2": {"makeApplicationConsistent": False},  # already so
        "vm-3": {"makeApplicationConsistent": False, "fallbackToUnquiescedSnapshot": None},  # None: not given
        "vm-4": {"makeApplicationConsistent": True, "fallbackToUnquiescedSnapshot": True},  # key missing: differs
        "vm-5": {"makeApplicationConsistent": True},  # no current options at all
        "vm-6": {"fallbackToUnquiescedSnapshot": None},  # nothing given
    }
    plan = plan_options(current, desired)
    assert plan["changes"] == [
        {"vm": "vm-1", "before": {"makeApplicationConsistent": True}, "after": {"makeApplicationConsistent": False}},
        {"vm": "vm-3", "before": {"makeApplicationConsistent": True}, "after": {"makeApplicationConsistent": False}},
        {"vm": "vm-4", "before": {"fallbackToUnquiescedSnapshot": None, "makeApplicationConsistent": True},
         "after": {"fallbackToUnquiescedSnapshot": True, "makeApplicationConsistent": True}},
        {"vm": "vm-5", "before": {"makeApplicationConsistent": None}, "after": {"makeApplicationConsistent": True}},
    ]
    assert plan["batches"] == [
        {"options": {"fallbackToUnquiescedSnapshot": True, "makeApplicationConsistent": True}, "vms": ["vm-4"]},
        {"options": {"makeApplicationConsistent": False}, "vms": ["vm-1", "vm-3"]},
        {"options": {"makeApplicationConsistent": True}, "vms": ["vm-5"]},
    ]


def test_options_plan_is_idempotent():
    desired = {"vm-%d" % i: {"makeApplicationConsistent": bool(i % 2)} for i in range(50)}
    plan = plan_options({}, desired)
    assert len(plan["batches"]) == 2 and len(plan["changes"]) == 50
    applied = {c["vm"]: dict(c["after"]) for c in plan["changes"]}
    assert plan_options(applied, desired) == {"changes": [], "batches": []}


# --- diff and summary --------------------------------------------------------------------------------------------------

def diff_case():
    current = inventory(make_vm("vm-1", "web01", ["Gold"], disks={"Hard disk 1": (), "Hard disk 2": ["Bronze"]}),
                        make_vm("vm-2", "db01", ["Gold", "Bronze"]), make_vm("vm-3", "quiet", ["Gold"]))
    desired = [intent("vm-1", ["Silver"]), intent("vm-1", ["Silver"], disk="Hard disk 2"),
               intent("vm-2", ["Gold"]), intent("vm-3", ["Gold"])]
    plan = plan_assignments(current, desired, "present", purge=True)
    options = plan_options({"vm-3": {"makeApplicationConsistent": True}}, {"vm-3": {"makeApplicationConsistent": False}})
    return current, plan, options


def test_summary_counts():
    _current, plan, options = diff_case()
    assert summarize(plan) == {"vms_changed": 2, "disks_changed": 1, "policies_added": 2, "policies_removed": 3,
                               "options_changed": 0, "calls": 2}
    assert summarize(plan, options)["vms_changed"] == 3 and summarize(plan, options)["calls"] == 3


def test_diff_lists_only_what_changes_per_vm_and_disk_with_counts():
    current, plan, options = diff_case()
    diff = diff_of(plan, current, options)
    summary = "# vms_changed=3 disks_changed=1 policies_added=2 policies_removed=3 options_changed=1 calls=3"
    assert diff["before"] == (
        "db01 (vm-2):\n"
        "  policies: Bronze, Gold\n"
        "quiet (vm-3):\n"
        "  options: makeApplicationConsistent=true\n"
        "web01 (vm-1):\n"
        "  policies: Gold\n"
        "  Hard disk 2: Bronze\n" + summary + "\n")
    assert diff["after"] == (
        "db01 (vm-2):\n"
        "  policies: Gold\n"
        "quiet (vm-3):\n"
        "  options: makeApplicationConsistent=false\n"
        "web01 (vm-1):\n"
        "  policies: Silver\n"
        "  Hard disk 2: Silver\n" + summary + "\n")
    assert diff["before_header"] == "SLA assignments before"
    assert diff["after_header"] == "SLA assignments after (%s)" % summary[2:]
    assert "Hard disk 1" not in diff["before"] + diff["after"]  # unchanged resources are not listed
    assert diff_of(plan, current, options) == diff  # deterministic


def test_diff_of_an_empty_plan_is_empty_and_shows_none_for_empty_sets():
    current = inventory(make_vm("vm-1", "web01", ["Gold"]))
    plan = plan_assignments(current, [intent("vm-1", ["Gold"])], "present")
    diff = diff_of(plan, current)
    assert diff["before"] == diff["after"] == ""
    unassign = plan_assignments(current, [intent("vm-1", ["Gold"])], "absent")
    assert "  policies: (none)\n" in diff_of(unassign, current)["after"]
