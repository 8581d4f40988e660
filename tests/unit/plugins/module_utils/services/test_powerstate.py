# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""vm_powerstate's pure parts: finding the VM, planning the action, and the protection check before a power-on."""

from __future__ import annotations

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils.seams import vsphere_inventory
from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import powerstate as powerstate_service
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.vm_resolver import resolve_vm
from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import InvalidRequest, WaitTimeout

from fake_time import FakeTime

RECORDS = [
    {"name": "web01", "moref": "vm-1", "instance_uuid": "uuid-1", "power_state": "poweredOn"},
    {"name": "twin", "moref": "vm-2", "instance_uuid": "uuid-2", "power_state": "poweredOff"},
    {"name": "twin", "moref": "vm-3", "instance_uuid": "uuid-3", "power_state": "poweredOff"},
    {"name": "tpl", "moref": "vm-4", "instance_uuid": "uuid-4", "power_state": "poweredOff", "template": True},
]
POLICIES = {"Gold": {"held": False}, "Frozen": {"held": True}}


@pytest.mark.parametrize("ref", ["web01", "vm-1", "uuid-1"])
def test_resolve_by_name_moref_or_uuid(ref):
    assert resolve_vm(ref, RECORDS)["moref"] == "vm-1"


def test_a_shared_name_is_an_error_but_the_moref_works():
    with pytest.raises(InvalidRequest, match=r"2 VMs are named twin: twin \(vm-2\); twin \(vm-3\)"):
        resolve_vm("twin", RECORDS)
    assert resolve_vm("vm-3", RECORDS)["moref"] == "vm-3"


@pytest.mark.parametrize("ref", ["nope", "tpl"])
def test_a_missing_vm_or_a_template_is_an_error(ref):
    with pytest.raises(InvalidRequest, match="vCenter has no VM %s" % ref):
        resolve_vm(ref, RECORDS)


@pytest.mark.parametrize("state, before, expected", [
    ("powered-on", "poweredOn", (None, "poweredOn")),
    ("powered-on", "poweredOff", ("power_on", "poweredOn")),
    ("powered-on", "suspended", ("power_on", "poweredOn")),
    ("powered-off", "poweredOff", (None, "poweredOff")),
    ("powered-off", "poweredOn", ("power_off", "poweredOff")),
    ("powered-off", "suspended", ("power_off", "poweredOff")),
    ("restarted", "poweredOn", ("reset", "poweredOn")),
    ("restarted", "poweredOff", ("power_on", "poweredOn")),
    ("shutdown-guest", "poweredOn", ("shutdown_guest", "poweredOff")),
    ("shutdown-guest", "poweredOff", (None, "poweredOff")),
])
def test_plan_action(state, before, expected):
    assert powerstate_service.plan_action(state, before) == expected


def test_shutdown_guest_of_a_suspended_vm_is_refused():
    with pytest.raises(InvalidRequest, match="use state: powered-off"):
        powerstate_service.plan_action("shutdown-guest", "suspended")


def test_protection_unknown_no_policy_held_only_and_protected():
    unknown = powerstate_service.protection_violations("vm-9", {"name": "new", "known_to_backup": False}, POLICIES)
    assert [v["rule"] for v in unknown] == ["protected_before_power_on"]
    assert "vm_backup_policy with rescan: true" in unknown[0]["fix"]
    bare = powerstate_service.protection_violations("vm-9", {"name": "new", "known_to_backup": True, "policies": []}, POLICIES)
    assert "no VM-level backup policy" in bare[0]["reason"] and "vm_backup_policy" in bare[0]["fix"]
    held = powerstate_service.protection_violations("vm-9", {"name": "new", "known_to_backup": True, "policies": ["Frozen"]},
                                                    POLICIES)
    assert "held or unknown policies only (Frozen)" in held[0]["reason"]
    assert "backup_sla_policy with held: false" in held[0]["fix"]
    mixed = {"name": "new", "known_to_backup": True, "policies": ["Frozen", "Gold"]}
    assert not powerstate_service.protection_violations("vm-9", mixed, POLICIES)


VCENTER = vsphere_inventory.VsphereInventory(None)  # the seam over no client: the tests replace vm_details


def test_wait_powered_off_is_bounded_with_progress(monkeypatch):
    clock, messages = FakeTime(), []
    monkeypatch.setattr(vsphere_inventory.vsphere_vms, "vm_details", lambda client, moref: {"power_state": "poweredOn"})
    with pytest.raises(WaitTimeout, match="still poweredOn 5 s after the shutdown request"):
        powerstate_service.wait_powered_off(VCENTER, "vm-1", 5, messages.append, sleep=clock.sleep, clock=clock.clock)
    assert messages and all("waiting for the guest of vm-1" in m for m in messages)
    assert clock.now <= 5.1


def test_wait_powered_off_returns_once_off(monkeypatch):
    states = iter(["poweredOn", "poweredOn", "poweredOff"])
    monkeypatch.setattr(vsphere_inventory.vsphere_vms, "vm_details", lambda client, moref: {"power_state": next(states)})
    clock = FakeTime()
    assert powerstate_service.wait_powered_off(VCENTER, "vm-1", 60, lambda m: None, sleep=clock.sleep, clock=clock.clock) == "poweredOff"
