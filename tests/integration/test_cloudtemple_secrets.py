# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""No client secret, bearer token or JWT in any output at -vvv with ``backup_service: cloudtemple``: a change, a
refusal by our rules, a failing console (503 on every backup route), and a rejected personal access token (its wrong
secret must not show either)."""

from __future__ import annotations

import uuid

import pytest

from cloudtemple_console import JWT_PREFIX, TOKEN

pytestmark = [pytest.mark.integration, pytest.mark.covers("vm_backup_policy")]


def test_no_secret_and_no_jwt_at_vvv(console):
    changed = console.module("vm_backup_policy", {"vm": "DC0_H0_VM2", "policies": ["Silver"]}, verbosity=3)
    assert changed["changed"] is True
    console.assert_no_secret(changed["_output"])
    assert console.count(TOKEN) >= 1, "a token was exchanged, and it does not show"

    refused = console.module("vm_backup_policy", {"vm": "DC0_H0_VM2", "policies": ["Silver"], "state": "absent"},
                             verbosity=3, expect_rc=2)
    assert "[last_policy_of_running_vm]" in refused["msg"]
    console.assert_no_secret(refused["_output"])

    console.fault(method="*", path_prefix="/api/backup", status=503, count=0)
    failed = console.module("coverage", {}, verbosity=3, expect_rc=2)
    console.assert_no_secret(failed["_output"])
    console.admin("DELETE", "/faults")

    wrong = "Wrong-%s" % uuid.uuid4().hex
    rejected = console.module("coverage", {}, verbosity=3, expect_rc=2, env={"CLOUDTEMPLE_SECRET_ID": wrong})
    assert "401" in rejected["msg"] or "reject" in rejected["msg"], rejected["msg"]
    assert wrong not in rejected["_output"] and JWT_PREFIX not in rejected["_output"]
    console.assert_no_secret(rejected["_output"])
