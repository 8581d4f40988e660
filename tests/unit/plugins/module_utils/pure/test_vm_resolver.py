# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one VM resolver: moref, instance UUID, name; ambiguity lists the candidates."""

from __future__ import annotations

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import InvalidRequest
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.vm_resolver import (
    AMBIGUOUS,
    NOT_FOUND,
    VmIndex,
    resolve_vm,
)

RECORDS = [
    {"name": "web01", "moref": "vm-1", "instance_uuid": "uuid-1", "folder": "/DC0/vm/a"},
    {"name": "db", "moref": "vm-2", "instance_uuid": "uuid-2", "folder": "/DC0/vm/a"},
    {"name": "db", "moref": "vm-3", "instance_uuid": "uuid-3", "folder": "/DC0/vm/b"},
    {"name": "golden", "moref": "vm-4", "instance_uuid": "uuid-4", "template": True},
]


@pytest.mark.parametrize("ref", ["web01", "vm-1", "uuid-1"])
def test_a_vm_is_found_by_name_moref_or_instance_uuid(ref):
    assert resolve_vm(ref, RECORDS)["moref"] == "vm-1"


def test_a_shared_name_is_an_error_listing_every_candidate_with_its_folder():
    with pytest.raises(InvalidRequest) as caught:
        resolve_vm("db", RECORDS)
    assert str(caught.value) == ("2 VMs are named db: db (vm-2, folder /DC0/vm/a); db (vm-3, folder /DC0/vm/b); "
                                 "name one by moref or instance UUID")
    assert caught.value.details["candidates"] == ["vm-2", "vm-3"]


def test_a_moref_settles_a_shared_name():
    assert resolve_vm("vm-3", RECORDS)["folder"] == "/DC0/vm/b"


def test_templates_are_not_vms_here():
    with pytest.raises(InvalidRequest, match="vCenter has no VM golden"):
        resolve_vm("golden", RECORDS)
    assert VmIndex(RECORDS, skip_templates=False).resolve("golden")["moref"] == "vm-4"


def test_resolve_all_keeps_order_drops_repeats_and_reports_every_problem():
    records, problems = VmIndex(RECORDS).resolve_all(["uuid-2", "web01", "vm-2", "db", "nope"])
    assert [r["moref"] for r in records] == ["vm-2", "vm-1"]
    assert [(p["ref"], p["problem"], p["candidates"]) for p in problems] == [
        ("db", AMBIGUOUS, ["vm-2", "vm-3"]), ("nope", NOT_FOUND, [])]


def test_knows_counts_a_shared_name():
    index = VmIndex(RECORDS)
    assert index.knows("db") and index.knows("vm-3") and not index.knows("nope")


def test_a_vm_named_like_another_vms_moref_or_uuid_is_ambiguous_never_the_other_vm():
    """Issue 14: a VM named vm-1 (or uuid-2) next to the VM whose moref (instance UUID) that is."""
    records = RECORDS + [{"name": "vm-1", "moref": "vm-9", "instance_uuid": "uuid-9", "folder": "/DC0/vm/c"},
                         {"name": "uuid-2", "moref": "vm-8", "instance_uuid": "uuid-8"}]
    index = VmIndex(records)
    for ref, candidates in (("vm-1", ["vm-1", "vm-9"]), ("uuid-2", ["vm-2", "vm-8"])):
        problem = index.problem(ref)
        assert problem["problem"] == AMBIGUOUS and problem["candidates"] == candidates
    with pytest.raises(InvalidRequest) as caught:
        index.resolve("vm-1")
    assert str(caught.value) == ("2 VMs answer to vm-1, by name or as their moref or instance UUID: web01 (vm-1, folder "
                                 "/DC0/vm/a); vm-1 (vm-9, folder /DC0/vm/c); name one by instance UUID, or by a moref "
                                 "that no VM has as its name")
    assert index.resolve("uuid-1")["name"] == "web01" and index.resolve("vm-9")["name"] == "vm-1"
    assert VmIndex([{"name": "vm-5", "moref": "vm-5"}]).resolve("vm-5")["moref"] == "vm-5", "its own moref: one VM"
