# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""vm_backup_policy's service: selectors, expansion, the planner's inputs (pure), and ``converge`` against fake
client functions (reads answered from a small world, writes recorded)."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils.seams.spp_backup import SppBackupService
from ansible_collections.sovereign.vm_backup.plugins.module_utils.seams.vsphere_inventory import VsphereInventory
from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import assignments
from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import (
    ApiError,
    ConcurrentChange,
    InvalidRequest,
    PartialApply,
    RuleViolation,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.sla_definition import backup_subpolicy
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.vm_resolver import VmIndex
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import jobs as spp_jobs
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import listing as spp_listing
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import policies as spp_policies
from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere import listing as vsphere_listing
from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere import tags as vsphere_tags


TAGS_OF_VCENTER = vsphere_tags.members_of_tags  # the World fixture stubs it; the tag-name tests restore it


def rec(name, moref, folder="/DC0/vm", uuid=None, **extra):
    record = {"name": name, "moref": moref, "instance_uuid": uuid or "uuid-" + moref, "folder": folder}
    record.update(extra)
    return record


RECORDS = [
    rec("web01", "vm-1", "/DC0/vm/a"),
    rec("web02", "vm-2", "/DC0/vm/a/inner"),
    rec("web10", "vm-3", "/DC0/vm/ab"),
    rec("db01", "vm-4", "/DC0/vm/b"),
    rec("WEB99", "vm-5", "/DC0/vm/a"),
    rec("orphan", "vm-6", None),
]


def select(item, records=None, tagged=None):
    records = RECORDS if records is None else records
    return assignments.select_vms(item, records, VmIndex(records, skip_templates=False), tagged or {})


# -- folder semantics ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("record_folder, folder, inside", [
    ("/DC0/vm/a", "/DC0/vm/a", True),
    ("/DC0/vm/a/inner", "/DC0/vm/a", True),
    ("/DC0/vm/a/inner/deeper", "/DC0/vm/a", True),
    ("/DC0/vm/ab", "/DC0/vm/a", False),          # a sibling sharing a prefix is not inside
    ("/DC0/vm", "/DC0/vm/a", False),             # the parent is not inside its child
    ("/DC0/vm/a", "/DC0/vm/a/", True),           # a trailing slash on the selector changes nothing
    ("/DC0/vm/ab/x", "/DC0/vm/a/", False),
    (None, "/DC0/vm/a", False),
    ("", "/DC0/vm/a", False),
])
def test_in_folder_is_a_path_prefix_not_a_string_prefix(record_folder, folder, inside):
    assert assignments._in_folder(record_folder, folder) is inside


# -- select_vms ---------------------------------------------------------------------------------------------------

def test_vm_selector_takes_a_moref_an_instance_uuid_or_a_unique_name():
    assert select({"vm": "vm-4"}) == {"vm-4"}
    assert select({"vm": "uuid-vm-4"}) == {"vm-4"}
    assert select({"vm": "db01"}) == {"vm-4"}


def test_an_unknown_vm_selects_nothing_even_with_other_selectors():
    assert not select({"vm": "ghost"})
    assert not select({"vm": "ghost", "folder": "/DC0/vm/a"})


def test_folder_selects_the_folder_and_its_subfolders_only():
    assert select({"folder": "/DC0/vm/a"}) == {"vm-1", "vm-2", "vm-5"}
    assert select({"folder": "/DC0/vm/ab"}) == {"vm-3"}
    assert select({"folder": "/DC0/vm"}) == {"vm-1", "vm-2", "vm-3", "vm-4", "vm-5"}  # not the VM without folder


def test_name_pattern_is_a_case_sensitive_glob():
    assert select({"name_pattern": "web*"}) == {"vm-1", "vm-2", "vm-3"}
    assert select({"name_pattern": "web0?"}) == {"vm-1", "vm-2"}
    assert select({"name_pattern": "WEB*"}) == {"vm-5"}


def test_tag_selects_the_tagged_morefs_only():
    tagged = {"backup": {"vm-2", "vm-4"}, "other": {"vm-1"}}
    assert select({"tag": "backup"}, tagged=tagged) == {"vm-2", "vm-4"}
    assert not select({"tag": "absent"}, tagged=tagged)


