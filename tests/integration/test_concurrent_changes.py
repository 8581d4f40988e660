# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Two plays at once on the same VM, or on the same SLA policy (issue 14): they never both report success while one
change is lost, and a re-run of the one that failed converges.

Each case runs two ``ansible-playbook`` processes against the lab at the same time. SPP's writes replace whole values
(spp-api.md sections 3.3 and 4), so the race is real; the emulator's fault API makes it happen every time instead of
by luck: a latency on one request of the first process holds it at a chosen point while the second one works (the
request counters of the admin API say when the first process has got there). The end state is read from the
emulator's own record (``helpers.SppReader``), never through the collection.

- *before the write*: the first process is held between its plan and its write; the second one writes meanwhile.
  The first one finds the set (or the definition) changed since it read it, writes nothing and fails.
- *after the write*: the second process's write is held on its way to the server (before it takes effect) while
  the first one plans, writes, and waits for its answer; then the held write lands on top. The first one reads back
  a set (or a definition) that lost its change, and fails.
- *free-running*: both start together and both are held a while after their plans, so that both plan from the same
  set; then they run free, in whatever order they come: the outcome is one of the allowed ones.
"""

from __future__ import annotations

import concurrent.futures
import uuid

import pytest

from helpers import create_sla_policy, poll

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("concurrent_changes")]  # faults are lab-wide

VM = "DC0_H0_VM0"
APPLY = "POST /ngp/hypervisor?action=applySLAPolicies"
HOLD_MS = 15000  # how long the first process is held: the second one runs a whole play meanwhile
LATE_ANSWER_MS = HOLD_MS + 3000  # how late the first process's answer comes in the after-write cases: after the
# held write has landed (it was held HOLD_MS from before the first process started)
ROUNDS = 2  # free-running rounds of vm_backup_policy: the order in which the two plays come varies with their start


class Run:
    """One finished ``ansible-playbook`` run of a module target."""

    def __init__(self, name, rc, output, result):
        self.name = name
        self.rc = rc
        self.output = output
        self.result = result or {}

    @property
    def succeeded(self):
        return self.rc == 0 and not self.result.get("failed")

    @property
    def message(self):
        return self.result.get("msg") or ""

    def __repr__(self):
        return "%s: rc=%s changed=%s msg=%s" % (self.name, self.rc, self.result.get("changed"), self.message[:2000])


def run(lab, name, target, args):
    rc, output, result = lab.playbook(target, {"module_args": args}, expect_rc=None)
    return Run(name, rc, output, result)


def request_count(lab, key):
    counts = lab.admin("GET", "/requests")
    return counts["counts"].get(key, 0) + counts["actions"].get(key, 0)


def run_both(lab, target, first, second, second_after=None):
    """Run ``first`` and ``second`` (``(name, module args)``) as two processes at once; ``second`` starts as soon as
    the emulator has received the request ``second_after`` (a key of its request counters), or right away."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        one = pool.submit(run, lab, first[0], target, first[1])
        if second_after:
            poll(lambda: one.done() or request_count(lab, second_after) >= 1, 120,
                 "process %s sending %s" % (first[0], second_after), interval=0.1)
            assert not one.done(), one.result()
        two = pool.submit(run, lab, second[0], target, second[1])
        return one.result(), two.result()


def faults(lab, *specs):
    lab.admin("DELETE", "/faults")
    lab.admin("DELETE", "/requests")
    for spec in specs:
        lab.admin("POST", "/faults", spec)


def assert_no_lost_update(runs, kept):
    """Never both successful while one change is missing from the end state (``kept``: change name -> present)."""
    lost = sorted(name for name, present in kept.items() if not present)
    assert not (all(r.succeeded for r in runs) and lost), "both succeeded, yet %s is lost: %s" % (lost, runs)
    for each in runs:
        if not each.succeeded:
            assert "concurrent change" in each.message, each


# -- vm_backup_policy -----------------------------------------------------------------------------------------------

