# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan stage of vm_restore: the named steps, the refusals, the clean-up, and the diff."""

from __future__ import annotations

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import InvalidRequest, RuleViolation
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure import restore_plan

from restore_fixtures import POINT, UUID, active_test_session, marker, request, session, source_of, spp_vm, vc_vm


def plan_for(req, vcenter=None, marked=None, follow=None, holder=None, records=None):
    vcenter = [vc_vm("web01", "vm-10")] if vcenter is None else vcenter
    source = source_of(vcenter, records or [spp_vm("a1")])
    return restore_plan.plan_restore(req, source, POINT, "web01_TEST", marked, follow, holder)


def test_plan_new_test_restore():
    plan = plan_for(request())
    assert plan == {"steps": ["restore", "mark"], "via": "post", "destroys": [], "renames": [], "spp_mode": "test",
                    "changed": True}


def test_plan_marked_restore_is_unchanged():
    marked = vc_vm("web01_TEST", "vm-20", uuid="t", marker=marker())
    assert plan_for(request(), marked=marked)["steps"] == []
    promoted = vc_vm("web01", "vm-20", marker=marker(state="promoted"))
    assert plan_for(request(), marked=promoted)["changed"] is False
    assert plan_for(request(state="promoted"), marked=promoted)["changed"] is False


def test_plan_follows_an_existing_session():
    plan = plan_for(request(), follow=(session("s1", "RUNNING"), None))
    assert plan["steps"] == ["restore", "mark"] and plan["via"] == "follow"
    # A settled session adopted with the unmarked VM it made: that VM is just restored.
    adopted = (active_test_session("s1"), vc_vm("web01_TEST", "vm-20", uuid="t"))
    plan = plan_for(request(state="promoted"), follow=adopted)
    assert plan["steps"] == ["restore", "rrp", "mark"] and plan["via"] == "follow"


def test_plan_promote_destroys_the_original():
    marked = vc_vm("web01_TEST", "vm-20", uuid="t", marker=marker())
    plan = plan_for(request(state="promoted"), marked=marked)
    assert plan["steps"] == ["rrp", "mark"] and plan["via"] is None
    assert plan["destroys"] == [{"name": "web01", "moref": "vm-10", "instance_uuid": UUID}]
    fresh = plan_for(request(state="cloned"))
    assert fresh["steps"] == ["restore", "clone", "mark"] and fresh["destroys"] == []


def test_plan_cannot_promote_a_clone():
    marked = vc_vm("web01_TEST", "vm-20", uuid="t", marker=marker(state="cloned"))
    with pytest.raises(InvalidRequest) as caught:
        plan_for(request(state="promoted"), marked=marked)
    assert "already cloned" in caught.value.message


def test_plan_production_needs_overwrite_while_the_vm_exists():
    with pytest.raises(RuleViolation) as caught:
        plan_for(request(mode="production"))
    text = caught.value.message
    assert text.startswith("1 rule violation(s); nothing was changed:")
    assert "[production_restore_overwrites] web01 (vm-10)" in text
    assert "overwrite: true" in text and "mode: clone" in text and "keep_current: true" in text
    plan = plan_for(request(mode="production", overwrite=True))
    assert plan["steps"] == ["restore", "mark"] and plan["destroys"][0]["moref"] == "vm-10"
    deleted = plan_for(request(mode="production"), vcenter=[])
    assert deleted["destroys"] == [], "rebuilding a deleted VM needs no overwrite"


def test_plan_production_keeping_the_current_vm():
    plan = plan_for(request(mode="production", keep_current=True))
    assert plan["steps"] == ["rename_current", "restore", "power_off_current", "mark"]
    assert plan["destroys"] == [] and plan["spp_mode"] == "clone"
    assert plan["renames"] == [{"name": "web01", "moref": "vm-10", "to": "web01_OLD"}]
    # After a rename whose restore answer was lost: the VM is already web01_OLD, and powered off meanwhile.
    renamed = [vc_vm("web01_OLD", "vm-10", power="poweredOff")]
    again = plan_for(request(mode="production", keep_current=True), vcenter=renamed,
                     follow=(session("s1", "RUNNING"), None))
    assert again["steps"] == ["restore", "mark"] and again["via"] == "follow"
    with pytest.raises(InvalidRequest) as caught:
        plan_for(request(mode="production", keep_current=True), holder=vc_vm("web01", "vm-66", uuid="x"))
    assert "needs that name free" in caught.value.message
    deleted = plan_for(request(mode="production", keep_current=True), vcenter=[])
    assert deleted["spp_mode"] == "production" and deleted["renames"] == []


