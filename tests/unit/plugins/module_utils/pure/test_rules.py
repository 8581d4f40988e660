# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SecNumCloud rules on whole plans: each fires for every offending VM, each switch turns off exactly its rule."""

from __future__ import annotations

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import InvalidRequest, RuleViolation
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.assignment_plan import plan_assignments, plan_options
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.rules import (
    DISK_POLICY_SITE,
    HELD_POLICY,
    LAST_POLICY_OF_RUNNING_VM,
    SWITCHABLE_RULES,
    check_assignment_rules,
    check_power_on_rules,
    ensure_power_on_allowed,
    ensure_rules,
    rule_switches,
)

POLICIES = {
    "Gold": {"id": "2000", "held": False, "site": "Primary"},
    "Silver": {"id": "2001", "held": False, "site": "Secondary"},
    "Bronze": {"id": "2002", "held": False, "site": "Secondary"},
    "Frozen": {"id": "2003", "held": True, "site": "Secondary"},
    "Iced": {"id": "2004", "held": True, "site": "Primary"},
}
ALL_OFF = {rule: False for rule in SWITCHABLE_RULES}


def make_vm(key, name, policies=(), power_state="poweredOn", site="Primary", known=True, disks=None):
    disks = disks if disks is not None else {"Hard disk 1": (), "Hard disk 2": ()}
    return {"name": name, "moref": key, "instance_uuid": "u-" + key, "spp_id": ("s-" + key) if known else None,
            "power_state": power_state, "site": site, "policies": list(policies), "known_to_backup": known,
            "disks": {label: {"spp_id": ("d-" + key + label) if known else None, "policies": list(p)}
                      for label, p in disks.items()}}


def inventory(*vms):
    return {"vms": {vm["moref"]: vm for vm in vms}, "policies": dict(POLICIES)}


def intent(vm, policies, disk=None, origin="assignments[0]"):
    return {"vm": vm, "disk": disk, "policies": list(policies), "origin": origin}


def violations_for(current, desired, state="present", enforce=None, **kwargs):
    plan = plan_assignments(current, desired, state, **kwargs)
    return check_assignment_rules(current, plan, enforce), plan


def raised_message(current, desired, state="present", enforce=None, **kwargs):
    plan = plan_assignments(current, desired, state, **kwargs)
    with pytest.raises(RuleViolation) as caught:
        ensure_rules(current, plan, enforce)
    return caught.value


# --- each rule fires for every offending VM in one call --------------------------------------------------------------

def test_last_policy_of_running_vms_names_every_vm():
    current = inventory(make_vm("vm-1", "web01", ["Gold"]), make_vm("vm-2", "web02", ["Silver"]),
                        make_vm("vm-3", "web03", ["Gold", "Bronze"]), make_vm("vm-4", "stopped", ["Gold"], "poweredOff"),
                        make_vm("vm-5", "asleep", ["Gold"], "suspended"))
    desired = [intent("vm-1", ["Gold"]), intent("vm-2", ["Silver"]), intent("vm-3", ["Gold", "Bronze"]),
               intent("vm-4", ["Gold"]), intent("vm-5", ["Gold"])]
    error = raised_message(current, desired, "absent")
    assert [(v["rule"], v["vm"]) for v in error.violations] == [(LAST_POLICY_OF_RUNNING_VM, n)
                                                                for n in ("web01", "web02", "web03")]
    for name in ("web01", "web02", "web03"):
        assert "keep at least one policy on %s, power it off first, or set enforce.last_policy_of_running_vm: false" % name \
            in error.message
    assert "stopped" not in error.message and "asleep" not in error.message
    assert error.message.startswith("3 rule violation(s); nothing was changed:")


def test_last_policy_rule_fires_when_purge_or_scope_purge_empties_a_running_vm():
    current = inventory(make_vm("vm-1", "a", ["Gold"]), make_vm("vm-2", "b", ["Gold"]), make_vm("vm-3", "c", ["Gold"]))
    violations, _plan = violations_for(current, [intent("vm-1", [])], purge=True, scope=["vm-2", "vm-3"],
                                       scope_purge=True)
    assert [v["vm"] for v in violations] == ["a", "b", "c"]
    assert "purge_scope" in violations[1]["reason"]