def test_selectors_are_and_ed():
    tagged = {"backup": {"vm-2", "vm-3", "vm-4"}}
    assert select({"folder": "/DC0/vm/a", "name_pattern": "web*"}) == {"vm-1", "vm-2"}
    assert select({"folder": "/DC0/vm/a", "tag": "backup"}, tagged=tagged) == {"vm-2"}
    assert select({"name_pattern": "web*", "tag": "backup"}, tagged=tagged) == {"vm-2", "vm-3"}
    assert select({"vm": "web01", "folder": "/DC0/vm/a"}) == {"vm-1"}
    assert not select({"vm": "web01", "folder": "/DC0/vm/b"})
    assert not select({"vm": "db01", "name_pattern": "web*"})
    assert not select({"folder": "/DC0/vm/a", "name_pattern": "db*"})


def test_a_shared_name_is_ambiguous_and_lists_the_candidates():
    records = RECORDS + [rec("db01", "vm-77", "/DC1/vm")]
    with pytest.raises(InvalidRequest) as caught:
        select({"vm": "db01"}, records=records)
    assert "vm-4" in caught.value.message and "vm-77" in caught.value.message
    # The shared name is still usable through a moref or an instance UUID.
    assert select({"vm": "vm-77"}, records=records) == {"vm-77"}
    assert select({"vm": "uuid-vm-4"}, records=records) == {"vm-4"}


# -- expand_assignments -------------------------------------------------------------------------------------------

def test_expand_gives_one_intent_per_selected_vm_sorted_by_moref():
    items = [{"folder": "/DC0/vm/a", "name_pattern": "web*", "policies": ["Gold"]},
             {"vm": "db01", "disk": "Hard disk 2", "policies": ["DR"]}]
    intents = assignments.expand_assignments(items, RECORDS, {})
    assert intents == [
        {"vm": "vm-1", "disk": None, "policies": ["Gold"], "origin": "assignments[0] (folder=/DC0/vm/a, name_pattern=web*)"},
        {"vm": "vm-2", "disk": None, "policies": ["Gold"], "origin": "assignments[0] (folder=/DC0/vm/a, name_pattern=web*)"},
        {"vm": "vm-4", "disk": "Hard disk 2", "policies": ["DR"], "origin": "assignments[1] (vm=db01)"},
    ]


def test_expand_copies_the_policies_and_accepts_none_as_no_policy():
    policies = ["Gold"]
    intents = assignments.expand_assignments([{"vm": "vm-1", "policies": policies}, {"vm": "vm-4", "policies": None}],
                                             RECORDS, {})
    policies.append("Silver")
    assert intents[0]["policies"] == ["Gold"] and intents[1]["policies"] == []


def test_expand_reports_every_unknown_vm_and_empty_selector_at_once():
    items = [{"vm": "ghost", "policies": ["Gold"]},
             {"vm": "web01", "policies": ["Gold"]},
             {"policies": ["Gold"]},
             {"folder": "/DC0/vm/nowhere", "policies": ["Gold"]},
             {"tag": "backup", "name_pattern": "db*", "policies": ["Gold"]}]
    with pytest.raises(InvalidRequest) as caught:
        assignments.expand_assignments(items, RECORDS, {"backup": {"vm-1"}})
    problems = caught.value.details["problems"]
    assert problems == [
        "assignments[0] (vm=ghost): vCenter has no VM ghost",
        "assignments[2] () names no VM: give vm, folder, name_pattern or tag",
        "assignments[3] (folder=/DC0/vm/nowhere): the selectors match no VM",
        "assignments[4] (name_pattern=db*, tag=backup): the selectors match no VM",
    ]
    assert caught.value.message.startswith("4 assignment(s) cannot be resolved; nothing was changed:")
    assert all(problem in caught.value.message for problem in problems)


def test_an_ambiguous_name_is_reported_together_with_the_other_problems():
    records = RECORDS + [rec("db01", "vm-77", "/DC1/vm")]
    with pytest.raises(InvalidRequest) as caught:
        assignments.expand_assignments([{"vm": "db01"}, {"vm": "ghost"}, {"vm": "web01"}], records, {})
    problems = caught.value.details["problems"]
    assert len(problems) == 2
    assert problems[0].startswith("assignments[0] (vm=db01): ") and "vm-4" in problems[0] and "vm-77" in problems[0]
    assert problems[1] == "assignments[1] (vm=ghost): vCenter has no VM ghost"
    assert caught.value.message.startswith("2 assignment(s) cannot be resolved")


# -- scope_members ------------------------------------------------------------------------------------------------

