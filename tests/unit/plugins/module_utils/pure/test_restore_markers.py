# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The records vm_restore leaves in vCenter: markers on restored VMs, test records on tested ones."""

from __future__ import annotations

from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure import restore_markers
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.restore_request import iso_time
from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere import vms as vsphere_vms

from restore_fixtures import POINT, UUID, marker, source_of, spp_vm, vc_vm


def test_marked_vms_match_source_point_mode_and_name():
    source = source_of([vc_vm("web01", "vm-10")], [spp_vm("a1")])
    vcenter = [
        vc_vm("web01_TEST", "vm-20", uuid="t", marker=marker()),
        vc_vm("web01_CLONE", "vm-21", uuid="c", marker=marker(mode="clone", moref="vm-21")),
        vc_vm("web01_OLDTEST", "vm-22", uuid="o", marker=marker(point="v0", moref="vm-22")),
        vc_vm("other_TEST", "vm-23", uuid="z", marker=marker(spp_id="zz", uuid="zz", moref="vm-23")),
    ]
    found = restore_markers.marked_vms(vcenter, source, "v1", "test", target_name="web01_TEST")
    assert [vm["moref"] for vm in found] == ["vm-20"]
    assert restore_markers.marked_vms(vcenter, source, "v1", "test", target_name="web01_T2") == []
    assert [vm["moref"] for vm in restore_markers.marked_vms(vcenter, source, None, "test")] == ["vm-22", "vm-20"]
    # A promoted test VM took the source's name.
    promoted = [vc_vm("web01", "vm-20", marker=marker(state="promoted"))]
    assert restore_markers.marked_vms(promoted, source, "v1", "test", target_name="web01_TEST")
    # The lineage matches by instance UUID even when the SPP id is a newer record's.
    assert restore_markers.marker_matches(marker(spp_id="c3"), ["a1"], UUID)
    assert not restore_markers.marker_matches(marker(spp_id="c3", uuid="x"), ["a1"], UUID)


def test_new_marker_records_the_kept_vm_under_its_new_name():
    source = dict(source_of([vc_vm("web01", "vm-10")], [spp_vm("a1")]))
    kept = {"name": "web01", "moref": "vm-10", "to": "web01_OLD"}
    written = restore_markers.new_marker(source, POINT, "production", 177, "restored", kept)
    assert written == {"source": {"name": "web01", "instance_uuid": UUID, "spp_id": "a1"},
                       "recovery_point": {"id": "v1", "time": POINT["time"]}, "mode": "production",
                       "session_id": "177", "state": "restored", "kept": {"name": "web01_OLD", "moref": "vm-10"}}
    assert "kept" not in restore_markers.new_marker(source, POINT, "test", None, "restored")


def test_test_records():
    point = {"id": "v1", "time": 1000, "time_iso": iso_time(1000)}
    record = restore_markers.new_test_record(point, "passed", 5000, "web01_TEST")
    assert record == {"recovery_point": {"id": "v1", "time": 1000, "time_iso": "1970-01-01T00:00:01.000Z"},
                      "result": "passed", "when": "1970-01-01T00:00:05.000Z", "test_vm": "web01_TEST"}
    later = restore_markers.new_test_record(point, "passed", 9000, "web01_TEST")
    assert restore_markers.same_test_record(record, later), "when is not compared"
    assert not restore_markers.same_test_record(record, restore_markers.new_test_record(point, "failed", 5000,
                                                                                        "web01_TEST"))
    assert not restore_markers.same_test_record(None, record)
    assert restore_markers.passed_test(record, "v1") and not restore_markers.passed_test(record, "v2")
    assert not restore_markers.passed_test(dict(record, result="failed"), "v1")
    assert not restore_markers.passed_test(None, "v1")
    stored = vsphere_vms.decode_marker(vsphere_vms.encode_marker(dict(record, moref="vm-10")))
    assert restore_markers.public_test_record(stored) == record
    assert restore_markers.public_test_record(None) is None
