# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The source stage of vm_restore: which VM the task names, its lineage of records, and its recovery points."""

from __future__ import annotations

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import InvalidRequest, NotFound
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure import restore_source

from restore_fixtures import T0, UUID, copy, marker, spp_vm, vc_vm, version


def test_live_vm_by_name_moref_or_uuid():
    vcenter = [vc_vm("web01", "vm-10"), vc_vm("db01", "vm-11", uuid="other")]
    recovery = [spp_vm("a1"), spp_vm("b2", name="db01", moref="vm-11", uuid="other")]
    for ref in ("web01", "vm-10", UUID):
        source = restore_source.resolve_source(ref, vcenter, recovery)
        assert source["ids"] == ["a1"] and source["current"]["moref"] == "vm-10" and source["name"] == "web01"


def test_lineage_after_a_production_restore_follows_the_instance_uuid():
    # The production restore gave web01 a new moref (vm-30); the backup server has the old record and, after an
    # inventory and a backup, a new one with the same instance UUID.
    vcenter = [vc_vm("web01", "vm-30")]
    recovery = [spp_vm("a1", protected=T0), spp_vm("c3", moref="vm-30", protected=T0 + 1000)]
    source = restore_source.resolve_source("web01", vcenter, recovery)
    assert source["ids"] == ["a1", "c3"]
    assert [r["id"] for r in source["records"]] == ["c3", "a1"]
    assert source["current"]["moref"] == "vm-30"


def test_deleted_vm_is_restored_from_its_records():
    source = restore_source.resolve_source("web01", [vc_vm("other", "vm-99", uuid="x")], [spp_vm("a1")])
    assert source["current"] is None and source["ids"] == ["a1"]


def test_unknown_vm_is_not_found():
    with pytest.raises(NotFound) as caught:
        restore_source.resolve_source("ghost", [vc_vm("web01", "vm-10")], [spp_vm("a1")])
    assert "no recovery point of VM ghost" in caught.value.message


def test_two_vms_with_the_same_name_in_vcenter():
    # The collection's one resolver (vm_resolver) says so, listing the candidates.
    with pytest.raises(InvalidRequest) as caught:
        restore_source.resolve_source("web01", [vc_vm("web01", "vm-10"), vc_vm("web01", "vm-12", uuid="u2")], [])
    assert "2 VMs are named web01" in caught.value.message
    assert "web01 (vm-10); web01 (vm-12)" in caught.value.message
    assert caught.value.details["candidates"] == ["vm-10", "vm-12"]


def test_a_template_of_the_same_name_is_not_a_candidate():
    template = dict(vc_vm("web01", "vm-90", uuid="tpl"), template=True)
    source = restore_source.resolve_source("web01", [vc_vm("web01", "vm-10"), template], [spp_vm("a1")])
    assert source["current"]["moref"] == "vm-10"


def test_deleted_vms_of_the_same_name_are_ambiguous_until_named_by_uuid():
    recovery = [spp_vm("a1"), spp_vm("b2", moref="vm-40", uuid="u2")]
    with pytest.raises(InvalidRequest) as caught:
        restore_source.resolve_source("web01", [], recovery)
    assert "2 different VMs" in caught.value.message and "instance UUID u2" in caught.value.message
    assert restore_source.resolve_source("u2", [], recovery)["ids"] == ["b2"]


def test_renamed_current_vm_after_keep_current():
    # web01 was renamed web01_OLD and a clone took the name web01 (new UUID, never backed up).
    vcenter = [vc_vm("web01_OLD", "vm-10"), vc_vm("web01", "vm-50", uuid="clone-uuid")]
    source = restore_source.resolve_source("web01", vcenter, [spp_vm("a1")])
    assert source["ids"] == ["a1"]
    assert source["current"]["name"] == "web01_OLD"


def test_after_keep_current_the_named_vm_follows_its_marker_to_the_source_lineage():
    # web01 was restored with keep_current: the previous VM is web01_OLD (the backup server renamed its record at
    # the next inventory), the restored web01 has a new moref and UUID and carries the marker of the source.
    restored = vc_vm("web01", "vm-30", uuid="new-uuid", marker=marker(mode="production", spp_id="a1", moref="vm-30"))
    kept = vc_vm("web01_OLD", "vm-10", power="poweredOff")
    recovery = [spp_vm("a1", name="web01_OLD")]  # the restored VM has no recovery point of its own yet
    source = restore_source.resolve_source("web01", [restored, kept], recovery)
    assert source["ids"] == ["a1"]
    assert source["current"] is restored and source["name"] == "web01"


# -- recovery points ----------------------------------------------------------------------------------------------

def test_versions_of_a_lineage_are_merged_newest_first():
    old, new = spp_vm("a1"), spp_vm("c3", moref="vm-30")
    pairs = restore_source.merge_versions([(old, [version("v1", T0), version("v0", T0 - 10)]),
                                           (new, [version("v2", T0 + 10, vm_id="c3")])])
    assert [v["id"] for _vm, v in pairs] == ["v2", "v1", "v0"]
    assert restore_source.choose_point(pairs, "latest")[0] is new
    assert restore_source.choose_point(pairs, "v1")[0] is old
    assert restore_source.choose_point(pairs, {"before": T0})[1]["id"] == "v0"
    with pytest.raises(NotFound):
        restore_source.choose_point(pairs, {"before": T0 - 10})


def test_point_summary_with_a_copy():
    point = version("v1", T0)
    replica = copy("c9", "REPLICATION", point["links"]["self"]["href"])
    point["sessionId"] = 1767225500000
    assert restore_source.point_summary(point, replica, "replication") == {
        "id": "v1", "time": T0, "time_iso": "2026-01-01T00:00:00.000Z", "copy_kind": "replication", "copy_id": "c9",
        "policy": "Gold", "session_id": "1767225500000", "session_status": None}
    assert restore_source.point_summary(point)["copy_kind"] is None
