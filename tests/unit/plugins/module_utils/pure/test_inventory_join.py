# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The join of vCenter and backup-server inventories (pure.inventory_join) is on identity, never on names."""

from __future__ import annotations

from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.inventory_join import (
    disk_policies,
    join_inventories,
    missing_from_backup,
    unknown_everywhere,
)

VC = "vc-instance-uuid"
HYPERVISORS = [{"id": "1001", "uniqueId": VC}, {"id": "1002", "uniqueId": "other-vcenter"}]


def vc_vm(name, moref, uuid, disks=(), template=False):
    return {"name": name, "moref": moref, "instance_uuid": uuid, "power_state": "poweredOn", "has_snapshots": False,
            "template": template, "nics": [],
            "disks": [{"label": label, "key": 2000 + i, "size_bytes": 1, "mode": "normal"} for i, label in enumerate(disks)]}


def spp_vm(vm_id, name, moref, uuid, policies=(), hypervisor="1001"):
    return {"id": vm_id, "name": name, "hypervisorKey": hypervisor, "storageProfiles": list(policies),
            "nativeObject": {"mor": {"val": moref}}, "config": {"instanceUuid": uuid}}


def spp_disk(disk_id, vm_id, label, policies=()):
    href = "https://spp/api/hypervisor/1001/vm/%s/vdisk/%s?from=hlo" % (vm_id, disk_id)
    return {"id": disk_id, "name": label, "storageProfiles": list(policies), "links": {"self": {"href": href}}}


def test_join_matches_on_moref_and_uuid_even_when_names_differ():
    vms, vc_only, spp_only = join_inventories(
        VC, [vc_vm("renamed", "vm-1", "u1", disks=["Hard disk 1", "Hard disk 2"])], HYPERVISORS,
        [spp_vm("a1", "old-name", "vm-1", "u1", ["Gold"])], [spp_disk("d2", "a1", "Hard disk 2", ["Silver"])])
    assert [v["name"] for v in vms] == ["renamed"]
    assert vms[0]["spp_id"] == "a1" and vms[0]["policies"] == ["Gold"]
    assert [(d["label"], d["policies"]) for d in vms[0]["disks"]] == [("Hard disk 1", []), ("Hard disk 2", ["Silver"])]
    assert vc_only == [] and spp_only == []


def test_same_name_on_another_vcenter_does_not_match():
    vms, vc_only, spp_only = join_inventories(
        VC, [vc_vm("web", "vm-1", "u1")], HYPERVISORS, [spp_vm("b1", "web", "vm-1", "u1", hypervisor="1002")], [])
    assert vms == []
    assert [v["name"] for v in vc_only] == ["web"] and vc_only[0]["known_to_backup"] is False
    assert [v["spp_id"] for v in spp_only] == ["b1"]


def test_reused_moref_with_new_instance_uuid_is_a_different_vm():
    vms, vc_only, spp_only = join_inventories(
        VC, [vc_vm("new", "vm-7", "u-new")], HYPERVISORS, [spp_vm("c1", "deleted", "vm-7", "u-old", ["Gold"])], [])
    assert vms == [] and [v["name"] for v in vc_only] == ["new"]
    assert [(v["name"], v["policies"]) for v in spp_only] == [("deleted", ["Gold"])]


def test_templates_are_left_out():
    vms, vc_only, _spp_only = join_inventories(VC, [vc_vm("tpl", "vm-9", "u9", template=True)], HYPERVISORS, [], [])
    assert vms == [] and vc_only == []


def test_missing_and_unknown_selection_by_name_moref_or_uuid():
    vms, vc_only, _spp_only = join_inventories(
        VC, [vc_vm("a", "vm-1", "u1"), vc_vm("b", "vm-2", "u2")], HYPERVISORS, [spp_vm("x", "a", "vm-1", "u1")], [])
    assert missing_from_backup(vc_only, ["a", "vm-2", "u2", "zzz"]) == ["vm-2", "u2"]
    assert unknown_everywhere(vms, vc_only, ["a", "vm-2", "zzz"]) == ["zzz"]


def test_disk_policies_are_policy_names_on_both_sides():
    vms, _vc_only, spp_only = join_inventories(
        VC, [vc_vm("a", "vm-1", "u1", disks=["Hard disk 1", "Hard disk 2"])], HYPERVISORS,
        [spp_vm("x1", "a", "vm-1", "u1"), spp_vm("x9", "gone", "vm-99", "u99")],
        [spp_disk("d1", "x1", "Hard disk 2", ["Silver", "DR"]), spp_disk("d9", "x9", "Hard disk 1", ["Gold"])])
    assert disk_policies(vms[0]) == ["DR", "Silver"]
    assert spp_only[0]["name"] == "gone" and spp_only[0]["disk_policies"] == ["Gold"]
