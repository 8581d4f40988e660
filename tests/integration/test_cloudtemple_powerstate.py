# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""vm_powerstate with ``backup_service: cloudtemple``: power actions go through the console's compute API (no SPP_*
and no VMWARE_* variable), guarded as with SPP. Our rule refuses a power-on without a usable policy before any power
request (the console counts none); with the rule off, the console's own refusal (#38, #194: a 409 in the emulator)
comes back clearly. The effect is read through plain pyVmomi."""

from __future__ import annotations

import pytest

import vcenter
from cloudtemple_console import POWER, held_policy, run_inventory_job
from helpers import CONVERGES, assign_policies, changed_pattern, cloned_vm, power_state

pytestmark = [pytest.mark.integration, pytest.mark.covers("vm_powerstate")]
TARGET = "vm_powerstate"


def assert_refused_by_our_rule(console, name, args, reason, checks=(True, False)):
    for check in checks:
        console.clear_counts()
        result = console.module(TARGET, args, check=check, expect_rc=2)
        message = result["msg"]
        assert message.startswith("1 rule violation(s); %s was not powered on:" % name), message
        assert "[protected_before_power_on] %s: " % name in message and reason in message, message
        assert [v["rule"] for v in result["violations"]] == ["protected_before_power_on"]
        assert "Traceback" not in result["_output"]
        assert console.count(POWER) == 0 and console.writes() == {}, "refused before any power request"
        assert power_state(console.lab, name) == "poweredOff"


def test_power_on_needs_a_policy_then_converges(console):
    with cloned_vm(console.lab, "DC0_H0_VM0", "ct-pwr") as name:
        on = {"vm": name, "state": "powered-on"}
        assert_refused_by_our_rule(console, name, on, "does not know %s yet" % name, checks=(False,))

        run_inventory_job(console.lab)  # the backup service knows it now, without a policy
        assert_refused_by_our_rule(console, name, on, "has no VM-level backup policy")

        # With our rule off, the console refuses by itself (README "The console's refusals": 409, #194's words).
        console.clear_counts()
        refused = console.module(TARGET, dict(on, enforce_protection=False), expect_rc=2)
        assert "no sla policies" in refused["msg"] and "Traceback" not in refused["_output"], refused["msg"]
        assert console.count(POWER) == 1 and power_state(console.lab, name) == "poweredOff"

        assign_policies(console.lab, vms={name: ["Gold"]})
        console.clear_counts()
        expected = ["poweredOff", "poweredOn", "poweredOn", "poweredOn"]
        results = console.four_runs(TARGET, on,
                                    after_each=lambda i, r: _assert_state(console, name, expected[i]))
        assert changed_pattern(results) == CONVERGES
        assert console.count(POWER) == 1, "one power request, in the real run that changed something"
        assert results[1]["protected"] is True and results[1]["policies"] == ["Gold"]

        expected = ["poweredOn", "poweredOff", "poweredOff", "poweredOff"]
        results = console.four_runs(TARGET, {"vm": name, "state": "powered-off"},
                                    after_each=lambda i, r: _assert_state(console, name, expected[i]))
        assert changed_pattern(results) == CONVERGES
        assert console.count(POWER) == 2


def test_a_vm_whose_only_policy_is_held_stays_off(console):
    with cloned_vm(console.lab, "DC0_H0_VM0", "ct-pwr") as name:
        run_inventory_job(console.lab)
        held = "Held-%s" % name[-6:]
        held_policy(console.lab, held, name)
        assert_refused_by_our_rule(console, name, {"vm": name, "state": "powered-on"}, held, checks=(False,))
        with console.lab.vcenter() as client:
            assert vcenter.power_state(client, name) == "poweredOff"


def _assert_state(console, name, expected):
    assert power_state(console.lab, name) == expected
