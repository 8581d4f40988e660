# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""vm_backup_run with ``backup_service: cloudtemple``: the console runs a policy's whole job only (jobs/run takes a
job and no VM list, docs/cloudtemple-api.md 10.2). Running a policy runs its job and waits; a VM list is refused
before any write, naming the other VMs the job would back up, unless the user confirms that the whole policy may run.
The end state is read from SPP's record (job sessions, recovery points) and the console's request counts."""

from __future__ import annotations

import uuid

import pytest

from cloudtemple_console import RUN_JOB
from helpers import assign_policies, changed_pattern

pytestmark = [pytest.mark.integration, pytest.mark.covers("vm_backup_run")]
TARGET = "vm_backup_run"
JOB = "vmware_Gold"
PROTECTED = ["DC0_H0_VM0", "DC0_H0_VM1"]
FAST = {"poll_interval": 1, "timeout": 300}
CONFIRM = "whole_policy"  # the module's option that accepts a run of the whole policy for a VM list


def sessions(console):
    return [s["id"] for s in console.lab.spp.sessions(JOB)]


def console_session_id(spp_session_id):
    """The console's id of an SPP job session (the emulator's derived ids, its README "Ids")."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "spp-session/%s" % spp_session_id))


def versions(console):
    return {name: len(console.lab.spp.versions_of(name)) for name in PROTECTED}


@pytest.fixture
def gold(console):
    """Gold on two VMs (SPP creates the policy's job with its first assignment)."""
    assign_policies(console.lab, vms={name: ["Gold"] for name in PROTECTED})
    console.clear_counts()
    return console


def test_running_a_policy_runs_its_job_and_waits(gold):
    console = gold

    def after_each(index, result):
        ran = sessions(console)
        if index in (0, 2):
            assert console.count(RUN_JOB) == 0 and ran == after_each.sessions, "check mode starts nothing"
        else:
            assert console.count(RUN_JOB) == 1, "one run of the job"
            new = [s for s in ran if s not in after_each.sessions]
            assert len(new) == 1 and console.lab.spp.session(new[0])["status"] == "COMPLETED"
            after_each.sessions = ran
            # What the console can tell: the session, and each VM's outcome inferred from it (no per-VM result).
            assert [(s["id"], s["status"]) for s in result["sessions"]] == [(console_session_id(new[0]), "COMPLETED")]
            assert sorted(vm["name"] for vm in result["vms"]) == PROTECTED
            assert {(vm["outcome"], vm["outcome_source"]) for vm in result["vms"]} == {
                ("success", "session_status_inferred")}
        assert versions(console) == dict.fromkeys(PROTECTED, (index + 1) // 2), "both VMs backed up by each run"
        assert "Traceback" not in result["_output"]
        console.clear_counts()

    after_each.sessions = sessions(console)
    results = console.four_runs(TARGET, dict(FAST, policy="Gold"), after_each=after_each)
    assert changed_pattern(results) == [True] * 4, "a backup is an action: every run (and check) reports one"
    assert [(p["job"], p["scope"], sorted(p["covers"])) for p in results[0]["plan"]] == [(JOB, "policy", PROTECTED)]


def test_a_vm_list_needs_the_whole_policy_confirmed(gold):
    console = gold
    before = sessions(console)
    for check in (True, False):
        refused = console.module(TARGET, dict(FAST, vms=["DC0_H0_VM0"]), check=check, expect_rc=2)
        message = refused["msg"]
        assert "DC0_H0_VM1" in message and CONFIRM in message, message
        assert "Traceback" not in refused["_output"]
        assert console.writes() == {} and sessions(console) == before, "refused before any write"

    confirmed = console.module(TARGET, dict(FAST, vms=["DC0_H0_VM0"], **{CONFIRM: True}))
    assert confirmed["changed"] is True and console.count(RUN_JOB) == 1
    assert sorted(confirmed["plan"][0]["covers"]) == PROTECTED, "the result says which VMs the job backed up"
    assert len(sessions(console)) == len(before) + 1
    assert versions(console) == dict.fromkeys(PROTECTED, 1), "the whole policy ran: both VMs have a recovery point"