def test_plan_production_refuses_a_vm_the_backup_server_did_not_record():
    # Same instance UUID, but a moref the backup server never saw: SPP would create a second VM of that name.
    with pytest.raises(InvalidRequest) as caught:
        plan_for(request(mode="production", overwrite=True), vcenter=[vc_vm("web01", "vm-77")])
    assert "second VM named web01" in caught.value.message


def test_plan_refuses_a_name_taken_by_another_vm():
    holder = vc_vm("web01_TEST", "vm-21", uuid="t2", marker=marker(point="v0", moref="vm-21"))
    with pytest.raises(InvalidRequest) as caught:
        plan_for(request(), holder=holder)
    assert "web01_TEST (vm-21) already exists" in caught.value.message
    assert "a test restore of web01 from 2026-01-01T00:00:00.000Z, now restored" in caught.value.message


def test_name_holder_is_another_vm_than_the_restore_s_own():
    source = source_of([vc_vm("web01", "vm-10")], [spp_vm("a1")])
    ours = vc_vm("web01_TEST", "vm-20", uuid="t", marker=marker())
    other = vc_vm("web01_TEST", "vm-21", uuid="t2")
    assert restore_plan.name_holder([ours, other], "web01_TEST", "test", source, ours, None) is other
    assert restore_plan.name_holder([ours], "web01_TEST", "test", source, ours, None) is None
    followed = (active_test_session("s1"), vc_vm("web01_TEST", "vm-21", uuid="t2"))
    assert restore_plan.name_holder([other], "web01_TEST", "test", source, None, followed) is None
    # A production restore replaces (or renames) the current VM: it does not hold the name.
    assert restore_plan.name_holder([vc_vm("web01", "vm-10")], "web01", "production", source, None, None) is None


def test_plan_present_says_what_and_where():
    source = source_of([vc_vm("web01", "vm-10")], [spp_vm("a1")])
    plan = restore_plan.plan_present(request(state="promoted"), source, POINT, "web01_TEST", [], None,
                                     (session("s7", "RUNNING"), None))
    assert plan["steps"] == ["restore", "rrp", "mark"] and plan["session_id"] == "s7"
    assert plan["name"] == "web01", "a promoted test VM takes the source's name"
    assert plan["target"]["location"] == "original" and plan["target"]["network"] == "disconnected"
    assert plan["recovery_point"] is POINT and plan["source_spp_id"] == "a1"


def test_plan_cleanup():
    marked = [vc_vm("web01_TEST", "vm-20", uuid="t", marker=marker())]
    unmarked = (active_test_session("s2"), vc_vm("web01_T2", "vm-21", uuid="t2"))
    removes = restore_plan.plan_cleanup(marked, [unmarked])
    assert removes == [
        {"name": "web01_T2", "moref": "vm-21", "session_id": "s2", "recovery_point_id": None},
        {"name": "web01_TEST", "moref": "vm-20", "session_id": "s1", "recovery_point_id": "v1"},
    ]
    # A marked VM keeps what its marker records.
    again = (active_test_session("s9"), marked[0])
    assert restore_plan.plan_cleanup(marked, [again])[0]["session_id"] == "s1"


def test_diff_of_a_keep_current_restore_and_of_an_unchanged_one():
    source = source_of([vc_vm("web01", "vm-10")], [spp_vm("a1")])
    req = request(mode="production", keep_current=True)
    plan = restore_plan.plan_present(req, source, POINT, "web01", [vc_vm("web01", "vm-10")], None, None)
    diff = restore_plan.restore_diff(req, source, plan, "web01", None)
    assert diff["before"] == {"web01": "present (vm-10)", "web01_OLD": "absent"}
    assert diff["after"] == {"web01_OLD": "present (vm-10, the previous web01, powered off)",
                             "web01": "restored from 2026-01-01T00:00:00.000Z (production mode)"}
    marked = vc_vm("web01_TEST", "vm-20", uuid="t", marker=marker())
    unchanged = restore_plan.plan_present(request(), source, POINT, "web01_TEST", [marked], marked, None)
    same = restore_plan.restore_diff(request(), source, unchanged, "web01_TEST", marked)
    assert same["before"] == same["after"] == {"web01_TEST": "present (vm-20, restored from 2026-01-01T00:00:00.000Z)"}