def test_scope_members():
    assert assignments.scope_members(None, RECORDS) is None
    assert assignments.scope_members("all", RECORDS) == {"vm-1", "vm-2", "vm-3", "vm-4", "vm-5", "vm-6"}
    assert assignments.scope_members("/DC0/vm/a", RECORDS) == {"vm-1", "vm-2", "vm-5"}
    assert assignments.scope_members("/DC0/vm/a/", RECORDS) == {"vm-1", "vm-2", "vm-5"}
    assert assignments.scope_members("/DC9", RECORDS) == set()


# -- build_current ------------------------------------------------------------------------------------------------

def policy(name, site, pid=None):
    return {"name": name, "id": pid or "id-" + name, "links": {"self": {"href": "https://spp/ngp/slapolicy/" + name}},
            "spec": {"subpolicy": [{"type": "REPLICATION", "software": True, "site": site}]}}


JOINED = [
    {"name": "web01", "moref": "vm-1", "instance_uuid": "u1", "spp_id": "s1", "spp_site_id": "1",
     "known_to_backup": True, "power_state": "poweredOn", "policies": ["Gold"],
     "disks": [{"label": "Hard disk 1", "spp_id": "d1", "policies": []},
               {"label": "Hard disk 2", "spp_id": "d2", "policies": ["DR"]}]},
    {"name": "new01", "moref": "vm-9", "instance_uuid": "u9", "spp_id": None, "spp_site_id": None,
     "known_to_backup": False, "power_state": "poweredOff", "policies": [],
     "disks": [{"label": "Hard disk 1", "spp_id": None, "policies": []}]},
]


def test_build_current_maps_records_sites_and_held_policies():
    policies = [policy("Gold", "Primary"), policy("DR", "Secondary"),
                {"name": "Odd", "id": "id-Odd", "spec": {"subpolicy": [{"type": "SNAPSHOT"}]}}]
    current = assignments.build_current(JOINED, policies, {"DR", "Other"},
                                        [{"id": "1", "name": "Primary"}, {"id": "2", "name": "Secondary"}])
    assert current["vms"]["vm-1"] == {
        "name": "web01", "moref": "vm-1", "instance_uuid": "u1", "spp_id": "s1", "power_state": "poweredOn",
        "site": "Primary", "policies": ["Gold"], "known_to_backup": True,
        "disks": {"Hard disk 1": {"spp_id": "d1", "policies": []}, "Hard disk 2": {"spp_id": "d2", "policies": ["DR"]}}}
    assert current["vms"]["vm-9"]["spp_id"] is None and current["vms"]["vm-9"]["known_to_backup"] is False
    assert current["vms"]["vm-9"]["site"] is None
    assert current["policies"] == {"Gold": {"id": "id-Gold", "site": "Primary", "held": False},
                                   "DR": {"id": "id-DR", "site": "Secondary", "held": True},
                                   "Odd": {"id": "id-Odd", "site": None, "held": False}}


def test_build_current_does_not_share_lists_with_the_records():
    records = copy.deepcopy(JOINED)
    current = assignments.build_current(records, [], set(), [])
    current["vms"]["vm-1"]["policies"].append("Silver")
    current["vms"]["vm-1"]["disks"]["Hard disk 2"]["policies"].append("Silver")
    assert records == JOINED


def test_build_current_assume_known_plans_vcenter_only_vms_as_if_rescanned():
    current = assignments.build_current(JOINED, [], set(), [], assume_known=True)
    new = current["vms"]["vm-9"]
    assert new["known_to_backup"] is True
    assert new["spp_id"] == assignments.PENDING_RESCAN
    assert new["disks"]["Hard disk 1"]["spp_id"] == assignments.PENDING_RESCAN
    assert current["vms"]["vm-1"]["spp_id"] == "s1"  # known VMs keep their real ids


# -- desired_options ----------------------------------------------------------------------------------------------

def test_desired_options_task_defaults_overridden_per_item():
    items = [{"folder": "/DC0/vm/a", "name_pattern": "web*"},
             {"vm": "db01", "quiesce": False, "fallback_to_crash_consistent": True}]
    wanted = assignments.desired_options(items, RECORDS, {}, {"quiesce": True, "fallback_to_crash_consistent": None})
    assert wanted == {"vm-1": {"makeApplicationConsistent": True},
                      "vm-2": {"makeApplicationConsistent": True},
                      "vm-4": {"makeApplicationConsistent": False, "fallbackToUnquiescedSnapshot": True}}


