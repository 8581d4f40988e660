# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lost updates (issue 14): the comparisons of what a task read, wrote and finds afterwards, and their messages."""

from __future__ import annotations

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure import concurrent_change as cc


def change(vm, before, after, disk=None, name=None):
    return {"vm": vm, "vm_name": name or "name-" + vm, "disk": disk, "before": sorted(before), "after": sorted(after),
            "added": sorted(set(after) - set(before)), "removed": sorted(set(before) - set(after))}


# -- before the write: the set the plan was computed from --------------------------------------------------------

def test_nothing_changed_since_the_read_is_no_conflict():
    changes = [change("vm-1", [], ["Gold"]), change("vm-2", ["Silver"], [], disk="Hard disk 1")]
    now = {("vm-1", None): [], ("vm-2", "Hard disk 1"): ["Silver"]}
    assert cc.changed_since_read(changes, now) == []


@pytest.mark.parametrize("now", [["Silver"], [], ["Bronze", "Gold"], None])
def test_any_other_set_since_the_read_is_a_conflict_even_one_that_holds_the_wanted_policy(now):
    # The write would replace whatever is there with the set planned from the old one, so any difference counts.
    before = ["Bronze"] if now == [] else []
    conflicts = cc.changed_since_read([change("vm-1", before, sorted(set(before) | {"Gold"}))],
                                      {("vm-1", None): now})
    assert [(c["vm"], c["read"], c["now"]) for c in conflicts] == [("vm-1", before, now)]


def test_order_of_names_is_not_a_change():
    assert cc.changed_since_read([change("vm-1", ["Gold", "Silver"], ["Gold"])],
                                 {("vm-1", None): ["Silver", "Gold"]}) == []


def test_a_resource_absent_from_the_listing_is_a_conflict():
    (conflict,) = cc.changed_since_read([change("vm-1", [], ["Gold"])], {})
    assert conflict["now"] is None


# -- after the write: did this task's change survive --------------------------------------------------------------

def test_the_written_set_found_again_is_no_loss():
    changes = [change("vm-1", ["Gold"], ["Gold", "Silver"])]
    now = {("vm-1", None): ["Gold", "Silver"]}
    assert cc.lost_after_write(changes, now) == [] and cc.rewritten_after_write(changes, now) == []


@pytest.mark.parametrize("before, after, now", [
    ([], ["Gold"], ["Silver"]),                 # the other writer's set replaced ours: Gold is missing
    ([], ["Gold"], []),
    (["Bronze"], [], ["Bronze"]),               # this task removed Bronze; it is back
    (["Bronze"], ["Gold"], ["Bronze", "Gold"]),  # Gold kept but Bronze is back
    ([], ["Gold"], None),                       # the VM is gone
])
def test_a_missing_addition_or_a_returning_removal_is_a_loss(before, after, now):
    (lost,) = cc.lost_after_write([change("vm-1", before, after)], {("vm-1", None): now})
    assert lost["written"] == sorted(after) and lost["now"] == (sorted(now) if now is not None else None)


def test_a_later_change_that_keeps_this_tasks_change_is_no_loss_only_a_warning():
    changes = [change("vm-1", [], ["Gold"]), change("vm-2", [], ["Gold"])]
    now = {("vm-1", None): ["Gold", "Silver"], ("vm-2", None): ["Gold"]}
    assert cc.lost_after_write(changes, now) == []
    (rewritten,) = cc.rewritten_after_write(changes, now)
    assert rewritten["vm"] == "vm-1" and rewritten["now"] == ["Gold", "Silver"]
    warning = cc.rewritten_warning([rewritten])
    assert "name-vm-1 (vm-1)" in warning and "[Gold, Silver]" in warning and "serialised" in warning


def test_conflicts_are_sorted_by_vm_name_then_vm_level_first():
    changes = [change("vm-2", [], ["Gold"], name="b"), change("vm-1", [], ["Gold"], disk="Hard disk 1", name="a"),
               change("vm-1", [], ["Gold"], name="a")]
    assert [(c["vm"], c["disk"]) for c in cc.lost_after_write(changes, {})] == [
        ("vm-1", None), ("vm-1", "Hard disk 1"), ("vm-2", None)]


