# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Terraform provider's faults that hurt users, as tests of vm_backup_policy with ``backup_service: cloudtemple``
(docs/cloudtemple-api.md section 15), injected with the console emulator's HTTP faults. Each test asserts its
duration too (loosely: the lab's machine is shared).

- #391: a policy read that hangs. ``cloudtemple_timeout`` bounds each call and a read is tried 3 times: beyond the
  timeout the task fails clearly within about 3 x timeout; under it, or when only one attempt hangs, it succeeds.
- #102: 500s on a policy change. Before or after the effect, a write is never sent blindly again (the console counts
  the assign requests and records each activity), no VM ever holds fewer policies than it started with, the task
  says what the console holds, and a second run converges.
"""

from __future__ import annotations

import pytest

from cloudtemple_console import ASSIGN_VMS, POLICIES, elapsed
from helpers import assign_policies, poll

pytestmark = [pytest.mark.integration, pytest.mark.covers("vm_backup_policy")]
TARGET = "vm_backup_policy"
ANSIBLE_OVERHEAD = 30  # seconds ansible-playbook may add on a loaded two-core machine
POLICY_READS = "/api/backup/v1/spp/policies"
ASSIGN_PATH = "/api/backup/v1/spp/policies/assign/virtual_machine"
ATTEMPTS = 3  # docs/cloudtemple-api.md 4.3: reads are tried 3 times


# -- #391: a slow policy read -------------------------------------------------------------------------------------

def test_a_policy_read_slower_than_the_timeout_fails_within_the_attempts(console):
    timeout = 2
    console.fault(method="GET", path_prefix=POLICY_READS, latency_ms=30000, count=0)
    console.clear_counts()
    with elapsed() as took:
        result = console.module(TARGET, {"vm": "DC0_H0_VM0", "policies": ["Gold"], "cloudtemple_timeout": timeout},
                                expect_rc=2)
    # 3 attempts of `timeout` s, 0.5 + 1 s of back-off between them, and ansible-playbook's own time.
    assert took() <= ATTEMPTS * timeout + 1.5 + ANSIBLE_OVERHEAD, took()
    assert took() >= ATTEMPTS * timeout, "each attempt waited the whole timeout: %s" % took()
    message = result["msg"]
    assert "cloudtemple_timeout" in message and "policies" in message, message
    assert "Traceback" not in result["_output"]
    assert console.count(POLICIES) == ATTEMPTS, console.counts()
    assert console.writes() == {}
    assert console.lab.spp.policies_of("DC0_H0_VM0") == []


def test_a_policy_read_under_the_timeout_succeeds(console):
    console.fault(method="GET", path_prefix=POLICY_READS, latency_ms=1500, count=0)
    with elapsed() as took:
        result = console.module(TARGET, {"vm": "DC0_H0_VM0", "policies": ["Gold"], "cloudtemple_timeout": 5})
    assert result["changed"] is True and took() >= 1.5
    assert console.lab.spp.policies_of("DC0_H0_VM0") == ["Gold"]


def test_one_hanging_policy_read_is_retried(console):
    """#391's hang was intermittent: the next attempt answers at once."""
    console.fault(method="GET", path_prefix=POLICY_READS, latency_ms=30000, count=1)
    console.clear_counts()
    with elapsed() as took:
        result = console.module(TARGET, {"vm": "DC0_H0_VM0", "policies": ["Gold"], "cloudtemple_timeout": 2})
    assert result["changed"] is True and took() <= 2 + 1.5 + ANSIBLE_OVERHEAD
    assert console.count(POLICIES) >= 2
    assert console.lab.spp.policies_of("DC0_H0_VM0") == ["Gold"]


# -- #102: 500s on a policy change --------------------------------------------------------------------------------

START = {"DC0_H0_VM0": ["Bronze"], "DC0_H0_VM1": ["Bronze"]}
WANTED = {"DC0_H0_VM0": ["Bronze", "Gold"], "DC0_H0_VM1": ["Bronze", "Silver"]}
# Two distinct resulting sets, so two assign calls.
CHANGE = {"assignments": [{"vm": "DC0_H0_VM0", "policies": ["Gold"]}, {"vm": "DC0_H0_VM1", "policies": ["Silver"]}]}


def policies_now(console):
    vms = console.lab.spp.state()["vms"]
    return {name: vms[name] for name in START}


def assert_never_fewer(console):
    """No VM holds fewer policies than it started with, and none holds anything but what it had or was asked for."""
    now = policies_now(console)
    for name, policies in now.items():
        assert set(START[name]) <= set(policies) <= set(WANTED[name]), now
    return now


def assert_each_set_sent_once(console):
    sets = console.assigned_sets()
    assert len(sets) == len(set(sets)) <= len(WANTED), "a write was sent again: %s" % sets


def test_a_500_before_the_effect_applies_nothing_and_a_rerun_converges(console):
    assign_policies(console.lab, vms=START)
    console.fault(method="POST", path_prefix=ASSIGN_PATH, status=500, count=1)
    console.clear_counts()
    failed = console.module(TARGET, CHANGE, expect_rc=2)
    message = failed["msg"]
    assert "500" in message and "Read back" in message, message
    assert any("%s: Bronze" % name in message for name in START), "it says what the console holds: %s" % message
    assert "Traceback" not in failed["_output"]
    assert console.count(ASSIGN_VMS) == 1, "the failed call is not resent, and the run stops there"
    assert assert_never_fewer(console) == START, "nothing was applied"

    again = console.module(TARGET, CHANGE)
    assert again["changed"] is True and assert_never_fewer(console) == WANTED
    assert console.count(ASSIGN_VMS) == 3, "the re-run sent each set once"
    assert console.module(TARGET, CHANGE)["changed"] is False


def test_a_500_after_the_effect_is_read_back_never_resent(console):
    assign_policies(console.lab, vms=START)
    console.fault(method="POST", path_prefix=ASSIGN_PATH, status=500, after_effect=True, count=1)
    console.clear_counts()
    first = console.module(TARGET, CHANGE, expect_rc=None)
    assert "Traceback" not in first["_output"]
    assert_never_fewer(console)
    if first.get("failed"):
        # The read-back came before the console's activity had applied the set: the task says what it read.
        assert "500" in first["msg"] and "Read back" in first["msg"], first["msg"]
        assert console.count(ASSIGN_VMS) == 1
    else:
        assert first["changed"] is True and console.count(ASSIGN_VMS) == 2
    # The activity of the call that answered 500 goes on; once it is over, a re-run sends only what is missing.
    poll(lambda: all("completed" in a["state"] or "failed" in a["state"] for a in console.activities("assign")), 30,
         "the console's assign activities end")
    assert_never_fewer(console)
    console.module(TARGET, CHANGE)
    assert assert_never_fewer(console) == WANTED
    assert_each_set_sent_once(console)
    assert console.module(TARGET, CHANGE)["changed"] is False