def test_desired_options_empty_without_any_option():
    assert assignments.desired_options([{"folder": "/DC0/vm"}], RECORDS, {}, {}) == {}
    assert assignments.desired_options([{"folder": "/DC0/vm"}], RECORDS, {}, {"quiesce": None}) == {}


def test_desired_options_later_item_wins_for_a_vm_selected_twice():
    items = [{"folder": "/DC0/vm/a", "quiesce": True}, {"vm": "vm-1", "quiesce": False}]
    wanted = assignments.desired_options(items, RECORDS, {"t": {"vm-1"}}, {})
    assert wanted["vm-1"] == {"makeApplicationConsistent": False}
    assert wanted["vm-2"] == {"makeApplicationConsistent": True}


# -- with_planned_policies ----------------------------------------------------------------------------------------

def test_with_planned_policies_adds_only_new_present_policies():
    existing = [policy("Gold", "Primary")]
    planned = [{"name": "Gold", "site": "Elsewhere"}, {"name": "New", "site": "Secondary"},
               {"name": "Gone", "site": "Primary", "state": "absent"}, {"name": "Kept", "state": "present"}]
    result = assignments.with_planned_policies(existing, planned)
    assert [p["name"] for p in result] == ["Gold", "New", "Kept"]
    assert result[0] is existing[0] and backup_subpolicy(result[0])["site"] == "Primary"
    assert result[1]["id"] is None and backup_subpolicy(result[1])["site"] == "Secondary"
    assert backup_subpolicy(result[2])["site"] is None
    assert len(existing) == 1


# -- converge, through the seams over fake clients ------------------------------------------------------------------

VC_UUID = "vc-instance-uuid"


class FakeVsphere:
    instance_uuid = VC_UUID


def vcenter_vm(name, moref, folder, power="poweredOn"):
    return {"name": name, "moref": moref, "instance_uuid": "uuid-" + moref, "power_state": power, "folder": folder,
            "template": False, "has_snapshots": False, "datacenter": "DC0", "host": "h1", "cluster": None,
            "disks": [{"label": "Hard disk 1", "key": 2000, "size_bytes": 1, "mode": "normal"}], "nics": []}


def spp_vm(moref, name, policies=(), spp_id=None):
    spp_id = spp_id or "s-" + moref
    return {"id": spp_id, "name": name, "hypervisorKey": "hv1", "siteId": "1", "storageProfiles": list(policies),
            "nativeObject": {"mor": {"val": moref}}, "config": {"instanceUuid": "uuid-" + moref},
            "links": {"self": {"href": "https://spp/api/hypervisor/hv1/vm/" + spp_id},
                      "options": {"href": "https://spp/api/hypervisor/hv1/vm/%s/options" % spp_id}}}