# -- messages -------------------------------------------------------------------------------------------------------

def test_the_message_before_a_write_names_each_resource_what_was_read_what_is_there_and_the_way_out():
    conflicts = cc.changed_since_read([change("vm-1", [], ["Gold"], name="web01"),
                                       change("vm-2", [], ["Gold"], disk="Hard disk 2", name="db01")],
                                      {("vm-1", None): ["Silver"]})
    message = cc.before_write_message(conflicts)
    assert message.startswith("concurrent change: the policies of 2 resource(s) changed")
    assert "nothing was written" in message
    assert "- web01 (vm-1): read [], now [Silver]; this task would write [Gold]" in message
    assert "- db01 (vm-2) / Hard disk 2: read [], now (gone from the backup server)" in message
    assert "Run the task again" in message and "converges" in message
    for advice in ("throttle: 1", "serial: 1", "AWX"):
        assert advice in message


def test_the_message_after_a_write_says_what_this_task_wrote_and_what_is_there_now():
    lost = cc.lost_after_write([change("vm-1", [], ["Gold"], name="web01")], {("vm-1", None): ["Silver"]})
    message = cc.after_write_message(lost, 3)
    assert message.startswith("concurrent change: another writer replaced the policies of 1 resource(s)")
    assert "(3 write call(s) applied)" in message
    assert "- web01 (vm-1): this task wrote [Gold], now [Silver]" in message
    assert "Run the task again" in message and "throttle: 1" in message


def test_names_with_quotes_and_brackets_are_shown_as_they_are():
    lost = cc.lost_after_write([change("vm-1", [], ['Gold "1"'], name="web [prod]")], {("vm-1", None): []})
    assert '- web [prod] (vm-1): this task wrote [Gold "1"], now []' in cc.after_write_message(lost, 1)


# -- SLA definitions ------------------------------------------------------------------------------------------------

def sla(**fields):
    definition = {"id": "2101", "name": "Gold", "description": "old", "links": {"self": {"href": "x"}},
                  "spec": {"simple": True, "subpolicy": [{"type": "REPLICATION", "retention": {"age": 15}}]},
                  "statistics": {"runs": 1}}
    definition.update(fields)
    return definition


def test_an_sla_read_again_unchanged_is_no_conflict_whatever_the_server_only_fields_do():
    assert cc.sla_changed_since_read(sla(), sla(statistics={"runs": 2}, links={})) == []


def test_an_sla_changed_since_it_was_read_names_the_fields_a_put_would_replace():
    now = sla(description="new", spec={"simple": True, "subpolicy": []})
    assert cc.sla_changed_since_read(sla(), now) == ["description", "spec"]
    assert cc.sla_changed_since_read(sla(), sla(name="Gold2")) == ["name"]
    assert cc.sla_changed_since_read(sla(), None) == ["(deleted)"]


def test_the_sla_messages_name_the_policy_the_values_and_the_way_out():
    read = {"name": "Gold", "description": "old", "retention": {"age": 15}}
    now = {"name": "Gold", "description": "new", "retention": {"age": 15}}
    message = cc.sla_before_write_message("Gold", read, now)
    assert message.startswith("concurrent change: SLA policy Gold changed on the backup server")
    assert "description: read 'old', now 'new'" in message and "nothing was written" in message
    assert "retention" not in message.split("(")[1].split(")")[0], "only the fields that changed"
    assert "Run the task again" in message and "throttle: 1" in message
    assert "it was deleted" in cc.sla_before_write_message("Gold", read, None)

    message = cc.sla_after_write_message("Gold", ["retention"], {"retention": {"age": 30}}, {"retention": {"age": 15}})
    assert message.startswith("concurrent change: another writer replaced SLA policy Gold")
    assert 'retention: this task wrote {"age": 30}, now {"age": 15}' in message and "serialise" in message
    assert "the policy is gone" in cc.sla_after_write_message("Gold", ["(deleted)"], {}, None)
