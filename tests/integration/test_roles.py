# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Role behaviour the molecule scenarios do not cover: restore_test cleans up after a failing verification, and its
promote path promotes once, then changes nothing."""

from __future__ import annotations

import pytest

import vcenter
from helpers import recap

pytestmark = pytest.mark.integration
SOURCE = "DC0_C0_RP0_VM2"


def test_restore_test_cleans_up_when_verification_fails(fresh_lab):
    fresh_lab.module("vm_backup_policy", {"vm": SOURCE, "policies": ["Gold"]})
    fresh_lab.module("vm_backup_run", {"vms": [SOURCE], "timeout": 300})

    _rc, output, _result = fresh_lab.playbook("restore_test_failing", {"source_vm": SOURCE}, expect_rc=2)

    assert "health check of %s_TEST failed" % SOURCE in output
    with fresh_lab.vcenter() as vsphere:
        assert vcenter.find_vm(vsphere, SOURCE + "_TEST") is None, "the test VM must be cleaned up"
        assert vcenter.find_vm(vsphere, SOURCE) is not None
    mounted = [s for s in fresh_lab.spp.restore_sessions() if s.get("status") in ("PENDING", "RESOURCE ACTIVE")
               and set((s.get("links") or {})) - {"self", "log", "diagnostics", "expire", "expireall"}]
    assert not mounted, "no test restore may stay mounted: %s" % mounted


def test_restore_test_promotes_once_then_changes_nothing(fresh_lab):
    source = "DC0_C0_RP0_VM1"
    fresh_lab.module("vm_backup_policy", {"vm": source, "policies": ["Gold"]})
    fresh_lab.module("vm_backup_run", {"vms": [source], "timeout": 300})
    with fresh_lab.vcenter() as vsphere:
        before = vcenter.find_vm(vsphere, source)._moId  # pylint: disable=protected-access

    _rc, first, _result = fresh_lab.playbook("restore_test_role", {"source_vm": source, "promote": True})
    _rc, second, _result = fresh_lab.playbook("restore_test_role", {"source_vm": source, "promote": True})

    assert recap(first)["changed"] > 0 and recap(second)["changed"] == 0, second[-3000:]
    with fresh_lab.vcenter() as vsphere:
        promoted = vcenter.find_vm(vsphere, source)
        assert promoted is not None and promoted._moId != before, "the test VM took the source's place"  # pylint: disable=protected-access
        assert vcenter.find_vm(vsphere, source + "_TEST") is None