class World:
    """What the two servers answer, and every write the service sends."""

    def __init__(self):
        self.vcenter = [vcenter_vm("web01", "vm-1", "/DC0/vm/prod"), vcenter_vm("web02", "vm-2", "/DC0/vm/prod"),
                        vcenter_vm("web03", "vm-3", "/DC0/vm/prod"), vcenter_vm("db01", "vm-4", "/DC0/vm/db"),
                        vcenter_vm("new01", "vm-5", "/DC0/vm/new")]
        self.spp_vms = [spp_vm("vm-1", "web01", ["Gold"]), spp_vm("vm-2", "web02"), spp_vm("vm-3", "web03"),
                        spp_vm("vm-4", "db01", ["Silver"])]
        self.policies = [policy("Gold", "Primary"), policy("Silver", "Primary"), policy("DR", "Secondary")]
        self.jobs = [{"name": "vmware_Gold", "status": "IDLE"}, {"name": "vmware_Silver", "status": "IDLE"}]
        self.spp_disks = []
        self.options = {}
        self.writes = []
        self.fail_write = {}  # index of a write -> error to raise
        self.vm_listings = 0
        self.before_listing = {}  # index of a VM listing -> what another writer does just before it is answered

    def install(self, monkeypatch):
        monkeypatch.setattr(vsphere_listing, "list_vms", lambda client, **kwargs: copy.deepcopy(self.vcenter))
        monkeypatch.setattr(spp_listing, "list_hypervisors",
                            lambda client, **kwargs: [{"id": "hv1", "uniqueId": VC_UUID, "type": "vmware"}])
        monkeypatch.setattr(spp_listing, "list_vms", self._list_vms)
        monkeypatch.setattr(spp_listing, "list_vdisks", lambda client, **kwargs: copy.deepcopy(self.spp_disks))
        monkeypatch.setattr(spp_listing, "list_sites", lambda client, **kwargs: [{"id": "1", "name": "Primary"}])
        monkeypatch.setattr(spp_policies, "list_sla_policies", lambda client, **kwargs: copy.deepcopy(self.policies))
        monkeypatch.setattr(spp_jobs, "list_jobs", lambda client, **kwargs: copy.deepcopy(self.jobs))
        monkeypatch.setattr(spp_policies, "get_vm_options", lambda client, vm: dict(self.options.get(vm["id"], {})))
        monkeypatch.setattr(spp_policies, "apply_sla_policies", self._apply_sla)
        monkeypatch.setattr(spp_policies, "apply_options", self._apply_options)

        def no_rescan(*args, **kwargs):
            raise AssertionError("converge ran the inventory job")

        monkeypatch.setattr(spp_jobs, "run_inventory", no_rescan)

        def no_tags(*args, **kwargs):
            raise AssertionError("converge read tags although no item has a tag selector")

        monkeypatch.setattr(vsphere_tags, "members_of_tags", no_tags)
        return self

    def _record(self, write):
        position = len(self.writes)
        self.writes.append(write)
        if position in self.fail_write:
            raise self.fail_write[position]

    def _list_vms(self, client, **kwargs):
        position = self.vm_listings
        self.vm_listings += 1
        if position in self.before_listing:
            self.before_listing[position]()
        return copy.deepcopy(self.spp_vms)

    def set_policies(self, spp_id, names):
        """What applySLAPolicies does: the names become the resource's whole set (a VM or a vdisk)."""
        for resource in self.spp_vms + self.spp_disks:
            if resource["id"] == spp_id:
                resource["storageProfiles"] = list(names)

    def _apply_sla(self, client, resources, slas):
        self._record(("assign", sorted(r["id"] for r in resources), sorted(s["name"] for s in slas)))
        for resource in resources:
            self.set_policies(resource["id"], [s["name"] for s in slas])

    def _apply_options(self, client, resources, options):
        self._record(("options", sorted(r["id"] for r in resources), dict(options)))


@pytest.fixture
def world(monkeypatch):
    return World().install(monkeypatch)


def converge(**kwargs):
    return assignments.converge(SppBackupService(object()), VsphereInventory(FakeVsphere()), **kwargs)


def test_converge_batches_one_apply_call_per_distinct_resulting_set(world):
    result = converge(items=[{"folder": "/DC0/vm/prod", "policies": ["Silver"]}])
    # web01 {Gold} -> {Gold, Silver}; web02 and web03 {} -> {Silver}: two distinct sets, two calls.
    assert world.writes == [("assign", ["s-vm-1"], ["Gold", "Silver"]),
                            ("assign", ["s-vm-2", "s-vm-3"], ["Silver"])]
    assert result["changed"] is True
    assert [(c["vm"], c["after"]) for c in result["changes"]] == [
        ("vm-1", ["Gold", "Silver"]), ("vm-2", ["Silver"]), ("vm-3", ["Silver"])]
    assert result["summary"]["calls"] == 2 and result["rescanned"] is False
    assert "web02 (vm-2):" in result["diff"]["after"]


def test_converge_check_mode_plans_the_same_and_writes_nothing(world):
    items = [{"folder": "/DC0/vm/prod", "policies": ["Silver"]}]
    result = converge(items=items, check_mode=True)
    assert world.writes == []
    assert result["changed"] is True and result["summary"]["calls"] == 2
    assert result == converge(items=items)  # the real run reports what check mode predicted


def test_converge_without_change_writes_nothing(world):
    result = converge(items=[{"vm": "db01", "policies": ["Silver"]}, {"vm": "web01", "policies": ["Gold"]}])
    assert world.writes == [] and result["changed"] is False and result["changes"] == []


def test_converge_a_rule_violation_anywhere_writes_nothing(world):
    items = [{"vm": "web02", "policies": ["Silver"]},          # fine on its own
             {"vm": "new01", "policies": ["Gold"]}]            # unknown to the backup server, no rescan
    with pytest.raises(RuleViolation) as caught:
        converge(items=items)
    assert [v["rule"] for v in caught.value.violations] == ["unknown_to_backup"]
    assert caught.value.violations[0]["vm"] == "new01"
    assert world.writes == []


