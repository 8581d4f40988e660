# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""vm_restore and the restore roles with ``backup_service: cloudtemple``: the public console API offers no restore
(docs/cloudtemple-api.md section 14), so every mode fails with that clear message BEFORE ANY CALL: the console, SPP
and vCenter receive nothing (their own request counters), not even a token exchange."""

from __future__ import annotations

import json

import pytest

from cloudtemple_console import NO_RESTORE_MESSAGE
from lab import reset_vcenter_calls, vcenter_calls

pytestmark = pytest.mark.integration
VM = "DC0_H0_VM0"


def clear_every_counter(console):
    console.clear_counts()
    console.lab.admin("DELETE", "/requests")
    reset_vcenter_calls(console.env)


def assert_no_call_at_all(console):
    assert console.counts() == {}, "the console received %s" % console.counts()
    assert console.lab.admin("GET", "/requests")["total"] == 0, "SPP received a request"
    assert not vcenter_calls(console.env), "vCenter received a call"


@pytest.mark.covers("vm_restore")
@pytest.mark.parametrize("args, vcenter", [
    ({"vm": VM, "mode": "test"}, False),
    ({"vm": VM, "mode": "clone", "name": VM + "_CLONE"}, False),
    ({"vm": VM, "mode": "production", "overwrite": True}, True),  # vCenter credentials given: no login either
    ({"vm": VM, "mode": "test", "state": "absent"}, False),
], ids=["test", "clone", "production-with-vcenter", "absent"])
def test_vm_restore_is_refused_before_any_call(console, args, vcenter):
    for check in (True, False):
        clear_every_counter(console)
        refused = console.module("vm_restore", args, check=check, expect_rc=2, vcenter=vcenter)
        message = refused["msg"]
        assert NO_RESTORE_MESSAGE in message and "Cloud Temple console" in message, message
        assert "Traceback" not in refused["_output"] and not refused.get("changed")
        assert_no_call_at_all(console)


ROLE_PLAY = """
- name: A restore role on the Cloud Temple console
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Apply the role
      ansible.builtin.include_role:
        name: sovereign.vm_backup.{role}
      vars:
        {role}_vm: {vm}
        {role}_connection: {connection}
        restore_production_confirm: true
"""
# The two ways a play names the service for a role: the environment variable and the role's connection variable.
# (A play's module_defaults do not reach the roles' modules: each role's block sets the group's defaults to its
# <role>_connection, which replaces the play's.)
WAYS = {"variable": {}, "connection": {"backup_service": "cloudtemple"}}


@pytest.mark.parametrize("way", sorted(WAYS))
@pytest.mark.parametrize("role", ["restore_test", "restore_clone", "restore_production"])
def test_the_restore_roles_are_refused_before_any_call(console, role, way, tmp_path, request):
    request.node.add_marker(pytest.mark.covers(role))
    play = tmp_path / "play.yml"
    play.write_text(ROLE_PLAY.format(role=role, vm=VM, connection=json.dumps(WAYS[way])))
    clear_every_counter(console)
    _rc, output, _results, _seconds = console.playbook(str(play), expect_rc=2,
                                                       env=None if way == "variable" else {"VM_BACKUP_SERVICE": None})
    assert NO_RESTORE_MESSAGE in output, output[-3000:]
    assert "Traceback" not in output
    assert_no_call_at_all(console)
