# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Restores that replace a VM: the request key, the request record's progress, confirmation, and resuming."""

from __future__ import annotations

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import InvalidRequest, RuleViolation
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure import restore_markers, restore_plan
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.restore_request import request_problems

from restore_fixtures import POINT, UUID, marker, request, source_of, spp_vm, vc_vm

PRODUCTION = {"mode": "production", "overwrite": True}
KEEP = {"mode": "production", "keep_current": True}


def production_source(vcenter=None):
    source = source_of(vcenter or [vc_vm("web01", "vm-10")], [spp_vm("a1")])
    source["spp_id"] = "a1"
    return source


def replacing_plan(req, vcenter=None, **progress):
    vcenter = vcenter or [vc_vm("web01", "vm-10")]
    target = "web01_TEST" if req["state"] == "promoted" else "web01"
    return restore_plan.plan_replacing(req, production_source(vcenter), target, vcenter, progress)


@pytest.mark.parametrize("overrides, wanted, key", [
    ({}, None, "recovery_point:latest"),
    ({}, "latest", "recovery_point:latest"),
    ({}, "v7", "recovery_point:v7"),
    ({}, {"before": 1767225600000}, "before:1767225600000"),
    ({"restore_id": "CHG-1"}, "v7", "restore_id:CHG-1"),
    ({"restore_id": "CHG-1"}, None, "restore_id:CHG-1"),
])
def test_the_request_key_is_the_restore_id_else_the_recovery_point_as_written(overrides, wanted, key):
    assert restore_markers.request_key(request(**PRODUCTION, **overrides), wanted) == key


def test_a_replacing_request_is_done_when_the_vm_with_the_name_records_its_key():
    done = marker(state="restored", mode="production", moref="vm-30")
    done["request"] = "recovery_point:latest"
    vm = vc_vm("web01", "vm-30", marker=done)
    source = production_source([vm])
    req = request(**PRODUCTION)
    assert restore_markers.fulfilled_by(vm, source, req, "recovery_point:latest")
    assert not restore_markers.fulfilled_by(vm, source, req, "restore_id:CHG-2"), "a new key restores again"
    assert not restore_markers.fulfilled_by(vm, source, request(state="promoted"), "recovery_point:latest")
    legacy = dict(done)
    legacy.pop("request")
    assert restore_markers.marker_request(legacy) == "recovery_point:v1", "markers from before keys: their point"
    assert not restore_markers.fulfilled_by(None, source, req, "recovery_point:latest")


def test_a_new_keep_current_restore_records_then_renames_restores_powers_off_protects_and_marks():
    plan = replacing_plan(request(**KEEP), policies=["Gold"])
    assert plan["steps"] == ["record", "rename_current", "restore", "power_off_current", "protect", "mark", "forget"]
    assert plan["renames"] == [{"name": "web01", "moref": "vm-10", "to": "web01_OLD"}]
    assert plan["via"] == "post" and plan["destroys"] == []


def test_an_overwrite_destroys_the_current_vm_and_without_policies_protects_nothing():
    plan = replacing_plan(request(**PRODUCTION), policies=[])
    assert plan["steps"] == ["record", "restore", "mark", "forget"]
    assert [vm["moref"] for vm in plan["destroys"]] == ["vm-10"]
    assert replacing_plan(request(**PRODUCTION, reprotect=False), policies=["Gold"])["steps"] == [
        "record", "restore", "mark", "forget"]


def test_a_done_request_plans_nothing():
    plan = replacing_plan(request(**PRODUCTION), fulfilled=True, policies=["Gold"])
    assert plan["steps"] == [] and plan["changed"] is False


def test_a_production_restore_without_confirmation_is_refused_before_any_step():
    with pytest.raises(RuleViolation) as caught:
        replacing_plan(request(mode="production"), policies=["Gold"])
    assert caught.value.violations[0]["rule"] == "production_restore_overwrites"


def test_a_promotion_needs_overwrite_like_a_production_restore():
    with pytest.raises(RuleViolation) as caught:
        replacing_plan(request(state="promoted"), policies=["Gold"])
    violation = caught.value.violations[0]
    assert violation["rule"] == "promotion_overwrites" and violation["vm"] == "web01 (vm-10)"
    assert "overwrite: true" in violation["fix"]
    plan = replacing_plan(request(state="promoted", overwrite=True), policies=["Gold"])
    assert plan["steps"] == ["record", "restore", "rrp", "protect", "mark", "forget"]
    # Promoting a test VM restored earlier: no second restore.
    test_vm = vc_vm("web01_TEST", "vm-20", uuid="t", marker=marker())
    plan = replacing_plan(request(state="promoted", overwrite=True), [vc_vm("web01", "vm-10"), test_vm],
                          marked=test_vm, policies=["Gold"])
    assert plan["steps"] == ["record", "rrp", "protect", "mark", "forget"]


@pytest.mark.parametrize("step, kept_name, kept_power, steps", [
    # Stopped after the record, before the rename: everything is left.
    ("started", "web01", "poweredOn", ["rename_current", "restore", "power_off_current", "protect", "mark", "forget"]),
    # Stopped after the rename, before the POST left (or with its answer lost): the session decides.
    ("started", "web01_OLD", "poweredOn", ["restore", "power_off_current", "protect", "mark", "forget"]),
    ("posted", "web01_OLD", "poweredOn", ["restore", "power_off_current", "protect", "mark", "forget"]),
    # Restored, then stopped before the power-off: the old VM is powered off before the request counts as done.
    ("restored", "web01_OLD", "poweredOn", ["power_off_current", "protect", "mark", "forget"]),
    ("old_powered_off", "web01_OLD", "poweredOff", ["protect", "mark", "forget"]),
    ("protected", "web01_OLD", "poweredOff", ["mark", "forget"]),
])
def test_a_stopped_run_resumes_after_the_last_step_its_record_says_is_done(step, kept_name, kept_power, steps):
    record = restore_markers.new_request_record("recovery_point:latest", production_source(), POINT, "production",
                                                "present", ["Gold"],
                                                {"name": "web01", "moref": "vm-10", "to": "web01_OLD"}, 0)
    record["step"] = step
    vcenter = [vc_vm(kept_name, "vm-10", power=kept_power)]
    plan = replacing_plan(request(**KEEP), vcenter, record=record, policies=["Gold"])
    assert plan["steps"] == steps
    assert plan["destroys"] == [], "a resumed request was confirmed when it started"


def test_restore_id_applies_to_replacing_restores_only():
    assert request_problems(request(restore_id="x")) == [
        "restore_id is the request key of a restore that replaces a VM: it applies to mode production and to state "
        "promoted"]
    assert request_problems(request(mode="production", overwrite=True, restore_id="x")) == []
    assert request_problems(request(state="promoted", restore_id="x")) == []


def test_the_record_names_its_source_by_instance_uuid():
    assert restore_markers.record_key(production_source()) == UUID
    assert restore_markers.reached({"step": "old_powered_off"}, "restored")
    assert not restore_markers.reached({"step": "posted"}, "restored")
    assert not restore_markers.reached(None, "started")


def test_an_unknown_promotion_state_is_refused():
    cloned = vc_vm("web01_TEST", "vm-20", uuid="t", marker=marker(state="cloned"))
    with pytest.raises(InvalidRequest, match="already cloned"):
        replacing_plan(request(state="promoted", overwrite=True), marked=cloned, policies=[])
