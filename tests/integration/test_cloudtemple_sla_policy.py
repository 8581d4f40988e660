# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""backup_sla_policy with ``backup_service: cloudtemple`` is read-only: the console API only reads policies
(docs/cloudtemple-api.md sections 6 and 14), a new one is a request to Cloud Temple support. ``state: present`` of an
existing policy is ok and unchanged; creating, changing or deleting one fails with "policies are created by Cloud
Temple support" before any write; ``held`` is a check that reports the policy's state. SPP's own record of the SLAs
and the console's request counts are the independent eyes."""

from __future__ import annotations

import uuid

import pytest

from cloudtemple_console import SUPPORT_MESSAGE, held_policy

pytestmark = [pytest.mark.integration, pytest.mark.covers("backup_sla_policy")]
TARGET = "backup_sla_policy"


def test_present_for_an_existing_policy_is_ok(console):
    before = console.lab.spp.sla_policies()
    console.clear_counts()
    results = console.four_runs(TARGET, {"name": "Gold"})
    assert [r["changed"] for r in results] == [False] * 4
    assert all("Traceback" not in r["_output"] for r in results)
    assert console.writes() == {} and console.lab.spp.sla_policies() == before


@pytest.mark.parametrize("args", [
    {"name": "New-%s" % uuid.uuid4().hex[:4], "site": "Primary", "retention": {"days": 7}},
    {"name": "Gold", "retention": {"days": 3}},
    {"name": "Gold", "state": "absent"},
], ids=["create", "change", "delete"])
def test_writes_are_refused_before_any_write(console, args):
    before = console.lab.spp.sla_policies()
    for check in (True, False):
        console.clear_counts()
        refused = console.module(TARGET, args, check=check, expect_rc=2)
        message = refused["msg"]
        assert SUPPORT_MESSAGE in message and "console" in message, message
        assert "Traceback" not in refused["_output"] and not refused.get("changed")
        assert console.writes() == {}, "refused before any write"
    assert console.lab.spp.sla_policies() == before, "SPP's SLAs are as they were"


def test_held_is_a_check_of_the_policys_state(console):
    held = "Held-%s" % uuid.uuid4().hex[:4]
    held_policy(console.lab, held, "DC0_C0_RP0_VM2")
    console.clear_counts()
    results = [console.module(TARGET, {"name": name, "held": wanted}, check=check)
               for name, wanted in ((held, True), ("Gold", False)) for check in (True, False)]
    assert [r["changed"] for r in results] == [False] * 4
    assert [r["policy"]["held"] for r in results] == [True, True, False, False]
    assert console.writes() == {}

    for name, wanted in ((held, False), ("Gold", True)):  # a hold or a release is support's matter
        refused = console.module(TARGET, {"name": name, "held": wanted}, expect_rc=2)
        assert "support" in refused["msg"] and "Traceback" not in refused["_output"], refused["msg"]
    assert console.writes() == {}
    assert "vmware_%s" % held in console.lab.spp.held_jobs() and "vmware_Gold" not in console.lab.spp.held_jobs()