def policy_runs(vm=VM):
    return ("gold", {"vm": vm, "policies": ["Gold"]}), ("silver", {"vm": vm, "policies": ["Silver"]})


def vm_policies(lab, vm=VM):
    return lab.spp.policies_of(vm)


def assert_vm_outcome(lab, runs):
    final = vm_policies(lab)
    assert_no_lost_update(runs, {"Gold": "Gold" in final, "Silver": "Silver" in final})
    return final


def rerun_failed_converges(lab, runs, args_of):
    """The runs that failed, run again, succeed; the end state then holds both changes."""
    lab.admin("DELETE", "/faults")
    for each in runs:
        if not each.succeeded:
            again = run(lab, each.name + "-again", "vm_backup_policy", args_of[each.name])
            assert again.succeeded, again
    assert vm_policies(lab) == ["Gold", "Silver"]


def test_vm_set_changed_between_plan_and_write_fails_before_writing(fresh_lab):
    gold, silver = policy_runs()
    # The Gold play is held at its listing of sites, after it has read the VM's set and before it writes.
    faults(fresh_lab, {"method": "GET", "path_prefix": "/api/site", "latency_ms": HOLD_MS, "count": 1})
    first, second = run_both(fresh_lab, "vm_backup_policy", gold, silver, second_after="GET /api/site")
    assert second.succeeded and second.result["changed"] is True, second
    assert not first.succeeded, first
    assert "concurrent change" in first.message and "nothing was written" in first.message, first
    assert "%s (vm-" % VM in first.message and "read [], now [Silver]; this task would write [Gold]" in first.message
    assert "Run the task again" in first.message and "throttle: 1" in first.message
    assert assert_vm_outcome(fresh_lab, [first, second]) == ["Silver"]
    assert request_count(fresh_lab, APPLY) == 1, "the held play wrote nothing"
    rerun_failed_converges(fresh_lab, [first, second], dict([gold, silver]))


def test_vm_set_replaced_after_the_write_fails_the_play_whose_change_is_lost(fresh_lab):
    gold, silver = policy_runs()
    # The Silver play's write is held on its way (before it takes effect); the Gold play's answer comes back late,
    # after the Silver write has landed on top of it.
    faults(fresh_lab,
           {"method": "POST", "path_prefix": "/ngp/hypervisor", "latency_ms": HOLD_MS, "count": 1},
           {"method": "POST", "path_prefix": "/ngp/hypervisor", "latency_ms": LATE_ANSWER_MS, "after_effect": True,
            "after": 1, "count": 1})
    held, late = run_both(fresh_lab, "vm_backup_policy", silver, gold, second_after=APPLY)
    assert held.succeeded, held
    assert not late.succeeded, late
    assert "concurrent change" in late.message and "this task wrote [Gold], now [Silver]" in late.message, late
    assert "%s (vm-" % VM in late.message and "Run the task again" in late.message
    assert late.result.get("changed") is True, "its write was made"
    assert assert_vm_outcome(fresh_lab, [held, late]) == ["Silver"]
    rerun_failed_converges(fresh_lab, [held, late], dict([gold, silver]))


@pytest.mark.parametrize("round_number", range(ROUNDS))
def test_vm_two_plays_started_together_never_both_succeed_with_a_change_lost(fresh_lab, round_number):
    gold, silver = policy_runs()
    # Both plays are held a while after their plans, so that both plan from the same set; then they run free, in
    # whatever order they come, the first write's answer a little late.
    faults(fresh_lab, {"method": "GET", "path_prefix": "/api/site", "latency_ms": 5000, "count": 2},
           {"method": "POST", "path_prefix": "/ngp/hypervisor", "latency_ms": 3000, "after_effect": True, "count": 1})
    runs = list(run_both(fresh_lab, "vm_backup_policy", gold, silver))
    assert_vm_outcome(fresh_lab, runs)
    rerun_failed_converges(fresh_lab, runs, dict([gold, silver]))


# -- backup_sla_policy ----------------------------------------------------------------------------------------------