def test_last_policy_rule_counts_held_only_as_unprotected():
    current = inventory(make_vm("vm-1", "a", ["Gold", "Iced"]), make_vm("vm-2", "b", ["Iced"]))
    violations, _plan = violations_for(current, [intent("vm-1", ["Gold"]), intent("vm-2", ["Gold"])], "absent")
    assert [(v["vm"], v["rule"]) for v in violations] == [("a", LAST_POLICY_OF_RUNNING_VM), ("a", HELD_POLICY)]
    assert "held policies only (Iced)" in violations[0]["reason"]
    assert "Iced is held and would stay in the set written to the VM" in violations[1]["reason"]
    # vm-2: nothing assigned to it changes; removing a policy it does not carry is not a change at all


def test_disk_changes_never_trigger_the_last_policy_rule():
    current = inventory(make_vm("vm-1", "a", [], disks={"Hard disk 1": ["Silver"]}))
    violations, plan = violations_for(current, [intent("vm-1", ["Silver"], disk="Hard disk 1")], "absent")
    assert plan["changes"] and violations == []


def test_held_policy_names_every_vm_and_disk():
    current = inventory(make_vm("vm-1", "app1"), make_vm("vm-2", "app2"), make_vm("vm-3", "app3"))
    desired = [intent("vm-1", ["Iced"]), intent("vm-2", ["Iced", "Gold"]), intent("vm-3", ["Frozen"], disk="Hard disk 2")]
    error = raised_message(current, desired)
    assert [(v["rule"], v["vm"], v["disk"]) for v in error.violations] == [
        (HELD_POLICY, "app1", None), (HELD_POLICY, "app2", None), (HELD_POLICY, "app3", "Hard disk 2")]
    assert "- [held_policy] app3 / Hard disk 2: Frozen is held" in error.message
    assert error.violations[0]["fix"] == ("release Iced first (backup_sla_policy with held: false), or choose another "
                                          "policy (not held: Bronze, Gold, Silver), or set enforce.held_policy: false")


def test_a_held_policy_kept_in_a_changed_set_is_refused():
    # Each write sends the whole set, and the server refuses one that names a held policy (spp-api.md 14.1).
    current = inventory(make_vm("vm-1", "app1", ["Iced"]), make_vm("vm-2", "app2", ["Gold", "Iced"]),
                        make_vm("vm-3", "app3", ["Iced"]))
    violations, plan = violations_for(current, [intent("vm-1", ["Gold"]), intent("vm-3", ["Silver"])])
    assert plan["changes"][0]["after"] == ["Gold", "Iced"]
    assert [(v["rule"], v["vm"]) for v in violations] == [(HELD_POLICY, "app1"), (HELD_POLICY, "app3")]
    assert violations[0]["fix"] == ("release Iced first (backup_sla_policy with held: false), or remove Iced from the "
                                    "VM in the same task (state: absent, or purge: true), or set enforce.held_policy: "
                                    "false")
    # Removing the held policy itself writes a set without it; a VM whose set does not change is not written at all.
    violations, plan = violations_for(current, [intent("vm-2", ["Iced"])], "absent")
    assert plan["changes"][0]["after"] == ["Gold"] and violations == []
    violations, plan = violations_for(current, [intent("vm-2", ["Gold"])])
    assert plan["changes"] == [] and violations == []


def test_disk_policy_site_names_every_vm_and_suggests_other_sites():
    current = inventory(make_vm("vm-1", "db1"), make_vm("vm-2", "db2"), make_vm("vm-3", "db3", site="Secondary"),
                        make_vm("vm-4", "fine"))
    desired = [intent("vm-1", ["Gold"], disk="Hard disk 1"), intent("vm-2", ["Gold", "Silver"], disk="Hard disk 2"),
               intent("vm-3", ["Bronze"], disk="Hard disk 1"), intent("vm-4", ["Silver"], disk="Hard disk 1"),
               intent("vm-4", ["Gold"])]  # a VM-level policy on the VM's own site is fine
    error = raised_message(current, desired)
    assert [(v["vm"], v["disk"]) for v in error.violations] == [("db1", "Hard disk 1"), ("db2", "Hard disk 2"),
                                                                ("db3", "Hard disk 1")]
    assert all(v["rule"] == DISK_POLICY_SITE for v in error.violations)
    assert error.violations[0]["fix"] == ("choose a policy on a site other than Primary (Bronze (Secondary), "
                                          "Silver (Secondary)), or set enforce.disk_policy_site: false")
    assert "Gold target(s) site Primary, but db2 runs in site Primary" in error.violations[1]["reason"]
    assert error.violations[2]["fix"].startswith("choose a policy on a site other than Secondary (Gold (Primary))")