def test_converge_refuses_to_strip_the_last_policy_of_a_running_vm(world):
    with pytest.raises(RuleViolation) as caught:
        converge(items=[{"vm": "web01", "policies": ["Gold"]}], state="absent")
    assert [v["rule"] for v in caught.value.violations] == ["last_policy_of_running_vm"]
    assert world.writes == []
    result = converge(items=[{"vm": "web01", "policies": ["Gold"]}], state="absent",
                      enforce={"last_policy_of_running_vm": False})
    assert world.writes == [("assign", ["s-vm-1"], [])] and result["changed"] is True


def test_converge_unresolvable_items_fail_before_any_read_of_policies_or_write(world, monkeypatch):
    monkeypatch.setattr(spp_policies, "list_sla_policies", lambda client, **kwargs: pytest.fail("read policies"))
    with pytest.raises(InvalidRequest) as caught:
        converge(items=[{"vm": "ghost", "policies": ["Gold"]}, {"name_pattern": "zz*", "policies": ["Gold"]}])
    assert len(caught.value.details["problems"]) == 2
    assert world.writes == []


def test_converge_check_mode_knows_policies_an_earlier_task_would_create(world):
    items = [{"vm": "web02", "policies": ["New"]}]
    result = converge(items=items, check_mode=True, planned_policies=[{"name": "New", "site": "Primary"}])
    assert result["changed"] is True and world.writes == []
    with pytest.raises(RuleViolation) as caught:  # a real run does not pretend
        converge(items=items, planned_policies=[{"name": "New", "site": "Primary"}])
    assert [v["rule"] for v in caught.value.violations] == ["unknown_policy"]
    assert world.writes == []


def test_converge_check_mode_with_rescan_plans_vcenter_only_vms_without_rescanning(world):
    result = converge(items=[{"vm": "new01", "policies": ["Gold"]}], rescan=True, check_mode=True)
    assert result["changed"] is True and result["rescanned"] is False
    assert [(c["vm"], c["after"]) for c in result["changes"]] == [("vm-5", ["Gold"])]
    assert world.writes == []


def test_converge_options_are_batched_and_only_differing_vms_are_written(world):
    world.options = {"s-vm-1": {"makeApplicationConsistent": True}, "s-vm-2": {"makeApplicationConsistent": False}}
    result = converge(items=[{"folder": "/DC0/vm/prod", "policies": []}, {"vm": "db01", "quiesce": False}],
                      option_defaults={"quiesce": True})
    assert world.writes == [("options", ["s-vm-4"], {"makeApplicationConsistent": False}),
                            ("options", ["s-vm-2", "s-vm-3"], {"makeApplicationConsistent": True})]
    assert [c["vm"] for c in result["option_changes"]] == ["vm-2", "vm-3", "vm-4"]
    assert result["changes"] == [] and result["changed"] is True


def test_converge_reads_tags_only_for_the_tags_named(world, monkeypatch):
    asked = []

    def members_of_tags(client, names):
        asked.append(list(names))
        return {"backup": {"vm-2", "vm-4"}}

    monkeypatch.setattr(vsphere_tags, "members_of_tags", members_of_tags)
    converge(items=[{"tag": "backup", "folder": "/DC0/vm/prod", "policies": ["Silver"]}])
    assert asked == [["backup"]]
    assert world.writes == [("assign", ["s-vm-2"], ["Silver"])]


class SharedTagSession:
    """vCenter's tagging API with the tag name ``backup`` in two categories (``gold`` on vm-2, ``silver`` on vm-3)."""

    def __init__(self, vsphere_client, timeout=60):
        self.closed = False

    def list_tags(self):
        return [{"id": "t1", "name": "backup", "category_id": "c1"}, {"id": "t2", "name": "backup", "category_id": "c2"}]

    def category_names(self, category_ids):
        return {"c1": "gold", "c2": "silver"}

    def attached_vms(self, tag_ids):
        return {tag_id: {"t1": {"vm-2"}, "t2": {"vm-3"}}[tag_id] for tag_id in tag_ids}

    def close(self):
        self.closed = True


@pytest.mark.parametrize("check_mode", [True, False])
def test_converge_a_shared_tag_name_fails_before_any_write_even_with_purge_scope(world, monkeypatch, check_mode):
    """Issue 14: the bare name used to keep one of the two tags, and purge_scope then stripped the other's VMs."""
    monkeypatch.setattr(vsphere_tags, "members_of_tags", TAGS_OF_VCENTER)
    monkeypatch.setattr(vsphere_tags, "TaggingSession", SharedTagSession)
    monkeypatch.setattr(spp_policies, "list_sla_policies", lambda client, **kwargs: pytest.fail("planned"))
    with pytest.raises(InvalidRequest) as caught:
        converge(items=[{"tag": "backup", "policies": ["Silver"]}], scope="/DC0/vm/prod", purge_scope=True,
                 check_mode=check_mode)
    assert "gold/backup, silver/backup" in caught.value.message
    assert caught.value.details["candidates"] == {"backup": ["gold/backup", "silver/backup"]}
    assert world.writes == []