@pytest.fixture
def policy(fresh_lab):
    name = "Race-%s" % uuid.uuid4().hex[:4]
    create_sla_policy(fresh_lab, name, "Secondary", days=7)
    return name


def sla_runs(name):
    return (("retention", {"name": name, "retention": {"days": 30}}),
            ("description", {"name": name, "description": "set by the other play"}))


def sla_view(lab, name):
    definition = lab.spp.sla_policies()[name]
    backup = next(s for s in definition["spec"]["subpolicy"] if s.get("type") == "REPLICATION")
    return {"retention": backup.get("retention"), "description": definition.get("description") or ""}


def assert_sla_outcome(lab, name, runs):
    final = sla_view(lab, name)
    assert_no_lost_update(runs, {"retention": final["retention"] == {"age": 30},
                                 "description": final["description"] == "set by the other play"})
    return final


def rerun_failed_sla_converges(lab, name, runs, args_of):
    lab.admin("DELETE", "/faults")
    for each in runs:
        if not each.succeeded:
            again = run(lab, each.name + "-again", "backup_sla_policy", args_of[each.name])
            assert again.succeeded, again
    assert sla_view(lab, name) == {"retention": {"age": 30}, "description": "set by the other play"}


def test_sla_changed_between_read_and_update_fails_before_writing(fresh_lab, policy):
    retention, description = sla_runs(policy)
    # The retention play is held at its look-up of the policy's job, after it has read the policy.
    faults(fresh_lab, {"method": "GET", "path_prefix": "/api/endeavour/job", "latency_ms": HOLD_MS, "count": 1})
    first, second = run_both(fresh_lab, "backup_sla_policy", retention, description,
                             second_after="GET /api/endeavour/job")
    assert second.succeeded and second.result["changed"] is True, second
    assert not first.succeeded, first
    message = first.message
    assert "concurrent change: SLA policy %s changed" % policy in message and "nothing was written" in message, first
    assert "description: read '', now 'set by the other play'" in message, first
    assert assert_sla_outcome(fresh_lab, policy, [first, second]) == {"retention": {"age": 7},
                                                                      "description": "set by the other play"}
    rerun_failed_sla_converges(fresh_lab, policy, [first, second], dict([retention, description]))


def test_sla_update_replaced_after_the_write_fails_the_play_whose_change_is_lost(fresh_lab, policy):
    retention, description = sla_runs(policy)
    put = "PUT /ngp/slapolicy/%s" % fresh_lab.spp.sla_policies()[policy]["id"]
    faults(fresh_lab,
           {"method": "PUT", "path_prefix": "/ngp/slapolicy", "latency_ms": HOLD_MS, "count": 1},
           {"method": "PUT", "path_prefix": "/ngp/slapolicy", "latency_ms": LATE_ANSWER_MS, "after_effect": True,
            "after": 1, "count": 1})
    held, late = run_both(fresh_lab, "backup_sla_policy", description, retention, second_after=put)
    assert held.succeeded, held
    assert not late.succeeded, late
    assert "concurrent change: another writer replaced SLA policy %s" % policy in late.message, late
    assert 'retention: this task wrote {"age": 30}, now {"age": 7}' in late.message, late
    assert assert_sla_outcome(fresh_lab, policy, [held, late]) == {"retention": {"age": 7},
                                                                   "description": "set by the other play"}
    rerun_failed_sla_converges(fresh_lab, policy, [held, late], dict([retention, description]))


def test_sla_two_plays_started_together_never_both_succeed_with_a_change_lost(fresh_lab, policy):
    retention, description = sla_runs(policy)
    faults(fresh_lab, {"method": "GET", "path_prefix": "/api/endeavour/job", "latency_ms": 5000, "count": 2},
           {"method": "PUT", "path_prefix": "/ngp/slapolicy", "latency_ms": 3000, "after_effect": True, "count": 1})
    runs = list(run_both(fresh_lab, "backup_sla_policy", retention, description))
    assert_sla_outcome(fresh_lab, policy, runs)
    rerun_failed_sla_converges(fresh_lab, policy, runs, dict([retention, description]))