def test_disk_policy_site_fails_closed_when_the_vm_site_is_unknown():
    current = inventory(make_vm("vm-1", "nosite", site=None))
    violations, _plan = violations_for(current, [intent("vm-1", ["Silver"], disk="Hard disk 1")])
    assert [v["rule"] for v in violations] == [DISK_POLICY_SITE] and "unknown" in violations[0]["reason"]


def test_disk_policy_site_without_any_other_site_suggests_creating_one():
    current = inventory(make_vm("vm-1", "a"))
    current["policies"] = {"Gold": POLICIES["Gold"]}
    violations, _plan = violations_for(current, [intent("vm-1", ["Gold"], disk="Hard disk 1")])
    assert violations[0]["fix"].startswith("create a policy whose site is not Primary")


def test_unknown_to_backup_names_every_vm_and_suggests_rescan():
    new_disk = make_vm("vm-4", "grown")
    new_disk["disks"]["Hard disk 2"]["spp_id"] = None
    current = inventory(make_vm("vm-1", "new1", known=False), make_vm("vm-2", "new2", known=False),
                        make_vm("vm-3", "new3", known=False), new_disk)
    desired = [intent(k, ["Gold"]) for k in ("vm-1", "vm-2", "vm-3")] + [
        intent("vm-4", ["Silver"], disk="Hard disk 2"), intent("vm-4", ["Silver"], disk="Hard disk 1")]
    error = raised_message(current, desired, enforce=ALL_OFF)
    assert [(v["rule"], v["vm"]) for v in error.violations] == [("unknown_to_backup", "grown")] + [
        ("unknown_to_backup", n) for n in ("new1", "new2", "new3")]
    assert all(v["fix"] == "run with rescan: true (the backup server has not inventoried it yet)"
               for v in error.violations)
    assert "disk(s) Hard disk 2 of grown" in error.violations[0]["reason"]


def test_unknown_policies_name_every_vm_and_list_existing_policies():
    current = inventory(make_vm("vm-1", "a"), make_vm("vm-2", "b"), make_vm("vm-3", "c"))
    desired = [intent("vm-1", ["Gld"]), intent("vm-2", ["Gold", "Platinum"]), intent("vm-3", ["Gld"], disk="Hard disk 1")]
    error = raised_message(current, desired, enforce=ALL_OFF)
    assert [(v["rule"], v["vm"], v["disk"]) for v in error.violations] == [
        ("unknown_policy", "a", None), ("unknown_policy", "b", None), ("unknown_policy", "c", "Hard disk 1")]
    assert error.violations[1]["reason"] == "policy Platinum does not exist on the backup server (from assignments[0])."
    assert error.violations[0]["fix"] == ("use an existing policy (Bronze, Frozen, Gold, Iced, Silver), or create it "
                                          "first with backup_sla_policy")


def test_unknown_disk_lists_the_vm_disks():
    current = inventory(make_vm("vm-1", "a"), make_vm("vm-2", "b"), make_vm("vm-3", "c"))
    desired = [intent(k, ["Silver"], disk="Hard disk 7", origin="assignments[%s]" % k) for k in current["vms"]]
    violations, _plan = violations_for(current, desired, enforce=ALL_OFF)
    assert [(v["rule"], v["vm"]) for v in violations] == [("unknown_disk", n) for n in "abc"]
    assert violations[0]["fix"] == "use one of its disks: Hard disk 1, Hard disk 2"
    assert "(from assignments[vm-1])" in violations[0]["reason"]


def test_options_for_vms_unknown_to_backup_are_violations():
    current = inventory(make_vm("vm-1", "a", known=False), make_vm("vm-2", "b"))
    plan = plan_assignments(current, [], "present")
    options = plan_options({}, {"vm-1": {"makeApplicationConsistent": False},
                                "vm-2": {"makeApplicationConsistent": False}})
    violations = check_assignment_rules(current, plan, options_plan=options)
    assert [(v["rule"], v["vm"]) for v in violations] == [("unknown_to_backup", "a")]


# --- switches ------------------------------------------------------------------------------------------------------