def test_converge_category_slash_tag_selects_that_tag_only(world, monkeypatch):
    monkeypatch.setattr(vsphere_tags, "members_of_tags", TAGS_OF_VCENTER)
    monkeypatch.setattr(vsphere_tags, "TaggingSession", SharedTagSession)
    result = converge(items=[{"tag": "silver/backup", "policies": ["Silver"]}])
    assert world.writes == [("assign", ["s-vm-3"], ["Silver"])]
    assert [c["vm"] for c in result["changes"]] == ["vm-3"]


def test_converge_writes_a_disk_assignment_to_the_disk_object(world):
    world.spp_disks = [{"id": "d-1", "name": "Hard disk 1", "vmId": "s-vm-1", "storageProfiles": []}]
    result = converge(items=[{"vm": "web01", "disk": "Hard disk 1", "policies": ["DR"]}])
    assert world.writes == [("assign", ["d-1"], ["DR"])]
    assert [(c["vm"], c["disk"], c["after"]) for c in result["changes"]] == [("vm-1", "Hard disk 1", ["DR"])]
    # A disk policy on the VM's own site breaks a rule: nothing is written.
    with pytest.raises(RuleViolation) as caught:
        converge(items=[{"vm": "web01", "disk": "Hard disk 1", "policies": ["Silver"]}])
    assert [v["rule"] for v in caught.value.violations] == ["disk_policy_site"]
    assert len(world.writes) == 1


def test_converge_failure_after_a_write_is_a_partial_apply(world):
    world.fail_write = {1: ApiError(500, description="boom")}
    with pytest.raises(PartialApply) as caught:
        converge(items=[{"folder": "/DC0/vm/prod", "policies": ["Silver"]}])
    assert caught.value.details == {"applied_calls": 1, "total_calls": 2}
    assert "boom" in caught.value.message


def test_converge_failure_of_the_first_write_is_raised_as_is(world):
    world.fail_write = {0: ApiError(500, description="boom")}
    with pytest.raises(ApiError) as caught:
        converge(items=[{"folder": "/DC0/vm/prod", "policies": ["Silver"]}])
    assert not isinstance(caught.value, PartialApply) and caught.value.status == 500
    assert len(world.writes) == 1


class Rescanned(Exception):
    pass


@pytest.mark.xfail(strict=True, reason="defect: rescan only runs for VMs unknown to the backup server; a new disk "
                                       "of a known VM is refused with the fix 'run with rescan: true', which "
                                       "does not rescan")
def test_converge_rescan_true_rescans_for_a_disk_the_backup_server_does_not_know_yet(world, monkeypatch):
    world.vcenter[0]["disks"].append({"label": "Hard disk 2", "key": 2001, "size_bytes": 1, "mode": "normal"})
    monkeypatch.setattr(spp_listing, "list_vdisks", lambda client, **kwargs: [
        {"id": "d-1", "name": "Hard disk 1", "vmId": "s-vm-1", "storageProfiles": []}])

    def run_inventory(*args, **kwargs):
        raise Rescanned()

    monkeypatch.setattr(spp_jobs, "run_inventory", run_inventory)
    with pytest.raises(Rescanned):
        converge(items=[{"vm": "web01", "disk": "Hard disk 2", "policies": ["DR"]}], rescan=True)


# -- lost updates (issue 14): the sets read again just before and just after the writes ---------------------------

def test_converge_without_change_lists_the_vms_once_and_a_write_twice_more(world):
    converge(items=[{"vm": "db01", "policies": ["Silver"]}])
    assert world.vm_listings == 1, "a converged run reads nothing for the check"
    converge(items=[{"vm": "web02", "policies": ["Silver"]}, {"vm": "web03", "policies": ["Gold"]}])
    assert world.vm_listings == 1 + 3, "the plan's listing, one before the writes and one after, whatever the VMs"


def test_converge_options_alone_are_not_read_back(world):
    converge(items=[{"vm": "db01", "policies": ["Silver"], "quiesce": False}])
    assert world.writes == [("options", ["s-vm-4"], {"makeApplicationConsistent": False})]
    assert world.vm_listings == 1


def test_a_set_changed_after_the_plan_read_it_fails_the_task_before_any_write(world):
    world.before_listing[1] = lambda: world.set_policies("s-vm-2", ["DR"])  # another play, between plan and write
    with pytest.raises(ConcurrentChange) as caught:
        converge(items=[{"folder": "/DC0/vm/prod", "policies": ["Silver"]}])
    assert world.writes == [], "nothing is written: the write would have erased DR"
    message = caught.value.message
    assert message.startswith("concurrent change:") and "nothing was written" in message
    assert "- web02 (vm-2): read [], now [DR]; this task would write [Silver]" in message
    assert "web01" not in message and "web03" not in message, "only the resources that changed"
    assert caught.value.details["changed"] is False
    assert [c["vm"] for c in caught.value.details["conflicts"]] == ["vm-2"]
    # The re-run plans from the new state and keeps both.
    world.before_listing = {}
    converge(items=[{"folder": "/DC0/vm/prod", "policies": ["Silver"]}])
    assert {vm["id"]: vm["storageProfiles"] for vm in world.spp_vms}["s-vm-2"] == ["DR", "Silver"]


def test_a_set_replaced_by_another_writer_after_the_write_fails_the_task_naming_what_was_written(world):
    world.before_listing[2] = lambda: world.set_policies("s-vm-2", ["DR"])  # planned from [], written after ours
    with pytest.raises(ConcurrentChange) as caught:
        converge(items=[{"folder": "/DC0/vm/prod", "policies": ["Silver"]}])
    assert len(world.writes) == 2, "the writes were made"
    message = caught.value.message
    assert "(2 write call(s) applied)" in message
    assert "- web02 (vm-2): this task wrote [Silver], now [DR]" in message and "web03" not in message
    assert "Run the task again" in message and "throttle: 1" in message
    assert caught.value.details["changed"] is True
    world.before_listing = {}
    result = converge(items=[{"folder": "/DC0/vm/prod", "policies": ["Silver"]}])
    assert result["changed"] is True and world.writes[-1] == ("assign", ["s-vm-2"], ["DR", "Silver"])
    assert converge(items=[{"folder": "/DC0/vm/prod", "policies": ["Silver"]}])["changed"] is False


def test_a_set_changed_after_the_write_that_keeps_this_tasks_change_is_a_warning(world):
    world.before_listing[2] = lambda: world.set_policies("s-vm-2", ["DR", "Silver"])
    result = converge(items=[{"vm": "web02", "policies": ["Silver"]}])
    assert result["changed"] is True
    (warning,) = result["warnings"]
    assert "web02 (vm-2) now [DR, Silver]" in warning and "kept" in warning


def test_a_disk_set_changed_since_the_plan_is_named_with_its_vm(world):
    world.spp_disks = [{"id": "d-1", "name": "Hard disk 1", "vmId": "s-vm-1", "storageProfiles": []}]
    world.before_listing[1] = lambda: world.set_policies("d-1", ["Silver"])
    with pytest.raises(ConcurrentChange) as caught:
        converge(items=[{"vm": "web01", "disk": "Hard disk 1", "policies": ["DR"]}])
    assert world.writes == []
    assert "- web01 (vm-1) / Hard disk 1: read [], now [Silver]; this task would write [DR]" in caught.value.message


def test_a_vm_gone_from_the_backup_server_before_the_write_is_a_concurrent_change(world):
    def remove_web02():
        world.spp_vms = [vm for vm in world.spp_vms if vm["id"] != "s-vm-2"]

    world.before_listing[1] = remove_web02
    with pytest.raises(ConcurrentChange) as caught:
        converge(items=[{"vm": "web02", "policies": ["Silver"]}])
    assert world.writes == [] and "now (gone from the backup server)" in caught.value.message


def test_the_check_lists_only_the_vcenters_of_the_written_vms(world, monkeypatch):
    asked = []

    def list_vms(client, **kwargs):
        asked.append(kwargs.get("hypervisors"))
        return world._list_vms(client, **kwargs)

    monkeypatch.setattr(spp_listing, "list_vms", list_vms)
    converge(items=[{"vm": "web02", "policies": ["Silver"]}])
    assert asked[1:] == [[{"id": "hv1"}], [{"id": "hv1"}]], "the VM objects name their hypervisor: no listing of them"