def everything_wrong():
    """One plan that breaks every rule, several VMs per rule."""
    current = inventory(
        make_vm("vm-1", "last1", ["Gold"]), make_vm("vm-2", "last2", ["Gold"]), make_vm("vm-3", "last3", ["Gold"]),
        make_vm("vm-4", "held1"), make_vm("vm-5", "held2"), make_vm("vm-6", "held3"),
        make_vm("vm-7", "site1"), make_vm("vm-8", "site2"), make_vm("vm-9", "site3"),
        make_vm("vm-10", "new1", known=False), make_vm("vm-11", "typo1"))
    desired = [intent("vm-%d" % i, []) for i in (1, 2, 3)]
    desired += [intent("vm-%d" % i, ["Iced"]) for i in (4, 5, 6)]
    desired += [intent("vm-%d" % i, ["Gold"], disk="Hard disk 1") for i in (7, 8, 9)]
    desired += [intent("vm-10", ["Silver"]), intent("vm-11", ["Gld"]), intent("vm-11", ["Silver"], disk="Nope")]
    return current, plan_assignments(current, desired, "present", purge=True)


ALWAYS_ON = {"unknown_to_backup", "unknown_policy", "unknown_disk"}


def rules_of(violations):
    return {v["rule"] for v in violations}


def test_all_rules_fire_together_by_default():
    current, plan = everything_wrong()
    violations = check_assignment_rules(current, plan)
    assert rules_of(violations) == set(SWITCHABLE_RULES) | ALWAYS_ON
    assert sum(1 for v in violations if v["rule"] in SWITCHABLE_RULES) == 9
    # Sorted by VM name, so each VM's problems are together.
    assert [v["vm"] for v in violations] == sorted(v["vm"] for v in violations)


@pytest.mark.parametrize("rule", SWITCHABLE_RULES)
def test_each_switch_turns_off_exactly_its_rule(rule):
    current, plan = everything_wrong()
    everything = check_assignment_rules(current, plan)
    without = check_assignment_rules(current, plan, {rule: False})
    assert without == [v for v in everything if v["rule"] != rule]
    assert rules_of(without) == (set(SWITCHABLE_RULES) | ALWAYS_ON) - {rule}


def test_switching_everything_off_keeps_the_rules_that_cannot_be_switched():
    current, plan = everything_wrong()
    assert rules_of(check_assignment_rules(current, plan, ALL_OFF)) == ALWAYS_ON


def test_enforce_defaults_and_unknown_keys():
    assert rule_switches() == {rule: True for rule in SWITCHABLE_RULES}
    assert rule_switches({HELD_POLICY: None, DISK_POLICY_SITE: False}) == {
        LAST_POLICY_OF_RUNNING_VM: True, HELD_POLICY: True, DISK_POLICY_SITE: False}
    with pytest.raises(InvalidRequest, match="unknown_to_backup"):
        rule_switches({"unknown_to_backup": False})


def test_a_clean_plan_passes():
    current = inventory(make_vm("vm-1", "a", ["Gold"]), make_vm("vm-2", "b", power_state="poweredOff"))
    plan = plan_assignments(current, [intent("vm-1", ["Silver"], disk="Hard disk 1"), intent("vm-2", ["Gold"])],
                            "present")
    assert check_assignment_rules(current, plan) == []
    assert ensure_rules(current, plan) is None


# --- power on ------------------------------------------------------------------------------------------------------

def test_power_on_needs_a_usable_vm_level_policy():
    current = inventory(
        make_vm("vm-1", "ok", ["Gold", "Iced"], "poweredOff"), make_vm("vm-2", "none", [], "poweredOff"),
        make_vm("vm-3", "held", ["Iced", "Frozen"], "poweredOff"), make_vm("vm-4", "new", [], "poweredOff", known=False),
        make_vm("vm-5", "disk-only", [], "poweredOff", disks={"Hard disk 1": ["Silver"]}))
    policies = current["policies"]
    assert check_power_on_rules("vm-1", current["vms"]["vm-1"], policies) == []
    with pytest.raises(RuleViolation) as caught:
        ensure_power_on_allowed(current, ["vm-5", "vm-4", "vm-3", "vm-2", "vm-1"])
    violations = caught.value.violations
    assert [v["vm"] for v in violations] == ["disk-only", "held", "new", "none"]
    assert {v["rule"] for v in violations} == {"protected_before_power_on"}
    assert "held or unknown policies only (Frozen, Iced)" in violations[1]["reason"]
    assert violations[2]["fix"].startswith("run with rescan: true")
    assert violations[3]["fix"].endswith("available: Bronze, Gold, Silver")
